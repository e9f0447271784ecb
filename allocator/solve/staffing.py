"""How many counters each office gets: fixed catchments (greedy, exact) and offices chosen with them (MILP, exact).

:func:`decide_counters` takes a solved service's staffing decision (its
``counters`` section: reassign, add or open) for the catchments after the plan;
the waits it leads to are measured in :mod:`allocator.evaluate.waits`.

With each office's visitors fixed (its catchment does not change), the
person-minutes of waiting per hour ``λ_j Wq_j(c)`` are convex and decreasing
in ``c`` (Dyer & Proll 1977 for M/M/c; the Allen–Cunneen factor is a
constant, so the same holds), and the total is separable, so adding counters
one at a time where they cut the waiting most is optimal for a given number
of counters (:func:`allocate`).  Whether a wait target holds at an office is
monotone in ``c``, so the least staffing that meets a target is, office by
office, the fewest counters that meet it (:func:`fewest_meeting`).

:func:`open_and_staff` chooses new offices and their counters together: each
person goes to the nearest open office, whole, ties to the lowest site column
(:class:`Catchments`), every office must meet the wait target for the
visitors its catchment sends, and the people-weighted travel is minimised
under a budget (opening costs plus added counters) and/or ``p`` new offices.
It is exact for that problem; the wait itself is not in its objective
(docs/counters.md says why).  Its model is built as arrays for HiGHS
(:func:`open_model`).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
from scipy import sparse

from allocator.errors import AllocatorError
from allocator.inputs.sites import SiteStatus
from allocator.scenario.counters import MAX_COUNTERS_PER_OFFICE, CountersSpec
from allocator.solve import highs
from allocator.solve.checks import Options, options
from allocator.solve.deadline import OutOfTimeError
from allocator.solve.kernels import nearest_open
from allocator.solve.problem import ServiceProblem
from allocator.solve.queueing import QueueStats, min_stable_counters, queue, queues_from
from allocator.solve.solution import CounterDecision, Solution


@dataclass(frozen=True)
class QueueModel:
    """What every office of a service shares: service time (minutes), its CV, and the wait target."""

    service_min: float
    cv: float = 1.0
    limit_min: float | None = None          # "wait under limit_min ..."
    share_within: float | None = None       # "... for at least this share of visitors"
    mean_wait_max_min: float | None = None  # "mean wait at most this at every office"

    def stats(self, counters: int, arrivals_per_h: float) -> QueueStats:
        return queue(counters, arrivals_per_h, self.service_min, self.cv)

    def wait_cost(self, counters: int, arrivals_per_h: float) -> float:
        """Person-minutes of waiting per hour at one office (inf when unstable, 0 with no visitors)."""
        return waiting(self.stats(counters, arrivals_per_h))

    def holds(self, q: QueueStats) -> bool:
        """True when an office's waits ``q`` meet every target given (stability alone without targets)."""
        if q.arrivals_per_h > 0 and not q.stable:
            return False
        if self.mean_wait_max_min is not None and q.mean_wait_min > self.mean_wait_max_min * (1 + 1e-12):
            return False
        if self.share_within is not None and self.limit_min is not None:
            return q.share_longer(self.limit_min) <= 1.0 - self.share_within + 1e-12
        return True

    def meets(self, counters: int, arrivals_per_h: float) -> bool:
        """True when ``counters`` serve ``arrivals_per_h`` within every target given (:meth:`holds`)."""
        return self.holds(self.stats(counters, arrivals_per_h))

    def fewest(self, arrivals_per_h: float, cap: int = MAX_COUNTERS_PER_OFFICE) -> int | None:
        """Fewest counters (at least 1) meeting the targets for ``arrivals_per_h``; None if more than ``cap``.

        Walks up from the stable minimum, one O(1) step per counter (:func:`queues_from`), at most to ``cap``.
        """
        first = max(1, min_stable_counters(arrivals_per_h, self.service_min))
        if first > cap:
            return None
        walk = queues_from(first, arrivals_per_h, self.service_min, self.cv)
        return next((c for c, q in zip(range(first, cap + 1), walk, strict=False) if self.holds(q)), None)

    def most_arrivals(self, counters: int) -> float:
        """Largest visitors per hour ``counters`` serve within the targets (bisection; monotone in load)."""
        hi = counters * 60.0 / self.service_min            # utilisation 1
        if not self.meets(counters, 1e-9 * hi):
            return 0.0
        lo = 0.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self.meets(counters, mid) else (lo, mid)
        return lo


def waiting(q: QueueStats) -> float:
    """Person-minutes of waiting per hour at an office with waits ``q`` (inf when unstable, 0 with no visitors)."""
    return 0.0 if q.arrivals_per_h <= 0 else q.arrivals_per_h * q.mean_wait_min


