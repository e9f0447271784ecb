"""p-center (and weighted p-center): open p new sites minimising the longest (weighted) travel time.

Minieka 1970; Daskin 1995: a binary search over the sorted cost values, each
probe a set cover, then a p-median tie-break.  See docs/formulations/p-center.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from allocator.errors import AllocatorError
from allocator.solve import cover
from allocator.solve.checks import Options, check_inputs, check_p, client_filter, options
from allocator.solve.deadline import OutOfTimeError
from allocator.solve.highs import relative_gap
from allocator.solve.kernels import longest_time, nearest_time
from allocator.solve.p_median import pmedian_core, raise_unservable
from allocator.solve.solution import Outcome, Sizes, Solution, finish


@dataclass
class _Tally:
    """The size of the largest model and the seconds summed over every solve of one call."""

    n_variables: int = 0
    n_constraints: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0

    def add(self, s: Sizes) -> None:
        self.n_variables, self.n_constraints = max(self.n_variables, s.n_variables), \
            max(self.n_constraints, s.n_constraints)
        self.build_s += s.build_s
        self.solve_s += s.solve_s

    def sizes(self) -> Sizes:
        return Sizes(self.n_variables, self.n_constraints, self.build_s, self.solve_s)


def greedy_center(f: np.ndarray, Cc: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy upper bound: each step the candidate minimising the max, then the sum.
    Returns ``(each row's time, candidates used)``.  It always runs to the end (``p`` vectorised steps, as the
    p-median's greedy): it is the plan a run past its limit stops with."""
    cur = f.copy()
    used = np.zeros(Cc.shape[1], dtype=bool)
    for _ in range(p):
        M = np.minimum(cur[:, None], Cc)
        mx = M.max(axis=0)
        sm = np.where(np.isfinite(M), M, 0).sum(axis=0) + (~np.isfinite(M)).sum(axis=0) * 1e300
        mx[used] = np.inf
        sm[used] = np.inf
        best = np.flatnonzero(mx == mx.min())
        j = int(best[np.argmin(sm[best])])
        used[j] = True
        cur = M[:, j]
    return cur, used


@dataclass
class _Prober:
    """Is value ``L`` achievable with ``p`` new sites?  A set cover of the rows no fixed site reaches within L."""

    f: np.ndarray
    Cc: np.ndarray
    p: int
    opts: Options
    tally: _Tally

    def __call__(self, L: float) -> tuple[bool | None, np.ndarray | None]:
        """(feasible, or None if unknown; chosen candidate positions)."""
        A = self.Cc[self.f > L] <= L
        if A.shape[0] and not A.any(axis=1).all():
            return False, None
        cov = cover.min_cover(A, self.opts, "p_center_probe")
        self.tally.add(cov.sizes)
        if cov.status in ("optimal", "time_limit") and cov.chosen.size <= self.p:
            return True, cov.chosen
        if cov.status == "optimal" or cov.lower > self.p:
            return False, None
        return None, None


def _search(probe: _Prober, vals: np.ndarray, hi: int, pos_hi: np.ndarray,
            opts: Options) -> tuple[int, int, np.ndarray, int, bool]:
    """Binary search for the lowest achievable value: ``(hi, proven_lo, positions at hi, probes, timed_out)``."""
    lo = 0                       # vals[lo] is the lowest value not yet ruled out
    proven_lo = lo
    probes = 0
    timed_out = False
    while lo < hi:
        if opts.expired():
            timed_out = True
            break
        mid = (lo + hi) // 2
        ok, chosen = probe(float(vals[mid]))
        probes += 1
        if ok and chosen is not None:   # a feasible probe always has its sites
            hi, pos_hi = mid, chosen
        else:
            lo = mid + 1
            if ok is False:      # infeasible at vals[mid], hence at every smaller value
                proven_lo = max(proven_lo, lo)
            else:                # unknown (probe hit the time limit)
                timed_out = True
    return hi, proven_lo, pos_hi, probes, timed_out


