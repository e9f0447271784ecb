"""Shared preparation and reporting for the Porto Alegre benchmarks.

Data: the r5r Porto Alegre extract (``porto_alegre/poa_osm.pbf``, drive mode)
and its H3 resolution-9 hexgrid (``porto_alegre/poa_hexgrid.csv``, 1,227 cells),
read through allocator's data catalog (set ``ALLOCATOR_DATA_MIRROR`` to a local
copy; default ``/work/shared/data`` when it exists).  Travel times are built
exactly as ``allocator`` does it: ``load_network`` -> ``network_arrays`` ->
``snap_points`` (500 m) -> ``travel_time_matrix`` (door to door, minutes).

Everything that is timed or compared is computed once, in one process, on one
matrix: the scripts hand the very same numpy array to allocator and to the peer.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if os.path.isdir("/work/shared/data"):
    os.environ.setdefault("ALLOCATOR_DATA_MIRROR", "/work/shared/data")

import allocator  # noqa: E402
from allocator.scenario import catalog  # noqa: E402
from allocator.solve.highs import quiet_highs  # noqa: E402
from allocator.solve.p_median import solve_p_median  # noqa: E402
from allocator.traveltime.graph import network_arrays, snap_points, travel_time_matrix  # noqa: E402
from allocator.traveltime.network import load_network  # noqa: E402
from allocator.traveltime.rounding import round_times  # noqa: E402  (the scenarios' solver.round_s)

SNAP_M = 500.0          # the snapping limit the pipeline uses
REL_TOL = 1e-9          # objectives "match" when |a - b| <= REL_TOL * max(|a|, |b|, 1)


# --------------------------------------------------------------------------- #
# machine, versions, memory                                                   #
# --------------------------------------------------------------------------- #


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def allocator_revision() -> str:
    """git hash of the allocator checkout that was imported, with "+dirty" and the
    sha256 prefix of the package sources when the work tree has uncommitted changes."""
    root = Path(allocator.__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "allocator"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"unknown ({root})"
    if dirty:
        import hashlib
        sources = b"".join(p.read_bytes() for p in sorted((root / "allocator").rglob("*.py")))
        h = hashlib.sha256(sources).hexdigest()[:10]
        return f"{head}+dirty (allocator/ sha256 {h}) at {root}"
    return f"{head} at {root}"


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def header(title: str, threads: int) -> None:
    print(f"== {title}")
    print(f"machine : {os.cpu_count()} logical cores, {cpu_model()}, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM, "
          f"load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python  : {platform.python_version()}")
    print(f"versions: allocator {allocator_revision()}; highspy {_version('highspy')}; "
          f"pulp {_version('pulp')}; spopt {_version('spopt')}; numpy {np.__version__}")
    print(f"HiGHS threads for every solve: {threads}")
    sys.stdout.flush()
    quiet_highs()


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def rss_gb() -> float:
    """Current resident set size."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


# --------------------------------------------------------------------------- #
# data                                                                        #
# --------------------------------------------------------------------------- #


@dataclass
class Drive:
    hexes: object            # pandas DataFrame of the hexgrid
    arrays: object           # allocator.traveltime.graph.NetworkArrays
    cells: object            # Snapped hex centroids
    load_s: float


def load_drive() -> Drive:
    import pandas as pd
    t0 = time.perf_counter()
    hexes = pd.read_csv(catalog.resolve("porto_alegre/poa_hexgrid.csv"))
    G, _rep = load_network(catalog.resolve("porto_alegre/poa_osm.pbf"), "drive",
                           cache_dir=catalog.cache_dir() / "networks")
    A = network_arrays(G)
    del G
    gc.collect()
    cells = snap_points(A, hexes.lon.to_numpy(), hexes.lat.to_numpy(), SNAP_M)
    return Drive(hexes, A, cells, time.perf_counter() - t0)


@dataclass
class CityData:
    C: np.ndarray            # demand x candidate minutes, all finite
    w: np.ndarray            # population per demand row
    demand_cells: np.ndarray  # hexgrid row of each demand row
    cand_cells: np.ndarray    # hexgrid row of each candidate column
    C_raw: np.ndarray        # populated cells x ALL 1,227 cells, inf where unreachable
    w_raw: np.ndarray
    matrix_s: float
    drive: Drive
    notes: list[str] = field(default_factory=list)


