"""Sweeps and batches on Dask: points equal single runs, a 2-worker local cluster, --parallel, faults."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import mirrored_env

from allocator import pipeline
from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.evaluate.result import SweepResult
from allocator.outputs.files import write_outputs
from allocator.outputs.sweep import dropping_steps, first_met, mode_line, sweep_section
from allocator.scale.cluster import LazyClient, open_client, run_tasks
from allocator.scale.sweep import SweepJob, chosen_run, knee, marginal_gains, run_sweep, solve_point
from allocator.scenario.loader import load_scenario

HEX = "catalog:sao_paulo/spo_hexgrid.csv"
CELLS = {"source": HEX, "h3": "id", "id": "id"}
POINTS = [1, 2, 4]
SCENARIO = {
    "name": "spo_sweep",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 3,
                  "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
    "sweep": {"parameter": "p", "values": POINTS, "chosen": 2},
    "output": {"tiles": False},
}

cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the fault-injecting task below runs on workers


def write(folder: Path, doc: dict, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def env(mirror: Path, tmp_path_factory):
    with mirrored_env(mirror, tmp_path_factory.mktemp("cache")):
        yield tmp_path_factory.mktemp("sweep")


@pytest.fixture(scope="module")
def scenario(env: Path):
    return load_scenario(write(env, SCENARIO))


@pytest.fixture(scope="module")
def singles(env: Path) -> dict[int, pipeline.RunResult]:
    """The independent reference: the scenario run on its own (no sweep) with each p."""
    out = {}
    for p in POINTS:
        doc = {**SCENARIO, "name": f"spo_p{p}", "sweep": None}
        doc["services"] = [{**SCENARIO["services"][0], "p": p}]
        out[p] = pipeline.run(load_scenario(write(env, doc, f"p{p}.yaml")), log=pipeline.Progress(quiet=True))
    return out


@pytest.fixture(scope="module")
def serial(scenario):
    return run_sweep(scenario, solver=scenario.spec.solver, client=None, quiet=True)


@pytest.fixture(scope="module")
def client(env: Path):
    """A 2-worker local cluster, started after ``env`` so its workers read the data mirror."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), open_client(workers=2) as c:
        yield c


def new_ids(result) -> set[str]:
    fac = result.services[0].facilities
    return set(fac.loc[fac["status"] == "new", "id"].astype(str))


def assert_rows_match_singles(table: pd.DataFrame, singles) -> None:
    assert list(table["p"]) == POINTS
    for row in table.itertuples():
        single = singles[row.p].services[0]
        assert row.status == "optimal" == single.solution.status
        assert row.objective == pytest.approx(single.solution.objective, rel=1e-12)
        assert set(row.sites.split()) == new_ids(singles[row.p]) and row.new_sites == row.p
        assert row.within_share == pytest.approx(single.after["within_share"], rel=1e-12)
        assert row.gini == pytest.approx(single.equity["overall"]["after"]["gini"], rel=1e-12)


# --- the sweep's points are single runs ---------------------------------------------------------

@pytest.mark.slow
def test_sweep_points_equal_single_runs(serial, singles) -> None:
    assert_rows_match_singles(serial.sweep.table, singles)
    # the chosen point's full outputs are those of the single run with that value
    chosen, single = serial.services[0], singles[2].services[0]
    assert serial.sweep.chosen == 2 and chosen.service.p == 2
    assert new_ids(serial) == new_ids(singles[2])
    assert chosen.solution.objective == pytest.approx(single.solution.objective, rel=1e-12)
    assert chosen.after == pytest.approx(single.after)
    np.testing.assert_array_equal(chosen.demand["time_after"], single.demand["time_after"])