def allocate(arrivals_per_h: np.ndarray, start: np.ndarray, extra: int, model: QueueModel,
             cap: np.ndarray | None = None) -> np.ndarray:
    """Add at most ``extra`` counters to ``start`` where they cut waiting most: the one-at-a-time greedy (exact).

    Its work is bounded by the counters that cut waiting, not by ``extra``: the greedy first brings the
    unstable offices (infinite waiting), in office order, to their stable minimum in one step each; then
    adds one counter at a time (a heap, O(1) a step: :func:`queues_from`) and stops when no counter cuts
    the waiting any more (its wait is 0.0 in double precision).  Counters no office can use (every office
    at ``cap``, without visitors, or without waiting) stay unused.
    """
    counters = np.asarray(start, dtype=int).copy()
    lam = np.asarray(arrivals_per_h, dtype=float)
    top = np.full(len(lam), np.iinfo(np.int64).max) if cap is None else np.asarray(cap, dtype=int)
    left = extra
    for office in np.flatnonzero(lam > 0):   # the unstable ones, as the greedy takes them (infinite gains, by office)
        have, most = int(counters[office]), int(top[office])
        add = max(0, min(left, min_stable_counters(float(lam[office]), model.service_min) - have, most - have))
        counters[office] += add
        left -= add
    walks = {int(j): queues_from(int(counters[j]), float(lam[j]), model.service_min, model.cv)
             for j in np.flatnonzero((lam > 0) & (counters < top))}
    now = {j: waiting(next(walk)) for j, walk in walks.items()}
    after = {j: waiting(next(walk)) for j, walk in walks.items()}
    heap = [(after[j] - now[j], j) for j in walks]
    heapq.heapify(heap)
    while left > 0 and heap and heap[0][0] < 0:
        _, j = heapq.heappop(heap)
        counters[j] += 1
        left -= 1
        if counters[j] < top[j]:
            now[j], after[j] = after[j], waiting(next(walks[j]))
            heapq.heappush(heap, (after[j] - now[j], j))
    return counters


def fewest_meeting(arrivals_per_h: np.ndarray, model: QueueModel, floor: np.ndarray | None = None,
                   cap: np.ndarray | None = None) -> np.ndarray:
    """Per office, the fewest counters (at least ``floor``) meeting the targets; -1 where ``cap`` is too low.

    ``cap`` defaults to the most counters one office holds (MAX_COUNTERS_PER_OFFICE).
    """
    lam = np.asarray(arrivals_per_h, dtype=float)
    low = np.ones(len(lam), dtype=int) if floor is None else np.asarray(floor, dtype=int)
    top = np.full(len(lam), MAX_COUNTERS_PER_OFFICE) if cap is None else np.asarray(cap, dtype=int)
    out = np.empty(len(lam), dtype=int)
    for j, rate in enumerate(lam):
        need = model.fewest(rate, int(top[j]))
        out[j] = -1 if need is None else max(need, int(low[j]))
    return out


def total_wait(arrivals_per_h: np.ndarray, counters: np.ndarray, model: QueueModel) -> float:
    """Person-minutes of waiting per hour over all offices."""
    return float(sum(model.wait_cost(int(c), float(r)) for c, r in zip(counters, arrivals_per_h, strict=True)))


#: the most (site, counters) choices :func:`open_and_staff` models, and the most counters per office it
#: considers: beyond them the integer model (and finding what k counters serve) is far beyond the tens of
#: sites it is meant for
MAX_OPEN_CHOICES = 20_000
MAX_OPEN_COUNTERS = 500


@dataclass
class JointPlan:
    """Offices open and their counters after :func:`open_and_staff` (per site, 0 counters: closed)."""

    open: np.ndarray          # bool per site
    counters: np.ndarray      # int per site: the fewest meeting the target for its catchment (today's at least)
    assignment: np.ndarray    # site per client (-1: none), :func:`allocator.solve.kernels.nearest_open`
    travel: float             # people-weighted minutes (the objective)
    spent: float              # opening costs + counter costs
    status: str
    lower: float              # proven lower bound on the travel
    seconds: float = 0.0      # HiGHS solve time
    build_seconds: float = 0.0
    variables: int = 0
    constraints: int = 0


@dataclass(frozen=True)
class JointLimits:
    """What bounds :func:`open_and_staff`: new offices (``p``), spending, and counters per office."""

    p: int | None = None                    # at most this many new offices
    budget: float | None = None             # opening costs + added counters at most this
    open_cost: np.ndarray | None = None     # per site: cost of opening it (default 1)
    counter_cost: float = 1.0               # cost of each added counter
    max_counters: int | None = None         # counters per office at most this


