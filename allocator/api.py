"""The Python face of allocator: a problem from arrays, GeoDataFrames or a scenario file; solve; evaluate; write.

>>> import allocator as al
>>> problem = al.Problem.from_cost_matrix([[5.0, 20.0], [30.0, 4.0]], [100, 50])
>>> plan = al.solve(problem, objective="max_coverage", p=1, threshold_min=10)
>>> round(al.evaluate(problem, plan).after.within_share, 3)
0.667

The same stages run a scenario YAML (:func:`run_scenario`, or
:meth:`Problem.from_scenario` then :func:`solve` and :func:`evaluate`), so a
problem built in Python gives what the scenario that describes it gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from allocator import pipeline
from allocator.evaluate.result import RunResult
from allocator.files import expand_home
from allocator.inputs.layers import locate
from allocator.inputs.osm_districts import osm_places
from allocator.inputs.place_names import StreetIndex, street_index
from allocator.inputs.sites import SiteStatus
from allocator.outputs.files import check_replaceable, write_outputs
from allocator.scale.sweep import run_loaded
from allocator.scenario.loader import load_scenario
from allocator.scenario.schema import Service, SolverSpec
from allocator.solve.problem import RunProblem, ServiceProblem
from allocator.solve.run_info import ATTRIBUTION, DataSource, InputFile, RunInfo, mode_speed
from allocator.solve.solution import Solution
from allocator.traveltime.network_report import NetworkReport
from allocator.traveltime.network_source import road_network, times_on_graph
from allocator.traveltime.table import MatrixReport

#: a set of sites: a boolean mask over the sites, or site ids, or site positions
SiteSelection = Sequence[bool] | Sequence[str] | Sequence[int] | np.ndarray | pd.Series | None
#: the name a problem built in Python gets (its service is "service")
PYTHON_NAME = "python"
#: where the candidate sites of a problem built in Python come from (the schema asks for a source)
IN_MEMORY = "(in memory)"


@dataclass(frozen=True)
class TravelTimes:
    """How a problem built in Python got its travel times: a road network (file or graph) or a matrix."""

    report: NetworkReport | MatrixReport
    kind: str                            # "network" or "matrix"
    mode: str | None = None              # the network's travel mode
    max_snap_m: float | None = None
    source: Path | str | None = None     # the network's file (a Path) or "networkx graph"
    streets: StreetIndex | None = None   # the network's named streets (labels of places)


@dataclass(frozen=True)
class Problem:
    """A facility-location problem: demand, sites and travel times, ready to :func:`solve`.

    Build one with :meth:`from_cost_matrix`, :meth:`from_geodataframes` or
    :meth:`from_scenario`.  ``prepared`` holds one
    :class:`~allocator.solve.problem.ServiceProblem` per service; a problem
    from a scenario also carries each service's rules and its solver options.
    """

    prepared: RunProblem
    solver: SolverSpec
    has_rules: bool = False   # True from a scenario: solve() without rules uses each service's own

    @property
    def services(self) -> list[ServiceProblem]:
        """Each service's demand, sites and travel times."""
        return self.prepared.services

    @classmethod
    def from_cost_matrix(cls, times: np.ndarray | pd.DataFrame | Sequence[Sequence[float]],
                         demand_weights: np.ndarray | pd.Series | Sequence[float],
                         existing: SiteSelection = None, candidates: SiteSelection = None) -> Problem:
        """A problem from a travel-time matrix and the people at each demand location.

        Parameters
        ----------
        times
            Minutes from each demand location (rows) to each site (columns);
            ``np.inf`` where a site cannot be reached.  A DataFrame's index
            and columns are the demand and site ids, else they are ``0..n-1``.
        demand_weights
            People (or any demand weight >= 0) at each demand location.
        existing
            The sites that exist today: a boolean mask over the columns, or
            site ids, or column positions.  Default: none.
        candidates
            The sites the plan may open, given the same way.  Default: every
            site that is not existing.

        Returns
        -------
        Problem
            One service, named ``"service"``, with no rules yet: give
            ``objective`` and ``threshold_min`` (and ``p``, ``budget``, ...)
            to :func:`solve`.

        Examples
        --------
        >>> import allocator as al
        >>> problem = al.Problem.from_cost_matrix([[5.0, 20.0, 9.0], [30.0, 4.0, 12.0]], [100, 50],
        ...                                       existing=[True, False, False])
        >>> [len(s.sites) for s in problem.services]
        [3]
        """
        frame = times if isinstance(times, pd.DataFrame) else pd.DataFrame(np.asarray(times, dtype=float))
        cost = frame.to_numpy(float)
        weights = np.asarray(demand_weights, dtype=float)
        if cost.ndim != 2 or cost.shape[0] != len(weights):
            raise ValueError(f"times has shape {cost.shape}, but there are {len(weights)} demand weights")
        if np.isnan(cost).any() or (cost < 0).any():
            raise ValueError("times must be minutes >= 0 (np.inf: unreachable), without NaN")
        if not (np.isfinite(weights) & (weights >= 0)).all():
            raise ValueError("demand_weights must be finite and >= 0")
        demand_ids = [str(i) for i in frame.index]
        site_ids = [str(j) for j in frame.columns]
        is_existing, is_candidate = _split_sites(site_ids, existing, candidates)
        order = np.concatenate([np.flatnonzero(is_existing), np.flatnonzero(is_candidate)])
        demand = gpd.GeoDataFrame({"id": demand_ids, "population": weights, "name": "", "lon": np.nan,
                                   "lat": np.nan}, geometry=gpd.GeoSeries([None] * len(weights)), crs="EPSG:4326")
        sites = pd.DataFrame({"id": [site_ids[j] for j in order], "name": [site_ids[j] for j in order],
                              "count": 1, "lon": np.nan, "lat": np.nan,
                              "status": [SiteStatus.EXISTING] * int(is_existing.sum())
                              + [SiteStatus.NEW] * int(is_candidate.sum())})
        cost = cost[:, order]
        return cls._of(demand, sites, cost, TravelTimes(_matrix_report(cost), "matrix"))

    @classmethod
    def from_geodataframes(cls, demand: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None = None,
                           candidates: gpd.GeoDataFrame | None = None, *,
                           network: str | Path | nx.MultiDiGraph | None = None, mode: str = "walk",
                           matrix: np.ndarray | pd.DataFrame | None = None, population: str = "population",
                           max_snap_m: float = 500.0) -> Problem:
        """A problem from GeoDataFrames, with travel times on a road network or from a matrix.

        Parameters
        ----------
        demand
            Demand locations with an ``id`` and a ``population`` column: points,
            or polygons (located at their centroid, or at a point inside a
            polygon whose centroid is outside it, as a scenario's layers are).
        existing
            Today's facilities: points with ``id`` and optional ``name`` and
            ``count`` (facilities at the point; rows with 0 are dropped).
        candidates
            Where new facilities may go: points with ``id`` and optional ``name``.
        network
            The road network: a ``.osm.pbf``/``.osm``/``.graphml`` file, or a
            networkx graph with ``x``/``y`` (lon/lat) on its nodes.  A graph
            is taken as built for ``mode``, never changed nor simplified: when
            every edge has a finite ``travel_time`` (seconds) those times are
            kept, else every edge gets the mode's time from its ``length``
            (metres); then its largest strongly connected part is kept
            (:func:`allocator.traveltime.network_source.road_network`).
        mode
            ``walk``, ``bike`` or ``drive`` (the network's travel mode).
        matrix
            Instead of ``network``: minutes from each demand location to each
            site, existing sites first, then candidates (a DataFrame: indexed by
            the demand ids, one column per site id; a missing pair is unreachable).
        population
            The demand's population column.
        max_snap_m
            Points farther than this from the network cannot reach it.

        Returns
        -------
        Problem
            One service, named ``"service"``, with no rules yet (see :func:`solve`).

        Examples
        --------
        >>> import allocator as al
        >>> import geopandas as gpd
        >>> demand = gpd.read_file("data/cells.gpkg")                          # doctest: +SKIP
        >>> clinics = gpd.read_file("data/clinics.gpkg")                       # doctest: +SKIP
        >>> sites = gpd.read_file("data/candidates.gpkg")                      # doctest: +SKIP
        >>> problem = al.Problem.from_geodataframes(demand, clinics, sites,
        ...                                         network="city.osm.pbf")    # doctest: +SKIP
        """
        if (network is None) == (matrix is None):
            raise ValueError("give the travel times as network= (a file or a networkx graph) or matrix=, one of them")
        if candidates is None:
            raise ValueError("give the candidate sites (a GeoDataFrame of points with an 'id' column)")
        frame = _locations(demand, "demand")
        if population not in demand:
            raise ValueError(f"the demand has no column {population!r} (population=...)")
        frame.insert(1, "population", demand[population].to_numpy(float))
        old = _site_frame(existing, "existing", counted=True)
        new = _site_frame(candidates, "candidates", counted=False)
        sites = pd.concat([old.assign(status=SiteStatus.EXISTING), new.assign(status=SiteStatus.NEW, count=1)],
                          ignore_index=True)
        demand_frame = gpd.GeoDataFrame(frame[["id", "population", "name", "lon", "lat", "geometry"]],
                                        geometry="geometry", crs="EPSG:4326")
        if matrix is not None:
            cost = _matrix(matrix, demand_frame["id"], sites["id"])
            return cls._of(demand_frame, sites, cost, TravelTimes(_matrix_report(cost), "matrix"))
        assert network is not None
        road = road_network(network, mode)
        cost = times_on_graph(road.graph, demand_frame[["lon", "lat"]].to_numpy(float),
                              sites[["lon", "lat"]].to_numpy(float), max_snap_m)
        source = road.file if road.file is not None else road.report.source
        return cls._of(demand_frame, sites, cost, TravelTimes(road.report, "network", mode=mode, max_snap_m=max_snap_m,
                                                              source=source, streets=street_index(road.graph, osm_places(road.file))))

    @classmethod
    def from_scenario(cls, path: str | Path, *, quiet: bool = True) -> Problem:
        """A scenario YAML's problem: its layers read and its travel times computed (no solve yet).

        Parameters
        ----------
        path
            The scenario file (docs/scenarios.md).
        quiet
            Say nothing on stderr (else timestamped progress lines).

        Returns
        -------
        Problem
            One service per scenario service, each with its own rules, and the
            scenario's solver options: ``solve(problem)`` solves it as written.

        Examples
        --------
        >>> import allocator as al
        >>> problem = al.Problem.from_scenario("scenarios/poa_clinics.yaml")   # doctest: +SKIP
        >>> result = al.evaluate(problem, al.solve(problem))                  # doctest: +SKIP
        """
        scenario = load_scenario(path)
        solver = scenario.spec.solver
        prepared = pipeline.prepare(scenario, solver=solver, log=pipeline.Progress(quiet=quiet))
        return cls(prepared=prepared, solver=solver, has_rules=True)

    def without_sites(self, ids: Sequence[str]) -> Problem:
        """The same problem with the candidate sites ``ids`` forbidden: no service's plan can open them.

        The sites are taken out of the problem (the plan's site positions count the sites left).

        Examples
        --------
        >>> import allocator as al
        >>> problem = al.Problem.from_cost_matrix([[5.0, 20.0, 9.0], [30.0, 4.0, 12.0]], [100, 50])
        >>> al.solve(problem, objective="p_median", p=1, threshold_min=10).solution.new_sites.tolist()
        [2]
        >>> al.solve(problem.without_sites(["2"]), objective="p_median", p=1, threshold_min=10).solution.new_sites.tolist()
        [0]
        """
        return replace(self, prepared=replace(self.prepared, services=[p.without_sites(ids) for p in self.services]))

    @classmethod
    def _of(cls, demand: gpd.GeoDataFrame, sites: pd.DataFrame, cost: np.ndarray, travel: TravelTimes) -> Problem:
        """A one-service problem from its frames and times (its service's rules come with :func:`solve`)."""
        service = Service.model_validate({"name": "service", "objective": "p_median", "threshold_min": 15, "p": 0,
                                          "candidates": {"source": IN_MEMORY}})   # a stand-in: solve() gives the rules
        problem = ServiceProblem(index=0, service=service, field="services[0]", demand=demand, sites=sites,
                                 cost=cost, round_s=0.0, model_cost=cost, notes=[], matrix_seconds=0.0, seconds=0.0)
        source = travel.source
        sources: tuple[DataSource, ...] = ()
        inputs: tuple[InputFile, ...] = ()
        if source is not None:
            sources = (DataSource("road network", source.name if isinstance(source, Path) else source, "", "",
                                  ATTRIBUTION),)
            inputs = (InputFile("network", str(source), source.resolve()),) if isinstance(source, Path) else ()
        mode = travel.mode
        info = RunInfo(name=PYTHON_NAME, title=PYTHON_NAME, label=PYTHON_NAME, description="", language="en",
                       path=Path(PYTHON_NAME), output_dir=(Path.cwd() / "maps" / PYTHON_NAME).resolve(), tiles=True,
                       shared_budget=None, targets=(), districts=None, travel_times=travel.kind, mode=mode,
                       speed_kph=mode_speed(mode),
                       max_snap_m=travel.max_snap_m, matrix_file=None, demand_layers=("demand",), sources=sources,
                       inputs=inputs, resolved={"name": PYTHON_NAME, "services": [service.model_dump(mode="json")]})
        run = RunProblem(info=info, network=travel.report, services=[problem], streets=travel.streets)
        return cls(prepared=run, solver=SolverSpec.model_validate({}))


