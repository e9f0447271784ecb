"""Several scenarios at once on one Dask cluster (``run_scenario.py a.yaml b.yaml --parallel``).

Scenarios without a sweep run as one task each (:func:`allocator.pipeline.run`
on a worker: the workers read the data, so a remote cluster needs the same
data paths or catalog mirror); then each sweep spreads its points over the
whole cluster (:func:`allocator.scale.sweep.run_sweep`). The results come
back in the order given, to be written where the command line is.
"""

from __future__ import annotations

from typing import Any

from allocator import pipeline
from allocator.evaluate.result import RunResult
from allocator.scale.cluster import run_tasks
from allocator.scale.sweep import run_sweep
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import SolverSpec


def run_scenario_task(job: tuple[LoadedScenario, SolverSpec]) -> RunResult:
    """One scenario without a sweep, start to finish (on a worker)."""
    scenario, solver = job
    return pipeline.run(scenario, solver=solver, log=pipeline.Progress(quiet=True))


def run_parallel(jobs: list[tuple[LoadedScenario, SolverSpec]], client: Any, *, log=None,
                 quiet: bool = False) -> list[RunResult]:
    """Every (scenario, solver options) of ``jobs`` on ``client``'s cluster; the first failure is raised."""
    plain = [job for job in jobs if job[0].spec.sweep is None]
    outcomes = run_tasks(client, run_scenario_task, plain, label="scenarios", quiet=quiet, retries=0)
    failed = next((o.exception for o in outcomes if o.exception is not None), None)
    if failed is not None:
        raise failed   # an input error stays one (exit status 2)
    done = {id(o.item[0]): o.value for o in outcomes}
    return [done[id(scenario)] if scenario.spec.sweep is None
            else run_sweep(scenario, solver=solver, client=client, log=log, quiet=quiet)
            for scenario, solver in jobs]
