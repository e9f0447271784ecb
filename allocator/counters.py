"""Counters of a solved service: visitors per office, the staffing decision, and the waits before and after.

Each office's visitors come from its catchment (the people whose nearest open
office it is: before the plan the existing offices, after it every open one),
at ``counters.visits_per_person_hour`` each.  The staffing decision
(:mod:`allocator.solve.staffing`) is taken for the catchments after the plan,
which the waits do not change (people go to their nearest office), so it is
exact for them; docs/counters.md states what is and is not optimised jointly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.evaluate.facilities import facility_rows
from allocator.evaluate.queueing import QueueStats, min_stable_counters
from allocator.results import PreparedService, ServiceResult
from allocator.scenario.counters import CountersSpec
from allocator.solve.kernels import nearest_open
from allocator.solve.solution import Solution
from allocator.solve.staffing import QueueModel, allocate, fewest_meeting, open_and_staff

#: the wait metrics a target can name (per service, before and after)
WAIT_METRICS = ("wait_mean_min", "wait_within_share", "wait_worst_office_min", "travel_wait_mean_min")
#: the per-office columns added to the facilities table, sites.csv and sites.geojson
OFFICE_COLUMNS = ("counters_before", "counters_after", "visitors_per_h_before", "visitors_per_h_after",
                  "utilisation_before", "utilisation_after", "mean_wait_min_before", "mean_wait_min_after",
                  "share_over_limit_before", "share_over_limit_after")


def with_offices(facilities: pd.DataFrame, staffing: Staffing) -> pd.DataFrame:
    """The facilities table with the per-office counters and waits (and the wait limit) as columns."""
    out = facilities.copy()
    for column in OFFICE_COLUMNS:
        out[column] = staffing.offices[column].to_numpy()
    out["wait_limit_min"] = staffing.limit_min
    return out


@dataclass
class Staffing:
    """The counters of one service: per office (rows of the facilities table) and overall, before and after."""

    offices: pd.DataFrame            # counters_before/after, visitors_per_h_*, utilisation_*, mean_wait_min_*,
                                     # share_over_limit_*, p_wait_* (NaN: no counter then)
    metrics: dict[str, dict]         # "before"/"after": WAIT_METRICS and unstable_offices
    decision: str
    goal: str
    limit_min: float
    spent: float | None              # add / open: cost of the added counters (and, for open, the new offices)
    staff: int                       # counters in place after


def queue_model(spec: CountersSpec) -> QueueModel:
    """The queue every office of the service shares (service time, its CV and the targets)."""
    return QueueModel(service_min=spec.service_min, cv=spec.service_cv, limit_min=spec.wait_limit_min,
                      share_within=spec.target_share, mean_wait_max_min=spec.mean_wait_max_min)


def today_counters(sites: pd.DataFrame, spec: CountersSpec, prefix: str = "") -> np.ndarray:
    """Counters at every site today (0 at candidates): ``counters.today`` or the existing layer's count."""
    existing = sites["status"].eq("existing").to_numpy()
    column = "counters_today" if "counters_today" in sites else "count"
    values = sites[column].to_numpy(float)
    bad = existing & ~(np.isfinite(values) & (values >= 0) & (np.round(values) == values))
    if bad.any():
        raise AllocatorError(f"counters today must be whole numbers >= 0; site {sites['id'].iloc[np.argmax(bad)]!r} "
                             f"has {values[np.argmax(bad)]!r}", field=f"{prefix}counters.today",
                             fix="give a whole number of counters per existing office (or a column of them)")
    return np.where(existing, np.nan_to_num(values), 0).astype(int)


def open_solution(prep: PreparedService, time_limit: float | None = None) -> Solution:
    """``counters.decision: open``: the new offices and their counters together (solve.staffing.open_and_staff)."""
    service, sites = prep.service, prep.sites
    spec = service.counters
    assert spec is not None
    today = today_counters(sites, spec)
    opening = sites["open_cost"].fillna(0.0).to_numpy(float) if "open_cost" in sites else None
    plan = open_and_staff(prep.model_cost, prep.population, spec.visits_per_person_hour, prep.existing, today,
                          queue_model(spec), p=service.p, budget=spec.budget, open_cost=opening,
                          counter_cost=spec.counter_cost, max_counters=spec.max_per_office, time_limit=time_limit)
    opened = plan.open | prep.existing
    return Solution(model="open_and_staff", status=plan.status, objective=plan.travel,
                    gap=0.0 if plan.status == "optimal" else None,
                    open_sites=np.flatnonzero(opened), new_sites=np.flatnonzero(opened & ~prep.existing),
                    solve_seconds=plan.seconds, build_seconds=0.0, n_variables=plan.variables,
                    n_constraints=plan.constraints)


def attach(result: ServiceResult, field: str, file: str | Path) -> None:
    """Set ``result.staffing`` (:func:`staff`); its errors name the scenario file."""
    try:
        result.staffing = staff(result, field)
        result.facilities = with_offices(result.facilities, result.staffing)
    except AllocatorError as exc:
        raise exc.with_file(file) from None


