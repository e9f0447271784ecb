"""A sweep: one service solved exactly for every value of one parameter, on one prepared matrix.

:func:`run_sweep` prepares the scenario once (:func:`allocator.pipeline.prepare`:
layers, snapping, the travel-time matrix), sends it to the workers once, and
solves every point there (:func:`solve_point`: :func:`allocator.pipeline.solve`
and :func:`~allocator.pipeline.evaluate` on the prepared run with the
point's value for its service; no stage changes what it is given, so nothing
is copied). Each point gives one row of ``sweep.csv``
(:mod:`allocator.outputs.sweep`) and its solutions; the chosen point (the
``chosen`` value, else the knee) is then evaluated in full from its solutions,
so its outputs are those of a single run with that value.

The marginal gain of a point is the share of the population it brings within
``threshold_min`` over the previous point, per extra new site (per step when
the number of sites does not change, as in a ``threshold_min`` sweep); the
first point of a ``p`` or ``budget`` sweep is compared with no new site at all.
The knee is the last point before the gain drops below ``min_gain``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from allocator import pipeline
from allocator.errors import AllocatorError
from allocator.evaluate.result import FAILED, RunResult, ServiceResult, SweepResult
from allocator.inputs.sites import SiteStatus
from allocator.scale.cluster import LazyClient, Outcome, run_tasks
from allocator.scale.robustness import run_robustness
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import SolverSpec
from allocator.scenario.sweep import MAX_POINTS, SweepSpec
from allocator.solve.plan.phases import phase_solution, solve_phased
from allocator.solve.problem import RunProblem
from allocator.solve.run import plan_service
from allocator.solve.solution import Solution

#: the most work a sweep may ask for, in travel-time cells solved (:func:`sweep_cost`): enough for p = 1..100
#: on a city's worth of H3 cells
MAX_SWEEP_CELLS = 200_000_000
#: what a point costs at least whatever its size (building the model, evaluating the plan), in cells: the
#: schema's cap on the points is this bound for the smallest problems
MIN_POINT_CELLS = MAX_SWEEP_CELLS // MAX_POINTS
#: models solved for one point: the centre objectives search their radius over a series of models
MODELS_PER_POINT = {"p_center": 10, "weighted_p_center": 10}


@dataclass
class SweepJob:
    """What every point needs: the prepared run and the solver options (scattered to the workers once); a nested
    sweep's phased plan, whose phases are the points."""

    prepared: RunProblem
    solver: SolverSpec
    nested: Solution | None = None


@dataclass
class PointResult:
    """One solved point: its row of sweep.csv and the solutions (before evaluation) of the services solved."""

    row: dict
    solutions: list[Solution]


def sweep_of(prepared: RunProblem) -> tuple[SweepSpec, int]:
    """The scenario's sweep and the index of the service it varies."""
    sweep = prepared.info.sweep
    if sweep is None:
        raise ValueError("the scenario has no sweep")
    return sweep, sweep.service_index([p.service.name for p in prepared.services])


def point_run(prepared: RunProblem, value: float, *, every_service: bool = False) -> RunProblem:
    """``prepared`` with its swept service's parameter at ``value`` (a new problem; the frames are shared).

    It holds only the swept service (all of them with ``every_service`` or a
    shared budget, which solves them together); the manifest's resolved
    scenario shows the point's value.
    """
    info = prepared.info
    sweep, index = sweep_of(prepared)
    variant = sweep.variant(prepared.services[index].service, value, {"shared_budget": info.shared_budget is not None})
    services = [*info.resolved["services"]]
    services[index] = variant.model_dump(mode="json")
    keep = every_service or info.shared_budget is not None
    return replace(prepared, info=replace(info, resolved={**info.resolved, "services": services}),
                   services=[replace(p, service=variant) if p.index == index else p
                             for p in prepared.services if keep or p.index == index])


def solve_point(job: SweepJob, value: float) -> PointResult:
    """Solve and measure one point (on a worker): its row of sweep.csv and its solutions."""
    t0 = time.perf_counter()
    run = point_run(job.prepared, value)
    sweep, index = sweep_of(job.prepared)
    if job.nested is None:
        solutions = pipeline.solve(run, job.solver)
    else:   # the point is a phase of the nested plan
        solutions = [phase_solution(job.nested, sweep.points.index(value))]
    result = pipeline.evaluate(run, solutions, solver=job.solver, log=pipeline.Progress(quiet=True))
    name = job.prepared.services[index].service.name
    service = next(s for s in result.services if s.service.name == name)
    row = point_row(sweep.parameter, sweep.value(value), service)
    row["seconds"] = time.perf_counter() - t0
    if job.nested is not None and job.nested.phases is not None:
        row["one_shot_objective"] = job.nested.phases.phases[sweep.points.index(value)].one_shot
    return PointResult(row, solutions)


