"""A 20-point sweep of the Porto Alegre clinics demo: serial loop vs a 2-worker local Dask cluster vs 20 re-runs.

The scenario is ``scenarios/poa_clinics_sweep.yaml`` (the clinics demo,
``poa_clinics.yaml``, with ``p`` = 1..20: maximal coverage, 15-minute walk,
1,227 H3 cells). Three ways to get the same 20 points, in one process:

- **serial loop**: the matrix prepared once (``pipeline.prepare``), then
  ``allocator.scale.sweep.solve_point`` for each p, one after the other here
  (``run_tasks`` with no client);
- **local cluster**: the same prepared run scattered once to a
  ``LocalCluster(n_workers=2, threads_per_worker=1)`` and the 20 points solved
  there (``run_tasks`` with the client; the scatter is inside the timing; the
  cluster's start is timed apart and the first run, which imports allocator on
  the workers, is reported apart from the median); serial and cluster runs
  alternate, so that on a shared machine both see the same load;
- **re-runs**: ``pipeline.run`` of the scenario 20 times with p set (each
  re-reads the layers and the cached network and recomputes the matrix).

Every way must give the same objective and the same new sites for every p
(checked). Printed: medians over ``--repeat`` runs and the ratios
serial / cluster (target >= 1.6x on a 2-core machine) and re-runs / serial.

Run::

    python benchmarks/bench_sweep.py [--repeat 3] [--rerun-repeat 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator import pipeline  # noqa: E402
from allocator.scale.cluster import run_tasks  # noqa: E402
from allocator.scale.sweep import SweepJob, solve_point  # noqa: E402
from allocator.scenario.loader import load_scenario  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "poa_clinics_sweep.yaml"
TARGET = 1.6


def points_of(outcomes) -> dict[int, tuple[float, str]]:
    """p -> (objective, new site ids) of every point; a failed point stops the benchmark."""
    failed = [o for o in outcomes if o.error]
    if failed:
        raise SystemExit(f"point p = {failed[0].item} failed: {failed[0].error}")
    return {int(o.item): (o.value.row["objective"], o.value.row["sites"]) for o in outcomes}


def overheads(client, job: SweepJob, done) -> None:
    """What the cluster adds to a sweep: the prepared run's size and scatter, a trivial task, a point's result."""
    import cloudpickle

    size = len(cloudpickle.dumps(job)) / 1e6
    scatters, trivial = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        client.scatter(job, broadcast=True, hash=False).result()
        scatters.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        client.submit(len, [1], pure=False).result()
        trivial.append(time.perf_counter() - t0)
    point = cloudpickle.dumps(solve_point(job, 1))
    print(f"overhead: prepared run {size:.1f} MB pickled, scattered to every worker in median "
          f"{_poa.med(scatters):.3f} s; a trivial task {1000 * _poa.med(trivial):.1f} ms; a point's result "
          f"{len(point) / 1e3:.1f} kB")


def rerun(scenario, p: int) -> tuple[float, str]:
    """The scenario run on its own with ``p`` (no sweep): prepare, solve, evaluate."""
    spec = scenario.spec
    services = [spec.services[0].model_copy(update={"p": p})]
    single = scenario.model_copy(update={"spec": spec.model_copy(update={"services": services, "sweep": None})})
    s = pipeline.run(single, log=pipeline.Progress(quiet=True)).services[0]
    new = s.facilities[s.facilities["status"] == "new"]
    return s.solution.objective, " ".join(new["id"].astype(str))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the serial loop and of the cluster (median)")
    ap.add_argument("--rerun-repeat", type=int, default=1, help="runs of the 20 re-runs (each ~20 prepares)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    _poa.header("sweep of the Porto Alegre clinics demo, p = 1..20", threads=1)
    scenario = load_scenario(SCENARIO)
    points = scenario.spec.sweep.points
    t0 = time.perf_counter()
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    prepare_s = time.perf_counter() - t0
    prep = prepared.services[0]
    print(f"scenario: {SCENARIO.name}, {len(points)} points; matrix {prep.cost.shape[0]:,} demand x "
          f"{prep.cost.shape[1]:,} sites, prepared once in {prepare_s:.1f} s")
    job = SweepJob(prepared, scenario.spec.solver)

    runs = _poa.serial_versus_cluster(
        lambda c: points_of(run_tasks(c, solve_point, points, shared=job, quiet=True)), a.repeat, a.workers,
        after_first=lambda client, first: overheads(client, job, first))
    serial, serial_s, cluster_s = runs.serial, _poa.med(runs.serial_walls), _poa.med(runs.cluster_walls)
    ratios = sorted(s_ / c_ for s_, c_ in zip(runs.serial_walls, runs.cluster_walls))
    print(f"pairs   : serial / cluster per alternated pair: {', '.join(f'{r:.2f}' for r in ratios)}")

    reruns, walls = _poa.repeat(lambda: {int(p): rerun(scenario, int(p)) for p in points}, a.rerun_repeat)
    rerun_s = _poa.med(walls)
    print(f"20 re-runs    : median {rerun_s:.1f} s over {len(walls)} run(s) [{', '.join(f'{w:.1f}' for w in walls)}]"
          f" (each prepares the matrix again)")

    same = all(_poa.same(serial[p][0], other[p][0]) and set(serial[p][1].split()) == set(other[p][1].split())
               for other in (runs.first, runs.cluster, reruns) for p in serial)
    print(f"check   : every point has the same objective and new sites in all three: {'yes' if same else 'NO'}")
    ratio = serial_s / cluster_s
    print(f"ratio serial loop / local cluster ({a.workers} workers): {ratio:.2f}x; target >= {TARGET:g}x: "
          f"{'MET' if ratio >= TARGET else 'NOT met'} (load avg now {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"ratio 20 re-runs / serial sweep (prepare + loop {prepare_s + serial_s:.1f} s): "
          f"{rerun_s / (prepare_s + serial_s):.1f}x; / cluster sweep (prepare + cluster {prepare_s + cluster_s:.1f} s): "
          f"{rerun_s / (prepare_s + cluster_s):.1f}x")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
