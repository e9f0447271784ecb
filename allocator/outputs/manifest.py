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


def input_files(result) -> list[dict[str, Any]]:
    """Every local file the run read, with its role (``demand[0]``, ``network``, ...)."""
    scenario = result.scenario
    spec = scenario.spec
    refs: list[tuple[str, str | Path]] = [("scenario", scenario.path)]
    refs += [(f"demand[{i}]", layer.source) for i, layer in enumerate(spec.demand)]
    for i, service in enumerate(spec.services):
        if service.existing is not None:
            refs.append((f"services[{i}].existing", service.existing.source or service.existing.osm))
        refs.append((f"services[{i}].candidates", service.candidates.source or service.candidates.osm))
    refs += [(f"demand[{i}].raster.zones", layer.raster.zones) for i, layer in enumerate(spec.demand)
             if layer.raster is not None and layer.raster.zones is not None]
    refs += [(f"demand[{i}].dasymetric", layer.dasymetric.osm) for i, layer in enumerate(spec.demand)
             if layer.dasymetric is not None]
    if spec.districts is not None and spec.districts.osm is not None:
        refs.append(("districts", spec.districts.osm))
    refs = [(role, ref) for role, ref in refs if ref is not None and ref != "network"]   # 'network': listed below
    if spec.network is not None and isinstance(spec.network.source, str):
        refs.append(("network", spec.network.source))
    if spec.matrix is not None:
        refs.append(("matrix", spec.matrix.source))
    seen: dict[Path, dict[str, Any]] = {}
    for role, ref in refs:
        path = Path(ref) if isinstance(ref, Path) else (
            catalog.resolve(ref) if catalog.is_catalog_ref(ref) else (scenario.base_dir / ref).expanduser())
        path = path.resolve()
        if path in seen:
            seen[path]["roles"].append(role)
            continue
        seen[path] = {"roles": [role], "source": str(ref), "path": str(path),
                      "sha256": catalog.sha256_file(path), "bytes": path.stat().st_size}
    return list(seen.values())


def build_manifest(result, solver: dict[str, Any] | None = None, timings: dict[str, Any] | None = None) -> dict:
    """The manifest.json document of ``result`` (see the module docstring)."""
    spec = result.scenario.spec
    return {
        "schema": MANIFEST_SCHEMA,
        "allocator_version": __version__,
        "scenario": {"file": str(result.scenario.path), "resolved": spec.model_dump(mode="json")},
        "inputs": input_files(result),
        "environment": {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
                        "platform": platform.platform(), "packages": package_versions()},
        "solver": solver or {},
        "timings": timings or {},
    }
