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
from dataclasses import dataclass, field
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator.scenario import catalog
from allocator.evaluate import equity
from allocator.inputs.layers import combine_layers, read_layer
from allocator.errors import AllocatorError
from allocator.traveltime.table import MatrixReport, TravelTimeTable, cost_matrix, read_matrix_csv
from allocator.evaluate.access import access_metrics
from allocator.solve.kernels import nearest_open
from allocator.solve.solution import Solution
from allocator.solve.plan import Floor, PlanService, Sites, solve_plan, split_times
from allocator.traveltime.network import NetworkReport, load_network
from allocator.evaluate.objective import RoundingEffect
from allocator.solve.objectives import Problem, SolveOptions, objective, objective_value
from allocator.traveltime.rounding import round_times
from allocator.scenario.schema import Service, SolverSpec
from allocator.scenario.loader import LoadedScenario
from allocator.traveltime.graph import NetworkArrays, network_arrays, snap_points, travel_time_matrix


@dataclass
class ServiceResult:
    """What one service's model chose and what it changes."""

    service: Service
    demand: gpd.GeoDataFrame       # id, name, population, time_before, time_after (NaN: none reachable), lon, lat, geometry,
                                   # assigned_facility (row of `facilities` serving it after the plan, -1: none)
    facilities: gpd.GeoDataFrame   # id, name, status (existing|new|closed), count, lon, lat, geometry, upgraded,
                                   # assigned_population, mean_time_min (of the people it serves after; NaN: nobody)
    solution: Solution             # with solver.round_s: solved on the rounded times
    cost: np.ndarray               # exact minutes, demand rows x `sites` columns (inf: unreachable)
    sites: pd.DataFrame            # every site the model could open, in cost-column order (existing, then candidates):
                                   # id, name, count, lon, lat, status (existing|new)
    before: dict
    after: dict
    notes: list[str]
    matrix_shape: tuple[int, int]
    matrix_seconds: float
    # equity block (allocator.evaluate.equity.service_equity); demand then also has district, district_name,
    # access_2sfca_before/after, access_e2sfca_before/after
    equity: dict = field(default_factory=dict)
    rounding: RoundingEffect | None = None   # with solver.round_s > 0: the objective rounded and exact


@dataclass
class RunResult:
    """Everything a run produced, ready to be written by :mod:`allocator.outputs.files`."""

    scenario: LoadedScenario
    network: NetworkReport | MatrixReport   # where the travel times came from
    services: list[ServiceResult]
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict = field(default_factory=dict)   # solver name and the options in force (for manifest.json)

    @property
    def shared_budget_used(self) -> float | None:
        """What the services sharing the scenario's ``shared_budget`` spend together (None without one)."""
        if self.scenario.spec.shared_budget is None:
            return None
        return sum(s.solution.budget_used or 0.0 for s in self.services)


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
    """Run every service of ``scenario``; ``solver`` overrides the scenario's solver options."""
    log = log or Progress()
    spec = scenario.spec
    solver = solver or spec.solver
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    layers = {
        layer.name: read_layer(scenario.resolve_path(layer.source, f"demand[{i}].source"), layer,
                               value_column=layer.population, field=f"demand[{i}]")
        for i, layer in enumerate(spec.demand)
    }
    timings["layers_s"] = time.perf_counter() - t0
    log(f"demand: {len(spec.demand)} layer(s), {sum(len(f) for f in layers.values()):,} rows")

    t0 = time.perf_counter()
    times, report = _load_network(scenario, log) if spec.matrix is None else _load_matrix(scenario, log)
    timings["network_s" if spec.matrix is None else "matrix_s"] = time.perf_counter() - t0

    prepared = [_prepare(scenario, i, service, layers, times, solver.round_s, log)
                for i, service in enumerate(spec.services)]
    t0 = time.perf_counter()
    solutions = _solve_all(scenario, prepared, solver)
    timings["solve_s"] = time.perf_counter() - t0
    results = []
    for prep, solution in zip(prepared, solutions):
        t0 = time.perf_counter()
        results.append(_result(prep, solution, log))
        equity.attach(scenario, results[-1])
        timings[f"service_{prep.service.name}_s"] = time.perf_counter() - t0 + prep.seconds
    used = {"name": "HiGHS (highspy, through PuLP)", "time_limit_s": solver.time_limit_s,
            "gap_rel": solver.gap_rel if solver.gap_rel is not None else 0.0,
            "threads": solver.threads if solver.threads is not None else 1, "random_seed": 0,
            "round_s": solver.round_s}
    return RunResult(scenario=scenario, network=report, services=results, timings=timings, solver=used)


