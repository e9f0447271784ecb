"""p-median: open p new sites minimising the total weighted travel time.

Hakimi 1964; ReVelle & Swain 1970.  Exact reductions, a Lagrangian bound with
an interchange incumbent (:mod:`allocator.solve.bounds`), then the chained
radius model (:mod:`allocator.solve.radius`).  See docs/formulations/p-median.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from allocator.errors import AllocatorError
from allocator.solve import bounds as mb
from allocator.solve import cover
from allocator.solve.checks import Options, check_inputs, check_p, client_filter, options
from allocator.solve.deadline import Deadline
from allocator.solve.highs import relative_gap
from allocator.solve.kernels import nearest_time
from allocator.solve.radius import radius_mip, true_value
from allocator.solve.solution import Outcome, Sizes, Solution, finish

#: Lagrangian reduction: _FIRST_ITERS subgradient steps on every candidate,
#: then rounds of _ROUND_ITERS steps on the candidates left (warm started, the
#: step size reset, which is what moves a stalled subgradient on), while a
#: round still removes _REDUCTION_MIN_DROP of them, at most _REDUCTION_ROUNDS.
#: Each round also runs the interchange from the round's Lagrangian solution
#: (Beasley 1993): a better incumbent makes every reduction test sharper.
_FIRST_ITERS = 300
_ROUND_ITERS = 150
_REDUCTION_ROUNDS = 8
_REDUCTION_MIN_DROP = 0.05
#: Client merging: offset rows equal to this fraction of the largest cost are one profile (floating-point
#: noise, e.g. pixels snapped to one node: the node's row plus each pixel's walk); the solution's
#: objective is always evaluated on the clients' own rows and the bound lowered by the merging's slack.
PROFILE_TOL = 1e-10


@dataclass
class CoreResult:
    """What :func:`pmedian_core` found: the open-site mask (fixed included), status, a lower bound
    in weighted minutes of the original objective, and the model's size and times."""

    open_mask: np.ndarray
    status: str
    lower: float
    sizes: Sizes


@dataclass
class Reduction:
    """The Lagrangian step's result over the active candidates: the incumbent (positions) and its
    value, the lower bound, the candidates still in play and those fixed open."""

    best: np.ndarray
    upper: float
    lower: float
    keep: np.ndarray
    force: np.ndarray


@dataclass
class Profiles:
    """Clients merged by cost profile (:func:`merge_profiles`): one offset row per profile, its weight,
    the objective's constant and ``slack``, how far any objective of the merged rows can be from the
    clients' own (a bound, in weighted minutes)."""

    G: np.ndarray
    W: np.ndarray
    const: float
    slack: float


def merge_profiles(C: np.ndarray, w: np.ndarray, notes: list[str]) -> Profiles:
    """Clients with the same cost profile up to a constant, within ``PROFILE_TOL``, merge.

    With ``a_i = min_j c_ij`` the rows ``c_i - a_i`` that round to the same
    multiples of ``PROFILE_TOL`` times the largest finite cost are one client,
    the first of them its row; ``slack`` sums each client's weight times its
    largest deviation from that row (docs/formulations/p-median.md, "Client merging").
    """
    a = C.min(axis=1)
    n, block = C.shape[0], 4096                     # by blocks: no copy of the whole matrix

    def offsets(rows: slice | np.ndarray) -> np.ndarray:
        return C[rows] - a[rows, None]              # inf - a stays inf

    top = max((float(np.max(offsets(slice(r, r + block)), where=np.isfinite(C[r:r + block]), initial=0.0))
               for r in range(0, n, block)), default=0.0)
    step = PROFILE_TOL * max(top, 1.0)
    inv = np.empty(n, dtype=np.int64)
    seen: dict[bytes, int] = {}
    for r in range(0, n, block):
        for i, row in enumerate(np.round(offsets(slice(r, r + block)) / step)):
            inv[r + i] = seen.setdefault(row.tobytes(), len(seen))
    first = np.unique(inv, return_index=True)[1]   # profiles are numbered in order of first appearance
    G = offsets(first)
    with np.errstate(invalid="ignore"):             # inf - inf: the same unreachable pair, no deviation
        dev = np.concatenate([np.abs(np.nan_to_num(offsets(slice(r, r + block)) - G[inv[r:r + block]], nan=0.0))
                              .max(axis=1, initial=0.0) for r in range(0, n, block)])
    W = np.bincount(inv, weights=w, minlength=first.size)
    if first.size < C.shape[0]:
        notes.append(f"p-median: {C.shape[0]} clients merged into {first.size} distinct cost profiles")
    return Profiles(G, W, float(w @ a), float(w @ dev))


