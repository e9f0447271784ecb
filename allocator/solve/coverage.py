"""Maximal covering (Church & ReVelle 1974): open p new sites covering the most people within the threshold.

First the set cover, which settles the problem when ``p`` sites can cover
everything coverable; else dominated candidates are removed (exact) and one
continuous ``u`` per distinct coverage set.  See docs/formulations/max-coverage.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pulp

from allocator.solve import bounds as mb
from allocator.solve import cover, highs
from allocator.solve.checks import Options, check_inputs, check_p, check_threshold, options
from allocator.solve.cover import Cover, coverage_sets, undominated, unique_rows
from allocator.solve.deadline import OutOfTimeError
from allocator.solve.highs import Run, add_row, affine, binary_values, relative_gap
from allocator.solve.kernels import nearest_time, people_within
from allocator.solve.solution import EMPTY, Outcome, Sizes, Solution, finish

#: HiGHS search options for the maximal-covering model: presolve and the
#: feasibility-jump heuristic (which runs even with a MIP start) cost more than
#: they save here (benchmarks/README.md).  Search options only: the model and
#: the optimality proof are unchanged.
MCLP_SEARCH = dict(presolve="off", mip_heuristic_run_feasibility_jump=False)


def fill_by_travel_time(c: np.ndarray, w: np.ndarray, open_mask: np.ndarray, k: int) -> np.ndarray:
    """``k`` more sites (indices) next to ``open_mask``: greedy adding (Kuehn &
    Hamburger 1963), each time the site that most lowers the population-weighted
    travel time of the positive-weight clients to their nearest open site (ties:
    lowest index).  A heuristic tie-break, not an optimum (an interchange would
    gain a little more at a much higher cost)."""
    free = np.flatnonzero(~open_mask)
    if k <= 0:
        return EMPTY.copy()
    rows = (w > 0) & np.isfinite(c).any(axis=1)
    Cr = c[rows]
    P, f = mb.penalised(Cr[:, free], nearest_time(Cr, open_mask))
    return free[mb.greedy(P, w[rows], f, k)]


def _short_cut(U: np.ndarray, cand_n: int, p: int, opts: Options,
               notes: list[str]) -> tuple[np.ndarray | None, np.ndarray | None, str, Cover]:
    """Steps 1-2: a set cover with <= p sites, or the <= p undominated candidates, cover every group.

    Returns ``(full, keep, how, cover)``: ``full`` the candidate positions that
    cover everything (None: the integer program is needed, over ``keep``).
    """
    cov = cover.min_cover(U, opts, "max_coverage_cover")
    if cov.status in ("optimal", "time_limit") and cov.chosen.size <= p and U[:, cov.chosen].any(axis=1).all():
        return cov.chosen, None, f"{cov.chosen.size} new site(s) (a minimum set cover) cover", cov
    try:
        keep = np.flatnonzero(undominated(U.T, "subsets", deadline=opts.deadline))
    except OutOfTimeError:   # no time to drop the dominated ones: every candidate stays (the plan: the start's)
        keep = np.arange(U.shape[1])
    if keep.size <= p:
        return keep, None, f"the {keep.size} candidate(s) left after removing dominated ones cover", cov
    if keep.size < cand_n:
        notes.append(f"max coverage: {cand_n - keep.size} of {cand_n} candidates are dominated "
                     f"(their coverage set lies inside another's) and were dropped")
    return None, keep, "", cov


def _note_short_cut(notes: list[str], how: str, covered: float, p: int, n_extra: int, nothing_active: bool) -> None:
    if nothing_active:
        notes.append("max coverage: the fixed sites already cover every coverable client, so new "
                     "sites cannot change the objective: optimal without the integer program")
    else:
        notes.append(f"max coverage: {how} every coverable client (weight {covered:g} beyond the "
                     f"fixed sites), the most any {p} new sites can cover: optimal without the "
                     f"integer program")
    if n_extra:
        notes.append(f"max coverage: the other {n_extra} new site(s) cannot change the objective; "
                     f"they were chosen greedily to shorten the weighted travel time (tie-break)")


def solve_max_coverage(cost, weight, p, threshold, fixed_open=None, *, time_limit=None,
                       gap_rel=None, threads=None) -> Solution:
    """Maximal covering location problem (Church & ReVelle 1974).

    Maximise the weight of clients with an open site within ``threshold``
    minutes, opening ``p`` new sites; the objective includes clients already
    covered by fixed sites.  In order: (1) the set-cover short-cut (a cover
    with ``<= p`` sites is optimal; the other sites by travel time,
    :func:`fill_by_travel_time`), (2) dominated candidates dropped, (3) the
    integer program (:func:`mclp_mip`).  See docs/formulations/max-coverage.md.
    """
    c, w, fixed = check_inputs(cost, weight, fixed_open)
    cand = np.flatnonzero(~fixed)
    p = check_p(p, cand.size)
    T = check_threshold(threshold)
    opts = options(time_limit, gap_rel, threads)
    t0 = time.perf_counter()
    notes: list[str] = []
    pos = w > 0
    covf, Nc, uncov = coverage_sets(c, w, fixed, cand, T, notes, "cannot be covered")
    act = np.flatnonzero(pos & ~covf & Nc.any(axis=1))
    open_mask = fixed.copy()
    nv = nc = 0
    solve = 0.0
    status, gap = "optimal", 0.0
    if p == cand.size:
        open_mask[:] = True
    elif p > 0:
        U, inv = unique_rows(Nc[act])
        Wg = np.bincount(inv, weights=w[act], minlength=U.shape[0])
        full, keep, how, cov = _short_cut(U, cand.size, p, opts, notes)
        solve, nv, nc = cov.sizes.solve_s, cov.sizes.n_variables, cov.sizes.n_constraints
        if full is not None:
            open_mask[cand[full]] = True
            extra = fill_by_travel_time(c, w, open_mask, p - full.size)
            open_mask[extra] = True
            _note_short_cut(notes, how, float(Wg.sum()), p, extra.size, act.size == 0)
        else:
            assert keep is not None   # no cover found: the integer program over the kept candidates
            run, chosen, nv, nc = mclp_mip(U[:, keep], Wg, p, opts)
            solve += run.seconds
            open_mask[cand[keep[chosen]]] = True
            base = float(w[pos & covf].sum())
            obj = people_within(c, w, open_mask, T, rows=pos)
            status = run.status
            # covering every active client is a bound too (finite even if HiGHS stopped before its root LP)
            gap = relative_gap(obj, base + min(run.bound, float(Wg.sum())), maximise=True)
    build = time.perf_counter() - t0 - solve    # everything but the solver runs
    obj = people_within(c, w, open_mask, T, rows=pos)
    if status == "time_limit":
        notes.append(f"time limit reached: best solution found, proven gap {gap:.2%}")
    elif gap > 0:
        notes.append(f"stopped at the requested gap_rel={opts.gap_rel:g} (proven gap {gap:.2e})")
    return finish("max_coverage", Outcome(status, obj, gap), open_mask=open_mask, fixed=fixed,
                  sizes=Sizes(nv, nc, build, solve), notes=notes, uncoverable=uncov)


def mclp_mip(A: np.ndarray, Wg: np.ndarray, p: int, opts: Options) -> tuple[Run, np.ndarray, int, int]:
    """The maximal-covering integer program over groups ``A`` (bool, groups x
    candidates) with weights ``Wg``, started from greedy + interchange on the
    MCLP written as a p-median with 0/1 costs.  Returns ``(run, chosen
    candidate positions, n_variables, n_constraints)``.  Past ``opts``'
    deadline (the interchange, the build and HiGHS check it) the start is
    the answer, status ``time_limit`` (bound: the solver's, else none)."""
    U, inv = unique_rows(A)      # groups identical on the kept candidates merge (same objective for every S)
    W = np.bincount(inv, weights=Wg, minlength=U.shape[0])
    G, m = U.shape
    P, f = np.where(U, 0.0, 1.0), np.ones(G)       # 0/1 "uncovered" cost: the MCLP as a p-median
    start_pos = mb.interchange(P, W, f, mb.greedy(P, W, f, p), deadline=opts.deadline)
    t0 = time.perf_counter()
    try:
        run, chosen = _mclp_run(U, W, p, start_pos, opts)
    except OutOfTimeError:
        run, chosen = Run("no_solution", math.inf, time.perf_counter() - t0), EMPTY
    if run.status == "no_solution":   # out of time before HiGHS had a plan: the start
        run, chosen = replace(run, status="time_limit"), np.sort(start_pos)
    return run, chosen, m + G, G + 1


def _mclp_run(U: np.ndarray, W: np.ndarray, p: int, start_pos: np.ndarray, opts: Options) -> tuple[Run, np.ndarray]:
    """:func:`mclp_mip`'s model built and solved from ``start_pos``; raises :class:`OutOfTimeError` when the
    deadline passes while building it."""
    G, m = U.shape
    prob = pulp.LpProblem("max_coverage", pulp.LpMaximize)
    y = [prob.add_variable(f"y{j:07d}", 0, 1, pulp.LpBinary) for j in range(m)]
    u = [prob.add_variable(f"u{g:07d}", 0, 1) for g in range(G)]
    prob.setObjective(affine(list(zip(u, W.tolist(), strict=True))))
    gi, ji = np.nonzero(U)
    cut = np.searchsorted(gi, np.arange(1, G))
    for g, js in enumerate(np.split(ji, cut)):
        opts.check()
        pairs = [(y[j], -1.0) for j in js.tolist()]
        pairs.append((u[g], 1.0))
        add_row(prob, pairs, pulp.LpConstraintLE, 0, f"c{g}")
    add_row(prob, [(v, 1.0) for v in y], pulp.LpConstraintEQ, p, "p")
    start = {v: 0.0 for v in y}
    for j in start_pos:
        start[y[int(j)]] = 1.0
    covered = np.asarray(U[:, start_pos].any(axis=1))
    start.update({u[g]: float(covered[g]) for g in range(G)})
    opts.check()
    run = highs.solve(prob, opts, start, **MCLP_SEARCH)
    return run, np.flatnonzero(binary_values(y))