@dataclass(frozen=True)
class Plan:
    """What :func:`solve` chose: one :class:`~allocator.solve.solution.Solution` per service, with the rules used."""

    services: tuple[Service, ...]
    solutions: tuple[Solution, ...]
    solver: SolverSpec

    @property
    def solution(self) -> Solution:
        """The solution of a single-service plan."""
        if len(self.solutions) != 1:
            raise ValueError(f"the plan has {len(self.solutions)} services: pick one from plan.solutions")
        return self.solutions[0]


def solve(problem: Problem, objective: str | None = None, *, solver: SolverSpec | None = None,
          **rules: Any) -> Plan:
    """Solve every service of ``problem`` exactly.

    Parameters
    ----------
    problem
        From :meth:`Problem.from_cost_matrix`, :meth:`Problem.from_geodataframes`
        or :meth:`Problem.from_scenario`.
    objective
        ``max_coverage``, ``p_median``, ``set_cover``, ``p_center``, ...
        (docs/models.md).  Required for a problem built in Python.
    solver
        Time limit, gap, threads (the scenario's ``solver`` section); default:
        the scenario's, else the defaults.  ``time_limit_s`` bounds this whole
        call, model building included (:mod:`allocator.solve.deadline`).
    **rules
        The scenario schema's service fields: ``threshold_min`` (required for a
        problem built in Python), ``p``, ``budget``, ``relocate``,
        ``max_time_min``, ``district_floor``, ``counters``, ...  They apply to
        every service; a scenario problem without rules keeps each service's own.

    Returns
    -------
    Plan
        One solution per service.

    Examples
    --------
    >>> import allocator as al
    >>> problem = al.Problem.from_cost_matrix([[5.0, 20.0], [30.0, 4.0]], [100, 50])
    >>> al.solve(problem, objective="p_median", p=1, threshold_min=10).solution.new_sites.tolist()
    [0]
    """
    given = dict(rules, **({"objective": objective} if objective is not None else {}))
    if not problem.has_rules and not {"objective", "threshold_min"} <= given.keys():
        raise ValueError("a problem built in Python needs objective= and threshold_min= (and p=, budget= ...)")
    context = {"shared_budget": problem.prepared.info.shared_budget is not None}
    services = tuple(Service.model_validate({**p.service.model_dump(), **given}, context=context) if given
                     else p.service for p in problem.services)
    solver = solver or problem.solver
    solutions = pipeline.solve(_with_services(problem.prepared, services), solver)
    return Plan(services=services, solutions=tuple(solutions), solver=solver)


