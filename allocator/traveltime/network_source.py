"""Travel times on the road network: snap demand and sites to it, then shortest paths (:mod:`.graph`).

:class:`NetworkSource` is a scenario's network as a travel-time source;
:func:`times_on_network` is the same computation without a scenario, for
callers that hold a road network and points (the Python API).
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
from allocator.inputs.place_names import StreetIndex, street_index
from allocator.scenario import catalog
from allocator.scenario.paths import Origin
from allocator.scenario.schema import Mode, NetworkSpec, Service
from allocator.traveltime.graph import NetworkArrays, network_arrays, snap_points, travel_time_matrix
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
            graph, report = load_network(source, spec.mode, cache_dir=network_cache_dir(), log=log)
        except AllocatorError as exc:
            exc.field = exc.field or origin.at("source").field
            raise (exc if origin.scenario is None else exc.with_file(origin.scenario)) from None
        log(f"network ({spec.mode}): {report.nodes_kept:,} nodes, {report.edges_kept:,} edges kept; "
            f"{report.dropped_node_share:.1%} of nodes outside the largest strongly connected part dropped"
            + (" (from cache)" if report.from_cache else ""))
        return cls(spec, network_arrays(graph), report, origin.scenario, streets=street_index(graph))

    def service_times(self, service: Service, field: str, demand: pd.DataFrame,
                      sites: pd.DataFrame) -> ServiceTimes:
        """Door-to-door minutes on the road network, with notes on points too far from any road."""
        max_snap = self.spec.max_snap_m
        demand_snap = snap_points(self.arrays, demand["lon"].to_numpy(), demand["lat"].to_numpy(), max_snap)
        site_snap = snap_points(self.arrays, sites["lon"].to_numpy(), sites["lat"].to_numpy(), max_snap)
        notes = reachability_notes(demand, ~demand_snap.reachable, sites, ~site_snap.reachable,
                                   f"more than {max_snap:g} m from the road network")
        new = sites["status"].eq("new").to_numpy()
        path = None if self.scenario is None else str(self.scenario)
        check_reach(Reach("people in the demand layers", demand["lon"].to_numpy(), demand["lat"].to_numpy(),
                          demand_snap.reachable, demand["population"].to_numpy()),
                    self.arrays, max_snap, file=path, field="demand")
        check_reach(Reach(f"candidate sites of service '{service.name}'", sites["lon"].to_numpy()[new],
                          sites["lat"].to_numpy()[new], site_snap.reachable[new]),
                    self.arrays, max_snap, file=path, field=f"{field}.candidates")
        return ServiceTimes(travel_time_matrix(self.arrays, demand_snap, site_snap), notes)


def times_on_network(network: str | Path | nx.MultiDiGraph, mode: Mode, demand: ArrayLike, sites: ArrayLike, *,
                     max_snap_m: float = MAX_SNAP_M, cache_dir: Path | None = None) -> np.ndarray:
    """Exact door-to-door travel minutes from each demand point to each site on a road network.

    The same computation as a scenario run on its ``network:`` section:
    each point is snapped to its nearest network node, and a trip is the walk
    to that node, the fastest path on the network for ``mode`` and the walk
    from the site's node (:func:`allocator.traveltime.graph.travel_time_matrix`).

    Parameters
    ----------
    network
        A road network file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.xml`` or
        ``.graphml``, read by :func:`allocator.traveltime.network.load_network`),
        or a ``networkx.MultiDiGraph`` as osmnx builds it (nodes with ``x``/``y``
        in degrees, edges with ``length`` in metres), taken as built for
        ``mode`` (:func:`allocator.traveltime.network.prepare_graph`; not changed).
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
    if isinstance(network, nx.MultiDiGraph):
        graph = prepare_graph(network, mode)
    else:
        graph, _ = load_network(network, mode, cache_dir=network_cache_dir() if cache_dir is None else cache_dir)
    arrays = network_arrays(graph)
    demand_lon, demand_lat = _lon_lat(demand, "demand")
    site_lon, site_lat = _lon_lat(sites, "sites")
    return travel_time_matrix(arrays, snap_points(arrays, demand_lon, demand_lat, max_snap_m),
                              snap_points(arrays, site_lon, site_lat, max_snap_m))


def _lon_lat(points: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The longitudes and latitudes of ``(lon, lat)`` pairs."""
    xy = np.asarray(points, dtype=float)
    if xy.size == 0:
        xy = xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise AllocatorError(f"{name} must be (lon, lat) pairs, shape (n, 2); got shape {xy.shape}", field=name,
                             fix="give one (longitude, latitude) pair per point, in degrees")
    return xy[:, 0], xy[:, 1]