def _tie_break(CL: np.ndarray, wr: np.ndarray, fixed: np.ndarray, p: int, pos_hi: np.ndarray,
               opts: Options, tally: _Tally, notes: list[str]) -> np.ndarray:
    """Among the site sets achieving L, one minimising the weighted total: a p-median over pairs within L
    (``CL``), else the probe's sites (positions among the candidates) filled with the lowest-index candidates."""
    cand = np.flatnonzero(~fixed)
    open_mask = fixed.copy()
    try:
        opts.check()
        core = pmedian_core(CL, wr, fixed, p, opts, [])
        tally.add(core.sizes)
        if np.isfinite(nearest_time(CL, core.open_mask)).all():
            open_mask = core.open_mask
        if core.status != "optimal":
            notes.append("p-center tie-break (weighted total) stopped at the time limit")
    except OutOfTimeError:
        notes.append("p-center tie-break (weighted total) stopped at the time limit")
    except AllocatorError:
        pass
    if not (open_mask & ~fixed).any() and p > 0 or not np.isfinite(nearest_time(CL, open_mask)).all():
        open_mask = fixed.copy()
        open_mask[cand[pos_hi]] = True
        extra = [j for j in cand if not open_mask[j]][: p - len(pos_hi)]
        open_mask[extra] = True
    return open_mask


def solve_p_center(cost, weight, p, fixed_open=None, *, weighted: bool = False, time_limit=None,
                   gap_rel=None, threads=None) -> Solution:
    """p-center: open ``p`` new sites minimising the longest travel time.

    Objective: ``max_{i: w_i > 0} min_{j open} c_ij`` (minutes).  Clients with
    no finite cost to any site are excluded with a note.  With ``weighted``
    it is the weighted p-center ``max_i w_i min_{j open} c_ij`` (person-minutes):
    the same search on the matrix ``w_i c_ij``.  Among the site sets achieving
    the optimum, one minimising the weighted total travel time is returned.
    ``objective`` is the optimal value.  See docs/formulations/p-center.md.
    """
    c, w, fixed = check_inputs(cost, weight, fixed_open)
    cand = np.flatnonzero(~fixed)
    p = check_p(p, cand.size)
    opts = options(time_limit, gap_rel, threads)
    t0 = time.perf_counter()
    notes: list[str] = []
    model = "weighted_p_center" if weighted else "p_center"
    rows, bad = client_filter(c, w, notes)
    if rows.size == 0:
        open_mask = fixed.copy()
        open_mask[cand[:p]] = True
        notes.append("no client with positive weight can be served: any sites are optimal")
        return finish("p_center", Outcome("optimal", 0.0, 0.0), open_mask=open_mask, fixed=fixed,
                      sizes=Sizes(), notes=notes, uncoverable=bad)
    C, wr = c[rows], w[rows]
    S = C * wr[:, None] if weighted else C      # what the maximum is taken over
    U = np.unique(S, axis=0)                    # identical rows are the same client for the max objective
    f = nearest_time(U, fixed)
    Cc = U[:, cand]
    lb = float(U.min(axis=1).max())     # nobody can do better than their nearest site
    cur, used = greedy_center(f, Cc, p)
    ub = float(cur.max())
    vals = np.unique(U[np.isfinite(U)])
    if not math.isfinite(ub):
        ub = float(vals[-1])
    vals = vals[(vals >= lb) & (vals <= ub)]
    tally = _Tally(build_s=time.perf_counter() - t0)
    probe = _Prober(f, Cc, p, opts, tally)
    # greedy-achieved value is feasible by construction; ensure it really is
    hi = int(np.searchsorted(vals, ub, "left"))
    if not math.isfinite(float(cur.max())):
        ok, pos_hi = probe(float(vals[hi]))
        if ok is None:   # no plan serving everyone yet
            raise OutOfTimeError(opts.time_limit)
        if not ok or pos_hi is None:
            raise_unservable(C, fixed, p, opts, notes)
    else:
        pos_hi = np.flatnonzero(used)
    hi, proven_lo, pos_hi, probes, timed_out = _search(probe, vals, hi, pos_hi, opts)
    L = float(vals[hi])
    notes.append(f"p-center: {probes} set-cover probe(s) over {vals.size} candidate values")
    open_mask = _tie_break(np.where(S <= L, C, np.inf), wr, fixed, p, pos_hi, opts, tally, notes)
    obj = longest_time(c, w, open_mask, weighted)
    lower = float(vals[proven_lo]) if proven_lo < vals.size else obj
    gap = relative_gap(obj, lower, maximise=False)
    status = "time_limit" if (timed_out and gap > 0) else "optimal"
    if status == "time_limit":
        notes.append(f"time limit reached: best value {obj:g} min, proven lower bound {lower:g} min")
    return finish(model, Outcome(status, obj, gap), open_mask=open_mask, fixed=fixed,
                  sizes=tally.sizes(), notes=notes, uncoverable=bad)