def evaluate(problem: Problem, plan: Plan, *, quiet: bool = True) -> RunResult:
    """Measure a plan before and after on the exact travel times.

    Parameters
    ----------
    problem
        The problem ``plan`` solves.
    plan
        From :func:`solve`.
    quiet
        Say nothing on stderr.

    Returns
    -------
    RunResult
        Frozen: per service ``before`` and ``after``
        (:class:`~allocator.evaluate.access.AccessMetrics`), ``locations`` and
        ``sites`` (GeoDataFrames), ``equity``, ``notes``; a single-service run
        also has them on the result itself (``result.after.within_share``).

    Examples
    --------
    >>> import allocator as al
    >>> problem = al.Problem.from_cost_matrix([[5.0, 20.0], [30.0, 4.0]], [100, 50])
    >>> result = al.evaluate(problem, al.solve(problem, objective="max_coverage", p=2, threshold_min=10))
    >>> result.after.within_share, result.sites["status"].tolist() == [al.SiteStatus.NEW, "new"]
    (1.0, True)
    """
    if len(plan.services) != len(problem.services):
        raise ValueError(f"the plan has {len(plan.services)} services, the problem {len(problem.services)}")
    prepared = _with_services(problem.prepared, plan.services)
    return pipeline.evaluate(prepared, list(plan.solutions), solver=plan.solver,
                             log=pipeline.Progress(quiet=quiet))


