"""Hostile input to sweeps, Dask and the cluster options: each ends in exit 2 naming what is wrong, never a hang.

Schedulers that are not Dask schedulers (a silent TCP server, an HTTP server)
are started here on localhost; the command line that talks to them runs in a
child process with a timeout (:func:`test_hostile.run_child`), so a
regression fails instead of hanging.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import local_http_server, mirrored_env
from test_hostile import SMALL, _limit_memory, assert_clean_error, cli, run_child, scenario_text

from allocator.cli import main, sweep_line
from allocator.errors import AllocatorError
from allocator.evaluate.result import FAILED, SweepResult
from allocator.scale.cluster import CONNECT_TIMEOUT_S, LazyClient, cores, scheduler_errors
from allocator.scale.sweep import MAX_SWEEP_CELLS, sweep_cost
from allocator.scenario.loader import load_scenario
from allocator.scenario.sweep import MAX_POINTS

REPO = Path(__file__).resolve().parents[2]
#: seconds a refused scheduler may take, the connect timeout included
SCHEDULER_DEADLINE_S = CONNECT_TIMEOUT_S + 20   # the child's start on a busy machine: well under run_child's


@pytest.fixture(scope="module", autouse=True)
def shared_env(tmp_path_factory, mirror: Path):
    with mirrored_env(mirror, tmp_path_factory.mktemp("hs-scale-cache")):
        yield


def write(folder: Path, file_name: str = "s.yaml", **top) -> Path:
    path = folder / file_name
    path.write_text(scenario_text(**top))
    return path


# --------------------------------------------------------------------------- #
# sweeps: bounded by a cost estimate                                           #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("sweep, words", [
    ({"parameter": "threshold_min", "range": {"start": 0.06, "stop": 600, "step": 0.06}},
     ["sweep.range", f"at most {MAX_POINTS:,} points", "this range 10,000", "raise range.step"]),
    ({"parameter": "threshold_min", "values": [1 + k / 10 for k in range(10_001)]},
     ["sweep.values", f"at most {MAX_POINTS}"])])
def test_ten_thousand_points_are_refused_on_loading(tmp_path: Path, capsys, sweep: dict, words: list[str]) -> None:
    """10,001 points were schema-valid, and solving them all ran for a long time."""
    code, err = cli(tmp_path, scenario_text(sweep=sweep), capsys)
    assert_clean_error(code, err, "s.yaml", *words)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_sweep_beyond_the_cost_estimate_is_refused_before_solving(tmp_path: Path) -> None:
    """Few enough points for the schema, but each a series of models on the whole matrix (p_center)."""
    services = [{**SMALL["services"][0], "objective": "p_center"}]
    path = write(tmp_path, services=services, sweep={"parameter": "threshold_min", "range": {"start": 1, "stop": 500}})
    assert len(load_scenario(path).spec.sweep.points) == 500
    done = run_child(path)
    assert_clean_error(done.returncode, done.stderr, str(path), "sweep:", "500 points", "p_center",
                       "travel-time cells", f"{MAX_SWEEP_CELLS:.2g}", "sweep at most")
    assert not (tmp_path / "out").exists()


def _prepared(sweep, services: list[tuple[str, tuple[int, int]]], shared_budget: float | None = None):
    """What :func:`sweep_cost` reads of a prepared run: the sweep and each service's objective and matrix."""
    return SimpleNamespace(
        info=SimpleNamespace(sweep=sweep, shared_budget=shared_budget),
        services=[SimpleNamespace(index=i, service=SimpleNamespace(name=f"s{i}", objective=objective),
                                  cost=np.empty(shape)) for i, (objective, shape) in enumerate(services)])


def test_the_demo_sweep_is_within_the_budget(mirror: Path) -> None:
    """poa_clinics_sweep.yaml (p = 1..20 over Porto Alegre's cells, every other cell a candidate) fits,
    with room for p = 1..60: the sites are at most the cells twice over (existing cells and candidates)."""
    scenario = load_scenario(REPO / "scenarios" / "poa_clinics_sweep.yaml")
    cells = len(pd.read_csv(mirror / "porto_alegre" / "poa_hexgrid.csv", usecols=["id"]))
    prepared = _prepared(scenario.spec.sweep, [(scenario.spec.services[0].objective, (cells, 2 * cells))])
    assert 3 * sweep_cost(prepared) <= MAX_SWEEP_CELLS


def test_sweep_cost_counts_points_cells_objective_and_a_floor(tmp_path: Path) -> None:
    sweep = load_scenario(write(tmp_path, sweep={"parameter": "p", "values": [1, 2, 3]})).spec.sweep
    coverage = sweep_cost(_prepared(sweep, [("max_coverage", (400, 500))]))
    assert coverage == 3 * 400 * 500
    assert sweep_cost(_prepared(sweep, [("p_center", (400, 500))])) > coverage   # a series of models per point
    tiny = sweep_cost(_prepared(sweep, [("max_coverage", (2, 2))]))
    assert tiny > 3 * 4, "a point of a tiny problem still costs its model and evaluation"
    # a shared budget solves every service at each point; otherwise only the swept one
    two, sweep = [("max_coverage", (400, 500)), ("p_median", (400, 300))], sweep.model_copy(update={"service": "s0"})
    assert sweep_cost(_prepared(sweep, two)) == coverage
    assert sweep_cost(_prepared(sweep, two, shared_budget=1e6)) == 3 * (400 * 500 + 400 * 300)