def open_counters(visitors_most: np.ndarray, floor: np.ndarray, model: QueueModel, cap: int | None) -> np.ndarray:
    """Per site, the most counters :func:`open_and_staff` gives it, checked against the model's size limits.

    ``visitors_most``: per site, its visitors if every client that could go there did (its potential
    catchment; the target is monotone in the load, so no office needs more); ``floor``: its fewest
    counters (today's, at least 1).  ``cap`` (max_per_office) bounds both.  Raises before the model is
    built when it would be too large (MAX_OPEN_COUNTERS, MAX_OPEN_CHOICES).
    """
    top = cap or MAX_COUNTERS_PER_OFFICE
    need = np.array([model.fewest(float(r), top) or top for r in visitors_most], dtype=int)
    most = np.minimum(top, np.maximum(floor, need))
    kmax = int(most.max(initial=0))
    choices = int((most + 1 - floor).clip(min=0).sum())
    if kmax > MAX_OPEN_COUNTERS or choices > MAX_OPEN_CHOICES:
        raise AllocatorError(
            f"decision open would weigh up to {kmax:,} counters at each of {len(most):,} sites "
            f"({choices:,} choices of site and counters; it handles at most {MAX_OPEN_COUNTERS:,} counters per "
            f"office and {MAX_OPEN_CHOICES:,} choices)", field="counters.decision",
            fix="decision open is for offices of tens of counters: give fewer candidates, "
                "a smaller counters.max_per_office, or plan the offices (p_median) and use decision add or "
                "reassign")
    return most


@dataclass(frozen=True)
class Catchments:
    """Every client group's sites in catchment order, flat: group ``g`` owns positions ``start[g]:start[g + 1]``.

    A client's order is its reachable sites by (minutes, site column), cut after its first existing
    office: that one is always open, so nobody goes farther.  It goes to the first open site of its
    order, the nearest open office with ties to the lowest column, as
    :func:`allocator.solve.kernels.nearest_open` assigns it.  Clients with the same order go to the same
    office whatever opens, so they are one group (weights and visitors summed).
    """

    start: np.ndarray     # per group and one past the last: its first position
    site: np.ndarray      # per position: the site column
    travel: np.ndarray    # per position: the group's people-weighted minutes to that site
    rate: np.ndarray      # per group: visitors per hour


def catchments(cost: np.ndarray, existing: np.ndarray, population: np.ndarray, rate: np.ndarray) -> Catchments:
    """The :class:`Catchments` of the clients with people and a reachable site (the others change nothing)."""
    rows = np.flatnonzero((population > 0) & np.isfinite(cost).any(axis=1))
    order = np.argsort(cost[rows], axis=1, kind="stable")        # ties: lowest column first
    ranked = np.take_along_axis(cost[rows], order, axis=1)
    reach = np.isfinite(ranked).sum(axis=1)
    stop = np.where(existing[order].any(axis=1), existing[order].argmax(axis=1) + 1, reach)
    stop = np.minimum(stop, reach)
    first: dict[bytes, int] = {}
    sites: list[np.ndarray] = []
    travel: list[np.ndarray] = []
    visitors: list[float] = []
    for r, i in enumerate(rows):
        seq = order[r, :stop[r]]
        g = first.setdefault(seq.tobytes(), len(first))
        if g == len(sites):
            sites.append(seq)
            travel.append(population[i] * ranked[r, :stop[r]])
            visitors.append(float(rate[i]))
        else:
            travel[g] = travel[g] + population[i] * ranked[r, :stop[r]]
            visitors[g] += float(rate[i])
    start = np.concatenate([[0], np.cumsum([len(q) for q in sites])]).astype(np.int64)
    return Catchments(start=start, site=np.concatenate(sites) if sites else np.zeros(0, dtype=np.int64),
                      travel=np.concatenate(travel) if travel else np.zeros(0), rate=np.array(visitors))


class _Rows:
    """Rows of a model gathered as (row, column, value) triplets and bounds, then one sparse matrix."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0

    def add(self, count: int, lo, hi) -> np.ndarray:
        """``count`` new rows with bounds ``lo``/``hi`` (scalars or arrays); their indices."""
        idx = np.arange(self.n, self.n + count)
        self.lo.append(np.broadcast_to(np.asarray(lo, float), (count,)))
        self.hi.append(np.broadcast_to(np.asarray(hi, float), (count,)))
        self.n += count
        return idx

    def terms(self, rows, cols, values) -> None:
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        self.r.append(rows)
        self.c.append(cols)
        self.v.append(np.broadcast_to(np.asarray(values, float), rows.shape))

    def csr(self, rows: np.ndarray, block: sparse.csr_matrix) -> None:
        """The terms of ``block``'s row ``i`` into row ``rows[i]``."""
        coo = block.tocoo()
        self.terms(rows[coo.row], coo.col, coo.data)

    def matrix(self, n_cols: int) -> sparse.csr_matrix:
        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0)

        return sparse.csr_matrix((cat(self.v), (cat(self.r).astype(np.int64), cat(self.c).astype(np.int64))),
                                 shape=(self.n, n_cols))


@dataclass(frozen=True)
class OpenModel:
    """The compact model of :func:`open_and_staff` as arrays, and where its columns are."""

    arrays: highs.ArrayModel
    constant: float          # travel of every group to its first site (the objective's constant)
    z: int                   # columns 0..z-1: "group not served by its first l sites", per position
    o_col: np.ndarray        # per site: its opening column (-1: existing, or no client could go there)
    y_site: np.ndarray       # per (site, counters) column after the o columns: the site ...
    y_k: np.ndarray          # ... and the counters
    u_pos: np.ndarray        # per column after the y columns (visitors by counters): its catchment position ...
    u_y: np.ndarray          # ... and its y column, from the first y column


