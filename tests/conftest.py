"""Shared fixtures: real data comes from the mirror folder, never from the network;
tiny synthetic problems come from one factory, ``make_problem``."""

from __future__ import annotations

import http.server
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local data mirror (ALLOCATOR_DATA_MIRROR, else ../shared/data)."""
    root = Path(os.environ.get("ALLOCATOR_DATA_MIRROR") or DEFAULT_MIRROR)
    if not root.is_dir():
        pytest.skip(f"data mirror {root} not found; set ALLOCATOR_DATA_MIRROR")
    return root


@pytest.fixture(scope="session")
def spo_pbf(mirror: Path) -> Path:
    return mirror / "sao_paulo" / "spo_osm.pbf"


@pytest.fixture(scope="session")
def spo_hexgrid(mirror: Path) -> Path:
    return mirror / "sao_paulo" / "spo_hexgrid.csv"


@contextmanager
def mirrored_env(mirror: Path, cache: Path) -> Iterator[None]:
    """Read data from ``mirror`` and cache networks in ``cache`` (unless a cache is
    already set), restoring both variables afterwards."""
    old = {k: os.environ.get(k) for k in ("ALLOCATOR_DATA_MIRROR", "ALLOCATOR_CACHE")}
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(cache))
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class TinyProblem:
    """A small random facility-location instance, small enough to solve by brute force."""

    cost: np.ndarray        # (n_demand, n_sites) minutes; np.inf = unreachable
    weight: np.ndarray      # (n_demand,) people at each demand point
    existing: np.ndarray    # (n_sites,) bool: the sites open before any plan


def make_problem(n_demand: int, n_sites: int, seed: int | np.random.Generator, *, existing: float = 0.0,
                 unreachable: float = 0.0, weights: tuple[int, int] = (1, 20), side: float = 10.0,
                 decimals: int = 0) -> TinyProblem:
    """Demand points and sites drawn uniformly on a ``side`` x ``side`` square; the time
    between them is their straight-line distance rounded to ``decimals`` (rounding makes
    ties, a small ``side`` many of them). Each pair is unreachable (inf) with probability
    ``unreachable``, each weight an integer in ``[weights[0], weights[1])`` (a lower end of
    0 gives some zero weights), each site existing with probability ``existing``.

    ``seed`` may be a Generator: the draws then continue its stream, so a test can draw
    more (``p``, a threshold) from the same seed. Draws for ``unreachable`` and
    ``existing`` happen only when they are non-zero."""
    rng = np.random.default_rng(seed)
    demand, sites = rng.uniform(0, side, (n_demand, 2)), rng.uniform(0, side, (n_sites, 2))
    cost = np.round(np.linalg.norm(demand[:, None] - sites[None], axis=2), decimals)
    if unreachable:
        cost[rng.random(cost.shape) < unreachable] = np.inf
    weight = rng.integers(weights[0], weights[1], n_demand).astype(float)
    is_existing = rng.random(n_sites) < existing if existing else np.zeros(n_sites, dtype=bool)
    return TinyProblem(cost=cost, weight=weight, existing=is_existing)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ALLOCATOR_SUMMARY_DUMP set, copy every summary.json the tests wrote into that
    folder (same relative paths), so two versions of the code can be compared run for run
    (``benchmarks/compare_summaries.py``)."""
    target = os.environ.get("ALLOCATOR_SUMMARY_DUMP")
    factory = getattr(session.config, "_tmp_path_factory", None)
    if not target or factory is None:
        return
    import shutil

    base = factory.getbasetemp()
    for path in base.rglob("summary.json"):
        dest = Path(target) / path.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


@contextmanager
def no_hang(seconds: int = 30) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    def expired(signum, frame) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class _Counting(http.server.BaseHTTPRequestHandler):
    """Answers every GET and HEAD with 404 and notes its path in the server's ``requests``."""

    def do_GET(self) -> None:   # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)   # type: ignore[attr-defined]
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET   # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def local_http_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on localhost in a thread: yields (port, the paths requested so far)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.requests = []   # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], server.requests   # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