def staff(result: ServiceResult, field: str) -> Staffing:
    """Take the service's staffing decision for its catchments after the plan and measure the waits."""
    spec = result.service.counters
    assert spec is not None
    model = queue_model(spec)
    sites, fac, demand = result.sites, result.facilities, result.demand
    fixed = sites["status"].eq("existing").to_numpy()
    shown = np.zeros(len(sites), dtype=bool)
    shown[result.solution.open_sites] = True
    shown |= fixed
    cols = np.flatnonzero(shown)
    today = today_counters(sites, spec, f"{field}.")[cols]
    rate = demand["population"].to_numpy(float) * spec.visits_per_person_hour
    before_row = facility_rows(nearest_open(result.cost, fixed)[0], shown)
    after_row = demand["assigned_facility"].to_numpy()
    lam = {"before": _visitors(before_row, rate, len(fac)), "after": _visitors(after_row, rate, len(fac))}
    is_open = fac["status"].ne("closed").to_numpy()
    after, spent = _decide(spec, model, lam["after"], today, is_open, fac, field)
    counters = {"before": today, "after": np.where(is_open, after, 0)}
    stats = {when: [model.stats(int(c), float(r)) for c, r in zip(counters[when], lam[when], strict=True)]
             for when in ("before", "after")}
    offices = pd.DataFrame({"counters_before": counters["before"], "counters_after": counters["after"]})
    for when in ("before", "after"):
        offices[f"visitors_per_h_{when}"] = lam[when]
        manned = counters[when] > 0
        offices[f"utilisation_{when}"] = np.where(manned, [q.utilisation for q in stats[when]], np.nan)
        offices[f"mean_wait_min_{when}"] = np.where(manned, [q.mean_wait_min for q in stats[when]], np.nan)
        offices[f"share_over_limit_{when}"] = np.where(
            manned, [q.share_longer(spec.wait_limit_min) for q in stats[when]], np.nan)
    rows = {"before": before_row, "after": after_row}
    metrics = {when: _metrics(stats[when], lam[when], rows[when], demand, when, spec.wait_limit_min)
               for when in ("before", "after")}
    return Staffing(offices=offices, metrics=metrics, decision=spec.decision, goal=spec.goal,
                    limit_min=spec.wait_limit_min, spent=spent, staff=int(counters["after"].sum()))


def _visitors(rows: np.ndarray, rate: np.ndarray, n: int) -> np.ndarray:
    ok = rows >= 0
    return np.bincount(rows[ok], weights=rate[ok], minlength=n)


def _decide(spec: CountersSpec, model: QueueModel, lam: np.ndarray, today: np.ndarray, is_open: np.ndarray,
            fac: pd.DataFrame, field: str) -> tuple[np.ndarray, float | None]:
    """Counters per office after the decision, and what the added counters cost (add / open)."""
    cap = None if spec.max_per_office is None else np.full(len(lam), spec.max_per_office)
    target = spec.goal == "meet_target" or spec.decision == "open"
    stable = np.array([max(1, min_stable_counters(r, spec.service_min)) for r in lam])
    need = fewest_meeting(lam, model, cap=cap) if target else stable
    if cap is not None and ((need < 0) | (need > cap)).any():
        j = int(np.argmax((need < 0) | (need > cap)))
        what = "meet the wait target" if target else "keep the queue stable"
        raise AllocatorError(
            f"office {fac['name'].iloc[j] or fac['id'].iloc[j]!s} has {lam[j]:,.1f} visitors per hour and cannot "
            f"{what} with at most {spec.max_per_office} counters", field=f"{field}.counters.max_per_office",
            fix="raise max_per_office, open more offices nearby (p), shorten service_min or relax the target")
    need = np.where(is_open, need, 0)
    if spec.decision == "reassign":
        total = int(today.sum()) if spec.staff is None else spec.staff
        if need.sum() > total:
            what = "meet the wait target at every office" if target else "keep every office's queue stable"
            raise AllocatorError(
                f"{int(need.sum())} counters are needed to {what}, but the staff is {total}",
                field=f"{field}.counters.staff",
                fix=f"raise counters.staff to at least {int(need.sum())}, or use decision: add with a budget")
        return allocate(lam, need, total - int(need.sum()), model, cap), None
    floor = np.where(is_open, np.maximum(today, 1), 0)
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
        new = fac["status"].eq("new").to_numpy()
        spent += float(fac["open_cost"].fillna(1.0).to_numpy(float)[new].sum()) if "open_cost" in fac else float(new.sum())
    return need, spent


def _metrics(stats: list[QueueStats], lam: np.ndarray, rows: np.ndarray, demand: pd.DataFrame, when: str,
             limit: float) -> dict:
    """Visitor-weighted waits over the offices, and the people-weighted travel + expected wait."""
    busy = lam > 0
    total = float(lam.sum())
    waits = np.array([q.mean_wait_min for q in stats])
    over = np.array([q.share_longer(limit) for q in stats])
    wait_of_person = np.where(rows >= 0, waits[np.maximum(rows, 0)], np.nan) if len(waits) else np.full(len(rows), np.nan)
    demand[f"wait_{when}"] = wait_of_person
    pop = demand["population"].to_numpy(float)
    trip = demand[f"time_{when}"].to_numpy(float) + wait_of_person
    ok = np.isfinite(demand[f"time_{when}"].to_numpy(float)) & (rows >= 0) & (pop > 0)
    with np.errstate(invalid="ignore"):
        return {
            "wait_mean_min": float((lam[busy] * waits[busy]).sum() / total) if total else None,
            "wait_within_share": float(1 - (lam[busy] * over[busy]).sum() / total) if total else None,
            "wait_worst_office_min": float(waits[busy].max()) if busy.any() else None,
            "travel_wait_mean_min": float(np.average(trip[ok], weights=pop[ok])) if ok.any() else None,
            "unstable_offices": int(sum(1 for q, b in zip(stats, busy, strict=True) if b and not q.stable)),
        }
