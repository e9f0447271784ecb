"""Write a run's results: summary.json, tables, GeoJSON and the map.

Everything is first written to a temporary folder beside the target and moved
into place only when complete, so a run that fails or is killed halfway leaves
the previous results intact.

Files in ``<output dir>/<scenario name>/``:

- ``map.html``          the folium equity map (see :mod:`allocator.outputs.map`)
- ``summary.json``      per service: status, objective, gap, new sites, before/after metrics
- ``manifest.json``     inputs (sha256), resolved scenario, versions, solver options, timings
- ``sites.csv``, ``sites.geojson``   every facility after the plan: service, id, name, place (its name, else the
  nearest named streets, else its coordinates), district, status (existing|new|closed),
  count, lon, lat, assigned_population, mean_time_min (of the people whose nearest open facility it is after the
  plan); with plan rules also upgraded and capacity (in force after the plan; empty: unlimited)
- ``demand.geojson``    every demand location with, per service, population and minutes before and after
- ``report.html``, ``districts.csv``, ``targets.csv``   the equity report (see :mod:`allocator.outputs.report`)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from allocator.errors import AllocatorError
from allocator.outputs.manifest import build_manifest
from allocator.outputs.map import ServiceLayer, render_map
from allocator.outputs.report import write_report
from allocator.outputs.summary import headline, json_safe, summary
from allocator.results import RunResult


def write_outputs(result: RunResult, out_dir: Path, *, tiles: bool = True, lang: str | None = None) -> Path:
    """Write every output of ``result`` into ``out_dir`` atomically; return ``out_dir``."""
    out_dir = Path(out_dir)
    started = time.time()
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    except OSError as exc:
        raise AllocatorError(f"cannot create the output folder ({exc.strerror or exc})", file=out_dir.parent,
                             field="output.dir (or --out)", fix="choose a folder you can write to") from None
    try:
        _write_all(result, staging, tiles=tiles, lang=lang)
        _swap_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_stale_staging(out_dir, started)
    return out_dir


def _remove_stale_staging(out_dir: Path, before: float) -> None:
    """Delete ``.<name>.tmp-*`` / ``.<name>.old-*`` folders left by killed runs.

    Only folders older than the current run whose process (the pid in the name)
    no longer runs are removed, so a concurrent run's staging folder is kept.
    """
    for path in out_dir.parent.glob(f".{out_dir.name}.*"):
        rest = path.name[len(out_dir.name) + 2:]
        kind, _, tail = rest.partition("-")
        if kind not in ("tmp", "old") or not path.is_dir():
            continue
        try:
            if path.stat().st_mtime >= before:
                continue
        except OSError:
            continue
        pid = tail.split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and _running(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _write_all(result: RunResult, folder: Path, *, tiles: bool, lang: str | None = None) -> None:
    spec = result.scenario.spec
    doc = summary(result)
    (folder / "summary.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    manifest = build_manifest(result, solver=result.solver, timings=doc["timings"])
    (folder / "manifest.json").write_text(json.dumps(json_safe(manifest), indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")

    sites = pd.concat([s.facilities.assign(service=s.service.name, kind=s.service.kind) for s in result.services],
                      ignore_index=True)
    sites["assigned_population"] = sites["assigned_population"].round(1)
    sites["mean_time_min"] = sites["mean_time_min"].round(2)
    if "capacity" in sites:
        sites["capacity"] = sites["capacity"].replace([math.inf], math.nan)   # unlimited: an empty cell
    plan = [c for c in ("upgraded", "capacity") if c in sites and any(c in s.facilities and s.solution.budget_used
                                                                      is not None for s in result.services)]
    sites = gpd.GeoDataFrame(sites[["service", "kind", "id", "name", "place", "district", "status", "count", "lon", "lat",
                                    "assigned_population", "mean_time_min", *plan, "geometry"]],
                             geometry="geometry", crs="EPSG:4326")
    pd.DataFrame(sites.drop(columns="geometry")).to_csv(folder / "sites.csv", index=False)
    sites.to_file(folder / "sites.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)

    first = result.services[0].demand
    demand = gpd.GeoDataFrame(first[["id", "lon", "lat"]].copy(), geometry=first.geometry, crs="EPSG:4326")
    for s in result.services:
        demand[f"population_{s.service.name}"] = s.demand["population"].to_numpy()
        demand[f"before_min_{s.service.name}"] = s.demand["time_before"].round(2).to_numpy()
        demand[f"after_min_{s.service.name}"] = s.demand["time_after"].round(2).to_numpy()
        for column in ("access_e2sfca_before", "access_e2sfca_after"):
            if column in s.demand:
                demand[f"{column}_{s.service.name}"] = s.demand[column].round(4).to_numpy()
    if "district" in first:
        demand["district"] = first["district"].to_numpy()
    demand.to_file(folder / "demand.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)

    layers = [ServiceLayer(name=s.service.name, kind=s.service.kind, threshold_min=s.service.threshold_min,
                           demand=s.demand, facilities=s.facilities,
                           headline={**headline(s), "mode": result.network.mode})
              for s in result.services]
    render_map(spec.title or spec.name, layers, folder / "map.html", tiles=tiles, description=spec.description,
               lang=lang or spec.language)
    write_report(result, folder, lang)   # report.html, districts.csv, targets.csv (allocator.outputs.report)


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