def potential_visitors(cat: Catchments, n_sites: int) -> np.ndarray:
    """Per site, its visitors if every group that could go there did (its largest catchment)."""
    return np.bincount(cat.site, weights=np.repeat(cat.rate, np.diff(cat.start)), minlength=n_sites)


@dataclass(frozen=True)
class Positions:
    """Per position of the catchment orders: ``x_l`` = "its group goes to its site" as ``const + terms`` in the
    ``z`` columns (``x_l = z_{l-1} - z_l``, ``z_0 = 1``, ``z_last = 0``), its site and its group's visitors."""

    terms: sparse.csr_matrix   # positions x z columns
    const: np.ndarray
    site: np.ndarray
    rate: np.ndarray


def visitor_rows(rows: _Rows, pos: Positions, y_site: np.ndarray, y_k: np.ndarray, y0: int,
                 capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows keeping every office's visitors within what its counters serve; per new column, its position
    and its y column.

    At a site with one choice of counters ``k``: its visitors ``sum_l rate_l x_l <= capacity[k] y``.  At a
    site with several, the visitors are split by its counters (docs/counters.md, "Visitors by counters"):
    ``u[l, k]`` (a new continuous column per position and ``k``) with ``sum_k u[l, k] = x_l``,
    ``u[l, k] <= y[j, k]`` and ``sum_l rate_l u[l, k] <= capacity[k] y[j, k]``: the same whole plans,
    and a relaxation that cannot buy a fraction of a counter for whole catchments.  The new columns are
    numbered from ``y0 + len(y_site)``; returns the position and y column (from ``y0``) of each.
    """
    m = int(max(pos.site.max(initial=-1), y_site.max(initial=-1))) + 1
    choices = np.bincount(y_site, minlength=m)
    first_y = np.searchsorted(y_site, np.arange(m))           # per site, its first y column (from y0)
    one = np.flatnonzero(choices == 1)
    row = np.full(m, -1, dtype=np.int64)
    row[one] = rows.add(len(one), -np.inf, 0.0)
    at_one = np.flatnonzero(choices[pos.site] == 1)
    rows.hi[-1] = -np.bincount(pos.site[at_one], weights=(pos.rate * pos.const)[at_one], minlength=m)[one]
    rows.csr(row[pos.site[at_one]], sparse.diags(pos.rate[at_one]) @ pos.terms[at_one])
    rows.terms(row[one], y0 + first_y[one], -capacity[y_k[first_y[one]]])
    split = np.flatnonzero(choices[pos.site] > 1)             # positions at sites with several choices
    width = choices[pos.site[split]]
    u_pos = np.repeat(split, width)
    u_y = np.repeat(first_y[pos.site[split]] - np.cumsum(np.append(0, width[:-1])), width) + np.arange(width.sum())
    u = y0 + len(y_site) + np.arange(len(u_pos))
    r = rows.add(len(split), pos.const[split], pos.const[split])   # sum_k u[l, k] - x_l = const_l
    rows.terms(np.repeat(r, width), u, 1.0)
    rows.csr(r, -pos.terms[split])
    r = rows.add(len(u), -np.inf, 0.0)                        # u[l, k] <= y[j, k]
    rows.terms(r, u, 1.0)
    rows.terms(r, y0 + u_y, -1.0)
    several = np.flatnonzero(choices[y_site] > 1)             # sum_l rate_l u[l, k] <= capacity[k] y[j, k]
    cap_row = np.full(len(y_site), -1, dtype=np.int64)
    cap_row[several] = rows.add(len(several), -np.inf, 0.0)
    rows.terms(cap_row[several], y0 + several, -capacity[y_k[several]])
    rows.terms(cap_row[u_y], u, pos.rate[u_pos])
    return u_pos, u_y


def diversion(cat: Catchments, n_sites: int) -> sparse.csr_matrix:
    """Sites x sites: ``[j, s]`` the visitors of the groups that could go to ``j`` but have ``s`` before it.

    Opening ``s`` takes at most these from ``j``'s largest catchment (:func:`potential_visitors`); a set of
    openings at most their sum.
    """
    size = np.diff(cat.start)
    grp = np.repeat(np.arange(len(size)), size)
    ahead = np.arange(len(cat.site)) - cat.start[grp]             # positions before each one in its group
    later = np.repeat(np.arange(len(cat.site)), ahead)
    earlier = np.repeat(cat.start[grp], ahead) + np.arange(ahead.sum()) - np.repeat(np.cumsum(ahead) - ahead, ahead)
    return sparse.csr_matrix((cat.rate[grp[later]], (cat.site[later], cat.site[earlier])), shape=(n_sites, n_sites))


def saving_rows(rows: _Rows, cat: Catchments, o_col: np.ndarray, y_site: np.ndarray, y_k: np.ndarray, y0: int,
                capacity: np.ndarray) -> None:
    """Per site ``j`` and counters ``k`` below its most: ``sum_{k' <= k} y[j, k'] <= sum_s min(1, A_js / d) o_s``.

    ``d = potential_j - capacity[k] > 0`` visitors must go elsewhere for ``k`` counters to do at ``j``, and
    only openings ``s`` before ``j`` in some order take them (``A`` = :func:`diversion`): whole plans keep it
    (docs/counters.md, "Counters saved need openings"); the relaxation can no longer save a whole counter
    with a sliver of an opening.
    """
    m = len(o_col)
    potential = potential_visitors(cat, m)
    take = diversion(cat, m)
    below = np.flatnonzero(y_site == np.append(y_site[1:], -1))        # (j, k) with a larger k at j
    site, k = y_site[below], y_k[below]
    need = potential[site] - capacity[k]
    r = rows.add(len(below), -np.inf, 0.0)
    run = below - np.searchsorted(y_site, site) + 1                     # y[j, k'] for k' <= k
    rr = np.repeat(r, run)
    rows.terms(rr, y0 + np.repeat(below - run + 1, run) + np.arange(run.sum()) - np.repeat(np.cumsum(run) - run, run),
               1.0)
    block = take[site].tocoo()
    rows.terms(r[block.row], o_col[block.col], -np.minimum(1.0, block.data / need[block.row]))


def open_model(cat: Catchments, existing: np.ndarray, today: np.ndarray, serve: list[float], most: np.ndarray,
               limits: JointLimits, opening: np.ndarray) -> OpenModel:
    """The catchment-order model (docs/counters.md, "Offices and counters together"), built as arrays.

    Per position ``l`` of a group (not its last), ``z_l`` = "served by none of its first ``l`` sites";
    with ``o`` the opened sites: ``z_l <= 1 - o_l``, ``z_{l-1} - z_l <= o_l``, ``z_l <= z_{l-1}``
    (``z_0 = 1``, ``z_last = 0``), so that for whole ``o`` every ``z`` is whole and ``x_l = z_{l-1} - z_l``
    is 1 exactly at the first open site: the catchments are the evaluation's.  Site ``j`` open with
    ``k`` counters (``y``) for ``k`` from today's (at least 1) to ``most[j]`` (:func:`open_counters`).
    """
    m = len(existing)
    P = len(cat.site)
    grp = np.repeat(np.arange(len(cat.rate)), np.diff(cat.start))
    first = np.zeros(P, dtype=bool)
    first[cat.start[:-1]] = True
    last = np.zeros(P, dtype=bool)
    last[cat.start[1:] - 1] = True
    zcol = np.where(~last, np.cumsum(~last) - 1, -1)
    z = int((~last).sum())
    used = np.zeros(m, dtype=bool)
    used[cat.site] = True
    cand = used & ~existing
    o_col = np.full(m, -1, dtype=np.int64)
    o_col[cand] = z + np.arange(int(cand.sum()))
    staffed = np.flatnonzero(existing | cand)
    low = np.where(existing[staffed], np.maximum(today[staffed], 1), 1)
    high = most[staffed]
    y_site = np.repeat(staffed, (high + 1 - low).clip(min=0))
    y_k = np.concatenate([np.arange(lo, hi + 1) for lo, hi in zip(low, high, strict=True)]) if len(low) \
        else np.zeros(0, dtype=np.int64)
    y0 = z + int(cand.sum())
    rows = _Rows()
    open_s = o_col[cat.site]                            # -1 at the existing office ending a group
    inner = np.flatnonzero(~last)
    r = rows.add(len(inner), -np.inf, 1.0)               # z_l + o_l <= 1 (inner positions are candidates)
    rows.terms(r, zcol[inner], 1.0)
    rows.terms(r, open_s[inner], 1.0)
    cands = np.flatnonzero(open_s >= 0)                  # z_{l-1} - z_l - o_l <= 0 (z_0 = 1 to the bound)
    r = rows.add(len(cands), -np.inf, -first[cands].astype(float))
    prev = ~first[cands]
    rows.terms(r[prev], zcol[cands[prev] - 1], 1.0)
    cur = ~last[cands]
    rows.terms(r[cur], zcol[cands[cur]], -1.0)
    rows.terms(r, open_s[cands], -1.0)
    mid = np.flatnonzero(~first & ~last)                 # z_l - z_{l-1} <= 0
    r = rows.add(len(mid), -np.inf, 0.0)
    rows.terms(r, zcol[mid], 1.0)
    rows.terms(r, zcol[mid - 1], -1.0)
    pos = Positions(terms=sparse.csr_matrix((np.concatenate([np.ones(int((~first).sum())), -np.ones(z)]),
                                             (np.concatenate([np.flatnonzero(~first), inner]),
                                              np.concatenate([zcol[np.flatnonzero(~first) - 1], zcol[inner]]))),
                                            shape=(P, z)),
                    const=first.astype(float), site=cat.site, rate=cat.rate[grp])
    u_pos, u_y = visitor_rows(rows, pos, y_site, y_k, y0, np.asarray(serve))
    saving_rows(rows, cat, o_col, y_site, y_k, y0, np.asarray(serve))
    ycols = y0 + np.arange(len(y_site))
    size = rows.add(len(staffed), 0.0, existing[staffed].astype(float))   # one k: at existing, 1; else o
    size_row = np.full(m, -1, dtype=np.int64)
    size_row[staffed] = size
    rows.hi[-1] = existing[staffed].astype(float)
    rows.lo[-1] = existing[staffed].astype(float)
    rows.terms(size_row[y_site], ycols, 1.0)
    new = np.flatnonzero(cand)
    rows.terms(size_row[new], o_col[new], -1.0)
    if limits.p is not None:
        rows.terms(rows.add(1, -np.inf, limits.p).repeat(len(new)), o_col[new], 1.0)
    if limits.budget is not None:
        added = y_k - np.where(existing[y_site], today[y_site], 0)
        r = rows.add(1, -np.inf, limits.budget)
        rows.terms(r.repeat(len(new)), o_col[new], opening[new])
        rows.terms(r.repeat(len(ycols)), ycols, limits.counter_cost * added)
    n_cols = y0 + len(y_site) + len(u_y)
    cost = np.zeros(n_cols)
    cost[zcol[inner]] = cat.travel[inner + 1] - cat.travel[inner]
    integer = np.zeros(n_cols, dtype=bool)
    integer[z:y0 + len(y_site)] = True
    arrays = highs.ArrayModel(cost=cost, lower=np.zeros(n_cols), upper=np.ones(n_cols), integer=integer,
                              row_lower=np.concatenate(rows.lo) if rows.lo else np.zeros(0),
                              row_upper=np.concatenate(rows.hi) if rows.hi else np.zeros(0),
                              matrix=rows.matrix(n_cols))
    return OpenModel(arrays=arrays, constant=float(cat.travel[first].sum()), z=z, o_col=o_col,
                     y_site=y_site, y_k=y_k, u_pos=u_pos, u_y=u_y)


def open_and_staff(cost: np.ndarray, population: np.ndarray, visits_per_person_h: float, existing: np.ndarray,
                   today: np.ndarray, model: QueueModel, limits: JointLimits = JointLimits(),
                   opts: Options | None = None) -> JointPlan:
    """Open new offices (at most ``limits.p``, within ``limits.budget``) and staff every office so each meets the target.

    ``cost`` minutes clients x sites (inf: unreachable), ``existing`` the sites
    open today (kept, and keeping their ``today`` counters at least), counters
    added anywhere cost ``limits.counter_cost``, a new site ``limits.open_cost``.
    Everybody goes to the nearest open office, ties to the lowest site column
    (:class:`Catchments`), whole; every office's visitors are at most what its
    counters serve within the target (:meth:`QueueModel.most_arrivals`), and
    the people-weighted travel is least (:func:`open_model`).  ``opts``: the
    solve's time limit, gap and threads (default: none, proven optimal).
    """
    t0 = time.perf_counter()
    opts = opts or options()
    cost = np.asarray(cost, dtype=float)
    population = np.asarray(population, dtype=float)
    existing = np.asarray(existing, dtype=bool)
    today = np.asarray(today, dtype=int)
    rate = population * visits_per_person_h
    opening = np.ones(len(existing)) if limits.open_cost is None else np.asarray(limits.open_cost, dtype=float)
    opts.check()
    cat = catchments(cost, existing, population, rate)
    opts.check()
    most = open_counters(potential_visitors(cat, len(existing)), np.where(existing, np.maximum(today, 1), 1), model, limits.max_counters)
    serve = [model.most_arrivals(k) for k in range(int(most.max(initial=0)) + 1)]
    opts.check()
    built = open_model(cat, existing, today, serve, most, limits, opening)
    build = time.perf_counter() - t0
    opts.check()
    run, values = highs.solve_arrays(built.arrays, opts)
    if run.status == "no_solution":
        raise OutOfTimeError(opts.time_limit)
    if run.status == "infeasible":
        raise AllocatorError("no set of offices and counters meets the wait target within the budget and p",
                             field="counters", fix="raise the budget or p, relax the wait target, or allow more "
                             "counters per office (counters.max_per_office)")
    is_open = existing.copy()
    chosen = np.flatnonzero(built.o_col >= 0)
    is_open[chosen] = values[built.o_col[chosen]] > 0.5
    site, counters, spent = staffed_plan(cost, rate, existing, is_open, today, model, limits, opening)
    ok = site >= 0
    travel = float(population[ok] @ cost[ok, site[ok]])
    return JointPlan(open=is_open, counters=counters, assignment=site, travel=travel, spent=spent,
                     status=run.status, lower=min(built.constant + run.bound, travel), seconds=run.seconds,
                     build_seconds=build, variables=len(built.arrays.cost), constraints=built.arrays.matrix.shape[0])


def staffed_plan(cost: np.ndarray, rate: np.ndarray, existing: np.ndarray, is_open: np.ndarray, today: np.ndarray,
                 model: QueueModel, limits: JointLimits, opening: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(site per client, counters per site, spent)`` of the offices ``is_open`` as the evaluation measures them.

    Catchments by :func:`allocator.solve.kernels.nearest_open`, each office the fewest counters meeting
    the target (today's at least).  The model keeps every catchment within its counters, the budget and
    ``p``, so a plan breaking them here is a bug: RuntimeError, never an overspent plan.
    """
    site = nearest_open(cost, is_open)[0]
    ok = site >= 0
    lam = np.bincount(site[ok], weights=rate[ok], minlength=len(is_open))
    had = np.where(existing, today, 0)
    need = fewest_meeting(lam, model, floor=np.maximum(had, 1),
                          cap=np.full(len(lam), limits.max_counters or MAX_COUNTERS_PER_OFFICE))
    counters = np.where(is_open, need, 0)
    new = is_open & ~existing
    spent = float(limits.counter_cost * (counters - had)[is_open].sum() + opening[new].sum())
    if ((counters < 0) | (limits.budget is not None and spent > limits.budget + 1e-9 * max(1.0, limits.budget))
            | (limits.p is not None and int(new.sum()) > limits.p)).any():
        raise RuntimeError(f"open_and_staff: the plan breaks the target, budget or p on its catchments "
                           f"(counters {counters[is_open].tolist()}, spent {spent}, budget {limits.budget})")
    return site, counters, spent


# --- one service's counters: the decision the scenario's ``counters`` section asks for -----------------------

def queue_model(spec: CountersSpec) -> QueueModel:
    """The queue every office of the service shares (service time, its CV and the targets)."""
    return QueueModel(service_min=spec.service_min, cv=spec.service_cv, limit_min=spec.wait_limit_min,
                      share_within=spec.target_share, mean_wait_max_min=spec.mean_wait_max_min)


def today_counters(sites: pd.DataFrame, spec: CountersSpec, prefix: str = "") -> np.ndarray:
    """Counters at every site today (0 at candidates): ``counters.today`` or the existing layer's count.

    Whole numbers from 0 to MAX_COUNTERS_PER_OFFICE at every existing office, else an error naming the site.
    """
    existing = sites["status"].eq(SiteStatus.EXISTING).to_numpy()
    column = "counters_today" if "counters_today" in sites else "count"
    values = sites[column].to_numpy(float)
    bad = existing & ~(np.isfinite(values) & (values >= 0) & (np.round(values) == values)
                       & (values <= MAX_COUNTERS_PER_OFFICE))
    if bad.any():
        raise AllocatorError(f"counters today must be whole numbers from 0 to {MAX_COUNTERS_PER_OFFICE:,} (the most "
                             f"one office holds); site {sites['id'].iloc[np.argmax(bad)]!r} has "
                             f"{values[np.argmax(bad)]!r}", field=f"{prefix}counters.today",
                             fix="give a whole number of counters per existing office (or a column of them); "
                                 "without counters.today they are the existing layer's count")
    return np.where(existing, np.nan_to_num(values), 0).astype(int)


def visitors_per_hour(site: np.ndarray, population: np.ndarray, spec: CountersSpec, n_sites: int) -> np.ndarray:
    """Visitors per hour at each site column, from the site serving each demand location (-1: none)."""
    rate = population * spec.visits_per_person_hour
    ok = site >= 0
    return np.bincount(site[ok], weights=rate[ok], minlength=n_sites)


def open_solution(problem: ServiceProblem, opts: Options) -> Solution:
    """``counters.decision: open``: the new offices and their counters together (:func:`open_and_staff`).

    On the exact minutes, not ``solver.round_s``'s: the catchments must be those the evaluation and
    :func:`decide_counters` measure, or an office could need counters the budget does not hold.
    """
    service, sites = problem.service, problem.sites
    spec = service.counters
    assert spec is not None
    today = today_counters(sites, spec)
    opening = sites["open_cost"].fillna(1.0).to_numpy(float) if "open_cost" in sites else None
    limits = JointLimits(p=service.p, budget=spec.budget, open_cost=opening, counter_cost=spec.counter_cost,
                         max_counters=spec.max_per_office)
    plan = open_and_staff(problem.cost, problem.population, spec.visits_per_person_hour, problem.existing,
                          today, queue_model(spec), limits, opts)
    opened = plan.open | problem.existing
    gap = highs.relative_gap(plan.travel, plan.lower, maximise=False)
    notes = [f"stopped at the time limit: gap {gap:.2%}"] if plan.status == "time_limit" else []
    return Solution(model="open_and_staff", status=plan.status, objective=plan.travel, gap=gap, notes=notes,
                    open_sites=np.flatnonzero(opened), new_sites=np.flatnonzero(opened & ~problem.existing),
                    solve_seconds=plan.seconds, build_seconds=plan.build_seconds, n_variables=plan.variables,
                    n_constraints=plan.constraints)


@dataclass(frozen=True)
class Offices:
    """The offices of a solved service (every site open after the plan, then the existing ones it closes)."""

    columns: np.ndarray    # their site columns, in site order
    names: list[str]       # name, else id (for messages)
    is_open: np.ndarray
    is_new: np.ndarray
    open_cost: np.ndarray | None   # candidates.cost (None: not given)


def decide_counters(problem: ServiceProblem, solution: Solution) -> CounterDecision:
    """The service's staffing decision, for the catchments after the plan (people go to their nearest office).

    The waits do not change the catchments, so the decision is exact for them;
    errors name the service's ``counters`` fields.
    """
    spec = problem.service.counters
    assert spec is not None
    sites = problem.sites
    opened = solution.open_mask(len(sites))
    columns = np.flatnonzero(opened | problem.existing)
    today = today_counters(sites, spec, f"{problem.field}.")
    lam = visitors_per_hour(problem.served_after(solution)[0], problem.population, spec, len(sites))[columns]
    shown = sites.iloc[columns]
    offices = Offices(columns=columns, names=[str(n or i) for n, i in zip(shown["name"], shown["id"], strict=True)],
                      is_open=opened[columns], is_new=(opened & ~problem.existing)[columns],
                      open_cost=shown["open_cost"].to_numpy(float) if "open_cost" in shown else None)
    after, spent = _decide(spec, lam, today[columns], offices, problem.field)
    counters = np.zeros(len(sites), dtype=int)
    counters[columns] = np.where(offices.is_open, after, 0)
    return CounterDecision(counters=counters, spent=spent)


def _decide(spec: CountersSpec, lam: np.ndarray, today: np.ndarray, offices: Offices,
            field: str) -> tuple[np.ndarray, float | None]:
    """Counters per office after the decision, and what the added counters cost (add / open)."""
    model = queue_model(spec)
    limit = spec.max_per_office or MAX_COUNTERS_PER_OFFICE
    cap = np.full(len(lam), limit)
    target = spec.goal == "meet_target" or spec.decision == "open"
    stable = [max(1, min_stable_counters(r, spec.service_min)) for r in lam]
    over = [j for j, c in enumerate(stable) if c > limit]
    if over:   # before any walk: no office takes more than `limit` counters
        _too_many(spec, offices.names[over[0]], lam[over[0]], f"{field}.counters", "keep the queue stable")
    need = fewest_meeting(lam, model, cap=cap) if target else np.array(stable, dtype=int)
    if (need < 0).any():
        j = int(np.argmax(need < 0))
        _too_many(spec, offices.names[j], lam[j], f"{field}.counters", "meet the wait target")
    need = np.where(offices.is_open, need, 0)
    if spec.decision == "reassign":
        total = int(today.sum()) if spec.staff is None else spec.staff
        if need.sum() > total:
            what = "meet the wait target at every office" if target else "keep every office's queue stable"
            raise AllocatorError(
                f"{int(need.sum())} counters are needed to {what}, but the staff is {total}",
                field=f"{field}.counters.staff",
                fix=f"raise counters.staff to at least {int(need.sum())}, or use decision: add with a budget")
        return allocate(lam, need, total - int(need.sum()), model, cap), None
    floor = np.where(offices.is_open, np.maximum(today, 1), 0)
    need = np.maximum(need, floor)
    forced = spec.counter_cost * float((need - today).clip(min=0).sum())
    if spec.budget is not None and spec.decision == "add" and forced > spec.budget + 1e-9:
        what = "meet the wait target" if target else "make every office's queue stable"
        raise AllocatorError(f"adding the counters needed to {what} costs {forced:,.2f}, the budget is "
                             f"{spec.budget:,.2f}", field=f"{field}.counters.budget",
                             fix=f"raise counters.budget to at least {forced:,.2f}")
    if spec.decision == "add" and not target:
        extra = math.floor(((spec.budget or 0.0) - forced) / spec.counter_cost + 1e-9)
        need = allocate(lam, need, extra, model, cap)
    spent = spec.counter_cost * float((need - today).clip(min=0).sum())
    if spec.decision == "open":   # and the new offices, at candidates.cost (default 1)
        new = offices.is_new
        spent += float(np.nan_to_num(offices.open_cost, nan=1.0)[new].sum()) if offices.open_cost is not None \
            else float(new.sum())
    return need, spent


def _too_many(spec: CountersSpec, office: str, visitors_per_h: float, field: str, what: str) -> NoReturn:
    """Raise the error for an office that the most counters it may hold cannot serve (``field``: its counters)."""
    if spec.max_per_office is not None:
        raise AllocatorError(
            f"office {office} has {visitors_per_h:,.1f} visitors per hour and cannot {what} with at most "
            f"{spec.max_per_office} counters", field=f"{field}.max_per_office",
            fix="raise max_per_office, open more offices nearby (p), shorten service_min or relax the target")
    rate = "visits_per_person_day" if spec.visits_per_person_day is not None else "visits_per_person_year"
    raise AllocatorError(
        f"office {office} has {visitors_per_h:,.1f} visitors per hour and cannot {what} with "
        f"{MAX_COUNTERS_PER_OFFICE:,} counters, the most one office holds", field=f"{field}.{rate}",
        fix=f"check {rate}, opening_hours, peak_factor and service_min, and that the demand's population "
            "counts people; or open more offices nearby (p)")
