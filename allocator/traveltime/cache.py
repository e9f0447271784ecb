"""The prepared-network cache: one verified JSON file per network source, mode and rule version, written atomically.

A cache file (format :data:`CACHE_FORMAT`, which is also in its name, so
files of other formats are never read) is one line of JSON, the header, then
the payload::

    {"format": 3, "source_key": ..., "mode": "walk", "rules_version": 1, "sha256": ..., "bytes": ...}\n
    {"graph": {...}, "nodes": [[id, {attrs}], ...], "edges": [[u, v, key, {attrs}], ...], "report": {...}}

The payload is decoded only when its length and sha256 match the header and
the header's source key, mode and rule version are the ones asked for: a
flipped bit, a truncated file or a file copied from another mode or source is
rebuilt (with a note), never used.  The payload is plain JSON (edge
geometries as coordinate lists), so reading a cache file cannot run code; a
graph with attribute values JSON cannot hold is simply not cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
from shapely.geometry import LineString

from allocator.errors import AllocatorError
from allocator.traveltime.network_report import RULES_VERSION, NetworkReport

#: bump when the file layout changes; part of the file name
CACHE_FORMAT = 3
_HEADER_MAX = 4096   # bytes of the JSON header line


@dataclass(frozen=True)
class CacheKey:
    """What a cache entry is for: the source's content key, the travel mode and the rules version."""

    source_key: str
    mode: str
    rules_version: int = RULES_VERSION

    def header(self, payload: bytes) -> dict:
        return {"format": CACHE_FORMAT, "source_key": self.source_key, "mode": self.mode,
                "rules_version": self.rules_version, "sha256": hashlib.sha256(payload).hexdigest(),
                "bytes": len(payload)}


@dataclass(frozen=True)
class CacheRead:
    """The outcome of :func:`read_cache`: the entry when it verified, else why it was discarded (``note``)."""

    graph: nx.MultiDiGraph | None = None
    report: NetworkReport | None = None
    note: str = ""


def cache_folder(folder: Path) -> Path:
    """``folder``, created if needed; an input error when it cannot be a folder (ALLOCATOR_CACHE a file)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AllocatorError(f"cannot use the cache folder {folder} ({exc.strerror or exc})", file=folder,
                             field="ALLOCATOR_CACHE",
                             fix="set ALLOCATOR_CACHE to a folder you can write to (not a file)") from None
    return folder


def cache_file(cache_dir: Path, key: CacheKey) -> Path:
    """Where the prepared graph of this key lives."""
    digest = hashlib.sha256(f"{key.source_key}|{key.mode}|{key.rules_version}".encode()).hexdigest()
    return cache_dir / f"network-v{CACHE_FORMAT}-{key.mode}-{digest[:24]}.json"


def read_cache(path: Path, key: CacheKey) -> CacheRead:
    """The verified entry at ``path`` for ``key``; a file that fails verification is deleted (see the module doc)."""
    if not path.is_file():
        return CacheRead()
    problem = _verified_payload(path, key)
    if isinstance(problem, bytes):
        try:
            graph, report = _decode(problem)
            if report.mode == key.mode:
                return CacheRead(graph, report)
            problem = f"it holds the {report.mode} network"
        except (ValueError, TypeError, KeyError, RecursionError):   # another version of the classes, or nested too deep
            problem = "its content no longer loads"
    discard(path)
    return CacheRead(note=f"cache file {path.name} was discarded and the network rebuilt: {problem}")


def _verified_payload(path: Path, key: CacheKey) -> bytes | str:
    """The payload of ``path`` when its header matches ``key`` and its hash, else what is wrong."""
    try:
        with path.open("rb") as handle:
            line = handle.readline(_HEADER_MAX)
            header = json.loads(line)
            if not isinstance(header, dict):
                return "its header is unreadable"
            size = header.get("bytes")
            # the size the header claims is checked against the file before anything that large is read
            if type(size) is not int or size != os.fstat(handle.fileno()).st_size - len(line):
                return f"its header claims {size!r} bytes of content, which the file does not hold"
            payload = handle.read(size)
    except (OSError, ValueError):
        return "its header is unreadable"
    except MemoryError:   # a (sparse) file as large as its header claims, beyond this machine's memory
        return "it is too large to read"
    expected = key.header(payload)
    for field in ("format", "source_key", "mode", "rules_version"):
        if header.get(field) != expected[field]:
            return f"it was written for another {field.replace('_', ' ')} ({header.get(field)!r})"
    if header.get("bytes") != expected["bytes"] or header.get("sha256") != expected["sha256"]:
        return "its content does not match its sha256 (a damaged or truncated file)"
    return payload


def discard(path: Path) -> None:
    """Delete a cache entry found bad (it would fail every later run)."""
    path.unlink(missing_ok=True)


def write_cache(path: Path, key: CacheKey, graph: nx.MultiDiGraph, report: NetworkReport) -> None:
    """Write the prepared graph atomically, so a crash never leaves half a file; a graph JSON cannot hold,
    or a cache that cannot be written (disk full), is skipped, since the cache only saves time."""
    try:
        payload = _encode(graph, report)
    except (TypeError, ValueError):
        return
    replace_atomically(path, lambda tmp: tmp.write_bytes(json.dumps(key.header(payload)).encode() + b"\n" + payload))


def replace_atomically(path: Path, write: Callable[[Path], object], suffix: str = ".tmp") -> None:
    """Write a cache entry through ``write`` into a temporary sibling (its name ends in ``suffix``) and move it
    over ``path``, so a crash never leaves half a file; an entry that cannot be written (disk full) is skipped,
    since the cache only saves time."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


_LINE = "__linestring__"


def _encode(graph: nx.MultiDiGraph, report: NetworkReport) -> bytes:
    def value(v: Any) -> Any:
        if isinstance(v, LineString):
            return {_LINE: [list(c) for c in v.coords]}
        raise TypeError(f"cannot cache a {type(v).__name__}")

    doc = {"graph": graph.graph, "nodes": [[n, d] for n, d in graph.nodes(data=True)],
           "edges": [[u, v, k, d] for u, v, k, d in graph.edges(keys=True, data=True)],
           "report": dataclasses.asdict(report)}
    return json.dumps(doc, default=value, allow_nan=False, separators=(",", ":")).encode()


def _decode(payload: bytes) -> tuple[nx.MultiDiGraph, NetworkReport]:
    def hook(d: dict) -> Any:
        return LineString(d[_LINE]) if _LINE in d and len(d) == 1 else d

    doc = json.loads(payload, object_hook=hook)
    graph = nx.MultiDiGraph(**doc["graph"])
    graph.add_nodes_from((n, d) for n, d in doc["nodes"])
    graph.add_edges_from((u, v, k, d) for u, v, k, d in doc["edges"])
    return graph, NetworkReport(**doc["report"])
