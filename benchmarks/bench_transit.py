"""Porto Alegre public-transport matrix: 1,227 x 1,227 H3 cells, departures every minute for 60 minutes.

Data: ``porto_alegre/poa_osm.pbf`` (walk network), ``poa_eptc.zip`` + ``poa_trensurb.zip`` on Monday
2019-05-13 from 14:00 (the EPTC sample feed only runs 11:00-18:00), ``poa_hexgrid.csv`` cell centres as
demand and sites, exactly as ``scenarios/poa_clinics_transit.yaml`` computes them (without its cache).

Timed: the walks (access, egress, transfers, walk only: :func:`allocator.traveltime.transit.transit_legs`) and
the window (:func:`~allocator.traveltime.transit.window_percentiles`, p25/p50/p75), medians of ``--repeat``
runs, the machine's load printed before and after.  Goal (issue 26): <= 60 s for the matrix.

Previous self: the engine (``transit.py`` and ``transit_raptor.py``) of git revision ``--versus`` (default: the
one before the flat scan layout), loaded beside the current one, computes the same p25/p50/p75 window for the
first ``--self-rows`` origins in this process; medians of ``--repeat`` runs each, the ratio and whether the
minutes are identical are printed.

Also writes, on request, a table of transit vs walking minutes for 20 seeded origin-destination pairs
(``--table``, markdown) and a sanity plot of every pair (``--plot``, png: transit median vs walking minutes).

Run::

    python benchmarks/bench_transit.py [--repeat 1] [--self-rows 128] [--versus REV] [--table docs/transit_sample.md]
        [--plot out.png]
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402
import h3  # noqa: E402

from allocator.inputs.gtfs import read_timetable  # noqa: E402
from allocator.scenario import catalog  # noqa: E402
from allocator.traveltime.graph import network_arrays, snap_points  # noqa: E402
from allocator.traveltime.network_source import road_network  # noqa: E402
from allocator.traveltime.transit import (  # noqa: E402
    TransitSettings,
    transit_legs,
    window_percentiles,
)

GOAL_S = 60.0
#: the engine before the flat scan layout (one Python-level scan per pattern and round)
PREVIOUS = "b21dd24"
DAY = datetime.date(2019, 5, 13)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--self-rows", type=int, default=128)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--versus", default=PREVIOUS, help="git revision of the previous engine")
    parser.add_argument("--table", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    _poa.header("Porto Alegre transit matrix (RAPTOR, 60 departures)", threads=1)

    arrays = network_arrays(road_network(catalog.resolve("catalog:porto_alegre/poa_osm.pbf"), "walk").graph)
    settings = TransitSettings(departure_s=14 * 3600, window_min=args.window)
    feeds = [catalog.resolve(f"catalog:porto_alegre/{f}") for f in ("poa_eptc.zip", "poa_trensurb.zip")]
    t0 = time.perf_counter()
    timetable = read_timetable(feeds, DAY, settings.departure_s, settings.departure_s + 60 * args.window + 3 * 3600)
    print(f"timetable: {time.perf_counter() - t0:.1f} s, {len(timetable.stop_ids):,} stops, "
          f"{len(timetable.patterns):,} patterns, {sum(p.departures.shape[0] for p in timetable.patterns):,} trips")
    grid = pd.read_csv(catalog.resolve("catalog:porto_alegre/poa_hexgrid.csv"))
    lat, lon = np.array([h3.cell_to_latlng(c) for c in grid["id"]]).T
    points = snap_points(arrays, lon, lat, 500.0)

    legs_s, matrix_s, cpu_s = [], [], []
    for _ in range(args.repeat):
        print(load())
        t0 = time.perf_counter()
        legs = transit_legs(arrays, timetable, points, points, settings, 500.0)
        legs_s.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        p25, p50, p75 = window_percentiles(legs, settings, [25, 50, 75])
        matrix_s.append(time.perf_counter() - t0)
        cpu_s.append(time.process_time() - c0)
        print(load())
    print(f"walks (access, egress, transfers, walk only): median {_poa.med(legs_s):.1f} s of {legs_s}")
    print(f"window of {args.window} departures, {p50.shape[0]:,} x {p50.shape[1]:,}: median "
          f"{_poa.med(matrix_s):.1f} s of {[round(s, 1) for s in matrix_s]} (goal {GOAL_S:.0f} s: "
          f"{_poa.med(matrix_s) / GOAL_S:.2f} x the goal); this process's CPU time {_poa.med(cpu_s):.1f} s "
          "(one thread: the wall time on an idle core)")

    walk = legs.walk_only
    finite = np.isfinite(walk)
    faster = p50[finite] < walk[finite] - 1e-9
    print(f"invariants: door to door <= walking {bool((p50 <= walk + 1e-9).all())}, p25 <= p50 <= p75 "
          f"{bool((p25 <= p50).all() and (p50 <= p75).all())}")
    print(f"pairs faster by transit (median): {faster.mean():.1%}; median minutes over reachable pairs: walking "
          f"{np.median(walk[finite]):.1f}, transit {np.median(p50[finite]):.1f}; stops off the walk network "
          f"{legs.stops_off_network.mean():.1%}")

    rows = slice(0, args.self_rows)
    part = transit_legs(arrays, timetable, snap_points(arrays, lon[rows], lat[rows], 500.0), points, settings, 500.0)
    previous = previous_engine(args.versus)
    before = previous.TransitLegs(
        previous.transit_raptor.raptor_network(timetable.patterns, len(timetable.stop_ids), part.network.transfers),
        part.access, part.egress, part.walk_only, part.stops_off_network)
    now_s, before_s = [], []
    for _ in range(args.repeat):
        t0 = time.process_time()
        now = window_percentiles(part, settings, [25, 50, 75])
        now_s.append(time.process_time() - t0)
        t0 = time.process_time()
        then = previous.window_percentiles(before, settings, [25, 50, 75])
        before_s.append(time.process_time() - t0)
    print(f"previous self ({args.versus}, {args.self_rows} origins, CPU seconds): {_poa.med(before_s):.1f} of "
          f"{[round(s, 1) for s in before_s]}, now {_poa.med(now_s):.1f} of {[round(s, 1) for s in now_s]}: "
          f"{_poa.med(before_s) / _poa.med(now_s):.2f} x faster; same minutes {bool(np.array_equal(now, then))}")
    print(load())

    if args.table:
        write_table(args.table, grid, walk, p25, p50, p75, lon, lat)
    if args.plot:
        plot(args.plot, walk, p50)


def previous_engine(revision: str) -> types.ModuleType:
    """``allocator.traveltime.transit`` of git ``revision``, with its own ``transit_raptor``, beside the current."""
    raptor = _load_module(revision, "transit_raptor", {})
    transit = _load_module(revision, "transit", {"allocator.traveltime.transit_raptor": raptor.__name__})
    transit.transit_raptor = raptor
    return transit


def _load_module(revision: str, name: str, renames: dict[str, str]) -> types.ModuleType:
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "-C", str(root), "show", f"{revision}:allocator/traveltime/{name}.py"],
                            capture_output=True, text=True, check=True).stdout
    for old, new in renames.items():
        source = source.replace(old, new)
    module = types.ModuleType(f"previous_{name}")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{revision}:allocator/traveltime/{name}.py", "exec"), module.__dict__)
    return module


def write_table(path: Path, grid: pd.DataFrame, walk: np.ndarray, p25: np.ndarray, p50: np.ndarray,
                p75: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    """20 seeded reachable pairs: straight-line km, walking minutes, transit p25/p50/p75."""
    rng = np.random.default_rng(26)
    pairs = []
    while len(pairs) < 20:
        o, d = (int(x) for x in rng.integers(0, len(grid), size=2))
        if o != d and np.isfinite(walk[o, d]):
            pairs.append((o, d))
    lines = ["| origin cell | destination cell | km (straight) | walk min | transit p25 | p50 | p75 |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for o, d in pairs:
        km = _km(lon[o], lat[o], lon[d], lat[d])
        lines.append(f"| {grid['id'][o]} | {grid['id'][d]} | {km:.1f} | {walk[o, d]:.0f} | {p25[o, d]:.0f} | "
                     f"{p50[o, d]:.0f} | {p75[o, d]:.0f} |")
    path.write_text("\n".join(lines) + "\n")
    print(f"table: {path}")


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    return float(6371.0 * np.hypot(x, np.radians(lat2 - lat1)))


def plot(path: Path, walk: np.ndarray, p50: np.ndarray) -> None:
    """Transit median against walking minutes for every reachable pair (a 2-d histogram), with the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = np.isfinite(walk) & np.isfinite(p50)
    fig, ax = plt.subplots(figsize=(6, 5))
    hist = ax.hist2d(walk[finite], p50[finite], bins=120, range=[[0, 300], [0, 300]], cmin=1, cmap="viridis")
    fig.colorbar(hist[3], ax=ax, label="origin-destination pairs")
    ax.plot([0, 300], [0, 300], color="red", lw=1, label="transit = walking")
    ax.set_xlabel("walking minutes")
    ax.set_ylabel("public transport minutes (median over 14:00-15:00)")
    ax.set_title("Porto Alegre, 1,227 x 1,227 cells")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
