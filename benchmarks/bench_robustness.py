"""The robustness batch of the Porto Alegre clinics demo: serial loop vs a 2-worker local Dask cluster.

The scenario is ``scenarios/poa_clinics.yaml`` (maximal coverage, 10 new
clinics, 15-minute walk, 1,227 H3 cells) with its ``robustness`` section:
walking 10 % slower and faster, the threshold 2 minutes lower and higher, and
the plan without each of its 10 new sites: 14 variants, each solved exactly
and measured (:func:`allocator.scale.robustness.solve_variant`). The matrix
is prepared once; then, in one process, alternated so that both see the same
load on a shared machine:

- **serial loop**: ``run_tasks`` with no client, one variant after the other here;
- **local cluster**: the prepared service scattered once to a
  ``LocalCluster(n_workers=2, threads_per_worker=1)`` and the variants solved
  there (the scatter inside the timing; the cluster's start and the first run,
  which imports allocator on the workers, reported apart from the median).

Both must give the same objective and new sites for every variant (checked).
Printed: medians over ``--repeat`` runs, the ratio serial / cluster and the load.

Run::

    python benchmarks/bench_robustness.py [--repeat 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator import pipeline  # noqa: E402
from allocator.scale.cluster import run_tasks  # noqa: E402
from allocator.scale.robustness import RobustnessJob, Variant, figures, solve_variant, variants  # noqa: E402
from allocator.scenario.loader import load_scenario  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "poa_clinics.yaml"


def outcomes_of(outcomes) -> list[tuple[str, float, tuple[str, ...]]]:
    """Each variant's label, objective and sorted new sites (a failed variant stops the benchmark)."""
    failed = [o.error for o in outcomes if o.error is not None]
    if failed:
        raise SystemExit(f"a variant failed: {failed[0]}")
    return [(o.value.label, o.value.objective, tuple(sorted(o.value.sites))) for o in outcomes]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the serial loop and of the cluster (median)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    _poa.header("robustness batch of the Porto Alegre clinics demo", threads=1)
    scenario = load_scenario(SCENARIO)
    solver = scenario.spec.solver
    t0 = time.perf_counter()
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    prepare_s = time.perf_counter() - t0
    result = pipeline.evaluate(prepared, pipeline.solve(prepared, solver), solver=solver,
                               log=pipeline.Progress(quiet=True))
    baseline = figures(Variant("baseline"), result.services[0])
    assert scenario.spec.robustness is not None
    items = [*variants(scenario.spec.robustness, scenario, prepared.services[0]),
             *(Variant(site, "without", forbidden=site) for site in baseline.sites)]
    job = RobustnessJob(replace(prepared, services=[prepared.services[0]]), solver)
    prep = prepared.services[0]
    print(f"scenario: {SCENARIO.name}, {len(items)} variants; matrix {prep.cost.shape[0]:,} demand x "
          f"{prep.cost.shape[1]:,} sites, prepared once in {prepare_s:.1f} s")

    runs = _poa.serial_versus_cluster(
        lambda c: outcomes_of(run_tasks(c, solve_variant, items, shared=job, quiet=True)), a.repeat, a.workers)
    serial_s, cluster_s = _poa.med(runs.serial_walls), _poa.med(runs.cluster_walls)
    same = all(s[0] == c[0] and _poa.same(s[1], c[1]) and s[2] == c[2]
               for other in (runs.first, runs.cluster) for s, c in zip(runs.serial, other, strict=True))
    print(f"check   : every variant has the same objective and new sites serial and on the cluster: "
          f"{'yes' if same else 'NO'}")
    print(f"ratio serial loop / local cluster ({a.workers} workers): {serial_s / cluster_s:.2f}x "
          f"(load avg now {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
