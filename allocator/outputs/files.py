"""Write a run's results: summary.json, tables, GeoJSON and the map.

Everything is first written to a temporary folder beside the target and moved
into place only when complete, so a run that fails or is killed halfway leaves
the previous results intact.  The swap runs under the folder's lock
(:mod:`allocator.outputs.lock`), and a swap killed between its two renames is
undone when the next run starts (:func:`recover_interrupted_swap`).

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
- ``sweep.csv``, ``sweep.png``   with a ``sweep:`` section, every point (see :mod:`allocator.outputs.sweep`)

Every CSV (and ``comparison.csv`` of ``--compare``) is written by :func:`allocator.outputs.csv_cells.write_csv`:
a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so a
spreadsheet shows it as text instead of running it as a formula (numbers are written as they are).
"""

from __future__ import annotations

import errno
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
from allocator.evaluate.result import RunResult
from allocator.outputs.csv_cells import write_csv
from allocator.outputs.lock import folder_lock
from allocator.outputs.manifest import build_manifest
from allocator.outputs.map import ServiceLayer, render_map
from allocator.outputs.report import write_report
from allocator.outputs.staffing import office_columns
from allocator.outputs.summary import headline, json_safe, summary
from allocator.outputs.sweep import write_sweep


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
        with folder_lock(out_dir):
            _recover_swap(out_dir)
            _swap_into_place(staging, out_dir)
            _remove_stale_staging(out_dir, started)
    except OSError as exc:
        raise write_error(exc, out_dir) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def recover_interrupted_swap(out_dir: Path) -> bool:
    """Put back the previous outputs of ``out_dir`` when a run was killed between the two renames of the swap.

    Returns True when a folder was restored.  Called when a run starts, so
    the old results are back even if this run then fails.
    """
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return False
    try:
        with folder_lock(out_dir, wait_s=0):
            return _recover_swap(out_dir)
    except AllocatorError:
        return False   # another run is writing the folder: its swap comes first, and ours recovers
    except OSError:
        return False   # an unwritable folder: writing will say so


def _recover_swap(out_dir: Path) -> bool:
    """With the folder's lock held: rename the newest ``.<name>.old-<pid>`` of a dead run back to ``out_dir``."""
    if out_dir.exists() or out_dir.is_symlink():
        return False
    hidden = [path for path in out_dir.parent.glob(f".{out_dir.name}.old-*") if path.is_dir()
              and not _running_pid(path.name.rpartition("-")[2])]
    if not hidden:
        return False
    newest = max(hidden, key=lambda path: path.stat().st_mtime)
    newest.rename(out_dir)
    return True


def _running_pid(text: str) -> bool:
    """Whether ``text`` is the pid of a process that still runs (other than this one)."""
    return text.isdigit() and int(text) != os.getpid() and _running(int(text))


def write_error(exc: OSError, out_dir: Path) -> AllocatorError:
    """The input error for an OS failure while writing outputs (disk full, quota, permissions)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return AllocatorError(f"no space left on {out_dir.parent}; the previous outputs were kept", file=out_dir,
                              field="output.dir (or --out)", fix="free some space there, or write elsewhere with --out")
    return AllocatorError(f"cannot write the outputs ({exc.strerror or exc}); the previous outputs were kept",
                          file=out_dir, field="output.dir (or --out)", fix="choose a folder you can write to")


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
        if _running_pid(tail.split("-")[0]):
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
    info = result.info
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
                                    "assigned_population", "mean_time_min", *plan, *office_columns(sites),
                                    "geometry"]],
                             geometry="geometry", crs="EPSG:4326")
    write_csv(pd.DataFrame(sites.drop(columns="geometry")), folder / "sites.csv")
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
        for column in ("wait_before", "wait_after"):   # counters: expected wait at the office (empty: unstable)
            if column in s.demand:
                demand[f"{column}_min_{s.service.name}"] = s.demand[column].replace(math.inf, math.nan).round(2).to_numpy()
    if "district" in first:
        demand["district"] = first["district"].to_numpy()
    demand.to_file(folder / "demand.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)

    layers = [ServiceLayer(name=s.service.name, kind=s.service.kind, threshold_min=s.service.threshold_min,
                           demand=s.demand, facilities=s.facilities,
                           headline={**headline(s), "mode": result.network.mode})
              for s in result.services]
    render_map(info.title, layers, folder / "map.html", tiles=tiles, description=info.description,
               lang=lang or info.language)
    write_report(result, folder, lang)   # report.html, districts.csv, targets.csv (allocator.outputs.report)
    write_sweep(result, folder)          # sweep.csv, sweep.png with a sweep (allocator.outputs.sweep)


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
