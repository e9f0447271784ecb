"""Several scenarios at once on one Dask cluster (``run_scenario.py a.yaml b.yaml --parallel``).

Scenarios without a sweep or a robustness section run as one task each (:func:`allocator.pipeline.run`
on a worker: the workers read the data, so a remote cluster needs the same
data paths or catalog mirror); then each sweep spreads its points over the
whole cluster (:func:`allocator.scale.sweep.run_sweep`), and each robustness batch its variants
(:func:`allocator.scale.robustness.run_robustness`). The results come
back in the order given, to be written where the command line is; a
scenario that fails gives its exception in its place and the others go on.
"""

from __future__ import annotations

from typing import Any

from allocator import pipeline
from allocator.evaluate.result import RunResult
from allocator.scale.cluster import run_tasks
from allocator.scale.sweep import run_loaded
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import SolverSpec


def run_scenario_task(job: tuple[LoadedScenario, SolverSpec]) -> RunResult:
    """One scenario without a sweep, start to finish (on a worker)."""
    scenario, solver = job
    return pipeline.run(scenario, solver=solver, log=pipeline.Progress(quiet=True))


def run_parallel(jobs: list[tuple[LoadedScenario, SolverSpec]], client: Any, *, log=None,
                 quiet: bool = False) -> list[RunResult | Exception]:
    """Every (scenario, solver options) of ``jobs`` on ``client``'s cluster, in order: its run, or the exception
    that ended it (one scenario's failure does not stop the others)."""
    plain = [job for job in jobs if not spread(job[0])]
    outcomes = run_tasks(client, run_scenario_task, plain, label="scenarios", quiet=quiet, retries=0)
    done: dict[int, RunResult | Exception] = {}
    for o in outcomes:
        done[id(o.item[0])] = o.value if o.exception is None else o.exception
    return [done[id(scenario)] if not spread(scenario) else sweep_or_error(scenario, solver, client, log, quiet)
            for scenario, solver in jobs]


def spread(scenario: LoadedScenario) -> bool:
    """True when the scenario spreads its own tasks over the cluster (a sweep, a robustness batch)."""
    return scenario.spec.sweep is not None or scenario.spec.robustness is not None


def sweep_or_error(scenario: LoadedScenario, solver: SolverSpec, client: Any, log, quiet: bool) -> RunResult | Exception:
    """The sweep or robustness run (:func:`run_loaded`), or the exception that ended it."""
    try:
        return run_loaded(scenario, solver=solver, client=client, log=log, quiet=quiet)
    except Exception as exc:   # reported with the scenario's name once the others are written
        return exc