def run_scenario(path: str | Path, out: str | Path | None = None, *, quiet: bool = True) -> RunResult:
    """Run a scenario YAML as the command line does, sweeps included.

    Parameters
    ----------
    path
        The scenario file.
    out
        Write the outputs into ``out/<scenario name>/``.  Default: into the
        scenario's ``output.dir`` when it names one, else write nothing.
    quiet
        Say nothing on stderr.

    Returns
    -------
    RunResult
        With a ``sweep:`` section, the chosen point's run with every point in
        ``result.sweep``.

    Examples
    --------
    >>> import allocator as al
    >>> result = al.run_scenario("scenarios/poa_clinics.yaml")   # doctest: +SKIP
    >>> result.after.within_share                                # doctest: +SKIP
    """
    scenario = load_scenario(path)
    spec = scenario.spec
    log = pipeline.Progress(quiet=quiet)
    folder = None
    if out is not None:
        folder = expand_home(out, "out") / spec.name
    elif spec.output.dir is not None:
        folder = scenario.output_dir
    if folder is not None:
        check_replaceable(folder)   # before the solve: only a folder allocator wrote is replaced
    result = run_loaded(scenario, solver=spec.solver, client=None, log=log, quiet=quiet)
    if folder is not None:
        write(result, folder)
    return result


