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
(:func:`allocator.solve.open_model.open_model`).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.sites import SiteStatus
from allocator.scenario.counters import MAX_COUNTERS_PER_OFFICE, CountersSpec
from allocator.solve import highs
from allocator.solve.checks import Options, options
from allocator.solve.deadline import OutOfTimeError
from allocator.solve.kernels import nearest_open
from allocator.solve.open_model import (
    JointLimits,
    SiteCounters,
    catchments,
    good_openings,
    open_model,
    plan_columns,
    potential_visitors,
)
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


def open_and_staff(cost: np.ndarray, population: np.ndarray, visits_per_person_h: float, existing: np.ndarray,
                   today: np.ndarray, model: QueueModel, limits: JointLimits | None = None,
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
    limits = limits or JointLimits()
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
    start = None
    if limits.budget is not None and limits.p is not None:      # the solver's own search finds poor plans there
        found = good_openings(cat, SiteCounters(existing=existing, today=today, most=most, opening=opening),
                              np.asarray(serve), limits, np.flatnonzero(built.o_col >= 0), opts.expired)
        start = None if found is None else plan_columns(built, cat, *found)
    build = time.perf_counter() - t0
    opts.check()
    run, values = highs.solve_arrays(built.arrays, opts, start)
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
    lower = max(built.constant + run.bound, built.constant)   # every group at its nearest site at least
    return JointPlan(open=is_open, counters=counters, assignment=site, travel=travel, spent=spent,
                     status=run.status, lower=min(lower, travel), seconds=run.seconds,
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
    spent = limits.spent(opening, new, (counters - had)[is_open].sum())
    if (counters < 0).any() or not limits.allow(int(new.sum()), spent):
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
