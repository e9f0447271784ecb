"""One scenario end to end: layers, travel times, models, metrics.

Travel times come from the road network (snapping and shortest paths,
:mod:`allocator.traveltime.graph`) or, with a ``matrix:`` section, from a
precomputed travel-time CSV (:mod:`allocator.traveltime.table`); everything after the
cost matrix is the same for both.  With ``solver.round_s`` the models solve
on rounded times and everything measured afterwards uses the exact ones
(:mod:`allocator.traveltime.rounding`).

:func:`run` returns a :class:`RunResult` and writes nothing; writing the
outputs is :mod:`allocator.outputs.files`' job, so a failure anywhere before that
leaves earlier results untouched.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator import counters
from allocator.errors import AllocatorError
from allocator.evaluate import equity
from allocator.evaluate.access import access_metrics
from allocator.evaluate.facilities import facility_rows, served
from allocator.evaluate.objective import RoundingEffect
from allocator.inputs.demand import read_demand
from allocator.inputs.districts import assign_districts
from allocator.inputs.layers import combine_layers
from allocator.inputs.place_names import StreetIndex, district_labels, name_sites
from allocator.inputs.sites import candidate_sites, existing_sites
from allocator.results import PreparedRun, PreparedService, RunResult, ServiceResult
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import Service, SolverSpec
from allocator.solve.kernels import nearest_open, split_times
from allocator.solve.objectives import ModelInput, SolveOptions, objective
from allocator.solve.plan.model import Floor, PlanService, Sites, solve_plan
from allocator.solve.solution import Solution
from allocator.traveltime.open_source import open_source
from allocator.traveltime.rounding import round_times
from allocator.traveltime.source import TravelTimeSource


class Progress:
    """Timestamped progress lines on stderr (silent when ``quiet``)."""

    def __init__(self, quiet: bool = False) -> None:
        self.start = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


def run(scenario: LoadedScenario, *, solver: SolverSpec | None = None,
        log: Callable[[str], None] | None = None) -> RunResult:
    """Run every service of ``scenario`` (:func:`prepare`, :func:`solve`, :func:`evaluate`); writes nothing.

    ``solver`` overrides the scenario's solver options.
    """
    log = log or Progress()
    solver = solver or scenario.spec.solver
    prepared = prepare(scenario, solver=solver, log=log)
    t0 = time.perf_counter()
    solutions = solve(prepared, solver)
    solve_s = time.perf_counter() - t0
    return evaluate(prepared, solutions, solver=solver, log=log, solve_s=solve_s)


def prepare(scenario: LoadedScenario, *, solver: SolverSpec | None = None,
            log: Callable[[str], None] | None = None) -> PreparedRun:
    """Read the layers and travel times of every service of ``scenario``: everything the models need."""
    log = log or Progress()
    spec = scenario.spec
    solver = solver or spec.solver
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    layers = {layer.name: read_demand(layer, scenario.layer_files(layer, f"demand[{i}]"), f"demand[{i}]",
                                      spec.language) for i, layer in enumerate(spec.demand)}
    timings["layers_s"] = time.perf_counter() - t0
    log(f"demand: {len(spec.demand)} layer(s), {sum(len(f) for f in layers.values()):,} rows")

    t0 = time.perf_counter()
    times = open_source(scenario.travel_spec, scenario.travel_source(), log, scenario.path)
    timings[times.timing_key] = time.perf_counter() - t0

    streets = times.streets
    services = [_prepare(scenario, i, service, layers, times, solver.round_s, log, streets)
                for i, service in enumerate(spec.services)]
    return PreparedRun(scenario=scenario, network=times.report, services=services, timings=timings, streets=streets)


def solve(prepared: PreparedRun, solver: SolverSpec) -> list[Solution]:
    """Solve every prepared service: together when they share a budget, else one by one."""
    return _solve_all(prepared.scenario, prepared.services, solver)


def evaluate(prepared: PreparedRun, solutions: list[Solution], *, solver: SolverSpec | None = None,
             log: Callable[[str], None] | None = None, solve_s: float | None = None) -> RunResult:
    """Measure each solved service before and after on the exact times, with its equity block.

    ``solve_s`` (the duration of :func:`solve`) goes into the timings when given.
    """
    log = log or Progress()
    scenario = prepared.scenario
    solver = solver or scenario.spec.solver
    timings = dict(prepared.timings)
    if solve_s is not None:
        timings["solve_s"] = solve_s
    results = []
    for prep, solution in zip(prepared.services, solutions, strict=True):
        t0 = time.perf_counter()
        results.append(_result(prep, solution, log))
        name_sites(results[-1].facilities, results[-1].demand, prepared.streets)
        if prep.service.counters is not None:   # before the equity block: its targets see the waits
            counters.attach(results[-1], prep.field, scenario.path)
        equity.attach(scenario, results[-1])
        timings[f"service_{prep.service.name}_s"] = time.perf_counter() - t0 + prep.seconds
    used = {"name": "HiGHS (highspy, through PuLP)", "time_limit_s": solver.time_limit_s,
            "gap_rel": solver.gap_rel if solver.gap_rel is not None else 0.0,
            "threads": solver.threads if solver.threads is not None else 1, "random_seed": 0,
            "round_s": solver.round_s}
    return RunResult(scenario=scenario, network=prepared.network, services=results, timings=timings, solver=used,
                     streets=prepared.streets)


def write(result: RunResult, out_dir: Path, *, tiles: bool = True, lang: str | None = None) -> Path:
    """Write every output of ``result`` into ``out_dir`` atomically (:func:`allocator.outputs.files.write_outputs`)."""
    from allocator.outputs.files import write_outputs

    return write_outputs(result, out_dir, tiles=tiles, lang=lang)


def _prepare(scenario: LoadedScenario, index: int, service: Service, layers: dict[str, gpd.GeoDataFrame],
             times: TravelTimeSource, round_s: float, log: Callable[[str], None],
             streets: StreetIndex | None = None) -> PreparedService:
    """Demand, sites and the travel-time matrix of one service (exact, and as the model sees it)."""
    t_start = time.perf_counter()
    spec = scenario.spec
    field = f"services[{index}]"
    notes: list[str] = [note for frame in layers.values() for note in frame.attrs.get("notes", [])]
    weights = service.demand_weights
    demand = combine_layers([
        (layers[layer.name], layer.weight * (1.0 if weights is None else weights.get(layer.name, 0.0)))
        for layer in spec.demand
    ]).rename(columns={"value": "population"})

    origin = scenario.origin(field)
    existing_file = scenario.layer_files(service.existing, f"{field}.existing").source if service.existing else None
    existing = existing_sites(service, existing_file, origin, spec.language)
    candidates = candidate_sites(service, scenario.layer_files(service.candidates, f"{field}.candidates").source,
                                 origin, existing, spec.language)
    if service.p is not None and service.p > len(candidates):
        raise AllocatorError(
            f"p = {service.p} new sites requested but there are only {len(candidates)} candidate sites",
            file=scenario.path, field=f"{field}.p",
            fix=f"lower p to at most {len(candidates)} or add candidate sites")
    sites = pd.concat([existing.assign(status="existing"), candidates.assign(status="new", count=1)],
                      ignore_index=True)
    t0 = time.perf_counter()
    found = times.service_times(service, field, demand, sites)
    cost, reach_notes = found.cost, found.notes
    matrix_seconds = time.perf_counter() - t0
    notes += reach_notes
    log(f"{service.name}: travel times {cost.shape[0]:,} demand x {cost.shape[1]:,} sites in {matrix_seconds:.1f}s")
    model_cost = round_times(cost, round_s)
    if objective(service.objective).covers_all:
        _check_coverable(model_cost, demand["population"].to_numpy(float), service, demand, scenario, field)
    if spec.districts is not None:   # once, for district floors and the equity block
        demand["district"], demand["district_name"] = assign_districts(
            demand, spec.districts, scenario.district_file(), scenario.origin("districts"),
            demand_layer=spec.demand[0], language=spec.language)
        demand["district_name"] = district_labels(demand, demand["district"], demand["district_name"], streets)
    return PreparedService(index, service, field, demand, sites, cost, round_s, model_cost, notes, matrix_seconds,
                     time.perf_counter() - t_start)


def _solve_all(scenario: LoadedScenario, prepared: list[PreparedService], solver: SolverSpec) -> list[Solution]:
    """Solve every service: together when they share a budget, else one by one."""
    options = {"time_limit": solver.time_limit_s, "gap_rel": solver.gap_rel, "threads": solver.threads}
    shared = scenario.spec.shared_budget
    if shared is not None:
        try:
            return solve_plan([_plan_service(prep) for prep in prepared], shared_budget=shared, **options)
        except AllocatorError as exc:
            at = [prep.field for prep in prepared if prep.service.name == getattr(exc, "service", None)]
            if at:   # one service's rule is at fault
                exc.field = f"{at[0]}.{_plan_field(exc.field)}" if exc.field else at[0]
            else:
                exc.field = f"shared_budget ({_plan_field(exc.field)})" if exc.field else "shared_budget"
            raise exc.with_file(scenario.path) from None
    return [_solve(prep, options, scenario) for prep in prepared]


#: allocator.solve.plan.model' names for what the scenario calls otherwise
_PLAN_FIELDS = {"open_cost": "candidates.cost", "saving": "existing.saving", "max_time": "max_time_min",
                "upgrade_capacity": "existing.upgrade_capacity", "upgrade_cost": "existing.upgrade_cost",
                "floors": "district_floor", "threshold": "threshold_min"}


def _plan_field(name: str) -> str:
    return _PLAN_FIELDS.get(name, name)


def _plan_service(prep: PreparedService) -> PlanService:
    """The plan-model view of a prepared service (allocator.solve.plan.model)."""
    service, sites = prep.service, prep.sites
    existing = prep.existing
    closable = existing & bool(service.existing and service.existing.closable)

    def column(name: str, default: float) -> np.ndarray | None:
        return sites[name].fillna(default).to_numpy(float) if name in sites else None

    capacity = column("capacity", math.inf)
    floors = []
    if service.district_floor is not None:
        names = prep.demand["district_name"]
        for key, part in prep.demand.groupby("district", sort=True):
            mask = prep.demand.index.isin(part.index)
            name = names[part.index[0]]
            floors.append(Floor(mask, service.district_floor, f"district {key}" + (f" ({name})" if name != key else "")))
    return PlanService(
        name=service.name, objective=objective(service.objective).plan_model, cost=prep.model_cost, weight=prep.population,
        sites=Sites(kept=existing & ~closable, closable=closable, open_cost=column("open_cost", 1.0),
                    saving=column("saving", 0.0), capacity=capacity,
                    upgrade_capacity=column("upgrade_capacity", 0.0), upgrade_cost=column("upgrade_cost", 0.0)),
        threshold=service.threshold_min, p=service.p, relocate=service.relocate, budget=service.budget,
        max_time=service.max_time_min, floors=floors, priority=service.priority)


def _result(prep: PreparedService, solution: Solution, log: Callable[[str], None]) -> ServiceResult:
    """Measure before/after (on the exact times) and build the tables of one solved service."""
    service, demand, sites, cost = prep.service, prep.demand, prep.sites, prep.cost
    notes = list(prep.notes)
    population = prep.population
    fixed = prep.existing
    if solution.uncoverable.size and objective(service.objective).uses_threshold:
        ids = ", ".join(demand["id"].iloc[solution.uncoverable[:5]].astype(str))
        more = ", ..." if solution.uncoverable.size > 5 else ""
        notes.append(f"{solution.uncoverable.size} demand location(s) "
                     f"({population[solution.uncoverable].sum():,.0f} people) have no site within "
                     f"{service.threshold_min:g} min and were excluded: ids {ids}{more}")
    notes += solution.notes
    solution.objective = objective(service.objective).reported(solution.objective, population)
    rounding = None
    if prep.round_s:
        rounding = RoundingEffect(prep.round_s, solution.objective,
                                  objective(service.objective).value_of(cost, solution, population,
                                                                        service.threshold_min))
        notes.append(rounding.note)
    log(f"{service.name}: {service.objective} {solution.status}, objective {solution.objective:,.1f}"
        + (f" on times rounded to {prep.round_s:g} s, {rounding.objective_exact:,.1f} on the exact times"
           if rounding else "")
        + f", {len(solution.new_sites)} new site(s)"
        + (f", {len(solution.closed_sites)} closed" if len(solution.closed_sites) else "")
        + f", solved in {solution.solve_seconds:.1f}s")

    opened = np.zeros(len(sites), dtype=bool)   # every open site after the plan: existing and new
    opened[solution.open_sites] = True
    before_times = nearest_open(cost, fixed)[1]
    after_site, after_times = nearest_open(cost, opened)
    if solution.shares is not None:             # capacities: the model's (split) assignment, not the nearest
        after_site, after_times = solution.assignment, split_times(solution.shares, cost)
    before = access_metrics(before_times, population, service.threshold_min)
    after = access_metrics(after_times, population, service.threshold_min)
    # tables and maps show "no reachable facility" as missing (NaN -> null in GeoJSON), not infinity
    demand["time_before"] = np.where(np.isfinite(before_times), before_times, np.nan)
    demand["time_after"] = np.where(np.isfinite(after_times), after_times, np.nan)
    # accessibility scores (2SFCA, E2SFCA; allocator.evaluate.equity): a facility's capacity is its count
    supply = sites["count"].to_numpy(float)
    for when, mask in (("before", fixed), ("after", opened)):
        demand[f"access_2sfca_{when}"] = equity.two_sfca(cost[:, mask], supply[mask], population, service.threshold_min)
        demand[f"access_e2sfca_{when}"] = equity.e2sfca(cost[:, mask], supply[mask], population, service.threshold_min)
    # the facilities table: open sites in site order, then the closed ones
    shown = opened | (fixed & ~opened)
    chosen = sites[shown].copy()
    chosen.loc[~opened[shown], "status"] = "closed"
    chosen["upgraded"] = np.isin(np.flatnonzero(shown), solution.upgraded_sites)
    if "capacity" in chosen:   # the capacity in force after the plan: an upgrade adds upgrade_capacity
        extra = chosen["upgrade_capacity"].fillna(0.0) if "upgrade_capacity" in chosen else 0.0
        chosen["capacity"] = chosen["capacity"].fillna(np.inf) + np.where(chosen["upgraded"], extra, 0.0)
    # assignment: each demand location goes to its nearest open site after the plan
    demand["assigned_facility"] = facility_rows(after_site, shown)
    chosen["assigned_population"], chosen["mean_time_min"] = served(demand, len(chosen))
    if solution.site_load is not None:
        chosen["assigned_population"] = solution.site_load[shown]
    columns = ["id", "name", "status", "count", "lon", "lat", "assigned_population", "mean_time_min", "upgraded"]
    columns += [c for c in ("capacity", "upgrade_capacity", "upgrade_cost", "open_cost", "saving") if c in chosen]
    facilities = gpd.GeoDataFrame(chosen[columns], geometry=gpd.points_from_xy(chosen["lon"], chosen["lat"]),
                                  crs="EPSG:4326")
    return ServiceResult(service=service, demand=demand, facilities=facilities.reset_index(drop=True),
                         solution=solution, cost=cost, sites=sites, before=before, after=after,
                         notes=list(dict.fromkeys(notes)),   # each note once, in order
                         matrix_shape=cost.shape, matrix_seconds=prep.matrix_seconds, rounding=rounding)


def _check_coverable(cost: np.ndarray, population: np.ndarray, service: Service, demand: pd.DataFrame,
                     scenario: LoadedScenario, field: str) -> None:
    """A set cover where no populated location has any site within the threshold is an error."""
    positive = population > 0
    coverable = (cost <= service.threshold_min).any(axis=1) & positive
    if positive.any() and not coverable.any():
        raise AllocatorError(
            f"no demand location has any site within {service.threshold_min:g} min: "
            f"the set cover has nothing to cover",
            file=scenario.path, field=f"{field}.threshold_min",
            fix="raise threshold_min, or add candidate sites near the demand")


def _solve(prep: PreparedService, options: dict, scenario: LoadedScenario) -> Solution:
    """Call the model the service asks for, attributing model errors to its fields."""
    service = prep.service
    try:
        if service.counters is not None and service.counters.decision == "open":
            return counters.open_solution(prep, options["time_limit"])
        if service.uses_plan_rules:
            return solve_plan([_plan_service(prep)], **options)[0]
        problem = ModelInput(prep.model_cost, prep.population, prep.existing, service.p, service.threshold_min)
        return objective(service.objective).solve(problem, SolveOptions(**options))
    except AllocatorError as exc:
        exc.field = f"{prep.field}.{_plan_field(exc.field)}" if exc.field else prep.field
        raise exc.with_file(scenario.path) from None