def city(round_s: float) -> CityData:
    """The greenfield city instance: populated cells x candidate cells.

    Cells whose centroid is farther than 500 m from every drive node cannot be
    reached by road.  ``C`` (given to allocator AND the peer) keeps only the
    populated, reachable cells as demand and the reachable cells as candidates,
    so that every entry is finite (spopt's dense models cannot take ``inf``).
    ``C_raw`` is the instance as the issue states it (populated cells x all
    1,227 cells, ``inf`` where unreachable): allocator drops the unreachable
    clients and never opens an unreachable site, so both give the same optimum.
    """
    d = load_drive()
    t0 = time.perf_counter()
    full = travel_time_matrix(d.arrays, d.cells, d.cells)
    matrix_s = time.perf_counter() - t0
    full = round_times(full, round_s)
    pop = d.hexes.population.to_numpy(float)
    reach = d.cells.reachable
    populated = pop > 0
    demand = np.flatnonzero(populated & reach)
    cand = np.flatnonzero(reach)
    C = np.ascontiguousarray(full[np.ix_(demand, cand)])
    assert np.isfinite(C).all(), "reachable cells should all reach each other by road"
    notes = [
        f"hexgrid: {len(pop)} cells, {populated.sum()} populated (population {pop.sum():,.0f}); "
        f"{(~reach).sum()} cells lie > {SNAP_M:g} m from every drive node (unreachable), "
        f"{(populated & ~reach).sum()} of them populated (population {pop[populated & ~reach].sum():,.0f})",
        f"instance given to both solvers: {C.shape[0]} populated reachable cells x {C.shape[1]} "
        f"reachable candidate cells (issue's nominal size {populated.sum()} x {len(pop)} includes "
        f"the unreachable ones, which are inf and cannot change the optimum)",
    ]
    return CityData(C, pop[demand], demand, cand, full[populated], pop[populated], matrix_s, d, notes)


@dataclass
class NodeData:
    C: np.ndarray            # demand points x ALL 1,227 cells, inf where unreachable
    w: np.ndarray
    kind: np.ndarray         # "node" or "centroid" per demand point
    matrix_s: float
    prep_s: float
    drive: Drive
    notes: list[str] = field(default_factory=list)


def _graph_nodes_only(source: str):
    """Graphs allocator does not build, for their nodes only (demand points).

    ``"all"``: every ``highway=*`` way with no mode filter, simplified, largest
    strongly connected component, as osmnx loads a file by default: 18,650
    nodes, the "about 18.9k nodes" of the data README and the issue's "about
    19,000 demand points".  ``"drive-raw"``: the drive graph before
    simplification (26,238 nodes in its largest component).
    """
    import osmnx as ox

    from allocator.traveltime import network

    path = catalog.resolve("porto_alegre/poa_osm.pbf")
    if source == "all":
        rules = {**network.MODE_RULES, "all": network.ModeRule(highways=None, excluded={}, bidirectional=True)}
        saved, network.MODE_RULES = network.MODE_RULES, rules
        try:
            raw = network._read_osm_file(path, "all", progress=False).graph
        finally:
            network.MODE_RULES = saved
        raw = ox.simplify_graph(raw)
    else:
        raw = network._read_osm_file(path, "drive", progress=False).graph
    return ox.truncate.largest_component(raw, strongly=True)


