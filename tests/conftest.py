"""Shared fixtures: real data comes from the mirror folder, never from the network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
