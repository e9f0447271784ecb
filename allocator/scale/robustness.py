"""The robustness batch: one service's plan solved again under stated changes, on the Dask cluster.

:func:`run_robustness` prepares the scenario once, solves and measures the
plan as a plain run does, then sends every variant to the cluster as one small
batch (:func:`allocator.scale.cluster.run_tasks`: the prepared service
scattered once, one task per variant): the travel speed ``speed_share``
slower and faster (every travel time divided by the speed factor: exact for a
network whose every speed scales alike), the threshold ``threshold_min``
lower and higher, each population change, and, with ``alternatives``, the
plan without each of its new sites (:meth:`ServiceProblem.without_sites`).
Each variant is solved exactly and measured on its own times
(:func:`allocator.pipeline.solve`, :func:`allocator.pipeline.evaluate`);
:class:`~allocator.evaluate.robustness.RobustnessResult` reads them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from allocator import pipeline
from allocator.evaluate.result import RunResult, ServiceResult
from allocator.evaluate.robustness import RobustnessResult, VariantFigures
from allocator.inputs.growth import district_factors, file_factors
from allocator.inputs.sites import SiteStatus
from allocator.scale.cluster import LazyClient, run_tasks
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.robustness import RobustnessSpec
from allocator.scenario.schema import Service, SolverSpec
from allocator.solve.problem import RunProblem, ServiceProblem
from allocator.traveltime.rounding import round_times


@dataclass(frozen=True)
class Variant:
    """One changed condition of the run (the defaults: none, the baseline)."""

    label: str                               # how the report names it (with kind: the change, e.g. "-10%")
    kind: str = "baseline"
    speed: float = 1.0                       # travel speed factor: times are divided by it
    threshold_change: float = 0.0            # minutes added to threshold_min
    population: np.ndarray | None = None     # factor per demand row
    forbidden: str | None = None             # a candidate site the plan may not open


@dataclass
class RobustnessJob:
    """What every variant needs: the tested service alone and the solver options (scattered once)."""

    prepared: RunProblem
    solver: SolverSpec


def variant_run(prepared: RunProblem, variant: Variant) -> RunProblem:
    """``prepared`` (one service) with ``variant``'s conditions (a new problem; unchanged frames are shared)."""
    (p,) = prepared.services
    if variant.speed != 1.0:
        cost = p.cost / variant.speed
        p = replace(p, cost=cost, model_cost=round_times(cost, p.round_s))
    if variant.threshold_change:
        threshold = p.service.threshold_min + variant.threshold_change
        p = replace(p, service=Service.model_validate({**p.service.model_dump(), "threshold_min": threshold},
                                                      context={"shared_budget": False}))
    if variant.population is not None:
        p = replace(p, demand=p.demand.assign(population=p.demand["population"].to_numpy(float) * variant.population))
    if variant.forbidden is not None:
        p = p.without_sites([variant.forbidden])
    return replace(prepared, services=[p])


def new_places(s: ServiceResult) -> dict[str, str]:
    """The new sites of a measured plan: id -> place name."""
    new = s.facilities[s.facilities["status"] == SiteStatus.NEW]
    return dict(zip(new["id"].astype(str), new["place"].astype(str), strict=True))


def figures(variant: Variant, s: ServiceResult) -> VariantFigures:
    """What a measured variant gives."""
    places = new_places(s)
    return VariantFigures(label=variant.label, kind=variant.kind, sites=tuple(places), within_share=s.after.within_share,
                          within=s.after.within, objective=s.solution.objective, status=s.solution.status,
                          forbidden=variant.forbidden, places=places)


def solve_variant(job: RobustnessJob, variant: Variant) -> VariantFigures:
    """Solve and measure one variant (on a worker)."""
    run = variant_run(job.prepared, variant)
    solutions = pipeline.solve(run, job.solver)
    result = pipeline.evaluate(run, solutions, solver=job.solver, log=pipeline.Progress(quiet=True))
    return figures(variant, result.services[0])


def variants(spec: RobustnessSpec, scenario: LoadedScenario, p: ServiceProblem) -> list[Variant]:
    """The changed conditions ``spec`` states, in order: speed, threshold, each population change."""
    out = []
    if spec.speed_share is not None:
        share = spec.speed_share
        out += [Variant(f"-{share:.0%}", "speed", speed=1 - share),
                Variant(f"+{share:.0%}", "speed", speed=1 + share)]
    if spec.threshold_min is not None:
        m = spec.threshold_min
        out += [Variant(f"-{m:g} min", "threshold", threshold_change=-m),
                Variant(f"+{m:g} min", "threshold", threshold_change=m)]
    for i, change in enumerate(spec.population):
        field = f"robustness.population[{i}]"
        if change.districts is not None:
            factors = district_factors(p.demand, change.districts, f"{field}.districts", scenario.path)
        else:
            assert change.file is not None
            factors = file_factors(p.demand, scenario.local_path(change.file, f"{field}.file"), change.id,
                                   change.factor, field)
        out.append(Variant(change.label or f"#{i + 1}", "population", population=factors))
    return out


def run_robustness(scenario: LoadedScenario, *, solver: SolverSpec, client: Any | None, log=None,
                   quiet: bool = False) -> RunResult:
    """The plain run of ``scenario`` with its robustness batch attached (``client``: the cluster, None: here)."""
    log = log or pipeline.Progress(quiet)
    spec = scenario.spec.robustness
    assert spec is not None
    prepared = pipeline.prepare(scenario, solver=solver, log=log)
    t0 = time.perf_counter()
    solutions = pipeline.solve(prepared, solver)
    result = pipeline.evaluate(prepared, solutions, solver=solver, log=log, solve_s=time.perf_counter() - t0)
    index = spec.service_index([p.service.name for p in prepared.services])
    tested = prepared.services[index]
    job = RobustnessJob(replace(prepared, services=[tested]), solver)
    baseline = figures(Variant("baseline"), result.services[index])
    changed = variants(spec, scenario, tested)
    without = [Variant(site, "without", forbidden=site) for site in baseline.sites] \
        if spec.alternatives else []
    if isinstance(client, LazyClient):
        client = client.get()
    t0 = time.perf_counter()
    outcomes = run_tasks(client, solve_variant, [*changed, *without], shared=job, quiet=quiet,
                         label=f"{prepared.info.name}: robustness")
    log(f"robustness: {len(outcomes)} variant(s) in {time.perf_counter() - t0:.1f}s"
        + (f", {sum(o.error is not None for o in outcomes)} failed" if any(o.error for o in outcomes) else ""))
    solved = [o.value if o.error is None else VariantFigures(o.item.label, o.item.kind, forbidden=o.item.forbidden,
                                                             error=o.error) for o in outcomes]
    places = {k: v for f in (baseline, *solved) for k, v in f.places.items()}
    return replace(result, robustness=RobustnessResult(service=tested.service.name, baseline=baseline,
                                                       variants=solved[:len(changed)],
                                                       alternatives=solved[len(changed):], places=places))