@pytest.mark.slow
def test_threshold_sweep_with_a_second_service(env: Path) -> None:
    """A threshold_min sweep of clinics beside schools: every point, and the schools of the chosen point,
    equal the single runs with that threshold."""
    schools = {"name": "schools", "kind": "school", "objective": "p_median", "threshold_min": 10, "p": 2,
               "existing": {**CELLS, "count": "schools"}, "candidates": CELLS}
    doc = {**SCENARIO, "name": "spo_two", "services": [SCENARIO["services"][0], schools],
           "sweep": {"service": "clinics", "parameter": "threshold_min", "values": [8, 6], "chosen": 8}}
    scenario = load_scenario(write(env, doc, "two.yaml"))
    swept = run_sweep(scenario, solver=scenario.spec.solver, client=None, quiet=True)
    assert list(swept.sweep.table["threshold_min"]) == [6, 8]
    for row in swept.sweep.table.itertuples():
        single_doc = {**doc, "sweep": None, "services": [{**doc["services"][0], "threshold_min": row.threshold_min},
                                                         schools]}
        single = pipeline.run(load_scenario(write(env, single_doc, "single.yaml")), log=pipeline.Progress(quiet=True))
        assert row.objective == pytest.approx(single.services[0].solution.objective, rel=1e-12)
        assert set(row.sites.split()) == new_ids(single)
        if row.threshold_min == 8:   # the chosen point: both services as in the single run
            for mine, theirs in zip(swept.services, single.services, strict=True):
                assert mine.service.threshold_min == theirs.service.threshold_min
                assert mine.solution.objective == pytest.approx(theirs.solution.objective, rel=1e-12)
                np.testing.assert_array_equal(mine.solution.new_sites, theirs.solution.new_sites)


def test_gain_and_knee_by_hand() -> None:
    # within 50 % before; p = 1, 2, 3 bring it to 60, 65, 65.5 %: gains 10, 5, 0.5 pp per site
    table = pd.DataFrame({"p": [1, 2, 3, 5], "status": ["optimal"] * 3 + ["failed"], "new_sites": [1, 2, 3, None],
                          "within_share_before": [0.5] * 3 + [None], "within_share": [0.6, 0.65, 0.655, None]})
    table["gain"] = gains = marginal_gains(table, "p")
    np.testing.assert_allclose(gains[:3], [0.10, 0.05, 0.005])
    assert np.isnan(gains[3])
    assert knee(table, "p", 0.01) == 2          # the 3rd site brings 0.5 pp < 1 %
    assert knee(table, "p", 0.2) == 1           # even the first is below: the first point
    assert knee(table, "p", 0.001) == 3         # never below: the last solved point
    threshold = table.rename(columns={"p": "threshold_min"})
    assert np.isnan(marginal_gains(threshold, "threshold_min")[0])   # a threshold sweep has no "no new site" start


@pytest.mark.slow
def test_sweep_outputs_are_written(serial, env: Path) -> None:
    out = write_outputs(serial, env / "out" / "spo_sweep", tiles=False)
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:4]) == ["p", "status", "gap", "objective"] and len(table) == len(POINTS)
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.html").read_text()
    lo, hi = min(POINTS), max(POINTS)
    assert f"What each extra site buys: clinics, number of new sites from {lo:g} to {hi:g}" in report
    assert "number of new sites = 2" in report
    zh = sweep_section(serial, "zh")   # every word of the section in Chinese
    assert f"新增设施数从 {lo:g} 到 {hi:g}" in zh and "拐点" in zh and "number of" not in zh


