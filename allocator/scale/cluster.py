"""The Dask cluster that sweeps and batches run on, and running tasks on it.

By default a :class:`distributed.LocalCluster` of worker processes (one per
core, one thread each: HiGHS is given its own ``threads``); with a scheduler
address (``--scheduler`` or the environment variable ``ALLOCATOR_SCHEDULER``)
an existing cluster, whose workers need allocator installed.

:func:`run_tasks` sends the data every task shares to the workers once
(``client.scatter(..., broadcast=True)``), submits one task per item with
``retries``, shows a progress bar as tasks finish, and keeps every finished
task: a task that fails (after its retries, or because the workers running it
died more than ``distributed.scheduler.allowed-failures`` times) becomes an
:class:`Outcome` with an error instead of stopping the others. When every
worker holding the shared data died, the tasks that lost it are submitted
again with the data scattered anew (up to ``SCATTER_ROUNDS`` times).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from allocator.errors import AllocatorError

#: the environment variable naming the scheduler of an existing cluster
SCHEDULER_ENV = "ALLOCATOR_SCHEDULER"
#: a scheduler address: [protocol://]host:port
ADDRESS = re.compile(r"^(?:(?P<protocol>[A-Za-z][A-Za-z0-9+.-]*)://)?"
                     r"(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$")
#: why a protocol distributed knows is refused: allocator connects over plain tcp only
UNSUPPORTED = {"tls": "it needs certificates, which allocator does not configure",
               "wss": "it needs certificates, which allocator does not configure",
               "ucx": "it needs ucx-py, which allocator does not install"}
#: seconds to connect to a scheduler and complete its handshake
CONNECT_TIMEOUT_S = 10
#: how many times the shared data is scattered again when every worker holding it died
SCATTER_ROUNDS = 3


def check_address(address: str, field: str = "--scheduler") -> str:
    """``address`` when it has the form ``[tcp://]host:port``, else an input error naming ``field``."""
    match = ADDRESS.match(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        why = "it is not a Dask scheduler address"
    elif (protocol := (match["protocol"] or "tcp").lower()) != "tcp":
        why = f"the {protocol}:// protocol is not supported: {UNSUPPORTED.get(protocol, 'allocator speaks tcp only')}"
    else:
        return address
    raise AllocatorError(f"'{address}': {why}", field=field,
                         fix="give it as tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786; start the scheduler with "
                             "'dask scheduler --protocol tcp'), or leave it out to start a local cluster")


def scheduler_address(given: str | None) -> str | None:
    """The scheduler to use: ``given`` (--scheduler), else ALLOCATOR_SCHEDULER, else None (a local cluster)."""
    if given:
        return check_address(given)
    env = os.environ.get(SCHEDULER_ENV, "").strip()
    return check_address(env, field=f"environment variable {SCHEDULER_ENV}") if env else None


def scheduler_field(given: str | None) -> str:
    """Where the scheduler address came from, for messages."""
    return "--scheduler" if given else f"environment variable {SCHEDULER_ENV}"


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:   # no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1


#: the local cluster's workers: one BLAS thread each (as dask's default), but glibc's own malloc trimming
#: instead of dask's MALLOC_TRIM_THRESHOLD_=65536 and no statistical profiler: both slow the numpy-heavy
#: evaluation of a point (benchmarks/README.md, "Sweeps on Dask")
WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    "distributed.worker.profile.enabled": False,
}


@contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None, *,
                verbose: bool = False) -> Iterator[Any]:
    """A :class:`distributed.Client`: on the cluster at ``scheduler``, else on a new local cluster.

    The local cluster has ``workers`` worker processes (default: one per core)
    with one thread each, and no dashboard; it is closed on exit. Unless
    ``verbose``, distributed's own log (a traceback per failed task, a line per
    restarted worker) is silenced: failures are reported by their outcomes.
    """
    import dask
    from distributed import Client, LocalCluster
    from distributed.utils import silence_logging_cmgr

    from allocator.scale.workers import QuietHighs
    from allocator.solve.highs import quiet_highs

    quiet_highs()   # in this process too, before the client's threads start
    address = scheduler_address(scheduler)
    level = logging.WARNING if verbose else logging.CRITICAL
    with ExitStack() as stack:
        stack.enter_context(silence_logging_cmgr(level))
        if address is None:
            # one task at a time per worker thread: a worker that dies takes only the task it was running with it
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0, **WORKER_CONFIG}):
                # no dashboard; the scheduler's HTTP server (metrics) on a free port, not on 8787 with a
                # warning when another cluster has it
                try:
                    cluster = stack.enter_context(LocalCluster(n_workers=workers or cores(), threads_per_worker=1,
                                                               processes=True, dashboard_address=None,
                                                               scheduler_kwargs={"dashboard_address": ":0"},
                                                               silence_logs=level))
                except (RuntimeError, OSError, TimeoutError) as exc:   # workers that cannot start (memory, limits)
                    raise AllocatorError(f"the local Dask cluster did not start ({type(exc).__name__}: {exc})",
                                         field="--workers",
                                         fix="give fewer --workers, free memory or raise the process limits, or "
                                             "give an existing cluster with --scheduler") from None
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(connect(address, scheduler_field(scheduler)))
        with scheduler_errors(client):
            client.register_plugin(QuietHighs())
        yield client


