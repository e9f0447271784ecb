"""Upper and lower bounds for the p-median, and the exact reductions they allow.

Pure numpy, no solver.  :func:`allocator.solve.models.solve_p_median` uses them to
shrink the problem before the integer program:

- :func:`greedy` and :func:`interchange` find a good solution (an upper bound
  ``UB``): greedy adding (Kuehn & Hamburger 1963) then the vertex-substitution
  local search of Teitz & Bart (1968), evaluated for all swaps at once as in
  Resende & Werneck (2007, "A fast swap-based local search procedure for
  location problems").
- :func:`lagrangian` computes a lower bound ``LB`` by relaxing the assignment
  constraints (Cornuéjols, Fisher & Nemhauser 1977; Beasley 1993) and
  maximising it by subgradient optimisation.
- :func:`reduction` turns the two into exact variable fixing: a candidate whose
  opening forces the Lagrangian bound to ``UB`` or above is in no solution
  better than the incumbent, so it can be removed; one whose closing does so
  is in every such solution, so it can be fixed open (Beasley 1993, §3).

Every function works on *groups* (clients, possibly merged) with weights
``W``, a cost matrix ``Ca`` (groups x candidates, ``inf`` = unreachable) and
``fa``, each group's cost to its nearest always-open site (``inf`` if none).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from allocator.solve.deadline import Deadline

#: Relative tolerance of the reduction tests: a candidate is removed when every
#: solution using it is at most this fraction better than the incumbent, i.e.
#: results are optimal to a relative 1e-9 (below HiGHS's own tolerances).
REDUCTION_TOL = 1e-9
#: Subgradient steps: the first step factor, rounds without progress before it halves, the factor to stop at
_FACTOR, _PATIENCE, _FACTOR_MIN = 2.0, 15, 0.005


def penalised(Ca: np.ndarray, fa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite stand-ins for ``inf``: unreachable pairs cost more than any
    reachable one and an unserved group more still, so heuristics prefer
    serving everybody; the exact model never sees these numbers."""
    finite = np.isfinite(Ca)
    big = (float(np.max(Ca[finite])) if finite.any() else 1.0) * 4 + 1.0
    return np.where(finite, Ca, big * 4), np.where(np.isfinite(fa), fa, big * 16)


def value(P: np.ndarray, W: np.ndarray, f: np.ndarray, sites: np.ndarray) -> float:
    """Total weighted cost of opening ``sites`` (columns of ``P``) next to the fixed sites."""
    cur = f if sites.size == 0 else np.minimum(f, P[:, sites].min(axis=1))
    return float(W @ cur)


def greedy(P: np.ndarray, W: np.ndarray, f: np.ndarray, p: int) -> np.ndarray:
    """Greedy adding: p times the candidate that lowers the total most (ties: lowest index)."""
    cur = f.copy()
    chosen = np.zeros(P.shape[1], dtype=bool)
    capped = np.empty_like(P)                        # one buffer for every step, not a new matrix each
    for _ in range(p):
        total = W @ np.minimum(cur[:, None], P, out=capped)
        total[chosen] = np.inf
        j = int(np.argmin(total))
        chosen[j] = True
        cur = np.minimum(cur, P[:, j])
    return np.flatnonzero(chosen)


