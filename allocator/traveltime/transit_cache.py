"""The transit-matrix cache: one verified ``.npz`` file per feeds, OSM file, settings and points, written atomically.

A transit matrix takes far longer than reading the inputs, so it is kept in
the user cache next to the prepared networks.  The file name is the sha256 of
everything the matrix depends on (:func:`matrix_key` plus the demand and site
coordinates); inside, the matrix is stored with that key and its own sha256,
and is used only when both match: a damaged, truncated or foreign file is
deleted and the matrix recomputed.  ``allow_pickle=False``: reading runs no code.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from allocator.scenario.catalog import sha256_file
from allocator.scenario.schema import NetworkSpec
from allocator.traveltime.cache import cache_folder, discard, replace_atomically

#: bump when the routing rules change (a cached matrix of older rules is never read)
ENGINE_VERSION = 1


def _content_key(path: Path) -> str:
    """sha256 of a file, or of a folder feed's files (names and contents)."""
    if path.is_dir():
        parts = [f"{p.name}:{sha256_file(p)}" for p in sorted(path.iterdir()) if p.is_file()]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()
    return sha256_file(path)


def matrix_key(osm: Path, feeds: Sequence[Path], spec: NetworkSpec) -> tuple[str, ...]:
    """What a transit matrix depends on besides its points: the files' contents and every routing setting."""
    settings = spec.model_dump(mode="json", include={"departure", "window_min", "percentile", "max_transfers",
                                                     "max_walk_min", "max_snap_m"})
    return (f"engine {ENGINE_VERSION}", _content_key(osm), *(_content_key(f) for f in feeds),
            repr(sorted(settings.items())))


def _digest(key: tuple[str, ...], points: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256("\n".join(key).encode())
    for array in points:
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def read_matrix(folder: Path, key: tuple[str, ...], points: Sequence[np.ndarray]) -> np.ndarray | None:
    """The cached matrix for ``key`` and ``points`` (demand lon, lat, site lon, lat), or ``None``."""
    digest = _digest(key, points)
    path = folder / f"transit-{digest[:32]}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            cost, stored, check = data["cost"], str(data["key"]), str(data["sha256"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        discard(path)
        return None
    shape = (len(points[0]), len(points[2]))
    if stored != digest or check != hashlib.sha256(cost.tobytes()).hexdigest() or cost.shape != shape:
        discard(path)
        return None
    return cost


def write_matrix(folder: Path, key: tuple[str, ...], points: Sequence[np.ndarray], cost: np.ndarray) -> None:
    """Store ``cost`` atomically; a cache that cannot be written is skipped (it only saves time)."""
    digest = _digest(key, points)
    path = cache_folder(folder) / f"transit-{digest[:32]}.npz"
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    replace_atomically(path, lambda tmp: np.savez(tmp, cost=cost, key=np.array(digest),
                                                  sha256=np.array(hashlib.sha256(cost.tobytes()).hexdigest())),
                       suffix=".tmp.npz")   # np.savez adds .npz to a name without it