def connect(address: str, field: str) -> Any:
    """A client of the scheduler at ``address``; an input error naming it when no Dask scheduler answers there
    within :data:`CONNECT_TIMEOUT_S` (distributed waits for the handshake's reply without a timeout)."""
    import dask
    from distributed import Client

    fix = (f"start the scheduler (dask scheduler) and its workers, check the address and port, or leave "
           f"--scheduler and {SCHEDULER_ENV} out for a local cluster")
    with ThreadPoolExecutor(1) as pool:   # a thread of its own: the caller may be inside an event loop
        probe = pool.submit(asyncio.run, asyncio.wait_for(handshake(address), CONNECT_TIMEOUT_S))
        try:
            probe.result()
        except TimeoutError:
            raise AllocatorError(f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s",
                                 field=field, fix=fix) from None
        except Exception as exc:   # whatever answers there does not speak Dask's protocol
            raise AllocatorError(f"cannot reach the Dask scheduler at {address} ({_error_text(exc)})",
                                 field=field, fix=fix) from None
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S}s"}):
            return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        raise AllocatorError(f"cannot reach the Dask scheduler at {address} ({_error_text(exc)})", field=field,
                             fix=fix) from None


async def handshake(address: str) -> None:
    """Open a comm to ``address`` (distributed's handshake included) and close it."""
    from distributed.comm import connect as open_comm

    comm = await open_comm(address, timeout=CONNECT_TIMEOUT_S)
    await comm.close()


@contextmanager
def scheduler_errors(client: Any) -> Iterator[None]:
    """The cluster's own failures (the scheduler gone, a closed comm, a timeout) as an input error naming it."""
    try:
        yield
    except (OSError, TimeoutError) as exc:
        address = getattr(client.scheduler, "address", None) or "the local cluster"
        raise AllocatorError(f"the Dask scheduler at {address} failed ({_error_text(exc)})", field="--scheduler",
                             fix="check that the scheduler and its workers are running and reachable (a local "
                                 "cluster: that memory is left), then run again") from None