@pytest.mark.slow
def test_nested_sweep_points_contain_each_other(env: Path, serial, singles) -> None:
    """Each point of a nested sweep keeps the previous point's sites; its one-shot value is the single run's."""
    doc = {**SCENARIO, "name": "spo_nested", "sweep": {**SCENARIO["sweep"], "nested": True}}
    scenario = load_scenario(write(env, doc, "nested.yaml"))
    nested = run_sweep(scenario, solver=scenario.spec.solver, client=None, quiet=True)
    table = nested.sweep.table
    assert list(table["p"]) == POINTS and nested.sweep.nested
    sites = [set(s.split()) for s in table["sites"]]
    assert all(a <= b for a, b in zip(sites, sites[1:]))
    for row, own in zip(table.itertuples(), sites, strict=True):
        single = singles[row.p].services[0].solution
        assert len(own) <= row.p and row.status == "optimal"
        assert row.one_shot_objective == pytest.approx(single.objective, rel=1e-12)   # the independent plan
        assert row.objective <= row.one_shot_objective + 1e-9
    assert set(new_ids(nested)) == sites[POINTS.index(2)]   # the chosen point's outputs are its phase
    assert "Nested build order" in sweep_section(nested)
    drops, steps = dropping_steps(serial.sweep)
    assert f"in {drops} of {steps} steps the next plan drops an earlier site" in sweep_section(serial)
    independent = [set(s.split()) for s in serial.sweep.table["sites"]]
    assert drops == sum(not a <= b for a, b in zip(independent, independent[1:]))


def test_a_nested_sweep_with_unknown_prices_says_so_by_hand() -> None:
    # prices 10 % (p = 1) and 5 % (p = 3); p = 2's one-shot plan ran out of time (NaN in sweep.csv)
    table = pd.DataFrame({"p": [1, 2, 3], "status": ["optimal"] * 3, "objective": [90.0, 150.0, 190.0],
                          "one_shot_objective": [100.0, np.nan, 200.0]})
    sweep = SweepResult(service="s", parameter="p", table=table, chosen=1, knee=1, min_gain=0.01, nested=True)
    line = mode_line(sweep, "en", "number of new sites")
    assert "gives up at most 10.00 %" in line and "(largest at number of new sites = 1)" in line
    assert line.endswith("At 1 point(s) the best plan of the same size was not found within the time limit: "
                         "the price there is unknown.")
    assert "有 1 个点的同规模最优方案未能在时间上限内求得" in mode_line(sweep, "zh", "新增设施数")
    table["one_shot_objective"] = np.nan
    assert mode_line(sweep, "en", "p") == ("Nested build order: each point keeps every site of the previous one "
                                           "(solved exactly as one phased plan). At 3 point(s) the best plan of the "
                                           "same size was not found within the time limit: the price there is unknown.")
    table["one_shot_objective"] = [100.0, 160.0, 200.0]
    assert "unknown" not in mode_line(sweep, "en", "p")


def test_first_met_and_dropped_sites_by_hand() -> None:
    table = pd.DataFrame({"p": [1, 2, 3, 4], "status": ["optimal", "optimal", "failed", "optimal"],
                          "sites": ["a", "a b", None, "c d e f"], "targets_met": ["", "1", None, "0 1"]})
    sweep = SweepResult(service="s", parameter="p", table=table, chosen=1, knee=1, min_gain=0.01)
    assert first_met(sweep, 3) == [4, 2, None]
    assert dropping_steps(sweep) == (1, 2)   # a -> a b keeps a; a b -> c d e f drops both


@pytest.mark.parametrize("sweep, field, words", [
    ({"parameter": "p", "values": [1, 2.5]}, "sweep", "whole numbers"),
    ({"parameter": "p", "values": [1, 2], "range": {"start": 1, "stop": 3}}, "sweep", "exactly one"),
    ({"parameter": "p", "range": {"start": 1, "stop": 3}, "chosen": 7}, "sweep", "not one of"),
    ({"service": "schools", "parameter": "p", "values": [1]}, "sweep", "not a service"),
    ({"parameter": "threshold_min", "values": [5, 900]}, "sweep", "threshold_min = 900"),
    ({"parameter": "wait", "values": [1]}, "sweep.parameter", "p"),
    ({"parameter": "threshold_min", "values": [5, 6], "nested": True}, "sweep", "needs parameter: p"),
    ({"parameter": "p", "values": list(range(1, 60)), "nested": True}, "sweep", "at most 50 phases"),
])
def test_bad_sweeps_name_the_field(env: Path, sweep, field, words) -> None:
    with pytest.raises(AllocatorError) as info:
        load_scenario(write(env, {**SCENARIO, "sweep": sweep}, "bad.yaml"))
    assert info.value.field == field and words in str(info.value)