def _load_network(scenario: LoadedScenario, log: Callable[[str], None]) -> tuple[NetworkArrays, NetworkReport]:
    """The scenario's road network, prepared for snapping and shortest paths."""
    spec = scenario.spec.network
    source = spec.source
    if isinstance(source, str):
        source = scenario.resolve_path(source, "network.source")
    try:
        graph, report = load_network(source, spec.mode, cache_dir=catalog.cache_dir() / "networks")
    except AllocatorError as exc:
        exc.field = exc.field or "network.source"
        raise exc.with_file(scenario.path)
    log(f"network ({spec.mode}): {report.nodes_kept:,} nodes, {report.edges_kept:,} edges kept; "
        f"{report.dropped_node_share:.1%} of nodes outside the largest strongly connected part dropped"
        + (" (from cache)" if report.from_cache else ""))
    return network_arrays(graph), report


def _load_matrix(scenario: LoadedScenario, log: Callable[[str], None]) -> tuple[TravelTimeTable, MatrixReport]:
    """The scenario's precomputed travel-time matrix, read and checked once for every service."""
    spec = scenario.spec.matrix
    table, report = read_matrix_csv(scenario.resolve_path(spec.source, "matrix.source"), spec)
    log(f"travel times from matrix {report.source}: {report.pairs:,} pairs ({report.origins:,} origins x "
        f"{report.destinations:,} destinations, {report.unreachable:,} marked unreachable) in {report.seconds:.1f}s")
    return table, report


@dataclass
class _Prepared:
    """One service's inputs to the model: demand, sites (existing then candidates) and travel times."""

    index: int
    service: Service
    field: str
    demand: gpd.GeoDataFrame
    sites: pd.DataFrame
    cost: np.ndarray          # exact minutes
    round_s: float
    model_cost: np.ndarray    # what the model solves on: ``cost`` rounded to round_s (``cost`` itself at 0)
    notes: list[str]
    matrix_seconds: float
    seconds: float

    @property
    def population(self) -> np.ndarray:
        return self.demand["population"].to_numpy(float)

    @property
    def existing(self) -> np.ndarray:
        return self.sites["status"].eq("existing").to_numpy()


def _prepare(scenario: LoadedScenario, index: int, service: Service, layers: dict[str, gpd.GeoDataFrame],
             times: NetworkArrays | TravelTimeTable, round_s: float, log: Callable[[str], None]) -> _Prepared:
    """Demand, sites and the travel-time matrix of one service (exact, and as the model sees it)."""
    t_start = time.perf_counter()
    spec = scenario.spec
    field = f"services[{index}]"
    notes: list[str] = []
    weights = service.demand_weights
    demand = combine_layers([
        (layers[layer.name], layer.weight * (1.0 if weights is None else weights.get(layer.name, 0.0)))
        for layer in spec.demand
    ]).rename(columns={"value": "population"})

    existing = _existing_sites(scenario, service, field)
    candidates = _candidate_sites(scenario, service, field, existing)
    if service.p is not None and service.p > len(candidates):
        raise AllocatorError(
            f"p = {service.p} new sites requested but there are only {len(candidates)} candidate sites",
            file=scenario.path, field=f"{field}.p",
            fix=f"lower p to at most {len(candidates)} or add candidate sites")
    sites = pd.concat([existing.assign(status="existing"), candidates.assign(status="new", count=1)],
                      ignore_index=True)
    t0 = time.perf_counter()
    if isinstance(times, NetworkArrays):
        cost, reach_notes = _network_costs(scenario, service, field, demand, sites, times)
    else:
        cost, reach_notes = _matrix_costs(scenario, service, field, demand, sites, times)
    matrix_seconds = time.perf_counter() - t0
    notes += reach_notes
    log(f"{service.name}: travel times {cost.shape[0]:,} demand x {cost.shape[1]:,} sites in {matrix_seconds:.1f}s")
    model_cost = round_times(cost, round_s)
    if service.objective == "set_cover":
        _check_coverable(model_cost, demand["population"].to_numpy(float), service, demand, scenario, field)
    if service.district_floor is not None:
        demand["district"], demand["district_name"] = equity.assign_districts(demand, spec.districts, scenario)
    return _Prepared(index, service, field, demand, sites, cost, round_s, model_cost, notes, matrix_seconds,
                     time.perf_counter() - t_start)