def nodes(round_s: float, source: str = "drive") -> NodeData:
    """Demand at every network node: each H3 res-9 cell's population split
    equally over the nodes inside it (``h3.latlng_to_cell(lat, lon, 9)``);
    populated cells without a node keep their centroid as a demand point.
    Nodes outside the hexgrid or in empty cells get weight 0 (allocator ignores
    them, but their rows are part of the matrix that is timed).

    ``source="drive"``: the nodes of the drive graph itself (as allocator loads
    it: simplified, largest strongly connected component).  ``"walk"``: the
    walk graph's nodes, ``"all"`` and ``"drive-raw"`` those of
    :func:`_graph_nodes_only`, each snapped to the drive graph like any point.
    Candidates: all 1,227 cell centroids (``inf`` columns for the unreachable).
    """
    import h3
    d = load_drive()
    t0 = time.perf_counter()
    if source == "drive":
        lon, lat = d.arrays.lon, d.arrays.lat
    else:
        G = (_graph_nodes_only(source) if source in ("all", "drive-raw")
             else load_network(catalog.resolve("porto_alegre/poa_osm.pbf"), source,
                               cache_dir=catalog.cache_dir() / "networks")[0])
        lon = np.array([G.nodes[n]["x"] for n in G.nodes], dtype=float)
        lat = np.array([G.nodes[n]["y"] for n in G.nodes], dtype=float)
        del G
    ids = d.hexes.id.to_numpy()
    where = {c: i for i, c in enumerate(ids)}
    cell_of = np.array([where.get(h3.latlng_to_cell(la, lo, 9), -1) for la, lo in zip(lat, lon)])
    inside = cell_of >= 0
    count = np.bincount(cell_of[inside], minlength=len(ids))
    pop = d.hexes.population.to_numpy(float)
    w_nodes = np.zeros(len(lon))
    w_nodes[inside] = pop[cell_of[inside]] / count[cell_of[inside]]
    empty = np.flatnonzero((count == 0) & (pop > 0))
    plon = np.concatenate([lon, d.hexes.lon.to_numpy()[empty]])
    plat = np.concatenate([lat, d.hexes.lat.to_numpy()[empty]])
    w = np.concatenate([w_nodes, pop[empty]])
    kind = np.array(["node"] * len(lon) + ["centroid"] * len(empty))
    pts = snap_points(d.arrays, plon, plat, SNAP_M)
    prep_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    C = travel_time_matrix(d.arrays, pts, d.cells)
    matrix_s = time.perf_counter() - t0
    C = round_times(C, round_s)
    reach_rows = np.isfinite(C).any(axis=1)
    notes = [
        f"{source} graph: {len(lon):,} nodes, {inside.sum():,} inside a hexgrid cell, "
        f"{(w_nodes > 0).sum():,} with positive weight; {len(empty)} populated cells contain no node "
        f"(population {pop[empty].sum():,.0f}) and keep their centroid",
        f"demand points {len(w):,} ({(w > 0).sum():,} with weight > 0), total weight {w.sum():,.1f} "
        f"(hexgrid population {pop.sum():,.0f}); {(~reach_rows & (w > 0)).sum()} positive-weight points "
        f"reach no site (weight {w[~reach_rows].sum():,.0f}: centroids > {SNAP_M:g} m from the network)",
    ]
    return NodeData(C, w, kind, matrix_s, prep_s, d, notes)