@pytest.mark.slow
def test_sweep_beyond_the_candidates_is_an_input_error(env: Path) -> None:
    path = write(env, {**SCENARIO, "sweep": {"parameter": "p", "values": [1, 10_000]}}, "many.yaml")
    with pytest.raises(AllocatorError, match="candidate sites") as info:
        run_sweep(load_scenario(path), solver=load_scenario(path).spec.solver, client=None, quiet=True)
    assert info.value.field == "sweep.values"


def test_range_form(env: Path) -> None:
    doc = {**SCENARIO, "sweep": {"parameter": "threshold_min", "range": {"start": 5, "stop": 6, "step": 0.5}}}
    assert load_scenario(write(env, doc, "range.yaml")).spec.sweep.points == [5.0, 5.5, 6.0]


# --- a 2-worker local cluster -------------------------------------------------------------------

def _worker_settings() -> tuple:
    import os

    import dask

    return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OPENBLAS_NUM_THREADS"),
            dask.config.get("distributed.worker.profile.enabled"))


@pytest.mark.slow
def test_local_workers_keep_glibc_malloc_and_one_blas_thread(client) -> None:
    """dask's MALLOC_TRIM_THRESHOLD_=65536 and its profiler slow a point's numpy work on a worker by a quarter."""
    assert set(client.run(_worker_settings).values()) == {(None, "1", False)}


@pytest.mark.slow
def test_two_worker_cluster_gives_the_serial_points(client, scenario, singles) -> None:
    assert len(client.scheduler_info()["workers"]) == 2
    result = run_sweep(scenario, solver=scenario.spec.solver, client=client, quiet=True)
    assert_rows_match_singles(result.sweep.table, singles)
    assert new_ids(result) == new_ids(singles[2])


@pytest.mark.slow
def test_parallel_batch_and_compare(client, env: Path, singles) -> None:
    paths = []
    for p in (1, 4):
        doc = {**SCENARIO, "name": f"batch_p{p}", "sweep": None, "services": [{**SCENARIO["services"][0], "p": p}]}
        paths.append(str(write(env, doc, f"batch{p}.yaml")))
    out = env / "batch"
    code = main([*paths, str(write(env, SCENARIO, "batch_sweep.yaml")), "--parallel", "--compare", "--quiet",
                 "--out", str(out), "--scheduler", client.scheduler.address])
    assert code == 0
    for p in (1, 4):
        sites = pd.read_csv(out / f"batch_p{p}" / "sites.csv")
        assert set(sites.loc[sites["status"] == "new", "id"].astype(str)) == new_ids(singles[p])
    assert_rows_match_singles(pd.read_csv(out / "spo_sweep" / "sweep.csv"), singles)
    comparison = pd.read_csv(out / "compare" / "comparison.csv").set_index(["metric", "when"])
    assert list(comparison.loc[("new_sites", "after"), ["batch_p1", "batch_p4", "spo_sweep"]]) == ["1", "4", "2"]


# --- faults -------------------------------------------------------------------------------------

def dying_point(marker: Path, job: SweepJob, value: float):
    """solve_point, but the worker process dies on the first attempt at p = 2, and p = 4 always fails."""
    flag = marker / f"{value:g}"
    if value == 2 and not flag.exists():
        flag.touch()
        os._exit(1)
    if value == 4:
        (marker / f"attempt-{len(list(marker.glob('attempt-*')))}").touch()
        raise MemoryError("no memory left for p = 4")
    return solve_point(job, value)