def lagrangian_reduction(Ca: np.ndarray, fa: np.ndarray, Wa: np.ndarray, p: int, notes: list[str],
                         deadline: Deadline | None = None) -> Reduction:
    """Incumbent (greedy + interchange) and Lagrangian bound; remove / fix the candidates the bound
    rules out, in rounds (docs/formulations/p-median.md, "Lagrangian reduction").  Past ``deadline``
    each step stops with what it has (an incumbent and a valid bound)."""
    n_cand = Ca.shape[1]
    P, fpen = mb.penalised(Ca, fa)
    best = mb.interchange(P, Wa, fpen, mb.greedy(P, Wa, fpen, p), deadline=deadline)
    upper = true_value(Ca, fa, Wa, best)
    keep = np.ones(n_cand, dtype=bool)
    force = np.zeros(n_cand, dtype=bool)
    if not math.isfinite(upper):
        return Reduction(best, upper, -math.inf, keep, force)
    rows, WF = mb.SortedRows(Ca, scale=Wa), Wa * fa
    bound = mb.lagrangian(rows, WF, p, upper, max_iter=_FIRST_ITERS, deadline=deadline)
    again = mb.interchange(P, Wa, fpen, bound.sites, deadline=deadline)   # Lagrangian heuristic (Beasley 1993)
    if (value := true_value(Ca, fa, Wa, again)) < upper:
        best, upper = again, value
        bound = mb.lagrangian(rows, WF, p, upper, lam0=bound.lam, max_iter=_ROUND_ITERS, deadline=deadline)
    lower = bound.lower
    inc = np.zeros(n_cand, dtype=bool)
    inc[best] = True
    for rnd in range(_REDUCTION_ROUNDS):
        cols = np.flatnonzero(keep)
        if rnd:
            if deadline is not None and deadline.expired():
                break
            # the problem without the removed candidates: min(its bound, upper) bounds the whole problem
            bound = mb.lagrangian(mb.SortedRows(Ca[:, cols], scale=Wa), WF, p, upper, lam0=bound.lam,
                                  max_iter=_ROUND_ITERS, deadline=deadline)
            lower = max(lower, min(bound.lower, upper))
            again = cols[mb.interchange(P[:, cols], Wa, fpen, bound.sites, deadline=deadline)]
            if (value := true_value(Ca, fa, Wa, again)) < upper:
                best, upper = again, value
                inc[:] = False
                inc[best] = True
        closed, opened = mb.reduction(bound, p, upper)
        # keep the incumbent feasible in the reduced problem: it is the MIP start
        force[cols[opened & inc[cols]]] = True
        drop = cols[closed & ~inc[cols]]
        keep[drop] = False
        if rnd and drop.size < _REDUCTION_MIN_DROP * cols.size:
            break
    notes.append(f"p-median: Lagrangian bound within {relative_gap(upper, lower, False):.2%} of the best "
                 f"solution found; {int((~keep).sum())} of {n_cand} candidates ruled out, "
                 f"{int(force.sum())} fixed open")
    return Reduction(best, upper, lower, keep, force)


