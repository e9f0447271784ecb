"""The model of ``counters.decision: open`` built as arrays for HiGHS: new offices, their catchments and counters.

Every group of clients goes to the first open site of its catchment order (:class:`Catchments`), whole;
every office's visitors fit its counters; ``p`` and the budget hold; the people-weighted travel is least
(:func:`open_model`; docs/counters.md, "Offices and counters together").  Besides the rows that define
the problem, it holds rows that only tighten the relaxation (visitors split by counters, counters saved
need openings), each kept by every whole plan (tests/unit/solve/test_open_compact.py checks it), and a
quick search for a good plan to start the solver from (:func:`good_openings`).  Built as arrays: at a
city's size the PuLP objects alone took minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from allocator.solve import highs


@dataclass(frozen=True)
class JointLimits:
    """What bounds :func:`open_and_staff`: new offices (``p``), spending, and counters per office."""

    p: int | None = None                    # at most this many new offices
    budget: float | None = None             # opening costs + added counters at most this
    open_cost: np.ndarray | None = None     # per site: cost of opening it (default 1)
    counter_cost: float = 1.0               # cost of each added counter
    max_counters: int | None = None         # counters per office at most this

    def spent(self, opening: np.ndarray, new: np.ndarray, added: float) -> float:
        """What a plan spends: opening the ``new`` offices (their ``opening`` costs) and ``added`` counters."""
        return float(opening[new].sum() + self.counter_cost * added)

    def allow(self, n_new: int, spent: float) -> bool:
        """True when ``n_new`` new offices and spending ``spent`` are within ``p`` and the budget."""
        return ((self.p is None or n_new <= self.p)
                and (self.budget is None or spent <= self.budget + 1e-9 * max(1.0, self.budget)))


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
    integer[z:y0] = True       # only the openings: with them whole, the rows price the counters whole (docs)
    arrays = highs.ArrayModel(cost=cost, lower=np.zeros(n_cols), upper=np.ones(n_cols), integer=integer,
                              row_lower=np.concatenate(rows.lo) if rows.lo else np.zeros(0),
                              row_upper=np.concatenate(rows.hi) if rows.hi else np.zeros(0),
                              matrix=rows.matrix(n_cols))
    return OpenModel(arrays=arrays, constant=float(cat.travel[first].sum()), z=z, o_col=o_col,
                     y_site=y_site, y_k=y_k, u_pos=u_pos, u_y=u_y)


def plan_columns(built: OpenModel, cat: Catchments, is_open: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """The model's column values of a whole plan: sites ``is_open`` (existing ones included), ``counters`` per site.

    Each group at its first open site (``z``), the openings (``o``), each office's counters (``y``) and its
    visitors at those counters (``u``): a complete start for the solver.
    """
    values = np.zeros(len(built.arrays.cost))
    last = np.zeros(len(cat.site), dtype=bool)
    last[cat.start[1:] - 1] = True
    hit = is_open[cat.site].astype(int)
    before = np.cumsum(hit) - np.repeat(np.cumsum(hit)[cat.start[:-1]] - hit[cat.start[:-1]], np.diff(cat.start))
    passed = (before == 0).astype(float)                  # per position: served by none of its sites up to it
    values[:built.z] = passed[~last]
    x = -passed
    x[1:] += passed[:-1]                                  # z_{l-1} - z_l within a group ...
    x[cat.start[:-1]] = 1.0 - passed[cat.start[:-1]]      # ... and z_0 = 1 at its first position
    chosen = np.flatnonzero(built.o_col >= 0)
    values[built.o_col[chosen]] = is_open[chosen]
    y0 = built.z + len(chosen)
    y = is_open[built.y_site] & (counters[built.y_site] == built.y_k)
    values[y0:y0 + len(y)] = y
    values[y0 + len(y):] = np.where(y[built.u_y], x[built.u_pos], 0.0)
    return values


@dataclass(frozen=True)
class SiteCounters:
    """Per site: open today, its counters today (0 at candidates), the most the model weighs, its opening cost."""

    existing: np.ndarray
    today: np.ndarray
    most: np.ndarray
    opening: np.ndarray


def quick_plan(cat: Catchments, is_open: np.ndarray, sites: SiteCounters, capacity: np.ndarray,
               limits: JointLimits) -> tuple[float, np.ndarray] | None:
    """``(travel, counters per site)`` of the offices ``is_open``, or None when it breaks the model's limits.

    Each group at its first open site; each office the fewest counters (today's at least) whose capacity
    holds its visitors, as the model's rows count them.  None: a group with no open site, an office
    needing more than the model weighs, or more new offices than ``p`` or spending than the budget.
    """
    hit = is_open[cat.site]
    pos = np.minimum.reduceat(np.where(hit, np.arange(len(hit)), len(hit)), cat.start[:-1])
    if (pos >= cat.start[1:]).any():
        return None
    lam = np.bincount(cat.site[pos], weights=cat.rate, minlength=len(is_open))
    had = np.where(sites.existing, sites.today, 0)
    counters = np.where(is_open, np.maximum(np.searchsorted(capacity, lam), np.maximum(had, 1)), 0)
    new = is_open & ~sites.existing
    spent = limits.spent(sites.opening, new, (counters - had)[is_open].sum())
    if (counters > sites.most)[is_open].any() or not limits.allow(int(new.sum()), spent):
        return None
    return float(cat.travel[pos].sum()), counters


def good_openings(cat: Catchments, sites: SiteCounters, capacity: np.ndarray, limits: JointLimits,
                  candidates: np.ndarray, stop: Callable[[], bool]) -> tuple[np.ndarray, np.ndarray] | None:
    """A good plan to start the solver from: ``(open per site, counters per site)``, None without one.

    From no new office, passes over the candidates: each is opened (within ``p``) or swapped for the open
    one that lowers the travel most within ``p`` and the budget (:func:`quick_plan`), if any does, until a
    pass moves nothing or ``stop()`` says the time is up.  Only a start: the solver proves (or improves) it.
    """
    is_open = chosen = sites.existing.copy()
    best = quick_plan(cat, is_open, sites, capacity, limits)
    moved = best is not None
    while best is not None and moved and not stop():
        moved = False
        for t in candidates:
            opened = np.flatnonzero(is_open & ~sites.existing)
            if is_open[t]:
                continue
            drops = [-1, *opened] if limits.p is None or len(opened) < limits.p else list(opened)
            for drop in drops:                            # the best move with t: open it, or swap it in
                trial = is_open.copy()
                trial[t] = True
                if drop >= 0:
                    trial[drop] = False
                found = quick_plan(cat, trial, sites, capacity, limits)
                if found is not None and found[0] < best[0] - 1e-9 * abs(best[0]):
                    chosen, best, moved = trial, found, True
            is_open = chosen if moved else is_open
    return None if best is None else (is_open, best[1])
