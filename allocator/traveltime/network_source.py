"""Travel times on the road network: snap demand and sites to it, then shortest paths (:mod:`.graph`).

:func:`road_network` is the one way from a road source (a file, an online
query or a networkx graph) to a prepared graph with its report, and
:func:`times_on_graph` the one way from such a graph and points to minutes;
:func:`times_on_network` is the two together.  :class:`NetworkSource` is a
scenario's network as a travel-time source; the Python API
(:meth:`allocator.api.Problem.from_geodataframes`) uses :func:`road_network`
and :func:`times_on_graph`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from allocator.errors import AllocatorError
from allocator.inputs.osm_districts import osm_places
from allocator.inputs.place_names import StreetIndex, street_index
from allocator.scenario import catalog
from allocator.scenario.paths import Origin
from allocator.scenario.schema import Mode, NetworkSpec, Service
from allocator.traveltime.graph import NetworkArrays, Snapped, network_arrays, snap_points, travel_time_matrix
from allocator.traveltime.network import load_network, prepare_graph
from allocator.traveltime.network_report import NetworkReport
from allocator.traveltime.reach import Reach, check_reach
from allocator.traveltime.source import ServiceTimes, reachability_notes

#: how far a point may be from its nearest network node and still be snapped to it, metres (the schema's default)
MAX_SNAP_M = NetworkSpec.model_fields["max_snap_m"].default


def network_cache_dir() -> Path:
    """Where prepared networks are cached: ``networks/`` in the user cache (:func:`allocator.scenario.catalog.cache_dir`)."""
    return catalog.cache_dir() / "networks"


@dataclass(frozen=True, eq=False)
class NetworkSource:
    """A road network, prepared for snapping and shortest paths (a TravelTimeSource)."""

    spec: NetworkSpec
    arrays: NetworkArrays
    report: NetworkReport
    scenario: Path | None = None   # the scenario file, for error messages
    timing_key: str = "network_s"
    streets: StreetIndex | None = None   # the named streets, to label sites and districts

    @classmethod
    def open(cls, spec: NetworkSpec, source: Path | dict[str, Any], origin: Origin,
             log: Callable[[str], None]) -> NetworkSource:
        """Load the network of ``spec`` from ``source`` (its file resolved, or its online query).

        ``origin`` is the section's (``network``): a load error names its
        ``source`` field and the scenario file.
        """
        try:
            road = road_network(source, spec.mode, log=log)
        except AllocatorError as exc:
            exc.field = exc.field or origin.at("source").field
            raise (exc if origin.scenario is None else exc.with_file(origin.scenario)) from None
        report = road.report
        log(f"network ({spec.mode}): {report.nodes_kept:,} nodes, {report.edges_kept:,} edges kept; "
            f"{report.dropped_node_share:.1%} of nodes outside the largest strongly connected part dropped"
            + (" (from cache)" if report.from_cache else ""))
        return cls(spec, network_arrays(road.graph), report, origin.scenario,
                   streets=street_index(road.graph, osm_places(road.file)))

    def service_times(self, service: Service, field: str, demand: pd.DataFrame,
                      sites: pd.DataFrame) -> ServiceTimes:
        """Door-to-door minutes on the road network, with notes on points too far from any road."""
        demand_snap, site_snap, notes = snap_service(self.arrays, self.spec.max_snap_m, service, field, demand, sites,
                                                     self.scenario)
        return ServiceTimes(travel_time_matrix(self.arrays, demand_snap, site_snap), notes)


def snap_service(arrays: NetworkArrays, max_snap: float, service: Service, field: str, demand: pd.DataFrame,
                 sites: pd.DataFrame, scenario: Path | None) -> tuple[Snapped, Snapped, list[str]]:
    """Snap a service's demand and sites to the network, with notes on those too far from it; raise
    (:func:`allocator.traveltime.reach.check_reach`) when (nearly) none of them is near it."""
    demand_snap = snap_points(arrays, demand["lon"].to_numpy(), demand["lat"].to_numpy(), max_snap)
    site_snap = snap_points(arrays, sites["lon"].to_numpy(), sites["lat"].to_numpy(), max_snap)
    notes = reachability_notes(demand, ~demand_snap.reachable, sites, ~site_snap.reachable,
                               f"more than {max_snap:g} m from the road network")
    new = sites["status"].eq("new").to_numpy()
    path = None if scenario is None else str(scenario)
    check_reach(Reach("people in the demand layers", demand["lon"].to_numpy(), demand["lat"].to_numpy(),
                      demand_snap.reachable, demand["population"].to_numpy()),
                arrays, max_snap, file=path, field="demand")
    check_reach(Reach(f"candidate sites of service '{service.name}'", sites["lon"].to_numpy()[new],
                      sites["lat"].to_numpy()[new], site_snap.reachable[new]),
                arrays, max_snap, file=path, field=f"{field}.candidates")
    return demand_snap, site_snap, notes


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road graph ready for snapping and shortest paths (every edge with a finite positive ``travel_time``,
    in seconds; strongly connected), what was read and kept, and the file it came from (``None`` for a graph
    given in Python or an online query)."""

    graph: nx.MultiDiGraph
    report: NetworkReport
    file: Path | None = None