def _check_servable(C: np.ndarray, fixed: np.ndarray, Ca: np.ndarray, fa: np.ndarray, p: int, opts: Options,
                    notes: list[str]) -> float:
    """Raise when no ``p`` candidates serve the clients no fixed site reaches; the seconds spent solving."""
    need = ~np.isfinite(fa)
    if not need.any():
        return 0.0
    A = np.isfinite(Ca[need])
    if A.all(axis=0).any():     # a single candidate serves all of them
        return 0.0
    cov = cover.min_cover(A, opts, "pmedian_feasibility")
    if cov.status == "optimal" and cov.chosen.size > p:
        raise_unservable(C, fixed, p, opts, notes, needed=cov.chosen.size)
    return cov.sizes.solve_s


def _solve_reduced(red: Reduction, Ca: np.ndarray, fa: np.ndarray, Wa: np.ndarray, p: int, opts: Options,
                   notes: list[str], infeasible) -> tuple[np.ndarray, str, float, Sizes]:
    """The radius model over the candidates the reduction left, forced ones joining the fixed sites:
    ``(positions, status, lower bound, sizes)``."""
    free = np.flatnonzero(red.keep & ~red.force)
    fr = nearest_time(Ca, red.force, fa)
    found = math.isfinite(red.upper)
    start = np.searchsorted(free, red.best[~red.force[red.best]]) if found else None
    res = radius_mip(Ca[:, free], fr, Wa, p - int(red.force.sum()), start, opts, notes, infeasible)
    pos = np.sort(np.concatenate([free[res.positions], np.flatnonzero(red.force)]))
    if true_value(Ca, fa, Wa, pos) > red.upper:      # never worse than the incumbent
        pos = red.best
    # solutions outside the reduced problem cost >= upper, so the global bound is the smaller of the two
    low = min(res.lower, red.upper) if found else res.lower
    return pos, res.status, max(low, red.lower), res.sizes


def pmedian_core(C: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int, opts: Options,
                 notes: list[str]) -> CoreResult:
    """p-median over clients ``C`` (all positive weight, each with a finite cost).

    Steps, each exact: (a) merge clients with the same cost profile, (b) make
    clients best served by a fixed site constants, (c) find an incumbent and a
    Lagrangian bound and remove / fix the candidates the bound rules out, (d)
    prove optimality with the radius integer program over what is left.
    Raises AllocatorError when no ``p`` candidates can serve every client.
    """
    t0 = time.perf_counter()
    cand = np.flatnonzero(~fixed)
    prof = merge_profiles(C, w, notes)                              # (a)
    G, W, const = prof.G, prof.W, prof.const - prof.slack            # a bound: subtract the slack
    f = nearest_time(G, fixed)
    Cc = G if cand.size == G.shape[1] else G[:, cand]      # no copy without fixed sites
    cmin = Cc.min(axis=1) if cand.size else np.full(G.shape[0], np.inf)
    const_grp = f <= cmin                                           # (b)
    const += float(W[const_grp] @ f[const_grp])
    act = np.flatnonzero(~const_grp)

    open_mask = fixed.copy()
    if p == 0 or act.size == 0 or p == cand.size:
        if p == cand.size:
            open_mask[:] = True
        elif p > 0:   # nothing depends on the choice: the lowest-index candidates
            open_mask[cand[:p]] = True
        val = nearest_time(C, open_mask)
        if not np.isfinite(val).all():
            raise_unservable(C, fixed, p, opts, notes)
        return CoreResult(open_mask, "optimal", float(w @ val), Sizes(build_s=time.perf_counter() - t0))

    Ca, fa, Wa = (Cc if act.size == Cc.shape[0] else Cc[act]), f[act], W[act]
    t_solve = _check_servable(C, fixed, Ca, fa, p, opts, notes)
    red = lagrangian_reduction(Ca, fa, Wa, p, notes, opts.deadline)  # (c)
    t_build = time.perf_counter() - t0
    sizes = Sizes()
    found = math.isfinite(red.upper)
    if found and relative_gap(red.upper, red.lower, False) <= max(opts.gap_rel, mb.REDUCTION_TOL):
        pos, status, low = red.best, "optimal", red.lower
    elif found and opts.expired():   # out of time: the incumbent with the Lagrangian gap
        pos, status, low = red.best, "time_limit", red.lower
    else:                                                           # (d)
        pos, status, low, sizes = _solve_reduced(red, Ca, fa, Wa, p, opts, notes,
                                                 lambda: raise_unservable(C, fixed, p, opts, notes))
    open_mask[cand[pos]] = True
    lower_total = const + low if math.isfinite(low) else -math.inf
    return CoreResult(open_mask, status, lower_total,
                      Sizes(sizes.n_variables, sizes.n_constraints, t_build + sizes.build_s, t_solve + sizes.solve_s))


