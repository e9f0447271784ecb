"""Write a run's results: summary.json, tables, GeoJSON and the map; the contract of every output folder.

Everything is first written to a temporary folder beside the target and moved
into place only when complete, so a run that fails or is killed halfway leaves
the previous results intact.  The swap runs under the folder's lock
(:mod:`allocator.outputs.lock`), and a swap killed between its two renames is
undone when the next run starts (:func:`recover_interrupted_swap`).
:func:`write_folder` is that contract for any folder of outputs (``compare/``
too); :func:`write_outputs` fills it with a run's files.

allocator replaces only a folder it wrote: one holding the manifest.json of an
earlier output (the marker, :func:`allocator.outputs.manifest.written_by_allocator`;
every run has written one, so earlier outputs stay replaceable), or an empty
folder.  Anything else where the folder goes (a folder of the user's files, a
file, a symlink) is an input error and nothing is touched
(:func:`check_replaceable`): checked when a run starts, before the solve, and
again under the lock just before the swap.  Files a user adds inside an
allocator folder go with it when it is replaced, except a file the run reads
(:func:`check_inputs_outside`), which is an input error too.  Clean-up touches only
allocator's own names: ``.<name>.tmp-<pid>-<8 characters>`` (made by
``mkdtemp``) and ``.<name>.old-<pid>`` holding the marker (or empty), of a
process that no longer runs.

Files in ``<output dir>/<scenario name>/``:

- ``map.html``          the folium equity map (see :mod:`allocator.outputs.map`)
- ``summary.json``      per service: status, objective, gap, new sites, before/after metrics
- ``manifest.json``     inputs (sha256), resolved scenario, versions, solver options, timings
- ``sites.csv``, ``sites.geojson``   every facility after the plan: service, id, name, place (its name, else the
  nearest named streets, else its coordinates), district, status (existing|new|closed), rank (of a new site: its
  number in the report and on the map, 1 = most people newly within T), count, lon, lat, year (a phased plan: the
  year a new site is built), assigned_population, mean_time_min (of the people whose nearest open facility it is
  after the plan); with plan rules also upgraded and capacity (in force after the plan; empty: unlimited); with
  candidates.cost or running_cost also build_cost, running_cost_per_year and currency (ISO 4217 code, or "units")
- ``demand.geojson``    every demand location with, per service, population and minutes before and after
- ``report.html``, ``districts.csv``, ``targets.csv``   the equity report (see :mod:`allocator.outputs.report`)
- ``sweep.csv``, ``sweep.png``   with a ``sweep:`` section, every point (see :mod:`allocator.outputs.sweep`)

Every CSV (and ``comparison.csv`` of ``--compare``) is written by :func:`allocator.outputs.csv_cells.write_csv`:
a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so a
spreadsheet shows it as text instead of running it as a formula (numbers are written as they are).
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from allocator.errors import AllocatorError
from allocator.evaluate.result import RunResult
from allocator.outputs.csv_cells import write_csv
from allocator.outputs.lock import folder_lock
from allocator.outputs.manifest import MANIFEST_FILE, build_manifest, write_manifest, written_by_allocator
from allocator.outputs.map import ServiceLayer, render_map
from allocator.outputs.phases import with_years
from allocator.outputs.report import site_ranks, write_report
from allocator.outputs.staffing import office_columns
from allocator.outputs.summary import headline, summary
from allocator.outputs.sweep import write_sweep
from allocator.scenario.money import UNITS

FIELD = "output.dir (or --out)"
#: sites.csv's cost columns, from the facilities table's (in the scenario's currency)
COST_COLUMNS = {"open_cost": "build_cost", "running_cost": "running_cost_per_year"}
#: what tempfile.mkdtemp adds after its prefix
_MKDTEMP_SUFFIX = r"[a-z0-9_]{8}"


def write_outputs(result: RunResult, out_dir: Path, *, tiles: bool = True, lang: str | None = None) -> Path:
    """Write every output of ``result`` into ``out_dir`` atomically; return ``out_dir``."""
    out_dir = Path(out_dir)
    check_inputs_outside(out_dir, [(item.role, item.path) for item in result.info.inputs])
    return write_folder(out_dir, functools.partial(_write_all, result, tiles=tiles, lang=lang))


def check_inputs_outside(out_dir: Path, inputs: Iterable[tuple[str, Path]]) -> None:
    """An input error when a file a run reads (``(role, path)``, its scenario included) lies inside ``out_dir``:
    replacing the folder would delete it, even an earlier output the user edited and fed back."""
    folder = os.path.realpath(out_dir) + os.sep
    for role, path in inputs:
        if os.path.realpath(path).startswith(folder):
            raise AllocatorError(f"{role} is {path}, inside this output folder: replacing the folder would "
                                 "delete it, so nothing was changed", file=out_dir, field=FIELD,
                                 fix="keep the inputs outside <output.dir>/<name> (copy the file elsewhere), or "
                                     "choose another --out or output.dir")


def write_folder(out_dir: Path, write: Callable[[Path], None], *, legacy: Collection[str] = ()) -> Path:
    """Replace ``out_dir`` by the folder ``write`` fills, atomically and under its lock; return ``out_dir``.

    ``out_dir`` must be replaceable (:func:`check_replaceable`, ``legacy`` as there); an OS failure is an
    input error saying whether the previous outputs were kept.
    """
    started = time.time()
    check_replaceable(out_dir, legacy)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    except OSError as exc:
        raise write_error(exc, out_dir) from None
    try:
        write(staging)
        with folder_lock(out_dir):
            _recover_swap(out_dir)
            check_replaceable(out_dir, legacy)
            _swap_into_place(staging, out_dir)
            _remove_stale_staging(out_dir, started)
    except OSError as exc:
        raise write_error(exc, out_dir) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def check_replaceable(out_dir: Path, legacy: Collection[str] = ()) -> None:
    """An input error unless ``out_dir`` is absent, empty or an earlier output of allocator (see the module).

    A folder holding nothing but files named in ``legacy`` also counts: what an output wrote before it had a
    marker.
    """
    try:
        if not out_dir.exists() and not out_dir.is_symlink():
            _check_creatable(out_dir)
            return
        if out_dir.is_symlink() or not out_dir.is_dir():
            what = f"this is a {'symlink' if out_dir.is_symlink() else 'file'}, not an output folder of allocator"
        elif written_by_allocator(out_dir) or all(entry.name in legacy and entry.is_file() and not entry.is_symlink()
                                                  for entry in out_dir.iterdir()):
            return
        else:
            what = f"this folder was not written by allocator (it holds no {MANIFEST_FILE} of an earlier run)"
    except OSError as exc:   # a path too long, a parent that is a file, no permission
        raise write_error(exc, out_dir, kept="nothing was changed") from None
    raise AllocatorError(f"{what}; allocator replaces only the folders it wrote, so nothing was changed",
                         file=out_dir, field=FIELD,
                         fix="choose another --out or output.dir, or another name: for the scenario "
                             "(or move that away yourself)")


def _check_creatable(out_dir: Path) -> None:
    """Raise the OSError creating ``out_dir`` would (a file in its path, no permission), before any work."""
    existing = next(parent for parent in out_dir.parents if parent.exists() or parent.is_symlink())
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"no permission to create folders in {existing}")


def recover_interrupted_swap(out_dir: Path) -> bool:
    """Put back the previous outputs of ``out_dir`` when a run was killed between the two renames of the swap.

    Returns True when a folder was restored.  Called when a run starts, so
    the old results are back even if this run then fails.
    """
    if not os.path.isdir(out_dir.parent):
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
    hidden = [path for path, kind in _own_leftovers(out_dir) if kind == "old" and written_by_allocator(path)]
    if not hidden:
        return False
    newest = max(hidden, key=lambda path: path.stat().st_mtime)
    newest.rename(out_dir)
    return True


def _own_leftovers(out_dir: Path) -> list[tuple[Path, str]]:
    """Folders beside ``out_dir`` named as allocator names its own (``tmp``: staging, ``old``: swapped out),
    with ``kind``, of processes that no longer run; symlinks and files never are."""
    name = re.escape(out_dir.name)
    own = re.compile(rf"\.{name}\.(?:(?P<tmp>tmp)-(?P<tpid>\d+)-{_MKDTEMP_SUFFIX}|(?P<old>old)-(?P<opid>\d+))")
    found = []
    for path in out_dir.parent.iterdir():
        match = own.fullmatch(path.name)
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        if not _running_pid(match["tpid"] or match["opid"]):
            found.append((path, "tmp" if match["tmp"] else "old"))
    return found


def _running_pid(text: str) -> bool:
    """Whether ``text`` is the pid of a process that still runs (other than this one)."""
    return text.isdigit() and int(text) != os.getpid() and _running(int(text))


def write_error(exc: OSError, out_dir: Path, kept: str | None = None) -> AllocatorError:
    """The input error for an OS failure on an output folder (disk full, quota, permissions, a path too long,
    a file where a folder goes), saying what became of the folder: ``kept``, else the previous outputs were kept
    when it is still there (a failed swap is undone), else it was not created.
    """
    if kept is None:
        kept = "the previous outputs were kept" if os.path.isdir(out_dir) else "this folder was not created"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return AllocatorError(f"no space left on {out_dir.parent}; {kept}", file=out_dir,
                              field=FIELD, fix="free some space there, or write elsewhere with --out")
    return AllocatorError(f"cannot create the output folder ({exc.strerror or exc}); {kept}", file=out_dir,
                          field=FIELD, fix="choose another --out or output.dir: a folder you can write to, "
                                           "on a shorter path")


def _remove_stale_staging(out_dir: Path, before: float) -> None:
    """Delete allocator's own leftovers beside ``out_dir`` (see :func:`_own_leftovers`) from killed runs.

    Only folders older than the current run are removed, so a concurrent run's staging folder is kept;
    a ``.old-`` folder only with the marker (or empty).  Clean-up never fails a run that has written its outputs.
    """
    try:
        leftovers = _own_leftovers(out_dir)
    except OSError:
        return
    for path, kind in leftovers:
        try:
            if path.stat().st_mtime >= before or (kind == "old" and not written_by_allocator(path)
                                                  and any(path.iterdir())):
                continue
        except OSError:
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
    write_manifest(folder, manifest)

    ranked = {s.service.name: with_years(s).assign(rank=site_ranks(s)) for s in result.services}
    sites = pd.concat([ranked[s.service.name].assign(service=s.service.name, kind=s.service.kind)
                       for s in result.services], ignore_index=True)
    sites["assigned_population"] = sites["assigned_population"].round(1)
    sites["mean_time_min"] = sites["mean_time_min"].round(2)
    if "capacity" in sites:
        sites["capacity"] = sites["capacity"].replace([math.inf], math.nan)   # unlimited: an empty cell
    plan = [c for c in ("upgraded", "capacity") if c in sites and any(c in s.facilities and s.solution.budget_used
                                                                      is not None for s in result.services)]
    costs = [c for c in COST_COLUMNS.values() if c in sites.rename(columns=COST_COLUMNS)]
    sites = sites.rename(columns=COST_COLUMNS).assign(currency=info.currency or UNITS)
    sites = gpd.GeoDataFrame(sites[["service", "kind", "id", "name", "place", "district", "status", "rank", "count", "lon",
                                    "lat", *[c for c in ("year",) if c in sites], "assigned_population", "mean_time_min",
                                    *plan, *office_columns(sites), *costs, *(["currency"] if costs else []),
                                    "geometry"]],
                             geometry="geometry", crs="EPSG:4326")
    write_csv(pd.DataFrame(sites.drop(columns="geometry")), folder / "sites.csv")
    sites.to_file(folder / "sites.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)

    first = result.services[0].demand
    demand = gpd.GeoDataFrame(first[["id", "lon", "lat"]].copy(), geometry=first.geometry, crs="EPSG:4326")
    for s in result.services:
        demand[f"population_{s.service.name}"] = s.demand["population"].to_numpy()
        # minutes to 4 decimals: the summary's EDE, mean and within-T are recomputed from them (docs/metrics.md)
        demand[f"before_min_{s.service.name}"] = s.demand["time_before"].round(4).to_numpy()
        demand[f"after_min_{s.service.name}"] = s.demand["time_after"].round(4).to_numpy()
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
                           demand=s.demand, facilities=ranked[s.service.name],
                           headline={**headline(s), "mode": result.network.mode}, title=s.service.display_title,
                           alternative_to=s.service.alternative_to)
              for s in result.services]
    render_map(info.title, layers, folder / "map.html", tiles=tiles, description=info.description,
               lang=lang or info.language)
    write_report(result, folder, lang)   # report.html, districts.csv, targets.csv (allocator.outputs.report)
    write_sweep(result, folder)          # sweep.csv, sweep.png with a sweep (allocator.outputs.sweep)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames only (the old folder survives a crash, and comes back
    when the second rename fails)."""
    os.chmod(staging, 0o755)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        try:
            staging.rename(target)
        except OSError:
            old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)
