"""The prepared-network cache: one pickle per network source, mode and rule version, written atomically."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import networkx as nx

from allocator.traveltime.network import RULES_VERSION, NetworkReport


def cache_file(cache_dir: Path, source_key: str, mode: str) -> Path:
    """Where the prepared graph of this source, mode and rule version lives."""
    key = hashlib.sha256(f"{source_key}|{mode}|{RULES_VERSION}".encode()).hexdigest()
    return cache_dir / f"network-{mode}-{key[:24]}.pickle"


def read_cache(path: Path) -> tuple[nx.MultiDiGraph, NetworkReport] | None:
    """The cached graph and report, or None; an unreadable cache file is deleted."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            graph, report = pickle.load(handle)
        if isinstance(graph, nx.MultiDiGraph) and isinstance(report, NetworkReport):
            return graph, report
    except Exception:  # a truncated or foreign pickle fails in many ways; rebuild
        pass
    path.unlink(missing_ok=True)
    return None


def write_cache(path: Path, graph: nx.MultiDiGraph, report: NetworkReport) -> None:
    """Pickle the prepared graph atomically, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        pickle.dump((graph, report), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