def _solve_all(scenario: LoadedScenario, prepared: list[_Prepared], solver: SolverSpec) -> list[Solution]:
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
            raise exc.with_file(scenario.path)
    return [_solve(prep, options, scenario) for prep in prepared]


#: allocator.solve.plan.model' names for what the scenario calls otherwise
_PLAN_FIELDS = {"open_cost": "candidates.cost", "saving": "existing.saving", "max_time": "max_time_min",
                "upgrade_capacity": "existing.upgrade_capacity", "upgrade_cost": "existing.upgrade_cost",
                "floors": "district_floor", "threshold": "threshold_min"}


def _plan_field(name: str) -> str:
    return _PLAN_FIELDS.get(name, name)


def _plan_service(prep: _Prepared) -> PlanService:
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
            floors.append(Floor(mask, service.district_floor, f"district {names[part.index[0]]}"))
    return PlanService(
        name=service.name, objective=objective(service.objective).plan_model, cost=prep.model_cost, weight=prep.population,
        sites=Sites(kept=existing & ~closable, closable=closable, open_cost=column("open_cost", 1.0),
                    saving=column("saving", 0.0), capacity=capacity,
                    upgrade_capacity=column("upgrade_capacity", 0.0), upgrade_cost=column("upgrade_cost", 0.0)),
        threshold=service.threshold_min, p=service.p, relocate=service.relocate, budget=service.budget,
        max_time=service.max_time_min, floors=floors, priority=service.priority)


def _result(prep: _Prepared, solution: Solution, log: Callable[[str], None]) -> ServiceResult:
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
                                  objective_value(service.objective, cost, solution, population, service.threshold_min))
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
    demand["assigned_facility"] = _facility_rows(after_site, shown)
    chosen["assigned_population"], chosen["mean_time_min"] = _served(demand, len(chosen))
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


def _network_costs(scenario: LoadedScenario, service: Service, field: str, demand: pd.DataFrame,
                   sites: pd.DataFrame, arrays: NetworkArrays) -> tuple[np.ndarray, list[str]]:
    """Door-to-door minutes on the road network, with notes on points too far from any road."""
    max_snap = scenario.spec.network.max_snap_m
    demand_snap = snap_points(arrays, demand["lon"].to_numpy(), demand["lat"].to_numpy(), max_snap)
    site_snap = snap_points(arrays, sites["lon"].to_numpy(), sites["lat"].to_numpy(), max_snap)
    notes = _reachability_notes(demand, ~demand_snap.reachable, sites, ~site_snap.reachable,
                                f"more than {max_snap:g} m from the road network")
    if not site_snap.reachable[sites["status"].eq("new").to_numpy()].any():
        raise AllocatorError(
            f"no candidate site of service '{service.name}' is within {max_snap:g} m of the road network",
            file=scenario.path, field=f"{field}.candidates",
            fix="check that the candidates lie inside the network's area, or raise network.max_snap_m",
        )
    return travel_time_matrix(arrays, demand_snap, site_snap), notes


