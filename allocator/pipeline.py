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

import dataclasses
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.evaluate.result import RunResult
from allocator.evaluate.service import evaluate_service
from allocator.inputs.demand import read_demand
from allocator.inputs.districts import assign_districts
from allocator.inputs.layers import combine_layers
from allocator.inputs.place_names import StreetIndex, district_labels
from allocator.inputs.sites import SiteStatus, candidate_sites, existing_sites
from allocator.outputs.files import write_outputs
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import Service, SolverSpec
from allocator.solve.objectives import objective
from allocator.solve.problem import RunProblem, ServiceProblem
from allocator.solve.run import solve_run
from allocator.solve.run_info import DistrictAssigner, run_info
from allocator.solve.solution import Solution
from allocator.traveltime.network_report import NetworkReport
from allocator.traveltime.open_source import open_source
from allocator.traveltime.rounding import round_times
from allocator.traveltime.source import TravelTimeSource
from allocator.traveltime.table import MatrixReport

#: characters never written to the console as they are: controls (an escape sequence in a name from the data
#: would drive the user's terminal) and the bidirectional overrides that reorder what is shown
_UNSHOWN = {*range(0x00, 0x20), *range(0x7f, 0xa0), *range(0x202a, 0x202f), *range(0x2066, 0x206a)} - {0x0a, 0x09}


def plain(text: str) -> str:
    """``text`` for the console: every control character written as an escape (``\\x1b``), new lines kept."""
    return "".join(_escaped(c) if ord(c) in _UNSHOWN else c for c in text)


def _escaped(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


class Progress:
    """Timestamped progress lines on stderr (silent when ``quiet``)."""

    def __init__(self, quiet: bool = False) -> None:
        self.start = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(plain(f"[{time.perf_counter() - self.start:6.1f}s] {message}"), file=sys.stderr, flush=True)


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
            log: Callable[[str], None] | None = None) -> RunProblem:
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
    times = open_source(scenario.travel_spec, scenario.travel_source(), log, scenario.path, scenario.feed_files())
    timings[times.timing_key] = time.perf_counter() - t0
    streets = named_streets(times, spec.language)

    districts = functools.partial(
        assign_districts, spec=spec.districts, path=scenario.district_file(), origin=scenario.origin("districts"),
        demand_layer=spec.demand[0], language=spec.language) if spec.districts is not None else None
    services = [_prepare(scenario, i, service, layers, times, solver.round_s, log, districts)
                for i, service in enumerate(spec.services)]
    report = times.report
    assert isinstance(report, (NetworkReport, MatrixReport)), report
    return RunProblem(info=run_info(scenario, districts), network=report, services=services, timings=timings,
                      streets=streets)


def solve(prepared: RunProblem, solver: SolverSpec) -> list[Solution]:
    """Solve every prepared service (together when they share a budget, else one by one), then take the
    staffing decision of each service with a ``counters`` section (:func:`allocator.solve.run.solve_run`).
    """
    return solve_run(prepared, solver)


def evaluate(prepared: RunProblem, solutions: list[Solution], *, solver: SolverSpec,
             log: Callable[[str], None] | None = None, solve_s: float | None = None) -> RunResult:
    """Measure each solved service before and after on the exact times, with its equity block.

    ``solve_s`` (the duration of :func:`solve`) goes into the timings when given.
    Nothing of ``prepared`` or ``solutions`` is changed.
    """
    log = log or Progress()
    timings = dict(prepared.timings)
    if solve_s is not None:
        timings["solve_s"] = solve_s
    results = []
    for prep, solution in zip(prepared.services, solutions, strict=True):
        t0 = time.perf_counter()
        results.append(evaluate_service(prep, solution, targets=prepared.info.targets, streets=prepared.streets,
                                        log=log))
        timings[f"service_{prep.service.name}_s"] = time.perf_counter() - t0 + prep.seconds
    used = {"name": "HiGHS (highspy, through PuLP)", "time_limit_s": solver.time_limit_s,
            "gap_rel": solver.gap_rel if solver.gap_rel is not None else 0.0,
            "threads": solver.threads if solver.threads is not None else 1, "random_seed": 0,
            "round_s": solver.round_s}
    return RunResult(info=prepared.info, network=prepared.network, services=results, timings=timings, solver=used,
                     streets=prepared.streets)


def write(result: RunResult, out_dir: Path, *, tiles: bool = True, lang: str | None = None) -> Path:
    """Write every output of ``result`` into ``out_dir`` atomically (:func:`allocator.outputs.files.write_outputs`)."""
    return write_outputs(result, out_dir, tiles=tiles, lang=lang)


def named_streets(times: TravelTimeSource, language: str) -> StreetIndex | None:
    """The road network's named streets, whose built labels connect the names in the report's ``language``
    ("near", "around")."""
    return dataclasses.replace(times.streets, language=language) if times.streets is not None else None


def _prepare(scenario: LoadedScenario, index: int, service: Service, layers: dict[str, gpd.GeoDataFrame],
             times: TravelTimeSource, round_s: float, log: Callable[[str], None],
             districts: DistrictAssigner | None) -> ServiceProblem:
    """Demand, sites and the travel-time matrix of one service (exact, and as the model sees it);
    ``districts``: the scenario's district grouping, when it has one."""
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
    sites = pd.concat([existing.assign(status=SiteStatus.EXISTING), candidates.assign(status=SiteStatus.NEW, count=1)],
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
    if districts is not None:   # once, for district floors and the equity block
        keys, names = districts(demand)
        notes += keys.attrs.get("notes", [])   # districts without demand, demand outside every district
        demand["district"], demand["district_name"] = keys, names
        demand["district_name"] = district_labels(demand, demand["district"], demand["district_name"],
                                                    named_streets(times, spec.language))
    return ServiceProblem(index, service, field, demand, sites, cost, round_s, model_cost, notes, matrix_seconds,
                          time.perf_counter() - t_start)


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