def finite_part(C: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows with positive weight that reach some site, and the columns finite
    for all of them: what spopt's dense models can take (they cannot take ``inf``).
    allocator ignores the dropped rows (weight 0 or unreachable) and never opens a
    column that is ``inf`` for everybody, so on the node instance (one strongly
    connected drive graph: a point either reaches every reachable cell or none)
    both give the same optimum on either matrix."""
    rows = (w > 0) & np.isfinite(C).any(axis=1)
    cols = np.isfinite(C[rows]).all(axis=0)
    return np.ascontiguousarray(C[np.ix_(rows, cols)]), w[rows]


# --------------------------------------------------------------------------- #
# timing and checks                                                           #
# --------------------------------------------------------------------------- #


def repeat(fn, n: int):
    """Run ``fn`` n times; return (last result, list of wall seconds)."""
    walls, res = [], None
    for _ in range(max(1, n)):
        gc.collect()
        t0 = time.perf_counter()
        res = fn()
        walls.append(time.perf_counter() - t0)
    return res, walls


def alternate(fn_a, fn_b, n: int):
    """Run ``fn_a`` then ``fn_b``, n times in turn (so drift in the machine's load hits both);
    return ((last result of fn_a, its wall seconds), (last result of fn_b, its wall seconds))."""
    runs = [repeat(fn, 1) for _ in range(max(1, n)) for fn in (fn_a, fn_b)]
    a, b = runs[0::2], runs[1::2]
    return (a[-1][0], [r[1][0] for r in a]), (b[-1][0], [r[1][0] for r in b])


@dataclass
class SerialVersusCluster:
    """The first run on a fresh local cluster, then the serial loop and the cluster alternated (wall seconds)."""

    first: object
    serial: object
    serial_walls: list[float]
    cluster: object
    cluster_walls: list[float]


def serial_versus_cluster(run, n: int, workers: int, after_first=None) -> SerialVersusCluster:
    """Start a local cluster of ``workers`` (timed), run ``run(client)`` once (timed apart: the workers import
    allocator), call ``after_first(client, first)`` when given, then ``run(None)`` (the serial loop) against
    ``run(client)`` alternated ``n`` times; prints both medians with the cluster's start and first run."""
    from allocator.scale.cluster import open_client

    t0 = time.perf_counter()
    with open_client(workers=workers) as client:
        start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = run(client)
        first_s = time.perf_counter() - t0
        if after_first is not None:
            after_first(client, first)
        (serial, serial_walls), (cluster, cluster_walls) = alternate(lambda: run(None), lambda: run(client), n)
    print(f"serial loop   : median {med(serial_walls):.2f} s over {len(serial_walls)} run(s) "
          f"[{', '.join(f'{w:.2f}' for w in serial_walls)}]")
    print(f"local cluster : {workers} workers x 1 thread, started in {start_s:.1f} s; first run {first_s:.2f} s "
          f"(workers import allocator); then median {med(cluster_walls):.2f} s over {len(cluster_walls)} run(s) "
          f"[{', '.join(f'{w:.2f}' for w in cluster_walls)}]")
    return SerialVersusCluster(first, serial, serial_walls, cluster, cluster_walls)


_CHILD = """
import json, sys, time, numpy as np
from allocator.solve.highs import quiet_highs
from allocator.solve.p_median import solve_p_median
import allocator
quiet_highs()
d = np.load(sys.argv[1])
t0 = time.perf_counter()
s = solve_p_median(d["C"], d["w"], int(sys.argv[2]), time_limit=float(sys.argv[3]), threads=1)
print(json.dumps(dict(wall=time.perf_counter() - t0, objective=s.objective, status=s.status, gap=s.gap,
                      build=s.build_seconds, solve=s.solve_seconds, root=allocator.__file__)))
"""


def race(C: np.ndarray, w: np.ndarray, p: int, roots: dict[str, str], n: int, limit: float,
         tag: str = "versus") -> dict[str, list[dict]]:
    """The checkouts ``roots`` (name: folder) on the same matrix: each solves it in a child process in its
    own folder, the checkouts alternated ``n`` times (drift in the load hits all); prints the load before
    each round and every run; returns the runs by name."""
    import json
    import tempfile

    runs: dict[str, list] = {name: [] for name in roots}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "instance.npz"
        np.savez(path, C=C, w=w)
        for _ in range(max(1, n)):
            print(f"{tag:8s}: load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            for name, root in roots.items():
                # in the checkout's own folder: ``python -c`` puts the working folder ahead of PYTHONPATH
                out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(p), str(limit)], check=True,
                                     capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=root), cwd=root)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                assert r["root"].startswith(str(Path(root).resolve())), f"{name} imported {r['root']}"
                runs[name].append(r)
                print(f"{tag:8s}: {name} ({root}): {r['status']}, {r['objective']:.6f}, gap {r['gap']:.1e}, "
                      f"wall {r['wall']:.2f} s (build {r['build']:.2f} + solve {r['solve']:.2f})", flush=True)
    return runs


def versus(C: np.ndarray, w: np.ndarray, p: int, old_root: str, n: int, limit: float) -> None:
    """This checkout against the checkout at ``old_root`` (e.g. main before a change) on the same matrix
    (:func:`race`): the medians, the objectives (they must match) and the ratio old / new."""
    new_root = str(Path(allocator.__file__).resolve().parent.parent)
    runs = race(C, w, p, {"old": old_root, "new": new_root}, n, limit)
    mo, mn = med([r["wall"] for r in runs["old"]]), med([r["wall"] for r in runs["new"]])
    match = all(same(a["objective"], b["objective"]) for a in runs["old"] for b in runs["new"])
    print(f"versus  : median old {mo:.2f} s, new {mn:.2f} s, ratio old / new {mo / mn:.2f}x; "
          f"objectives match (rel 1e-9): {match}")


def med(xs) -> float:
    return float(statistics.median(xs))


def same(a: float, b: float, tol: float = REL_TOL) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= tol * max(abs(a), abs(b), 1.0)