def write(result: RunResult, out: str | Path, *, tiles: bool | None = None, lang: str | None = None) -> Path:
    """Write every output of ``result`` (summary.json, tables, GeoJSON, map, report) into ``out``, atomically.

    Parameters
    ----------
    result
        From :func:`evaluate` or :func:`run_scenario`.
    out
        The output folder (replaced as a whole; ``~`` is expanded).  Only a folder allocator wrote (it holds
        its manifest.json) or an empty one is replaced: anything else there is an
        :class:`~allocator.errors.AllocatorError` and is left as it is.
    tiles
        A basemap under the map (default: the scenario's ``output.tiles``).
    lang
        ``en`` or ``zh`` for the report (default: the scenario's ``language``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ValueError
        When the demand or the sites have no coordinates (a problem from a cost matrix).
    AllocatorError
        When ``out`` is not a folder allocator may replace, or cannot be written (nothing is changed then).

    Examples
    --------
    >>> import allocator as al
    >>> al.write(al.run_scenario("scenarios/poa_clinics.yaml"), "maps/poa_clinics")   # doctest: +SKIP
    PosixPath('maps/poa_clinics')
    """
    if any(s.demand["lon"].isna().any() or s.facilities["lon"].isna().any() for s in result.services):
        raise ValueError("the maps and the report need the places of the demand and the sites: a problem from "
                         "a cost matrix has none (build it with Problem.from_geodataframes)")
    return write_outputs(result, expand_home(out, "folder"), tiles=result.info.tiles if tiles is None else tiles,
                         lang=lang)


def _with_services(prepared: RunProblem, services: Sequence[Service]) -> RunProblem:
    """``prepared`` with each service's rules replaced (and the manifest's resolved services with them)."""
    problems = [replace(p, service=s) for p, s in zip(prepared.services, services, strict=True)]
    resolved = [*prepared.info.resolved.get("services", [])]
    for p, s in zip(prepared.services, services, strict=True):
        if p.index < len(resolved):
            resolved[p.index] = s.model_dump(mode="json")
    info = replace(prepared.info, resolved={**prepared.info.resolved, "services": resolved})
    return replace(prepared, info=info, services=problems)


