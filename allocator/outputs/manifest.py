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
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from pathlib import Path
from typing import Any

from allocator import __version__
from allocator.evaluate.result import RunResult
from allocator.scenario import catalog

MANIFEST_SCHEMA = "allocator.outputs.manifest/1"
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


def build_manifest(result: RunResult, solver: dict[str, Any] | None = None,
                   timings: dict[str, Any] | None = None) -> dict:
    """The manifest.json document of ``result`` (see the module docstring)."""
    return {
        "schema": MANIFEST_SCHEMA,
        "allocator_version": __version__,
        "scenario": {"file": str(result.info.path), "resolved": result.info.resolved},
        "inputs": input_files(result),
        "environment": {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
                        "platform": platform.platform(), "packages": package_versions()},
        "solver": solver or {},
        "timings": timings or {},
    }