def _matrix_costs(scenario: LoadedScenario, service: Service, field: str, demand: pd.DataFrame,
                  sites: pd.DataFrame, table: TravelTimeTable) -> tuple[np.ndarray, list[str]]:
    """Minutes looked up by id in the matrix file, with notes on ids it lacks and rows it ignores."""
    _check_site_ids_unique(sites, scenario, field)
    lookup = cost_matrix(table, demand["id"], sites["id"])
    name = table.path.name
    new = sites["status"].eq("new").to_numpy()
    if lookup.pairs_used == 0:
        raise AllocatorError(
            f"no row of the matrix pairs a demand id with a site id of service '{service.name}'",
            file=table.path, field="matrix.origin / matrix.destination",
            fix=f"origins must be demand ids (e.g. {_examples(demand['id'])}) and destinations site ids "
                f"(e.g. {_examples(sites['id'])}); the matrix has origins like {_examples(table.origins)} "
                f"and destinations like {_examples(table.destinations)}")
    if not np.isfinite(lookup.cost[:, new]).any():
        raise AllocatorError(
            f"no candidate site of service '{service.name}' has a travel time from any demand location in the matrix",
            file=table.path, field="matrix.destination",
            fix=f"add rows for the candidate ids (e.g. {_examples(sites['id'][new])}) "
                f"of {field}.candidates to the matrix")
    notes = _reachability_notes(demand, lookup.origin_absent, sites, lookup.site_absent,
                                f"absent from the matrix {name}")
    ignored = len(table.minutes) - lookup.pairs_used
    if ignored:
        notes.append(f"{ignored:,} of {len(table.minutes):,} pairs in the matrix {name} name a demand or site id "
                     f"outside this service and were ignored")
    return lookup.cost, notes


def _check_site_ids_unique(sites: pd.DataFrame, scenario: LoadedScenario, field: str) -> None:
    """A matrix tells sites apart by id: one id may not name two places (existing and candidate)."""
    places = sites.assign(lon=sites["lon"].round(7), lat=sites["lat"].round(7)).drop_duplicates(["id", "lon", "lat"])
    clash = places["id"][places["id"].duplicated()]
    if len(clash):
        raise AllocatorError(
            f"site id {clash.iloc[0]!r} names two different places ({len(clash)} such ids): "
            f"existing facilities and candidates share ids",
            file=scenario.path, field=f"{field}.candidates.id",
            fix="with a matrix, sites are matched by id: give existing facilities and candidates distinct ids "
                "(their 'id' columns; without one, ids are row numbers)")


def _examples(ids: pd.Series | pd.Index, n: int = 3) -> str:
    """The first few ids, quoted, for messages."""
    first = [repr(str(i)) for i in list(ids)[:n]]
    return ", ".join(first) + (", ..." if len(ids) > n else "") if first else "none"


def _existing_sites(scenario: LoadedScenario, service: Service, field: str) -> pd.DataFrame:
    """Existing facilities (rows with a positive count), or an empty table."""
    columns = ["id", "name", "count", "lon", "lat"]
    if service.existing is None:
        return pd.DataFrame(columns=columns)
    spec = service.existing
    values = {"saving": spec.saving, "capacity": spec.capacity, "upgrade_capacity": spec.upgrade_capacity,
              "upgrade_cost": spec.upgrade_cost}
    frame = read_layer(scenario.resolve_path(spec.source, f"{field}.existing.source"), spec,
                       value_column=spec.count, field=f"{field}.existing", nan_value_is_zero=True,
                       extra_columns=_columns_of(values))
    frame = frame[frame["value"] > 0].rename(columns={"value": "count"})
    frame["count"] = frame["count"].round().astype(int)
    return pd.DataFrame(_with_values(frame, values)[columns + [k for k, v in values.items() if v is not None]])