def point_row(parameter: str, value: float, s: ServiceResult) -> dict:
    """One row of sweep.csv: the point's value and what its plan gives (after the change)."""
    new = s.facilities[s.facilities["status"] == SiteStatus.NEW]
    return {parameter: value, "status": s.solution.status, "gap": s.solution.gap, "objective": s.solution.objective,
            "within_share_before": s.before["within_share"], "within_share": s.after["within_share"],
            "underserved": s.after["underserved"], "population": s.after["population"], "mean_min": s.after["mean_min"], "p90_min": s.after["p90_min"],
            "max_min": s.after["max_min"], "gini": s.equity["overall"]["after"]["gini"], "new_sites": len(new),
            "budget_used": s.solution.budget_used, "sites": " ".join(new["id"].astype(str)),
            "targets_met": " ".join(str(k) for k, x in enumerate(s.equity.get("targets") or []) if x["met_after"])}


def nested_plan(prepared: RunProblem, solver: SolverSpec) -> Solution:
    """A nested sweep's one phased plan: each point a phase adding the sites between two values of p."""
    sweep, index = sweep_of(prepared)
    prep = next(p for p in prepared.services if p.index == index)
    try:
        return solve_phased(plan_service(prep), sweep.steps(), time_limit=solver.time_limit_s,
                            gap_rel=solver.gap_rel, threads=solver.threads)
    except AllocatorError as exc:
        exc.field = f"sweep ({exc.field})" if exc.field else "sweep"
        raise exc.with_file(prepared.info.path) from None


def check_points(prepared: RunProblem) -> None:
    """A ``p`` sweep asks for at most as many new sites as there are candidates, and for bounded work
    (:func:`sweep_cost`): both checked before any point is solved."""
    sweep, index = sweep_of(prepared)
    prep = next(p for p in prepared.services if p.index == index)
    candidates = int((~prep.existing).sum())
    if sweep.parameter == "p" and max(sweep.points) > candidates:
        raise AllocatorError(
            f"the sweep asks for up to p = {max(sweep.points):g} new sites but service '{prep.service.name}' has "
            f"only {candidates} candidate sites", file=prepared.info.path, field="sweep.values",
            fix=f"keep the values at most {candidates} or add candidate sites")
    cost = sweep_cost(prepared)
    if cost > MAX_SWEEP_CELLS:
        per_point = cost // len(sweep.points)
        raise AllocatorError(
            f"the sweep's {len(sweep.points):,} points of service '{prep.service.name}' "
            f"({prep.cost.shape[0]:,} demand locations x {prep.cost.shape[1]:,} sites, {prep.service.objective}) "
            f"are an estimated {cost:.2g} travel-time cells to solve, above the limit of {MAX_SWEEP_CELLS:.2g}",
            file=prepared.info.path, field="sweep",
            fix=f"sweep at most {max(MAX_SWEEP_CELLS // per_point, 1):,} values (a larger range.step, or the "
                "values you need), or fewer demand locations or candidate sites")


def sweep_cost(prepared: RunProblem) -> int:
    """The work of a sweep in travel-time cells: points x the cells of every model a point solves (demand x
    sites, times the models its objective needs; at least :data:`MIN_POINT_CELLS` a point)."""
    sweep, index = sweep_of(prepared)
    solved = [p for p in prepared.services if p.index == index or prepared.info.shared_budget is not None]
    cells = sum(p.cost.size * MODELS_PER_POINT.get(p.service.objective, 1) for p in solved)
    return len(sweep.points) * max(cells, MIN_POINT_CELLS)


def sweep_table(sweep: SweepSpec, rows: list[dict | None], errors: list[str | None]) -> pd.DataFrame:
    """sweep.csv's rows in increasing value, failed points included, with each point's marginal ``gain``."""
    records = [row if row is not None else {sweep.parameter: sweep.value(v), "status": FAILED}
               for v, row in zip(sweep.points, rows, strict=True)]
    table = pd.DataFrame.from_records(records)
    table["error"] = errors
    table["gain"] = marginal_gains(table, sweep.parameter)
    table["gain_people"] = (table["gain"] * table["population"]).round(1) if "population" in table else np.nan
    return table


def marginal_gains(table: pd.DataFrame, parameter: str) -> np.ndarray:
    """Each solved point's gain in within-share over the previous solved point, per extra site (NaN: none)."""
    gains = np.full(len(table), np.nan)
    solved = np.flatnonzero(table["status"].to_numpy() != FAILED)
    if not solved.size:
        return gains
    previous: tuple[float, float] | None = None
    if parameter != "threshold_min" and "within_share_before" in table:
        previous = (float(table["within_share_before"].iloc[solved[0]]), 0.0)
    shares, new_sites = table["within_share"].to_numpy(float), table["new_sites"].to_numpy(float)
    for k in solved:
        share, sites = float(shares[k]), float(new_sites[k])
        if previous is not None:
            extra = sites - previous[1]
            gains[k] = (share - previous[0]) / extra if extra > 0 else share - previous[0]
        previous = (share, sites)
    return gains


