"""One solved service measured: before and after on the exact times, its tables, waits and equity block.

:func:`evaluate_service` builds a :class:`~allocator.evaluate.result.ServiceResult`
from a :class:`~allocator.solve.problem.ServiceProblem` and its
:class:`~allocator.solve.solution.Solution`.  Every frame it returns is new;
the problem and the solution are left as they are, so one prepared run can be
evaluated many times (a sweep).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator.evaluate import equity
from allocator.evaluate.access import access_metrics
from allocator.evaluate.facilities import facility_rows, served
from allocator.evaluate.objective import RoundingEffect
from allocator.evaluate.result import ServiceResult
from allocator.evaluate.waits import measure_waits, with_offices
from allocator.inputs.place_names import StreetIndex, name_sites
from allocator.inputs.sites import SiteStatus
from allocator.scenario.schema import TargetSpec
from allocator.solve.kernels import nearest_open
from allocator.solve.kolm_pollak import service_epsilon, service_kappa
from allocator.solve.objectives import objective
from allocator.solve.problem import ServiceProblem
from allocator.solve.solution import Solution

#: the facilities table's columns (then those of the plan rules the sites have)
FACILITY_COLUMNS = ["id", "name", "status", "count", "lon", "lat", "assigned_population", "mean_time_min", "upgraded"]
PLAN_COLUMNS = ("capacity", "upgrade_capacity", "upgrade_cost", "open_cost", "saving", "running_cost")


def evaluate_service(problem: ServiceProblem, solution: Solution, *, targets: Sequence[TargetSpec] = (),
                     streets: StreetIndex | None = None,
                     log: Callable[[str], None] = lambda _: None) -> ServiceResult:
    """Measure one solved service before and after on the exact times; ``targets``: the run's, besides its own."""
    service, cost = problem.service, problem.cost
    population = problem.population
    notes = list(problem.notes) + _uncoverable_notes(problem, solution) + list(solution.notes)
    solution = replace(solution, objective=objective(service.objective).reported(solution.objective, population))
    rounding = None
    if problem.round_s:
        rounding = RoundingEffect(problem.round_s, solution.objective,
                                  objective(service.objective).value_of(cost, solution, population,
                                                                        service.threshold_min))
        notes.append(rounding.note)
    log(f"{service.name}: {service.objective} {solution.status}, objective {solution.objective:,.1f}"
        + (f" on times rounded to {problem.round_s:g} s, {rounding.objective_exact:,.1f} on the exact times"
           if rounding else "")
        + f", {len(solution.new_sites)} new site(s)"
        + (f", {len(solution.closed_sites)} closed" if len(solution.closed_sites) else "")
        + f", solved in {solution.solve_seconds:.1f}s")

    before_site, before_times = nearest_open(cost, problem.existing)
    after_site, after_times = problem.served_after(solution)
    demand = access_columns(problem, solution, before_times, after_times)
    facilities, demand["assigned_facility"] = facility_table(problem, solution, after_site)
    facilities["assigned_population"], facilities["mean_time_min"] = served(demand, len(facilities))
    if solution.site_load is not None:
        facilities["assigned_population"] = solution.site_load[_shown(problem, solution)]
    facilities = _as_points(facilities)
    facilities = name_sites(facilities, demand, streets)
    epsilon = service_epsilon(service)
    kappa_ = service_kappa(cost, population, problem.existing, epsilon)
    before = access_metrics(before_times, population, service.threshold_min, kappa_)
    after = access_metrics(after_times, population, service.threshold_min, kappa_)
    staffing = None
    if service.counters is not None:   # before the equity block: its targets see the waits
        assert solution.counters is not None, "the counters are decided when solving (decide_counters)"
        waits = measure_waits(service.counters, problem.sites, _shown(problem, solution), before_site,
                              solution.counters.counters, solution.counters.spent, demand)
        staffing = waits.staffing
        facilities = with_offices(facilities, staffing)
        demand = demand.assign(**waits.demand_columns)
    wait = staffing.metrics if staffing is not None else {"before": {}, "after": {}}
    block = equity.service_equity(demand, service.threshold_min, [*targets, *service.targets],
                                  {"before": {**before, **wait["before"]}, "after": {**after, **wait["after"]}},
                                  kappa_)
    return ServiceResult(service=service, demand=demand, facilities=facilities, solution=solution, cost=cost,
                         site_columns=problem.sites, before=before, after=after,
                         notes=list(dict.fromkeys(notes)),   # each note once, in order
                         matrix_shape=cost.shape, matrix_seconds=problem.matrix_seconds, equity=block,
                         rounding=rounding, staffing=staffing, streets=streets, ede_epsilon=epsilon,
                         ede_kappa=kappa_)


