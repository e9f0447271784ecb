"""Snapping points to a road network and many-to-many travel times.

A graph from :func:`allocator.traveltime.network.load_network` becomes a sparse matrix
(:func:`network_arrays`) whose entries are minutes on the fastest of any
parallel edges.  Points (demand cells, candidate sites) are snapped to their
nearest node in a local metric CRS (:func:`snap_points`); a point farther than
a limit from every node is *unreachable* and reported as such rather than
snapped across a river or out of the study area.

Travel time from a demand point to a site (:func:`travel_time_matrix`) is the
walk from the point to its node at :data:`WALK_KPH`, the network time between
the nodes (:func:`node_time_matrix`, scipy's Dijkstra), and the walk from the
site's node to the site.  Every value is in minutes; ``inf`` means unreachable
or beyond the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pyproj
import scipy.sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from tqdm import tqdm

from allocator.errors import AllocatorError
from allocator.inputs.crs import metric_crs
from allocator.traveltime.network import WALK_SPEED_KPH

#: Walking speed between a point and its network node (access and egress).
WALK_KPH = WALK_SPEED_KPH

#: Dijkstra sources per batch: bounds memory at batch x nodes x 8 bytes.
_BATCH = 256


@dataclass(frozen=True, eq=False)
class NetworkArrays:
    """A road graph as arrays: what the shortest-path and snapping code needs."""

    csr: scipy.sparse.csr_matrix
    """n x n; entry (i, j) = minutes on the fastest edge from node i to node j."""
    node_ids: np.ndarray
    """OSM node ids; position = index in ``csr``."""
    lon: np.ndarray
    lat: np.ndarray
    crs_metric: str
    """A local metric CRS (the UTM zone; near a pole, :func:`allocator.inputs.crs.metric_crs`), for metres."""


def network_arrays(graph: nx.MultiDiGraph) -> NetworkArrays:
    """Convert a graph with edge ``travel_time`` (seconds) to :class:`NetworkArrays`.

    Parallel edges collapse to the fastest one, since a traveller takes it.
    """
    if graph.number_of_edges() == 0:
        raise AllocatorError(
            "the road network has no edges", fix="load a network that has roads for this mode"
        )
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    position = {node: i for i, node in enumerate(graph.nodes)}
    lon = np.array([graph.nodes[n]["x"] for n in graph.nodes], dtype=float)
    lat = np.array([graph.nodes[n]["y"] for n in graph.nodes], dtype=float)
    edges = [(position[u], position[v], t) for u, v, t in graph.edges(data="travel_time")]
    u, v, seconds = (np.array(column) for column in zip(*edges, strict=True))
    minutes = seconds.astype(float) / 60.0
    if not (np.isfinite(minutes).all() and (minutes > 0).all()):
        raise AllocatorError(
            "some road edges have no finite positive travel_time",
            field="travel_time",
            fix="load the graph with allocator.traveltime.network.load_network, which sets every travel time",
        )
    # Fastest parallel edge: sort by (u, v, minutes) and keep the first of each pair.
    order = np.lexsort((minutes, v, u))
    u, v, minutes = u[order], v[order], minutes[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    n = len(node_ids)
    csr = scipy.sparse.csr_matrix((minutes[first], (u[first], v[first])), shape=(n, n))
    crs_metric = metric_crs(float(np.mean(lon)), float(np.mean(lat)))
    return NetworkArrays(csr=csr, node_ids=node_ids, lon=lon, lat=lat, crs_metric=crs_metric)


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points snapped to their nearest network node."""

    node: np.ndarray
    """csr index of the nearest node; -1 where unreachable."""
    distance_m: np.ndarray
    """Straight-line distance from the point to its nearest node, metres."""
    reachable: np.ndarray
    """True where ``distance_m <= max_distance_m``."""

    @property
    def access_min(self) -> np.ndarray:
        """Minutes to walk between each point and its node at :data:`WALK_KPH`."""
        return self.distance_m / (WALK_KPH * 1000.0 / 60.0)