class LazyClient:
    """A client opened on first use (:meth:`get`) and closed with :meth:`close`: runs without a sweep or
    ``--parallel`` start no cluster. The scheduler address and the worker count are checked at once."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, *, verbose: bool = False) -> None:
        self.scheduler = scheduler   # as given; open_client falls back on ALLOCATOR_SCHEDULER
        if scheduler_address(scheduler) is not None and workers is not None:
            raise AllocatorError("--workers sizes a local cluster, but a scheduler is given", field="--workers",
                                 fix=f"drop --workers (the cluster's own workers are used), or drop --scheduler "
                                     f"and {SCHEDULER_ENV} to start a local cluster")
        if workers is not None and workers > cores():
            raise AllocatorError(f"{workers} workers asked for, but this machine has {cores()} core(s): each "
                                 "worker is a process solving one point at a time", field="--workers",
                                 fix=f"give at most {cores()}, or start a larger cluster and give its address "
                                     "with --scheduler")
        self.workers = workers
        self.verbose = verbose
        self._stack = ExitStack()
        self._client: Any = None

    def get(self) -> Any:
        if self._client is None:
            self._client = self._stack.enter_context(open_client(self.scheduler, self.workers, verbose=self.verbose))
        return self._client

    def close(self) -> None:
        self._stack.close()
        self._client = None


@dataclass
class Outcome:
    """What one task gave: its ``value``, or the ``error`` (and ``exception``) that ended it."""

    item: Any
    value: Any = None
    error: str | None = None
    exception: Exception | None = None


def run_tasks(client: Any | None, task: Callable, items: Sequence, *, shared: Any = None, label: str = "tasks",
              quiet: bool = False, retries: int = 1) -> list[Outcome]:
    """``task(shared, item)`` (``task(item)`` without ``shared``) for every item, in the items' order.

    With ``client`` None the tasks run here one after the other (the serial
    loop a cluster is measured against); otherwise on the cluster, ``shared``
    scattered once to every worker.
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=label, unit="task", disable=quiet, file=sys.stderr, leave=True)
    outcomes = [Outcome(item) for item in items]
    if client is None:
        for outcome in outcomes:
            try:
                outcome.value = task(outcome.item) if shared is None else task(shared, outcome.item)
            except Exception as exc:   # the task's failure is its outcome; the others go on
                outcome.error, outcome.exception = _error_text(exc), exc
            bar.update()
        bar.close()
        return outcomes
    from distributed import KilledWorker

    pending = list(range(len(items)))
    with scheduler_errors(client):
        for round_ in range(SCATTER_ROUNDS):
            # the shared data again each round: it is lost when every worker holding it died
            if round_:
                _wait_for_workers(client)
            handle = None if shared is None else client.scatter(shared, broadcast=True, hash=False)
            key = f"{_key(label)}-{round_}-{uuid.uuid4().hex[:8]}"
            lost_input, pending = pending, []
            for i, value, failure in finished(client, task, handle, {i: items[i] for i in lost_input}, key, retries):
                outcome = outcomes[i]
                lost = handle is not None and handle.status != "finished" and not isinstance(failure, KilledWorker)
                if failure is not None and lost and round_ + 1 < SCATTER_ROUNDS:
                    pending.append(i)   # it lost its input, not its own fault: try it again
                    continue
                outcome.value = value
                if failure is not None:
                    outcome.error, outcome.exception = _error_text(failure), failure
                bar.update()
            if not pending:
                break
    bar.close()
    return outcomes


def finished(client: Any, task: Callable, handle: Any, items: dict[int, Any], key: str,
             retries: int) -> Iterator[tuple[int, Any, Exception | None]]:
    """``task([handle,] item)`` for every item on the cluster: (index, value, None) or (index, None, the
    exception it raised) as each finishes. Tasks the scheduler cancelled because the client lost it are
    a failure of the cluster (ConnectionError), not of the task."""
    from concurrent.futures import CancelledError

    from distributed import as_completed

    args = () if handle is None else (handle,)
    futures = {client.submit(task, *args, item, key=f"{key}-{i}", retries=retries, pure=False): i
               for i, item in items.items()}
    for future in as_completed(futures):
        try:
            yield futures[future], future.result(), None
        except CancelledError as exc:
            if client.status != "running":
                raise ConnectionError("the connection to the scheduler was lost") from exc
            yield futures[future], None, exc
        except Exception as exc:   # the task raised after its retries, or its workers kept dying (KilledWorker)
            yield futures[future], None, exc
        finally:
            future.release()


def _wait_for_workers(client: Any, timeout_s: float = 60.0) -> None:
    """Until the workers that died are back (a local cluster's nanny restarts them), or ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    expected = max(len(getattr(client.cluster, "workers", {}) or {}), 1)
    while time.monotonic() < deadline:
        workers = client.scheduler_info()["workers"].values()
        if sum(w.get("status", "running") == "running" for w in workers) >= expected:
            return
        time.sleep(0.2)


def _key(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", label)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