# --------------------------------------------------------------------------- #
# the scheduler address: refused protocols, servers that are not schedulers    #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("address, protocol", [("ucx://10.0.0.5:8786", "ucx"), ("tls://10.0.0.5:8786", "tls"),
                                               ("wss://host:8786", "wss"), ("inproc://host:1", "inproc")])
def test_unsupported_protocols_are_refused_at_the_address(tmp_path: Path, capsys, monkeypatch, address: str,
                                                          protocol: str) -> None:
    code, err = cli(tmp_path, SMALL, capsys, "--scheduler", address)
    assert_clean_error(code, err, "--scheduler", f"{protocol}:// protocol is not supported", "tcp://HOST:PORT")
    monkeypatch.setenv("ALLOCATOR_SCHEDULER", address)
    code, err = cli(tmp_path, SMALL, capsys)
    assert_clean_error(code, err, "ALLOCATOR_SCHEDULER", f"{protocol}://")
    assert not (tmp_path / "out").exists()


def test_tcp_addresses_are_still_taken(monkeypatch) -> None:
    for address in ("tcp://10.0.0.5:8786", "TCP://host:1", "host.example:8786", "tcp://[::1]:8786"):
        assert LazyClient(address).scheduler == address


@contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server on localhost that accepts connections and never writes a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:   # closed
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


@contextmanager
def http_server() -> Iterator[str]:
    """An HTTP server on localhost (it answers Dask's handshake with a 400 page)."""
    with local_http_server() as (port, _):
        yield f"tcp://127.0.0.1:{port}"


@pytest.mark.slow
@pytest.mark.parametrize("server, given", [(silent_server, "--scheduler"), (http_server, "ALLOCATOR_SCHEDULER")])
def test_a_server_that_is_not_a_scheduler_is_refused_in_time(tmp_path: Path, server, given: str) -> None:
    """distributed waits for the handshake's reply without a timeout: a server that never answers (or answers
    HTTP) hung the run."""
    path = write(tmp_path)
    with server() as address:
        extra, env = (["--scheduler", address], None) if given == "--scheduler" else ([], {given: address})
        t0 = time.monotonic()
        done = run_child(path, "--parallel", *extra, env=env)
        elapsed = time.monotonic() - t0
    assert_clean_error(done.returncode, done.stderr, given, address, "dask scheduler")
    assert elapsed < SCHEDULER_DEADLINE_S, elapsed
    assert not (tmp_path / "out").exists()


def test_scheduler_errors_name_the_address() -> None:
    client = SimpleNamespace(scheduler=SimpleNamespace(address="tcp://10.1.2.3:8786"))
    for error in (OSError("Connection reset"), TimeoutError("timed out")):
        with pytest.raises(AllocatorError, match="tcp://10.1.2.3:8786") as info, scheduler_errors(client):
            raise error
        assert info.value.field == "--scheduler" and info.value.fix
    with pytest.raises(ValueError), scheduler_errors(client):   # not the cluster's failure: left as it is
        raise ValueError("a bug")


SCHEDULER_DIES = """
import os, socket, subprocess, sys, threading, time
from allocator.scale.cluster import open_client, run_tasks
dask = os.path.join(os.path.dirname(sys.executable), "dask")
address = sys.argv[1]
scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                              "--no-dashboard"], stderr=subprocess.DEVNULL)
worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard"], stderr=subprocess.DEVNULL)
def slow(x):
    import time
    time.sleep(5)
    return x
try:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1])), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    opened = open_client(address)
    client = opened.__enter__()
    while not client.scheduler_info()["workers"]:
        time.sleep(0.2)
    threading.Timer(1.5, scheduler.kill).start()
    run_tasks(client, slow, [1, 2, 3], quiet=True)
finally:
    worker.kill()
    scheduler.kill()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_scheduler_dying_during_the_tasks_is_an_error_naming_it(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    done = subprocess.run([sys.executable, "-c", SCHEDULER_DIES, address], capture_output=True, text=True,
                          timeout=120, preexec_fn=_limit_memory, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "AllocatorError" in done.stderr and f"the Dask scheduler at {address} failed" in done.stderr, done.stderr
    assert "connection to the scheduler was lost" in done.stderr


# --------------------------------------------------------------------------- #
# --workers                                                                    #
# --------------------------------------------------------------------------- #

def test_more_workers_than_cores_is_refused(tmp_path: Path, capsys) -> None:
    code, err = cli(tmp_path, SMALL, capsys, "--workers", str(cores() + 1))
    assert_clean_error(code, err, "--workers", f"{cores()} core(s)", f"at most {cores()}", "--scheduler")
    assert not (tmp_path / "out").exists()


def test_cores_follow_the_affinity() -> None:
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this system")
    assert cores() == len(os.sched_getaffinity(0)) <= (os.cpu_count() or 1)


# --------------------------------------------------------------------------- #
# failures on the workers: one line each, no traceback unless --verbose        #
# --------------------------------------------------------------------------- #

FAILING_TASKS = """
import os, sys
from allocator.scale.cluster import open_client, run_tasks
def task(x):
    if x == 2:
        raise ValueError("no plan for point 2")
    if x == 3 and not os.path.exists("died"):
        open("died", "w").close()
        os._exit(1)
    return x