def _uncoverable_notes(problem: ServiceProblem, solution: Solution) -> list[str]:
    """The demand a threshold model left out, as a note (none: no note)."""
    service, demand = problem.service, problem.demand
    if not (solution.uncoverable.size and objective(service.objective).uses_threshold):
        return []
    ids = ", ".join(demand["id"].iloc[solution.uncoverable[:5]].astype(str))
    more = ", ..." if solution.uncoverable.size > 5 else ""
    return [f"{solution.uncoverable.size} demand location(s) "
            f"({problem.population[solution.uncoverable].sum():,.0f} people) have no site within "
            f"{service.threshold_min:g} min and were excluded: ids {ids}{more}"]


def access_columns(problem: ServiceProblem, solution: Solution, before_times: np.ndarray,
                   after_times: np.ndarray) -> gpd.GeoDataFrame:
    """The demand with its times before and after and its accessibility scores (a new frame).

    Tables and maps show "no reachable facility" as missing (NaN, null in
    GeoJSON), not infinity.  The 2SFCA and E2SFCA scores
    (:mod:`allocator.evaluate.equity`) take a facility's capacity to be its count.
    """
    cost, population, threshold = problem.cost, problem.population, problem.service.threshold_min
    demand = problem.demand.copy()
    demand["time_before"] = np.where(np.isfinite(before_times), before_times, np.nan)
    demand["time_after"] = np.where(np.isfinite(after_times), after_times, np.nan)
    supply = problem.sites["count"].to_numpy(float)
    for when, mask in (("before", problem.existing), ("after", solution.open_mask(len(problem.sites)))):
        demand[f"access_2sfca_{when}"] = equity.two_sfca(cost[:, mask], supply[mask], population, threshold)
        demand[f"access_e2sfca_{when}"] = equity.e2sfca(cost[:, mask], supply[mask], population, threshold)
    return demand


def _shown(problem: ServiceProblem, solution: Solution) -> np.ndarray:
    """The sites the facilities table lists: every site open after the plan, and the existing ones it closes."""
    return solution.open_mask(len(problem.sites)) | problem.existing


def facility_table(problem: ServiceProblem, solution: Solution, after_site: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The facilities table (shown sites in site order, closed ones marked) and each demand location's row in it."""
    opened = solution.open_mask(len(problem.sites))
    shown = _shown(problem, solution)
    chosen = problem.sites[shown].copy()
    chosen.loc[~opened[shown], "status"] = SiteStatus.CLOSED
    chosen["upgraded"] = np.isin(np.flatnonzero(shown), solution.upgraded_sites)
    if "capacity" in chosen:   # the capacity in force after the plan: an upgrade adds upgrade_capacity
        extra = chosen["upgrade_capacity"].fillna(0.0) if "upgrade_capacity" in chosen else 0.0
        chosen["capacity"] = chosen["capacity"].fillna(np.inf) + np.where(chosen["upgraded"], extra, 0.0)
    return chosen, facility_rows(after_site, shown)


def _as_points(chosen: pd.DataFrame) -> gpd.GeoDataFrame:
    """The facilities table's columns, as points (WGS84), indexed 0..n-1."""
    columns = FACILITY_COLUMNS + [c for c in PLAN_COLUMNS if c in chosen]
    return gpd.GeoDataFrame(chosen[columns], geometry=gpd.points_from_xy(chosen["lon"], chosen["lat"]),
                            crs="EPSG:4326").reset_index(drop=True)