def interchange(P: np.ndarray, W: np.ndarray, f: np.ndarray, sites: np.ndarray,
                max_swaps: int = 10_000, deadline: Deadline | None = None) -> np.ndarray:
    """Best-improvement vertex substitution (Teitz & Bart 1968) until no swap helps.

    Each round evaluates every (insert j, remove r) pair at once
    (Resende & Werneck 2007): ``profit(j, r) = gain(j) - loss(r) + extra(j, r)``
    with ``d1``/``d2`` each group's nearest and second-nearest open cost (the
    fixed sites count as an open site that cannot be removed).  Only the pairs
    with ``P_gj < d2_g`` count, a short prefix of each sorted row
    (:class:`SortedRows`) when ``p`` is not small.  Past ``deadline`` it stops
    with the sites it has (each swap keeps a solution).
    """
    S = np.array(sorted(int(s) for s in sites), dtype=np.int64)
    p, m = S.size, P.shape[1]
    if p == 0 or p == m:
        return S
    width = max(64, 4 * m // p)
    rows = SortedRows(P, width) if 2 * width < m else None
    for _ in range(max_swaps):
        if deadline is not None and deadline.expired():
            break
        M = np.column_stack([P[:, S], f])           # column p: the fixed sites
        two = np.argpartition(M, 1, axis=1)[:, :2] if M.shape[1] > 1 else np.zeros((M.shape[0], 2), int)
        a, b = np.take_along_axis(M, two, 1).T
        swap = b < a
        phi1 = np.where(swap, two[:, 1], two[:, 0])
        d1, d2 = np.minimum(a, b), np.maximum(a, b)
        removable = phi1 < p
        loss = np.bincount(phi1[removable], weights=(W * (d2 - d1))[removable], minlength=p)[:p]
        gain, extra = _swap_terms(P, W, d1, d2, phi1, p, rows)
        profit = gain[:, None] - loss[None, :] + extra
        profit[S, :] = -np.inf
        k = int(np.argmax(profit))
        j, r = divmod(k, p)
        if not profit[j, r] > 1e-9 * max(1.0, abs(float(np.einsum("i,i->", W, d1)))):
            break
        S[r] = j
    return np.sort(S)


def _swap_terms(P: np.ndarray, W: np.ndarray, d1: np.ndarray, d2: np.ndarray, phi1: np.ndarray, p: int,
                rows: SortedRows | None) -> tuple[np.ndarray, np.ndarray]:
    """The interchange's ``gain(j) = sum_g W_g max(d1_g - P_gj, 0)`` and ``extra(j, r)``, the sum of
    ``W_g (d2_g - max(P_gj, d1_g))`` over the groups whose nearest open site is ``r`` and with
    ``P_gj < d2_g``: from the sorted prefixes of ``rows`` where they hold every such pair (``d2`` within
    the row's limit), over the whole row elsewhere."""
    m = P.shape[1]
    wide = np.flatnonzero(np.ones(P.shape[0], dtype=bool) if rows is None else d2 > rows.limit)
    Pw = P[wide]
    gain = np.einsum("i,ij->j", W[wide], np.maximum(d1[wide, None] - Pw, 0.0))   # few rows: no BLAS threads
    ii, jj = np.nonzero(Pw < d2[wide, None])  # noqa: SIM300 (Pw is a matrix)
    ii, vv = wide[ii], Pw[ii, jj]
    if rows is not None:
        narrow = np.where(d2 > rows.limit, 0.0, d2)    # 0: no pair (costs are >= 0)
        r, c, v = rows.below(narrow)
        gain = gain + np.bincount(c, weights=W[r] * np.maximum(d1[r] - v, 0.0), minlength=m)
        ii, jj, vv = np.concatenate([ii, r]), np.concatenate([jj, c]), np.concatenate([vv, v])
    keep = phi1[ii] < p                                 # the nearest open site is removable
    ii, jj, vv = ii[keep], jj[keep], vv[keep]
    extra = np.bincount(jj * p + phi1[ii], weights=W[ii] * (d2[ii] - np.maximum(vv, d1[ii])),
                        minlength=m * p).reshape(m, p)
    return gain, extra


@dataclass
class Bound:
    """A Lagrangian lower bound and what the reduction tests need."""

    lower: float          # the bound (same units as the objective), evaluated in float64
    rho: np.ndarray       # per candidate: its Lagrangian contribution when opened (<= 0)
    sites: np.ndarray     # the Lagrangian solution: the p candidates with the smallest rho
    lam: np.ndarray       # the multipliers that gave it (a warm start for another run)
    iterations: int


def evaluate(rows: SortedRows, WF: np.ndarray, lam: np.ndarray, p: int) -> tuple[float, np.ndarray, np.ndarray]:
    """``L(lam)``, ``rho`` and the Lagrangian solution for multipliers ``lam`` (see :func:`lagrangian`), in
    float64 over the sorted rows ``rows``: every pair below a multiplier is in them, as each multiplier is
    taken at most at its row's limit (any multipliers give a valid bound)."""
    lam = np.minimum(lam, rows.limit)
    owner, cols, vals = rows.below(lam)
    m = rows.n_cols
    rho = np.bincount(cols, weights=vals - lam[owner], minlength=m)
    sites = np.sort(np.argpartition(rho, p - 1)[:p]) if p < m else np.arange(m)
    L = float(lam.sum() + np.minimum(WF - lam, 0.0).sum() + rho[sites].sum())
    return L, rho, sites


class SortedRows:
    """The ``width`` smallest of each group's costs (weighted, for the Lagrangian), sorted, as a table.

    ``L(lam)`` only needs the pairs with ``W_g c_gj < lam_g``, and the
    interchange those with ``c_gj < d2_g``: a short prefix of each sorted row.
    Each multiplier is kept at or below ``limit_g``, the largest value kept for
    its row (or ``cap``, above every finite cost, when the row has fewer finite
    values), so every pair below it is kept.  Any multipliers give a valid
    bound, so this restriction only narrows the search.  :meth:`below` reads
    the pairs under one bound per row from the table, so a step costs
    O(n width) instead of O(nm).
    """

    def __init__(self, C: np.ndarray, width: int = 64, scale: np.ndarray | None = None):
        """The rows of ``C`` (times ``scale_g`` per row when given, e.g. the weights), by blocks of rows."""
        n, m = C.shape
        width = min(width, m)
        self.order = np.empty((n, width), dtype=np.int32)
        vals = np.empty((n, width))
        for r in range(0, n, 4096):                  # by blocks: no full-size temporaries
            block = C[r:r + 4096] if scale is None else scale[r:r + 4096, None] * C[r:r + 4096]
            part = np.argpartition(block, width - 1, axis=1)[:, :width] if width < m else \
                np.tile(np.arange(m), (block.shape[0], 1))
            within = np.argsort(np.take_along_axis(block, part, axis=1), axis=1, kind="stable")
            self.order[r:r + 4096] = np.take_along_axis(part, within, axis=1)
            vals[r:r + 4096] = np.take_along_axis(block, self.order[r:r + 4096], axis=1)
        finite = np.isfinite(vals)
        #: above every finite cost: unreachable pairs are stored as ``cap`` and never count
        self.cap = (float(vals[finite].max()) if finite.any() else 0.0) + 1.0
        vals = np.where(finite, vals, self.cap)
        #: per row, the largest multiplier whose pairs below it are all kept
        self.limit = vals[:, -1] if width < m else np.full(n, self.cap)
        self.table = vals                                #: rows x width, sorted per row
        self.n_cols = m

    @cached_property
    def table32(self) -> np.ndarray:
        """The table in single precision, for the Lagrangian's search."""
        return self.table.astype(np.float32)

    def below(self, bound: np.ndarray, single: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, cols, values)`` of every pair whose value is below its row's ``bound`` (``bound <= limit``:
        they are all in the table); ``single``: read from the single-precision table."""
        table = self.table32 if single else self.table
        under = table < bound.astype(table.dtype)[:, None]
        rows = np.repeat(np.arange(bound.size), np.count_nonzero(under, axis=1))
        return rows, self.order[under], table[under]


def lagrangian(rows: SortedRows, WF: np.ndarray, p: int, upper: float, lam0: np.ndarray | None = None,
               max_iter: int = 400, deadline: Deadline | None = None) -> Bound:
    """Lagrangian bound of the p-median with the assignment rows relaxed.

    With multipliers ``lam_g`` for ``sum_j x_gj = 1``::

        L(lam) = sum_g [lam_g + min(0, W_g fa_g - lam_g)] + (sum of the p smallest rho_j),
        rho_j  = sum_g min(0, W_g c_gj - lam_g)

    is a lower bound for every ``lam`` (the relaxed problem splits by site and
    is solved exactly by taking the p most negative ``rho``).  ``lam`` is
    improved by subgradient steps with Polyak's step size towards ``upper``
    (Held, Wolfe & Crowder 1974), the step factor halved after 15 rounds
    without progress.  Unreachable pairs (``inf``) never lower ``rho``.

    ``rows`` are the sorted rows of ``W_g c_gj`` (:class:`SortedRows`), ``WF``
    is ``W_g fa_g``.  Each step touches only the pairs with ``W_g c_gj < lam_g``,
    in single precision; the returned bound is ``L`` of the best multipliers
    evaluated again in float64 (:func:`evaluate`), so it is valid whatever
    rounding the search saw.  ``lam0`` warm-starts the search; past ``deadline`` it
    stops with the best multipliers so far (every ``L`` is a bound).
    """
    m = rows.n_cols
    if lam0 is None:
        first = rows.table[:, :2]                 # start: the second-nearest candidate
        lam = np.minimum(first[:, -1], WF)
        lam = np.where(lam < rows.cap, lam, np.where(first[:, 0] < rows.cap, first[:, 0], 0.0))
    else:
        lam = lam0.copy()
    lam = np.minimum(lam, rows.limit)
    best_L, best_lam = -np.inf, lam.copy()
    factor, stall, it = _FACTOR, 0, 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is read after the loop)
        lam32 = lam.astype(np.float32)
        owner, cols, vals = rows.below(lam32, single=True)
        rho = np.bincount(cols, weights=vals - lam32[owner], minlength=m)
        sites = np.argpartition(rho, p - 1)[:p] if p < m else np.arange(m)
        fixed_part = np.minimum(WF - lam, 0.0)
        L = float(lam.sum() + fixed_part.sum() + rho[sites].sum())
        if L > best_L + 1e-12 * abs(L):  # noqa: SIM300 (L is a value, not a constant)
            best_L, best_lam, stall = L, lam.copy(), 0
        else:
            stall += 1
            if stall >= _PATIENCE:
                factor, stall = factor / 2, 0
        if factor < _FACTOR_MIN or upper - best_L <= 1e-10 * abs(upper) or (deadline is not None and deadline.expired()):
            break
        chosen = np.zeros(m, dtype=bool)
        chosen[sites] = True
        served = np.bincount(owner[chosen[cols]], minlength=lam.size)
        sub = 1.0 - served - (fixed_part < 0)
        norm = float(np.einsum("i,i->", sub, sub))     # not BLAS: its threads cost more than this sum
        if norm == 0:                                # the relaxed solution is feasible: L is optimal
            break
        lam = np.clip(lam + factor * (upper - L) / norm * sub, 0.0, rows.limit)
    L, rho, sites = evaluate(rows, WF, best_lam, p)
    return Bound(L, rho, sites, best_lam, it)


def reduction(bound: Bound, p: int, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidates provably closed / open in every solution better than ``upper``.

    With ``r_(k)`` the k-th smallest ``rho``: forcing candidate ``j`` open when
    it is not in the Lagrangian solution raises the bound to
    ``L - r_(p) + rho_j``; forcing ``j`` closed when it is raises it to
    ``L - rho_j + r_(p+1)`` (the same multipliers stay valid under the extra
    fixing).  If that is ``>= upper`` no solution better than the incumbent
    makes that choice.  Returns boolean masks ``(closed, open)``.
    """
    rho = bound.rho
    m = rho.size
    closed = np.zeros(m, dtype=bool)
    opened = np.zeros(m, dtype=bool)
    if not np.isfinite(bound.lower) or p == 0 or p >= m:
        return closed, opened
    srt = np.sort(rho)
    cut = upper - REDUCTION_TOL * abs(upper)
    inside = np.zeros(m, dtype=bool)
    inside[bound.sites] = True
    closed = ~inside & (bound.lower - srt[p - 1] + rho >= cut)
    opened = inside & (bound.lower - rho + srt[p] >= cut)
    return closed, opened