def raise_unservable(C: np.ndarray, fixed: np.ndarray, p: int, opts: Options, notes: list[str],
                     needed: int | None = None) -> NoReturn:
    """Raise the AllocatorError of a p-median (or p-center) that ``p`` new sites cannot serve."""
    f = nearest_time(C, fixed)
    lonely = int((~np.isfinite(f)).sum())
    if needed is None:
        A = np.isfinite(C[~np.isfinite(f)][:, ~fixed])
        if A.shape[0] and A.any(axis=1).all():
            needed = cover.min_cover(A, opts).chosen.size
    more = f"; at least {needed} new sites are needed" if needed else ""
    raise AllocatorError(
        f"infeasible: {lonely} client(s) reach no existing site and cannot all reach one of "
        f"p = {p} new sites{more}",
        field="p",
        fix="raise p, add candidate sites near the unserved clients, or give them weight 0")


def solve_p_median(cost, weight, p, fixed_open=None, *, time_limit=None, gap_rel=None,
                   threads=None) -> Solution:
    """p-median: open ``p`` new sites minimising total weighted travel time.

    Minimise ``sum_i w_i min_{j open} c_ij`` with the fixed sites open and
    exactly ``p`` candidates opened.  Every positive-weight client must reach
    an open site; clients with no finite cost to any site are excluded with a
    note.  Raises AllocatorError if ``p`` new sites cannot serve every client.
    If time runs out, the best solution is returned with the gap to the
    Lagrangian (or HiGHS) bound.  See docs/formulations/p-median.md.
    """
    t0 = time.perf_counter()
    c, w, fixed = check_inputs(cost, weight, fixed_open)
    p = check_p(p, int((~fixed).sum()))
    opts = options(time_limit, gap_rel, threads)
    notes: list[str] = []
    rows, bad = client_filter(c, w, notes)
    C, wr = c[rows], w[rows]
    if rows.size == 0:
        open_mask = fixed.copy()
        open_mask[np.flatnonzero(~fixed)[:p]] = True
        notes.append("no client with positive weight can be served: any sites are optimal")
        return finish("p_median", Outcome("optimal", 0.0, 0.0), open_mask=open_mask, fixed=fixed,
                      sizes=Sizes(build_s=time.perf_counter() - t0), notes=notes, uncoverable=bad)
    core = pmedian_core(C, wr, fixed, p, opts, notes)
    obj = float(wr @ nearest_time(C, core.open_mask))
    gap = relative_gap(obj, core.lower, maximise=False)
    if core.status == "optimal" and gap > 0:
        notes.append(f"stopped at the requested gap_rel={opts.gap_rel:g} (proven gap {gap:.2e})")
    if core.status == "time_limit":
        notes.append(f"time limit reached: best solution found, proven gap {gap:.2%}")
    return finish("p_median", Outcome(core.status, obj, gap), open_mask=core.open_mask, fixed=fixed,
                  sizes=core.sizes, notes=notes, uncoverable=bad)
