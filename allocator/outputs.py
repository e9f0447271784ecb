"""Write a run's results: summary.json, tables, GeoJSON and the map.

Everything is first written to a temporary folder beside the target and moved
into place only when complete, so a run that fails or is killed halfway leaves
the previous results intact.

Files in ``<output dir>/<scenario name>/``:

- ``map.html``          the folium equity map (see :mod:`allocator.maps`)
- ``summary.json``      per service: status, objective, gap, new sites, before/after metrics
- ``sites.csv``, ``sites.geojson``   every open facility: service, id, name, status (existing|new), count, lon, lat
- ``demand.geojson``    every demand location with, per service, population and minutes before and after
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from . import ATTRIBUTION, __version__
from .catalog import load_catalog
from .maps import ServiceLayer, render_map
from .pipeline import RunResult, ServiceResult

SUMMARY_SCHEMA = "allocator.summary/1"


def write_outputs(result: RunResult, out_dir: Path, *, tiles: bool = True) -> Path:
    """Write every output of ``result`` into ``out_dir`` atomically; return ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        _write_all(result, staging, tiles=tiles)
        _swap_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def summary(result: RunResult) -> dict:
    """The summary.json document (schema ``allocator.summary/1``, see README)."""
    spec = result.scenario.spec
    return _clean({
        "schema": SUMMARY_SCHEMA,
        "allocator_version": __version__,
        "scenario": {"name": spec.name, "title": spec.title or spec.name, "description": spec.description,
                     "file": str(result.scenario.path)},
        "network": {**result.network.as_dict(), "max_snap_m": spec.network.max_snap_m},
        "services": [_service_summary(s) for s in result.services],
        "attribution": _attributions(),
        "timings": result.timings,
    })


def headline(service: ServiceResult) -> dict:
    """The few figures shown on the map and printed at the end of a run."""
    return {
        "population": service.before["population"],
        "within_before": service.before["within_share"],
        "within_after": service.after["within_share"],
        "underserved_before": service.before["underserved"],
        "underserved_after": service.after["underserved"],
        "new_sites": len(service.solution.new_sites),
    }


def _service_summary(s: ServiceResult) -> dict:
    new = s.facilities[s.facilities["status"] == "new"]
    sol = s.solution
    return {
        "name": s.service.name,
        "kind": s.service.kind,
        "objective": s.service.objective,
        "threshold_min": s.service.threshold_min,
        "p": s.service.p,
        "status": sol.status,
        "objective_value": sol.objective,
        "gap": sol.gap,
        "solve_seconds": sol.solve_seconds,
        "build_seconds": sol.build_seconds,
        "model_size": {"variables": sol.n_variables, "constraints": sol.n_constraints},
        "matrix": {"demand": s.matrix_shape[0], "sites": s.matrix_shape[1], "seconds": s.matrix_seconds},
        "existing_sites": int((s.facilities["status"] == "existing").sum()),
        "new_sites": [{"id": r.id, "name": r.name, "lon": round(r.lon, 6), "lat": round(r.lat, 6)}
                      for r in new.itertuples()],
        "before": s.before,
        "after": s.after,
        "notes": s.notes,
    }


def _attributions() -> list[str]:
    lines = {ATTRIBUTION}
    lines.update(d.attribution for d in load_catalog().values())
    return sorted(lines)


def _clean(value):
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_all(result: RunResult, folder: Path, *, tiles: bool) -> None:
    spec = result.scenario.spec
    doc = summary(result)
    (folder / "summary.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    sites = pd.concat([s.facilities.assign(service=s.service.name, kind=s.service.kind) for s in result.services],
                      ignore_index=True)
    sites = gpd.GeoDataFrame(sites[["service", "kind", "id", "name", "status", "count", "lon", "lat", "geometry"]],
                             geometry="geometry", crs="EPSG:4326")
    pd.DataFrame(sites.drop(columns="geometry")).to_csv(folder / "sites.csv", index=False)
    sites.to_file(folder / "sites.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)

    first = result.services[0].demand
    demand = gpd.GeoDataFrame(first[["id", "lon", "lat"]].copy(), geometry=first.geometry, crs="EPSG:4326")
    for s in result.services:
        demand[f"population_{s.service.name}"] = s.demand["population"].to_numpy()
        demand[f"before_min_{s.service.name}"] = s.demand["time_before"].round(2).to_numpy()
        demand[f"after_min_{s.service.name}"] = s.demand["time_after"].round(2).to_numpy()
    demand.to_file(folder / "demand.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)

    layers = [ServiceLayer(name=s.service.name, kind=s.service.kind, threshold_min=s.service.threshold_min,
                           demand=s.demand, facilities=s.facilities,
                           headline={**headline(s), "mode": spec.network.mode})
              for s in result.services]
    render_map(spec.title or spec.name, layers, folder / "map.html", tiles=tiles, description=spec.description)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames only (the old folder survives a crash)."""
    os.chmod(staging, 0o755)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)