def pmedian_value(C: np.ndarray, w: np.ndarray, open_cols) -> float:
    """sum_i w_i min_{j open} C_ij, recomputed with numpy (rows with w = 0, and rows
    that reach no site, which every p-median excludes, ignored)."""
    open_cols = np.asarray(open_cols, dtype=int)
    pos = (w > 0) & np.isfinite(C).any(axis=1)
    return float(w[pos] @ C[np.ix_(pos, open_cols)].min(axis=1))


def run_pmedian(C: np.ndarray, w: np.ndarray, a) -> tuple:
    """allocator's p-median ``a.repeat`` times: print the runs and the numpy check;
    return (solution, median wall seconds, proven optimal)."""
    sol, walls = repeat(lambda: solve_p_median(C, w, a.p, time_limit=a.alloc_limit, threads=a.threads), a.repeat)
    print_allocator(sol, walls)
    check = pmedian_value(C, w, sol.open_sites)
    print(f"check   : allocator objective re-evaluated with numpy from its {len(sol.open_sites)} sites "
          f"(over the points that reach a site): {check:.6f} "
          f"({'matches' if same(check, sol.objective) else 'MISMATCH'}); "
          f"new sites == p: {len(sol.new_sites) == a.p}")
    return sol, med(walls), sol.status == "optimal" and (sol.gap or 0.0) <= 1e-9


def coverage_value(C: np.ndarray, w: np.ndarray, open_cols, T: float) -> float:
    open_cols = np.asarray(open_cols, dtype=int)
    return float(w @ (C[:, open_cols] <= T).any(axis=1))