def snap_points(arrays: NetworkArrays, lon: np.ndarray, lat: np.ndarray, max_distance_m: float) -> Snapped:
    """Snap points to their nearest node, leaving those beyond ``max_distance_m`` unreachable."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise AllocatorError(
            f"lon and lat must be 1-d and equally long, got {lon.shape} and {lat.shape}",
            field="lon/lat",
            fix="give one lon and one lat per point",
        )
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise AllocatorError(
            "some points have missing or infinite coordinates",
            field="lon/lat",
            fix="drop or fix the rows without coordinates",
        )
    if not max_distance_m > 0:
        raise AllocatorError(
            f"the snapping distance must be positive, got {max_distance_m}",
            field="max_distance_m",
            fix="give a distance in metres, e.g. 500",
        )
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", arrays.crs_metric, always_xy=True)
    tree = cKDTree(np.column_stack(to_metric.transform(arrays.lon, arrays.lat)))
    distance_m, node = tree.query(np.column_stack(to_metric.transform(lon, lat)))
    reachable = distance_m <= max_distance_m
    return Snapped(node=np.where(reachable, node, -1), distance_m=distance_m, reachable=reachable)


def node_time_matrix(
    arrays: NetworkArrays,
    origin_nodes: np.ndarray,
    destination_nodes: np.ndarray,
    cutoff_min: float | None = None,
) -> np.ndarray:
    """Network minutes from each origin node to each destination node.

    Dijkstra runs once per distinct node on the smaller side: from the
    destinations on the transposed graph (times *to* them, which is what
    matters on oneway streets), or from the origins when they are fewer.
    Returns shape ``(len(origin_nodes), len(destination_nodes))``, ``inf``
    where unreachable or beyond ``cutoff_min``.
    """
    n = arrays.csr.shape[0]
    origins = _node_indices(origin_nodes, n, "origin_nodes")
    destinations = _node_indices(destination_nodes, n, "destination_nodes")
    unique_o, inverse_o = np.unique(origins, return_inverse=True)
    unique_d, inverse_d = np.unique(destinations, return_inverse=True)
    if len(unique_d) <= len(unique_o):
        # Row k of dijkstra on csr.T: minutes from every node to unique_d[k].
        to_dest = _dijkstra_columns(arrays.csr.T.tocsr(), unique_d, unique_o, cutoff_min)
        return to_dest.T[np.ix_(inverse_o, inverse_d)]
    from_orig = _dijkstra_columns(arrays.csr, unique_o, unique_d, cutoff_min)
    return from_orig[np.ix_(inverse_o, inverse_d)]


def _node_indices(nodes: np.ndarray, n: int, name: str) -> np.ndarray:
    """``nodes`` as a 1-d integer array of valid csr indices."""
    nodes = np.asarray(nodes)
    if nodes.ndim != 1 or (
        nodes.size and (not np.issubdtype(nodes.dtype, np.integer) or nodes.min() < 0 or nodes.max() >= n)
    ):
        raise AllocatorError(
            f"{name} must be csr node indices in [0, {n})",
            field=name,
            fix="snap points with snap_points and drop unreachable ones (node -1)",
        )
    return nodes.astype(np.int64)


def _dijkstra_columns(
    csr: scipy.sparse.csr_matrix, sources: np.ndarray, targets: np.ndarray, cutoff_min: float | None
) -> np.ndarray:
    """Shortest minutes from each source to each target, in batches of sources.

    A progress bar appears only when the work lasts more than a few seconds.
    """
    out = np.empty((len(sources), len(targets)), dtype=np.float64)
    limit = np.inf if cutoff_min is None else float(cutoff_min)
    for start in tqdm(range(0, len(sources), _BATCH), desc="travel times", unit=" batch", delay=3.0):
        batch = sources[start : start + _BATCH]
        out[start : start + len(batch)] = dijkstra(csr, directed=True, indices=batch, limit=limit)[:, targets]
    return out


def travel_time_matrix(
    arrays: NetworkArrays, demand: Snapped, sites: Snapped, cutoff_min: float | None = None
) -> np.ndarray:
    """Minutes from each demand point to each site, door to door.

    Access walk + network time + egress walk; ``inf`` for unreachable demand
    rows or site columns and where the total exceeds ``cutoff_min``.
    """
    times = np.full((len(demand.node), len(sites.node)), np.inf, dtype=np.float64)
    rows = np.flatnonzero(demand.reachable)
    cols = np.flatnonzero(sites.reachable)
    if rows.size and cols.size:
        network = node_time_matrix(arrays, demand.node[rows], sites.node[cols], cutoff_min)
        times[np.ix_(rows, cols)] = demand.access_min[rows, None] + network + sites.access_min[None, cols]
    if cutoff_min is not None:
        times[times > cutoff_min] = np.inf
    return times