def knee(table: pd.DataFrame, parameter: str, min_gain: float) -> float | None:
    """The last solved point before the marginal gain drops below ``min_gain`` (None: no solved point)."""
    ok = table[table["status"] != FAILED]
    if ok.empty:
        return None
    below = np.flatnonzero(ok["gain"].to_numpy(float) < min_gain)
    if below.size and below[0] == 0:
        return float(ok[parameter].iloc[0])
    last = below[0] - 1 if below.size else len(ok) - 1
    return float(ok[parameter].iloc[last])


def run_loaded(scenario: LoadedScenario, *, solver: SolverSpec, client: Any | None, log=None,
               quiet: bool = False) -> RunResult:
    """The run of a loaded scenario: its sweep (:func:`run_sweep`) when it has one, its robustness batch
    (:func:`allocator.scale.robustness.run_robustness`) when it has one, else :func:`pipeline.run`."""
    if scenario.spec.sweep is not None:
        return run_sweep(scenario, solver=solver, client=client, log=log, quiet=quiet)
    if scenario.spec.robustness is not None:
        return run_robustness(scenario, solver=solver, client=client, log=log, quiet=quiet)
    return pipeline.run(scenario, solver=solver, log=log or pipeline.Progress(quiet))


def run_sweep(scenario: LoadedScenario, *, solver: SolverSpec, client: Any | None, log=None,
              quiet: bool = False) -> RunResult:
    """Prepare ``scenario`` once, solve every point of its sweep (on ``client``'s cluster, or here) and
    return the chosen point's run, with every point in its ``sweep``. A :class:`LazyClient` starts its
    cluster only once the sweep is checked."""
    log = log or pipeline.Progress(quiet)
    prepared = pipeline.prepare(scenario, solver=solver, log=log)
    check_points(prepared)
    sweep, _ = sweep_of(prepared)
    t0 = time.perf_counter()
    job = SweepJob(prepared, solver, nested_plan(prepared, solver) if sweep.nested else None)
    if sweep.nested:
        log(f"sweep: the nested build order over {len(sweep.points)} point(s) solved as one phased plan in "
            f"{time.perf_counter() - t0:.1f}s")
    if isinstance(client, LazyClient):   # started only now that the sweep is known to fit
        client = client.get()
    outcomes = run_tasks(client, solve_point, sweep.points, shared=job, quiet=quiet,
                         label=f"{prepared.info.name}: {sweep.parameter} sweep")
    log(f"sweep: {len(outcomes)} point(s) of {sweep.parameter} in {time.perf_counter() - t0:.1f}s"
        + (f", {sum(o.error is not None for o in outcomes)} failed" if any(o.error for o in outcomes) else ""))
    return chosen_run(job, outcomes, log)


def chosen_run(job: SweepJob, outcomes: list[Outcome], log) -> RunResult:
    """The chosen point's full run (from its solutions, other services solved here) with the sweep attached."""
    prepared = job.prepared
    sweep, index = sweep_of(prepared)
    table = sweep_table(sweep, [o.value.row if o.value else None for o in outcomes], [o.error for o in outcomes])
    at_knee = knee(table, sweep.parameter, sweep.min_gain)
    if at_knee is None:
        raise AllocatorError(f"every point of the sweep failed ({outcomes[0].error})", file=prepared.info.path,
                             field="sweep", fix="run one point on its own (without 'sweep') to see why")
    notes = []
    chosen = sweep.chosen if sweep.chosen is not None else at_knee
    solved = {o.item: o.value for o in outcomes if o.value is not None}
    if chosen not in solved:
        notes.append(f"the chosen point {sweep.parameter} = {chosen:g} failed; the outputs show the knee")
        chosen = at_knee
    run = point_run(prepared, chosen, every_service=True)
    point = solved[chosen]
    if len(point.solutions) == len(run.services):
        solutions = point.solutions
    else:   # the other services do not depend on the swept value: solve them once, here
        others = replace(run, services=[p for p in run.services if p.index != index])
        rest = iter(pipeline.solve(others, job.solver))
        solutions = [point.solutions[0] if p.index == index else next(rest) for p in run.services]
    result = pipeline.evaluate(run, solutions, solver=job.solver, log=log)
    return replace(result, sweep=SweepResult(service=prepared.services[index].service.name,
                                             parameter=sweep.parameter, table=table, chosen=chosen, knee=at_knee,
                                             min_gain=sweep.min_gain, notes=notes, nested=sweep.nested))