def fmt_s(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else (f"{x:.3f} s" if x < 10 else f"{x:.1f} s")


def print_allocator(sol, walls, label="allocator") -> None:
    print(f"{label}: status {sol.status}, objective {sol.objective:.6f}, gap {sol.gap}, "
          f"{len(sol.new_sites)} new sites")
    print(f"{label}: wall median {fmt_s(med(walls))} over {len(walls)} run(s) "
          f"[{', '.join(f'{x:.2f}' for x in walls)}]; last run build {fmt_s(sol.build_seconds)}, "
          f"solve {fmt_s(sol.solve_seconds)}; {sol.n_variables} vars, {sol.n_constraints} rows")
    for n in sol.notes:
        print(f"{label}:   note: {n}")


# --------------------------------------------------------------------------- #
# the peer: spopt with pulp.HiGHS                                             #
# --------------------------------------------------------------------------- #


def _timed_highs_class():
    import pulp

    class TimedHiGHS(pulp.HiGHS):
        """pulp.HiGHS (highspy) that also records how long PuLP takes to copy the
        model into HiGHS (``buildSolverModel``, one addCol/addRow call per
        variable/row) apart from HiGHS' own run."""

        transfer_s = 0.0
        run_s = 0.0

        def buildSolverModel(self, lp):  # noqa: N802 (PuLP's name)
            t0 = time.perf_counter()
            super().buildSolverModel(lp)
            self.transfer_s = time.perf_counter() - t0

        def callSolver(self, lp):  # noqa: N802
            t0 = time.perf_counter()
            super().callSolver(lp)
            self.run_s = time.perf_counter() - t0

    return TimedHiGHS


@dataclass
class Peer:
    name: str
    build_s: float = math.nan       # spopt from_cost_matrix (PuLP model in Python)
    transfer_s: float = math.nan    # PuLP -> highspy copy
    run_s: float = math.nan         # HiGHS run (presolve + B&B)
    solve_s: float = math.nan       # spopt .solve() wall = transfer + run + PuLP overhead
    status: str = "not run"         # HiGHS model status string
    objective: float = math.nan     # HiGHS objective value
    bound: float = math.nan         # HiGHS dual bound (in the model's sense)
    mip_gap: float = math.nan
    open_cols: np.ndarray | None = None
    n_vars: int = 0
    n_rows: int = 0
    rss_after_build_gb: float = math.nan
    error: str = ""

    @property
    def total_s(self) -> float:
        return self.build_s + self.solve_s

    @property
    def proven(self) -> bool:
        return self.status == "Optimal"

    def show(self) -> None:
        p = self.name
        print(f"{p}: model {self.n_vars:,} vars x {self.n_rows:,} rows; "
              f"RSS after build {self.rss_after_build_gb:.2f} GB, peak RSS so far {peak_rss_gb():.2f} GB")
        print(f"{p}: build (from_cost_matrix) {fmt_s(self.build_s)}; solve() {fmt_s(self.solve_s)} = "
              f"PuLP->HiGHS copy {fmt_s(self.transfer_s)} + HiGHS run {fmt_s(self.run_s)} + PuLP overhead; "
              f"total {fmt_s(self.total_s)}")
        print(f"{p}: HiGHS status {self.status}, objective {self.objective:.6f}, "
              f"dual bound {self.bound:.6f}, mip gap {self.mip_gap:.3g}")
        if self.error:
            print(f"{p}: ERROR {self.error}")


def run_spopt(name: str, build, limit_s: float, threads: int, gap_rel: float = 0.0,
              open_vars=lambda model: model.fac_vars) -> Peer:
    """Build a spopt model with ``build()`` and solve it with pulp.HiGHS (never CBC).

    ``results=False``: spopt's post-processing (facility/client arrays, loops
    in Python over every pair) is NOT counted; that favours the peer.
    """
    import pulp
    TimedHiGHS = _timed_highs_class()
    peer = Peer(name)
    gc.collect()
    t0 = time.perf_counter()
    model = build()
    peer.build_s = time.perf_counter() - t0
    peer.rss_after_build_gb = rss_gb()
    peer.n_vars = len(model.problem.variables())
    peer.n_rows = len(model.problem.constraints)
    print(f"{name}: built {peer.n_vars:,} vars x {peer.n_rows:,} rows in {peer.build_s:.1f} s "
          f"(RSS {peer.rss_after_build_gb:.2f} GB); solving ...", flush=True)
    solver = TimedHiGHS(msg=False, timeLimit=limit_s, gapRel=gap_rel, threads=threads)
    assert isinstance(solver, pulp.HiGHS) and solver.name == "HiGHS"
    t0 = time.perf_counter()
    try:
        model.solve(solver, results=False)
    except RuntimeError as exc:   # spopt raises when PuLP's status is not "Optimal"
        peer.error = str(exc)
    peer.solve_s = time.perf_counter() - t0
    peer.transfer_s, peer.run_s = solver.transfer_s, solver.run_s
    h = model.problem.solverModel
    peer.status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sign = -1.0 if model.problem.sense == pulp.LpMaximize else 1.0   # PuLP negates max objectives
    peer.objective = sign * info.objective_function_value
    peer.bound = sign * info.mip_dual_bound
    peer.mip_gap = info.mip_gap
    if info.primal_solution_status == 2:
        peer.open_cols = np.flatnonzero([(v.varValue or 0) > 0.5 for v in open_vars(model)])
    del model
    gc.collect()
    return peer


def ratio_line(alloc_s: float, peer: Peer, alloc_obj: float, peer_obj: float, maximise: bool,
               target: float | None = None) -> str:
    """The speed ratio peer/allocator and what it means.

    Exact ratio only if the peer proved optimality at allocator's objective;
    otherwise the peer's time is a lower bound on its time to a proof, so the
    ratio is a lower bound (">=").
    """
    r = peer.total_s / alloc_s
    match = same(alloc_obj, peer_obj)
    if not math.isfinite(peer_obj):
        why, exact = "the peer found no solution within its limit", False
    elif match and peer.proven:
        why, exact = "the peer proved the same optimum", True
    elif match:
        why, exact = (f"the peer's open sites give the same objective when re-evaluated, but HiGHS "
                      f"stopped with status '{peer.status}' (its own incumbent {peer.objective:.6f}, "
                      f"bound {peer.bound:.6f}, gap {peer.mip_gap:.3g}): not proven"), False
    elif (peer_obj > alloc_obj) == maximise:
        return (f"ratio: n/a -- the PEER's objective {peer_obj:.6f} is BETTER than allocator's "
                f"{alloc_obj:.6f}: allocator is not optimal here")
    else:
        why, exact = "the peer stopped at a worse objective", False
    s = f"ratio peer/allocator (total wall): {'' if exact else '>= '}{r:.1f}x  ({why})"
    if target is not None:
        met = r >= target
        s += f"; target >= {target:g}x: {'MET' if met else ('NOT met' if exact else 'not shown')}"
    return s
