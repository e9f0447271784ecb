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

import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from allocator.errors import AllocatorError

#: the environment variable naming the scheduler of an existing cluster
SCHEDULER_ENV = "ALLOCATOR_SCHEDULER"
#: a scheduler address: [protocol://]host:port
ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}$")
CONNECT_TIMEOUT_S = 10
#: how many times the shared data is scattered again when every worker holding it died
SCATTER_ROUNDS = 3


def check_address(address: str, field: str = "--scheduler") -> str:
    """``address`` when it has the form ``[tcp://]host:port``, else an input error naming ``field``."""
    if not ADDRESS.match(address) or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise AllocatorError(f"'{address}' is not a Dask scheduler address", field=field,
                             fix="give it as tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786), or leave it out to start "
                                 "a local cluster")
    return address


def scheduler_address(given: str | None) -> str | None:
    """The scheduler to use: ``given`` (--scheduler), else ALLOCATOR_SCHEDULER, else None (a local cluster)."""
    if given:
        return check_address(given)
    env = os.environ.get(SCHEDULER_ENV, "").strip()
    return check_address(env, field=f"environment variable {SCHEDULER_ENV}") if env else None


#: the local cluster's workers: one BLAS thread each (as dask's default), but glibc's own malloc trimming
#: instead of dask's MALLOC_TRIM_THRESHOLD_=65536 and no statistical profiler: both slow the numpy-heavy
#: evaluation of a point (benchmarks/README.md, "Sweeps on Dask")
WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    "distributed.worker.profile.enabled": False,
}


@contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A :class:`distributed.Client`: on the cluster at ``scheduler``, else on a new local cluster.

    The local cluster has ``workers`` worker processes (default: one per core)
    with one thread each, and no dashboard; it is closed on exit.
    """
    import dask
    from distributed import Client, LocalCluster

    from allocator.scale.workers import QuietHighs
    from allocator.solve.highs import quiet_highs

    quiet_highs()   # in this process too, before the client's threads start
    address = scheduler_address(scheduler)
    cluster = None
    if address is None:
        # one task at a time per worker thread: a worker that dies takes only the task it was running with it
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0, **WORKER_CONFIG}):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            given = "--scheduler" if scheduler else f"environment variable {SCHEDULER_ENV}"
            raise AllocatorError(f"cannot reach the Dask scheduler at {address} ({exc})", field=given,
                                 fix="start the scheduler (dask scheduler) and its workers, check the address "
                                     f"and port, or leave --scheduler and {SCHEDULER_ENV} out for a local cluster"
                                 ) from None
    try:
        client.register_plugin(QuietHighs())
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class LazyClient:
    """A client opened on first use (:meth:`get`) and closed with :meth:`close`: runs without a sweep or
    ``--parallel`` start no cluster. The scheduler address is checked at once."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        self.scheduler = scheduler   # as given; open_client falls back on ALLOCATOR_SCHEDULER
        if scheduler_address(scheduler) is not None and workers is not None:
            raise AllocatorError("--workers sizes a local cluster, but a scheduler is given", field="--workers",
                                 fix=f"drop --workers (the cluster's own workers are used), or drop --scheduler "
                                     f"and {SCHEDULER_ENV} to start a local cluster")
        self.workers = workers
        self._stack = ExitStack()
        self._client: Any = None

    def get(self) -> Any:
        if self._client is None:
            self._client = self._stack.enter_context(open_client(self.scheduler, self.workers))
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
    exception: BaseException | None = None


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
    from distributed import KilledWorker, as_completed

    tag = uuid.uuid4().hex[:8]
    pending = list(range(len(items)))
    for round_ in range(SCATTER_ROUNDS):
        # the shared data again each round: it is lost when every worker holding it died
        if round_:
            _wait_for_workers(client)
        handle = None if shared is None else client.scatter(shared, broadcast=True, hash=False)
        args = () if handle is None else (handle,)
        futures = {client.submit(task, *args, items[i], key=f"{_key(label)}-{i}-{round_}-{tag}", retries=retries,
                                 pure=False): i for i in pending}
        pending = []
        for future in as_completed(futures):
            outcome = outcomes[futures[future]]
            try:
                outcome.value = future.result()
                bar.update()
            except Exception as exc:   # the task raised after its retries, or its workers kept dying (KilledWorker)
                lost = handle is not None and handle.status != "finished" and not isinstance(exc, KilledWorker)
                if lost and round_ + 1 < SCATTER_ROUNDS:
                    pending.append(futures[future])   # it lost its input, not its own fault: try it again
                else:
                    outcome.error, outcome.exception = _error_text(exc), exc
                    bar.update()
            future.release()
        if not pending:
            break
    bar.close()
    return outcomes


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