def _candidate_sites(scenario: LoadedScenario, service: Service, field: str, existing: pd.DataFrame) -> pd.DataFrame:
    """Candidate sites, without those at an existing facility's location when asked."""
    spec = service.candidates
    values = {"open_cost": spec.cost, "capacity": spec.capacity}
    frame = read_layer(scenario.resolve_path(spec.source, f"{field}.candidates.source"), spec,
                       value_column=None, field=f"{field}.candidates", extra_columns=_columns_of(values))
    frame = _with_values(frame, values)
    if spec.exclude_existing and len(existing):
        taken = set(zip(existing["lon"].round(7), existing["lat"].round(7)))
        frame = frame[[(x, y) not in taken for x, y in zip(frame["lon"].round(7), frame["lat"].round(7))]]
    if frame.empty:
        raise AllocatorError("no candidate sites left", file=scenario.path, field=f"{field}.candidates",
                             fix="every candidate is at an existing facility; add candidates or set exclude_existing: false")
    return pd.DataFrame(frame[["id", "name", "lon", "lat"] + [k for k, v in values.items() if v is not None]])


def _columns_of(values: dict[str, float | str | None]) -> dict[str, str]:
    """The per-site values given as column names (the others are numbers for every site)."""
    return {name: v for name, v in values.items() if isinstance(v, str)}


def _with_values(frame: pd.DataFrame, values: dict[str, float | str | None]) -> pd.DataFrame:
    """Fill the per-site values given as one number for every site."""
    for name, v in values.items():
        if v is not None and not isinstance(v, str):
            frame[name] = float(v)
    return frame


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


def _reachability_notes(demand: pd.DataFrame, demand_lost: np.ndarray, sites: pd.DataFrame,
                        site_lost: np.ndarray, reason: str) -> list[str]:
    """Say which demand locations and sites have no travel times, and why (``reason``)."""
    notes = []
    lost = demand_lost & (demand["population"].to_numpy() > 0)
    if lost.any():
        ids = ", ".join(demand["id"][lost].astype(str).head(5))
        notes.append(f"{int(lost.sum())} demand locations ({demand['population'][lost].sum():,.0f} people) are "
                     f"{reason}: counted as underserved (e.g. {ids})")
    for status in ("existing", "new"):
        mask = site_lost & sites["status"].eq(status).to_numpy()
        if mask.any():
            what = "existing facilities serve nobody" if status == "existing" else "candidate sites were left out"
            ids = ", ".join(sites["id"][mask].astype(str).head(5))
            notes.append(f"{int(mask.sum())} {what}: {reason} (e.g. {ids})")
    return notes


def _solve(prep: _Prepared, options: dict, scenario: LoadedScenario) -> Solution:
    """Call the model the service asks for, attributing model errors to its fields."""
    service = prep.service
    try:
        if service.uses_plan_rules:
            return solve_plan([_plan_service(prep)], **options)[0]
        problem = Problem(prep.model_cost, prep.population, prep.existing, service.p, service.threshold_min)
        return objective(service.objective).solver(problem, SolveOptions(**options))
    except AllocatorError as exc:
        exc.field = f"{prep.field}.{_plan_field(exc.field)}" if exc.field else prep.field
        raise exc.with_file(scenario.path)


def _facility_rows(site: np.ndarray, open_mask: np.ndarray) -> np.ndarray:
    """Turn site indices (from :func:`allocator.solve.models.assign`) into rows of the
    facilities table, which lists the open sites in site order; -1 stays -1."""
    return np.where(site >= 0, np.searchsorted(np.flatnonzero(open_mask), site), -1)


def _served(demand: pd.DataFrame, n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """Population assigned to each open site and its population-weighted mean travel time (NaN: nobody)."""
    site = demand["assigned_facility"].to_numpy()
    ok = site >= 0
    pop = demand["population"].to_numpy(float)[ok]
    times = demand["time_after"].to_numpy(float)[ok]
    people = np.bincount(site[ok], weights=pop, minlength=n_sites)
    minutes = np.bincount(site[ok], weights=pop * times, minlength=n_sites)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(people > 0, minutes / people, np.nan)
    return people, mean
