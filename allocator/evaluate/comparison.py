"""Scenarios side by side: the figures of the comparison page and ``comparison.csv``.

Plans that answer different questions are compared on the same yardsticks:
every run's services are evaluated again on the union of all the runs'
targets and the first district grouping (a run without districts borrows
it), with :func:`allocator.evaluate.equity.service_equity`. Beside that, per
service: the new sites every plan shares, each plan's new sites serving few
people (:mod:`allocator.evaluate.loads`), which plan brings more people
within T and which has the shorter longest trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.evaluate import equity
from allocator.evaluate.loads import small_limit, small_loads
from allocator.evaluate.result import RunResult, ServiceResult
from allocator.inputs.sites import SiteStatus
from allocator.solve.run_info import DistrictAssigner

#: metrics where more is better (every other shown metric: less is better)
HIGHER_IS_BETTER = {"within_share", "access_2sfca_mean", "access_e2sfca_mean"}
#: fewer people within T than this is no telling difference between two plans
COVER_TIE = 0.5
#: longest trips closer than this (minutes) are no telling difference
LONGEST_TIE = 0.05
#: equally-distributed equivalent trips closer than this (minutes) are no telling difference
EDE_TIE = 0.05


@dataclass(frozen=True)
class PlanFigures:
    """One run's plan for one service, measured on the comparison's yardsticks."""

    run: RunResult
    result: ServiceResult
    equity: dict            # allocator.evaluate.equity.service_equity on the common targets and districts
    new_sites: int
    small: pd.DataFrame     # its new sites serving few people (allocator.evaluate.loads.small_loads)
    small_limit: float

    def overall(self, when: str) -> dict:
        """Every overall metric ``when`` (before, after): the service's access metrics and the equity block's."""
        return {**getattr(self.result, when), **self.equity["overall"][when]}


@dataclass(frozen=True)
class Lead:
    """One plan ahead of another on one yardstick (positions in :attr:`ServiceComparison.plans`), their values,
    and the people the difference concerns."""

    better: int
    worse: int
    value_better: float
    value_worse: float
    people: float


@dataclass(frozen=True)
class Tradeoff:
    """What sets two plans apart (None: no telling difference).

    ``more_within``: people within T (its people: how many more); ``shorter_trip``: the longest trip (its people:
    those of the worse plan whose trip is longer than the better plan's longest, :func:`longer_than`);
    ``lower_ede``: the EDE on the service's kappa (its people: everyone who can reach a site in both plans).
    """

    more_within: Lead | None
    shorter_trip: Lead | None
    lower_ede: Lead | None = None


@dataclass(frozen=True)
class ServiceComparison:
    """One service in every run that has it."""

    name: str
    columns: list[PlanFigures | None]   # one per run, None where the run has no such service
    shared_places: list[str] | None      # the new sites (places) every plan builds; None with a single plan
    tradeoff: Tradeoff | None           # None with a single plan

    @property
    def plans(self) -> list[PlanFigures]:
        """The runs that have the service, in run order."""
        return [p for p in self.columns if p is not None]


@dataclass(frozen=True)
class Comparison:
    """Every service of the compared runs, on the same yardsticks."""

    runs: list[RunResult]
    services: list[ServiceComparison]


def common_targets(results: list[RunResult]) -> list:
    """The union of every run's scenario and service targets, each once, in first-seen order."""
    targets = {}
    for r in results:
        for t in [*r.info.targets, *(t for s in r.services for t in s.service.targets)]:
            targets[t.model_dump_json()] = t
    return list(targets.values())


def plan_figures(run: RunResult, s: ServiceResult, targets: list, borrowed: DistrictAssigner | None) -> PlanFigures:
    """A service's figures on ``targets``, its demand grouped by ``borrowed`` districts when it has none."""
    demand = s.demand.copy()
    if "district" not in demand and borrowed is not None:
        demand["district"], demand["district_name"] = borrowed(demand)
    block = equity.service_equity(demand, s.service.threshold_min, targets, {"before": s.before, "after": s.after},
                                  s.ede_kappa)
    limit = small_limit(s.facilities)
    return PlanFigures(run, s, block, int((s.facilities["status"] == SiteStatus.NEW).sum()),
                       small_loads(s.facilities, limit), limit)


def shared_places(plans: list[PlanFigures]) -> list[str] | None:
    """The new sites every plan builds, by place, in the first plan's order (None with a single plan)."""
    if len(plans) < 2:
        return None
    new = [p.result.facilities[p.result.facilities["status"] == SiteStatus.NEW] for p in plans]
    common = set.intersection(*(set(f["id"].astype(str)) for f in new))
    return [str(place) for i, place in zip(new[0]["id"].astype(str), new[0]["place"]) if i in common]


def tradeoff(plans: list[PlanFigures]) -> Tradeoff | None:
    """Who brings more people within T, who has the shorter longest trip, the lower EDE (None with a single plan)."""
    if len(plans) < 2:
        return None
    within = [p.result.after["within"] or 0.0 for p in plans]
    longest = [p.result.after["max_min"] if p.result.after["max_min"] is not None else np.inf for p in plans]
    cover, fewer = int(np.argmax(within)), int(np.argmin(within))
    short, long = int(np.argmin(longest)), int(np.argmax(longest))
    gain = within[cover] - within[fewer]
    ede = [p.result.after["ede_min"] if p.result.after["ede_min"] is not None else np.inf for p in plans]
    low, high = int(np.argmin(ede)), int(np.argmax(ede))
    reached = min(reaching(p.result) for p in (plans[low], plans[high]))
    return Tradeoff(
        Lead(cover, fewer, within[cover], within[fewer], gain) if gain > COVER_TIE else None,
        Lead(short, long, longest[short], longest[long], longer_than(plans[long].result, longest[short]))
        if longest[long] - longest[short] > LONGEST_TIE else None,
        Lead(low, high, ede[low], ede[high], reached)
        if np.isfinite(ede[low]) and ede[high] - ede[low] > EDE_TIE else None,
    )


def longer_than(s: ServiceResult, minutes: float) -> float:
    """The people whose trip after ``s``'s plan is longer than ``minutes`` (those who can reach a site)."""
    times = s.demand["time_after"].to_numpy(float)
    people = s.demand["population"].to_numpy(float)
    return float(people[np.isfinite(times) & (times > minutes)].sum())


def reaching(s: ServiceResult) -> float:
    """The people who can reach a site after ``s``'s plan."""
    times = s.demand["time_after"].to_numpy(float)
    return float(s.demand["population"].to_numpy(float)[np.isfinite(times)].sum())


def best_columns(key: str, values: list) -> set[int]:
    """Which plans hold the better value of ``key`` (none when all are equal or missing)."""
    nums = [v if isinstance(v, (int, float)) and v is not None and np.isfinite(v) else None for v in values]
    present = [v for v in nums if v is not None]
    if len(present) < 2 or max(present) - min(present) < 1e-9:
        return set()
    best = max(present) if key in HIGHER_IS_BETTER else min(present)
    return {i for i, v in enumerate(nums) if v is not None and abs(v - best) < 1e-9}


def compare(results: list[RunResult]) -> Comparison:
    """Every run's services on the union of all targets and the first district grouping."""
    borrowed = next((r.info.assign_districts for r in results if r.info.assign_districts is not None), None)
    targets = common_targets(results)
    columns = [{s.service.name: plan_figures(r, s, targets, borrowed) for s in r.services} for r in results]
    names = list(dict.fromkeys(name for run in columns for name in run))
    services = []
    for name in names:
        column = [run.get(name) for run in columns]
        plans = [p for p in column if p is not None]
        services.append(ServiceComparison(name, column, shared_places(plans), tradeoff(plans)))
    return Comparison(list(results), services)
