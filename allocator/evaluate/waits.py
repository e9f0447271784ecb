"""The waits at a service's offices before and after the plan, for the counters it decided.

Each office's visitors come from its catchment (the people whose nearest open
office it is: before the plan the existing offices, after it every open one),
at ``counters.visits_per_person_hour`` each.  The counters are today's before
the plan and the decision's after it (:func:`allocator.solve.staffing.decide_counters`);
docs/counters.md states what is and is not optimised jointly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.evaluate.facilities import facility_rows
from allocator.evaluate.result import Staffing
from allocator.scenario.counters import CountersSpec
from allocator.solve.queueing import QueueStats
from allocator.solve.staffing import queue_model, today_counters, visitors_per_hour

#: the wait metrics a target can name (per service, before and after)
WAIT_METRICS = ("wait_mean_min", "wait_within_share", "wait_worst_office_min", "travel_wait_mean_min")
#: the per-office columns added to the facilities table, sites.csv and sites.geojson
OFFICE_COLUMNS = ("counters_before", "counters_after", "visitors_per_h_before", "visitors_per_h_after",
                  "utilisation_before", "utilisation_after", "mean_wait_min_before", "mean_wait_min_after",
                  "share_over_limit_before", "share_over_limit_after")


@dataclass(frozen=True)
class Waits:
    """A service's staffing measured, and each demand location's expected wait (``wait_before``, ``wait_after``)."""

    staffing: Staffing
    demand_columns: dict[str, np.ndarray]


def with_offices(facilities: pd.DataFrame, staffing: Staffing) -> pd.DataFrame:
    """The facilities table with the per-office counters and waits (and the wait limit) as columns (a new frame)."""
    out = facilities.copy()
    for column in OFFICE_COLUMNS:
        out[column] = staffing.offices[column].to_numpy()
    out["wait_limit_min"] = staffing.limit_min
    return out


def measure_waits(spec: CountersSpec, sites: pd.DataFrame, shown: np.ndarray, before_site: np.ndarray,
                  counters_after: np.ndarray, spent: float | None, demand: pd.DataFrame) -> Waits:
    """The waits before (existing offices, today's counters) and after (every open office, the decision's counters).

    ``shown``: the sites of the facilities table (open after the plan, and the existing ones);
    ``before_site``: each demand location's nearest existing site (-1: none). ``demand`` has
    ``population``, ``time_before``, ``time_after`` and ``assigned_facility`` (its row of the
    facilities table after).
    """
    model = queue_model(spec)
    cols = np.flatnonzero(shown)
    population = demand["population"].to_numpy(float)
    rows = {"before": facility_rows(before_site, shown),
            "after": demand["assigned_facility"].to_numpy()}
    lam = {when: visitors_per_hour(rows[when], population, spec, len(cols)) for when in ("before", "after")}
    counters = {"before": today_counters(sites, spec)[cols], "after": counters_after[cols]}
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
    waits = {when: _wait_of_person(stats[when], rows[when]) for when in ("before", "after")}
    metrics = {when: _metrics(stats[when], lam[when], rows[when], waits[when], demand, when, spec.wait_limit_min)
               for when in ("before", "after")}
    staffing = Staffing(offices=offices, metrics=metrics, decision=spec.decision, goal=spec.goal,
                        limit_min=spec.wait_limit_min, spent=spent, staff=int(counters["after"].sum()))
    return Waits(staffing, {f"wait_{when}": waits[when] for when in ("before", "after")})


def _wait_of_person(stats: list[QueueStats], rows: np.ndarray) -> np.ndarray:
    """Each demand location's expected wait at the office serving it (NaN: none)."""
    waits = np.array([q.mean_wait_min for q in stats])
    return np.where(rows >= 0, waits[np.maximum(rows, 0)], np.nan) if len(waits) else np.full(len(rows), np.nan)


def _metrics(stats: list[QueueStats], lam: np.ndarray, rows: np.ndarray, wait_of_person: np.ndarray,
             demand: pd.DataFrame, when: str, limit: float) -> dict:
    """Visitor-weighted waits over the offices, and the people-weighted travel + expected wait."""
    busy = lam > 0
    total = float(lam.sum())
    waits = np.array([q.mean_wait_min for q in stats])
    over = np.array([q.share_longer(limit) for q in stats])
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
