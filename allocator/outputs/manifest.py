"""manifest.json: what a run used, so its results can be reproduced and checked.

Written beside summary.json in every output folder (schema ``allocator.outputs.manifest/1``):

- ``scenario``: the scenario as resolved (``model_dump(mode="json")``, defaults filled in)
  and the YAML file it came from;
- ``inputs``: ``{path, sha256, bytes, role}`` of every file the run read (the scenario
  YAML, every data layer, the road network file or the travel-time matrix);
- ``environment``: python version and the versions of allocator and its main libraries;
- ``solver``: name and the options in force (time limit, gap, threads, random seed);
- ``timings``: seconds per step (the only part that differs between identical runs).

summary.json holds no timing outside its own ``timings`` key, so two runs of
the same scenario give byte-identical summaries once ``timings`` is removed.

manifest.json is also the marker of an output folder: allocator replaces only a
folder holding one whose ``schema`` it wrote (:func:`written_by_allocator`, used
by :mod:`allocator.outputs.files`). Every run has written one since manifests
exist (``allocator.manifest/1`` before this module moved into the outputs stage),
so earlier outputs stay replaceable; ``compare/`` gets one too
(:func:`comparison_manifest`).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
from pathlib import Path
from typing import Any

from allocator import __version__
from allocator.evaluate.result import RunResult
from allocator.outputs.summary import json_safe
from allocator.scenario import catalog

MANIFEST_SCHEMA = "allocator.outputs.manifest/1"
#: every schema manifest.json has had: a folder holding one of these is an earlier output of allocator
WRITTEN_SCHEMAS = (MANIFEST_SCHEMA, "allocator.manifest/1")
MANIFEST_FILE = "manifest.json"
#: a larger manifest.json is not read, so not taken for allocator's (a resolved scenario is far smaller)
MAX_MANIFEST_BYTES = 64 << 20
PACKAGES = ("allocator", "pulp", "highspy", "numpy", "scipy", "osmnx", "geopandas", "pydantic", "folium")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape results (None when not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = __version__ if name == "allocator" else None
    return out


def input_files(result: RunResult) -> list[dict[str, Any]]:
    """Every local file the run read, with its roles (``demand[0]``, ``network``, ...), size and sha256."""
    seen: dict[Path, dict[str, Any]] = {}
    for item in result.info.inputs:
        if item.path in seen:
            seen[item.path]["roles"].append(item.role)
            continue
        seen[item.path] = {"roles": [item.role], "source": item.source, "path": str(item.path),
                           "sha256": catalog.sha256_file(item.path), "bytes": item.path.stat().st_size}
    return list(seen.values())


def environment() -> dict[str, Any]:
    """The python version, platform and package versions a run used."""
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "packages": package_versions()}


def build_manifest(result: RunResult, solver: dict[str, Any] | None = None,
                   timings: dict[str, Any] | None = None) -> dict:
    """The manifest.json document of ``result`` (see the module docstring)."""
    return {
        "schema": MANIFEST_SCHEMA,
        "allocator_version": __version__,
        "scenario": {"file": str(result.info.path), "resolved": result.info.resolved},
        "inputs": input_files(result),
        "environment": environment(),
        "solver": solver or {},
        "timings": timings or {},
    }


def comparison_manifest(results: list[RunResult]) -> dict:
    """The manifest.json of ``compare/``: the scenario files compared (each run's inputs are in its own manifest)."""
    return {"schema": MANIFEST_SCHEMA, "allocator_version": __version__,
            "comparison": [{"name": r.info.name, "file": str(r.info.path)} for r in results],
            "environment": environment()}


def write_manifest(folder: Path, doc: dict) -> None:
    """Write ``doc`` as ``folder``/manifest.json, the folder's marker."""
    (folder / MANIFEST_FILE).write_text(json.dumps(json_safe(doc), indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")


def written_by_allocator(folder: Path) -> bool:
    """Whether ``folder`` holds the manifest.json of an allocator output (a regular file, not a link)."""
    path = folder / MANIFEST_FILE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return False
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):   # unreadable, not UTF-8, not JSON or nested too deep
        return False
    return isinstance(doc, dict) and doc.get("schema") in WRITTEN_SCHEMAS