def _split_sites(ids: list[str], existing: SiteSelection, candidates: SiteSelection) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the existing and the candidate sites (default: none existing, every other site a candidate)."""
    is_existing = _selection(ids, existing, "existing") if existing is not None else np.zeros(len(ids), bool)
    is_candidate = _selection(ids, candidates, "candidates") if candidates is not None else ~is_existing
    if (is_existing & is_candidate).any():
        j = int(np.argmax(is_existing & is_candidate))
        raise ValueError(f"site {ids[j]!r} is both existing and a candidate")
    return is_existing, is_candidate


def _selection(ids: list[str], chosen: SiteSelection, name: str) -> np.ndarray:
    """A boolean mask over ``ids`` from a mask, site ids or positions."""
    values = np.asarray(chosen)
    if values.dtype == bool:
        if len(values) != len(ids):
            raise ValueError(f"the {name} mask has {len(values)} entries, there are {len(ids)} sites")
        return values.copy()
    mask = np.zeros(len(ids), bool)
    position = {site: j for j, site in enumerate(ids)}
    for item in values.tolist():   # an id first (ids may look like numbers), else a position
        j = position.get(str(item), item if isinstance(item, int) else None)
        if j is None or not 0 <= j < len(ids):
            raise ValueError(f"{name}: {item!r} is neither a site id nor a column position")
        mask[j] = True
    return mask


def _locations(frame: gpd.GeoDataFrame, what: str) -> pd.DataFrame:
    """``id``, ``name``, ``lon``, ``lat`` and ``geometry`` of a GeoDataFrame's rows (as a scenario layer is read)."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise ValueError(f"{what} must be a GeoDataFrame with a CRS")
    if "id" not in frame:
        raise ValueError(f"{what} has no 'id' column")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    located = locate(frame.geometry)
    names = frame["name"].fillna("").astype(str).to_numpy() if "name" in frame else ""
    out = pd.DataFrame({"id": frame["id"].astype(str).to_numpy(), "name": names})
    return pd.concat([out, located], axis=1)


def _site_frame(frame: gpd.GeoDataFrame | None, what: str, *, counted: bool) -> pd.DataFrame:
    """Sites as the models take them: ``id``, ``name``, ``count``, ``lon``, ``lat`` (rows with count 0 dropped)."""
    if frame is None:
        return pd.DataFrame(columns=["id", "name", "count", "lon", "lat"])
    out = _locations(frame, what)
    count = frame["count"].to_numpy(float) if counted and "count" in frame else np.ones(len(out))
    out["count"] = np.round(count).astype(int)
    return out.loc[out["count"] > 0, ["id", "name", "count", "lon", "lat"]].reset_index(drop=True)


def _matrix(matrix: np.ndarray | pd.DataFrame, demand_ids: pd.Series, site_ids: pd.Series) -> np.ndarray:
    """The minutes as a demand x site array in the problem's order (a DataFrame by its ids; missing: unreachable)."""
    if isinstance(matrix, pd.DataFrame):
        frame = matrix.copy()
        frame.index, frame.columns = frame.index.astype(str), frame.columns.astype(str)
        cost = frame.reindex(index=demand_ids.astype(str), columns=site_ids.astype(str)).to_numpy(float)
        cost = np.where(np.isnan(cost), np.inf, cost)
    else:
        cost = np.asarray(matrix, dtype=float)
    if cost.shape != (len(demand_ids), len(site_ids)):
        raise ValueError(f"the matrix has shape {cost.shape}; expected {len(demand_ids)} demand x {len(site_ids)} "
                         "sites (existing first, then candidates)")
    if np.isnan(cost).any() or (cost < 0).any():
        raise ValueError("the matrix must hold minutes >= 0 (np.inf: unreachable), without NaN")
    return cost


def _matrix_report(cost: np.ndarray) -> MatrixReport:
    """The account of travel times given as an array (summary.json's ``matrix`` block)."""
    return MatrixReport(source=IN_MEMORY, rows=cost.size, pairs=cost.size, unreachable=int(np.isinf(cost).sum()),
                        origins=cost.shape[0], destinations=cost.shape[1], seconds=0.0)