def road_network(network: str | Path | dict[str, Any] | nx.MultiDiGraph, mode: str, *,
                 cache_dir: Path | None = None, log: Callable[[str], None] | None = None) -> RoadNetwork:
    """The road network of ``network`` for ``mode``, prepared once for travel times.

    Parameters
    ----------
    network
        A road network file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.xml`` or
        ``.graphml``; ``~`` expanded) or an online osmnx query ``dict``: read
        by :func:`allocator.traveltime.network.load_network` (filtered for the
        mode, travel times from ``length`` at the mode's speeds, simplified,
        cached).  Or a ``networkx.MultiDiGraph`` as osmnx builds it (nodes
        with ``x``/``y`` in degrees): taken as built for the mode by
        :func:`allocator.traveltime.network.prepare_graph`, never changed nor
        simplified; its own ``travel_time`` (seconds) is kept when every edge
        has a finite one, else every edge gets the mode's time from its
        ``length`` (metres).  Either way only the largest strongly connected
        component is kept.
    mode
        ``"walk"``, ``"bike"`` or ``"drive"``.
    cache_dir
        Where a file's or query's prepared graph is cached (default: the user
        cache, :func:`network_cache_dir`); unused for a graph.
    log
        Told when a cache entry is discarded and rebuilt.

    Raises
    ------
    AllocatorError
        An unreadable network, an unknown mode, a graph without positions or
        lengths, or a network with no two places connected both ways.
    """
    if isinstance(network, nx.MultiDiGraph):
        return RoadNetwork(*prepare_graph(network, mode))
    source: Path | dict[str, Any] = network if isinstance(network, dict) else Path(network).expanduser()
    graph, report = load_network(source, mode, cache_dir=network_cache_dir() if cache_dir is None else cache_dir,
                                 log=log)
    return RoadNetwork(graph, report, source if isinstance(source, Path) else None)


def times_on_graph(graph: nx.MultiDiGraph, demand: ArrayLike, sites: ArrayLike,
                   max_snap_m: float = MAX_SNAP_M) -> np.ndarray:
    """Exact door-to-door travel minutes from each demand point to each site on a prepared road graph.

    ``graph`` is one :func:`road_network` prepared (``RoadNetwork.graph``):
    edges with ``travel_time`` in seconds.  Each point is snapped to its
    nearest node, and a trip is the walk to that node, the fastest path on the
    graph and the walk from the site's node
    (:func:`allocator.traveltime.graph.travel_time_matrix`).  ``demand`` and
    ``sites`` are ``(lon, lat)`` pairs in degrees, shape ``(n, 2)``; a point
    farther than ``max_snap_m`` metres from every node is unreachable
    (``inf``).  Returns minutes, shape ``(len(demand), len(sites))``.
    """
    demand_lon, demand_lat = _lon_lat(demand, "demand")
    site_lon, site_lat = _lon_lat(sites, "sites")
    arrays = network_arrays(graph)
    return travel_time_matrix(arrays, snap_points(arrays, demand_lon, demand_lat, max_snap_m),
                              snap_points(arrays, site_lon, site_lat, max_snap_m))


def times_on_network(network: str | Path | nx.MultiDiGraph, mode: Mode, demand: ArrayLike, sites: ArrayLike, *,
                     max_snap_m: float = MAX_SNAP_M, cache_dir: Path | None = None) -> np.ndarray:
    """Exact door-to-door travel minutes from each demand point to each site on a road network.

    The same computation as a scenario run on its ``network:`` section and as
    :meth:`allocator.api.Problem.from_geodataframes`: :func:`road_network`
    then :func:`times_on_graph`.  Each point is snapped to its nearest network
    node, and a trip is the walk to that node, the fastest path on the network
    for ``mode`` and the walk from the site's node
    (:func:`allocator.traveltime.graph.travel_time_matrix`).

    Parameters
    ----------
    network
        A road network file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.xml`` or
        ``.graphml``, read by :func:`allocator.traveltime.network.load_network`),
        or a ``networkx.MultiDiGraph`` as osmnx builds it (nodes with ``x``/``y``
        in degrees, edges with ``length`` in metres or every edge with its own
        ``travel_time`` in seconds), taken as built for ``mode`` and not changed
        (:func:`road_network` says which times a graph gets).
    mode
        ``"walk"``, ``"bike"`` or ``"drive"``: the roads used and their speeds.
    demand, sites
        Points as ``(lon, lat)`` pairs in degrees (WGS84), shape ``(n, 2)``.
    max_snap_m
        A point farther than this from every network node is unreachable.
    cache_dir
        Where a network file's prepared graph is cached (default: the user
        cache, as for a scenario); unused for a graph.

    Returns
    -------
    numpy.ndarray
        Minutes, shape ``(len(demand), len(sites))``; ``inf`` where a point is
        beyond ``max_snap_m`` of the network.  Unlike a scenario run, nothing
        is raised when most points are unreachable: the caller sees the ``inf``.

    Raises
    ------
    AllocatorError
        An unreadable network, an unknown mode, a graph without positions or
        lengths, or points that are not finite ``(lon, lat)`` pairs.

    Examples
    --------
    >>> times = times_on_network("poa.osm.pbf", "walk", [(-51.22, -30.03)], [(-51.21, -30.04)])  # doctest: +SKIP
    >>> times.shape  # doctest: +SKIP
    (1, 1)
    """
    return times_on_graph(road_network(network, mode, cache_dir=cache_dir).graph, demand, sites, max_snap_m)


def _lon_lat(points: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The longitudes and latitudes of ``(lon, lat)`` pairs."""
    xy = np.asarray(points, dtype=float)
    if xy.size == 0:
        xy = xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise AllocatorError(f"{name} must be (lon, lat) pairs, shape (n, 2); got shape {xy.shape}", field=name,
                             fix="give one (longitude, latitude) pair per point, in degrees")
    return xy[:, 0], xy[:, 1]