@pytest.mark.slow
def test_a_dying_worker_is_retried_or_reported(client, scenario, singles, env: Path, tmp_path: Path) -> None:
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    job = SweepJob(prepared, scenario.spec.solver)
    outcomes = run_tasks(client, functools.partial(dying_point, tmp_path), POINTS, shared=job, quiet=True)
    assert [o.error is None for o in outcomes] == [True, True, False], [o.error for o in outcomes]
    assert outcomes[2].error == "MemoryError: no memory left for p = 4"
    assert len(list(tmp_path.glob("attempt-*"))) == 2, "a failing point is tried again once (retries=1)"
    result = chosen_run(job, outcomes, pipeline.Progress(quiet=True))
    table = result.sweep.table
    assert list(table["status"]) == ["optimal", "optimal", "failed"] and table["error"].iloc[2].startswith("MemoryError")
    for row in table.iloc[:2].itertuples():   # the finished points are kept, and right
        assert row.objective == pytest.approx(singles[row.p].services[0].solution.objective, rel=1e-12)
    out = write_outputs(result, env / "faults" / "spo_sweep", tiles=False)
    written = pd.read_csv(out / "sweep.csv")
    assert list(written["status"]) == ["optimal", "optimal", "failed"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no staging folders left"


def dying_together(marker: Path, job: SweepJob, value: float):
    """solve_point, but on its first attempt each point waits for a second one to start, then both
    workers die at once: the prepared run scattered to them is lost."""
    started = marker / f"started-{value:g}"
    if not started.exists():
        started.touch()
        deadline = time.monotonic() + 60
        while len(list(marker.glob("started-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os._exit(1)
    return solve_point(job, value)


@pytest.mark.slow
def test_lost_shared_data_is_scattered_again(client, scenario, singles, tmp_path: Path) -> None:
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    job = SweepJob(prepared, scenario.spec.solver)
    outcomes = run_tasks(client, functools.partial(dying_together, tmp_path), POINTS, shared=job, quiet=True)
    assert [o.error for o in outcomes] == [None] * len(POINTS)
    for o in outcomes:
        assert o.value.row["objective"] == pytest.approx(singles[o.item].services[0].solution.objective, rel=1e-12)


# --- the command line's cluster options ---------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["--workers", "0"], "at least 1"),
    (["--scheduler", "not an address"], "not a Dask scheduler address"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers"),
])
def test_bad_cluster_options_exit_2(env: Path, capsys, argv, words) -> None:
    try:
        code = main([str(write(env, SCENARIO)), *argv, "--quiet"])
    except SystemExit as exc:   # argparse's own errors
        code = exc.code
    assert code == 2 and words in capsys.readouterr().err


def test_scheduler_from_the_environment_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("ALLOCATOR_SCHEDULER", "tcp://host:99999")
    with pytest.raises(AllocatorError, match="ALLOCATOR_SCHEDULER"):
        LazyClient()


# --- HiGHS in threads ---------------------------------------------------------------------------

@pytest.mark.slow
def test_threads_solve_alike_and_keep_stdout(scenario, capfd) -> None:
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    job = SweepJob(prepared, scenario.spec.solver)
    alone = {p: solve_point(job, p).row["objective"] for p in POINTS}
    found: dict[int, float] = {}
    threads = [threading.Thread(target=lambda p=p: found.__setitem__(p, solve_point(job, p).row["objective"]))
               for p in POINTS * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == alone
    os.write(1, b"stdout still open\n")
    assert "stdout still open" in capfd.readouterr().out


def test_no_banner_from_threads_in_a_fresh_process() -> None:
    code = ("import threading, pulp\n"
            "import time\n"
            "from allocator.solve.checks import Options\n"
            "from allocator.solve.highs import solve\n"
            "def one(k):\n"
            "    x = pulp.LpVariable('x', 0, k)\n"
            "    prob = pulp.LpProblem('p', pulp.LpMaximize)\n"
            "    prob += x\n"
            "    assert solve(prob, Options(None, 0.0, 1, time.perf_counter())).status == 'optimal' and x.varValue == k\n"
            "ts = [threading.Thread(target=one, args=(k,)) for k in range(1, 9)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "print('done')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "done\n"