with open_client(workers=1, verbose=sys.argv[1] == "verbose") as client:
    outcomes = run_tasks(client, task, [1, 2, 3], quiet=True)
print([o.error for o in outcomes])
"""


@pytest.mark.slow
@pytest.mark.parametrize("verbose", [False, True])
def test_worker_failures_leave_no_log_unless_verbose(tmp_path: Path, verbose: bool) -> None:
    done = subprocess.run([sys.executable, "-c", FAILING_TASKS, "verbose" if verbose else "quiet"],
                          capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[None, 'ValueError: no plan for point 2', None]"
    assert (tmp_path / "died").exists(), "the worker died once and its task was run again"
    logged = "Compute Failed" in done.stderr and "Traceback" in done.stderr
    assert logged == verbose, done.stderr
    if not verbose:
        assert "distributed." not in done.stderr, done.stderr


def test_each_failed_point_has_its_own_line() -> None:
    table = pd.DataFrame({"p": [1, 2, 4], "status": ["optimal", FAILED, FAILED],
                          "error": [None, "MemoryError: no memory left", "KilledWorker: worker died"]})
    sweep = SweepResult(service="clinics", parameter="p", table=table, chosen=1, knee=1, min_gain=0.01, notes=[])
    lines = sweep_line(sweep).splitlines()
    assert "(2 failed, see sweep.csv)" in lines[0]
    assert lines[1:] == ["    p = 2 failed: MemoryError: no memory left", "    p = 4 failed: KilledWorker: worker died"]


# --------------------------------------------------------------------------- #
# --parallel with bad scenarios among good ones                                #
# --------------------------------------------------------------------------- #

@pytest.mark.slow
@pytest.mark.parametrize("how", [["--parallel", "--workers", "1"], []], ids=["parallel", "one-after-the-other"])
def test_a_batch_writes_the_good_scenarios_and_names_every_bad_one(tmp_path: Path, capsys, how: list[str]) -> None:
    """Scenarios that fail while running (their data) leave the others' outputs written, and are all named."""
    good = write(tmp_path, "good.yaml", name="good")
    demand = copy.deepcopy(SMALL["demand"])
    demand[0]["population"] = "no_such_column"
    no_column = write(tmp_path, "no_column.yaml", name="no_column", demand=demand)
    services = copy.deepcopy(SMALL["services"])
    services[0]["candidates"]["id"] = "no_such_id"
    no_id = write(tmp_path, "no_id.yaml", name="no_id", services=services)
    out = tmp_path / "out"
    capsys.readouterr()
    code = main([str(no_column), str(good), str(no_id), *how, "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert_clean_error(code, err, "2 of 3 scenario(s) failed", "the outputs of the others were written",
                       f"{no_column}: ", "no_such_column", f"{no_id}: ", "no_such_id")
    assert err.index(str(no_column)) < err.index(str(no_id)), "in the order given"
    assert (out / "good" / "summary.json").is_file() and (out / "good" / "map.html").is_file()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["good"]
    assert good.is_file()


def test_parallel_refuses_a_scenario_that_does_not_load_before_running_any(tmp_path: Path, capsys) -> None:
    good = write(tmp_path, "good.yaml", name="good")
    unloadable = write(tmp_path, "unloadable.yaml", name="unloadable", services="not a list")
    capsys.readouterr()
    code = main([str(good), str(unloadable), "--parallel", "--quiet", "--out", str(tmp_path / "out")])
    assert_clean_error(code, capsys.readouterr().err, str(unloadable), "services")
    assert not (tmp_path / "out").exists()


def test_a_local_cluster_that_cannot_start_is_an_input_error(monkeypatch) -> None:
    """Workers that cannot start (no memory, a process limit) end in exit 2 with a fix, not a RuntimeError."""
    import distributed

    def refuse(*args, **kwargs):
        raise RuntimeError("Nanny failed to start")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    cluster = LazyClient(workers=1)
    with pytest.raises(AllocatorError, match="did not start") as info:
        cluster.get()
    assert info.value.field == "--workers" and "--scheduler" in info.value.fix
    cluster.close()
