"""Door-to-door minutes by public transport, summarised over a departure window, as R5 does.

A trip is a walk from the demand location to a stop (within ``max_walk_min``
on the walk network), rides with walking transfers between them
(:mod:`.transit_raptor`), and a walk from the last stop to the site; walking
the whole way counts when it is faster.  Every walk is a shortest path on the
same walk network the road mode uses (:mod:`.graph`), so door-to-door is never
slower than walking.  The trip is computed for a departure at every minute of
the window, and the matrix is a percentile of those times (the median by
default), so a plan does not hinge on one bus's timetable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from allocator.inputs.gtfs import Timetable
from allocator.traveltime.graph import NetworkArrays, Snapped, node_time_matrix, snap_points, travel_time_matrix
from allocator.traveltime.transit_raptor import RangeRaptor, RaptorNetwork, raptor_network, relax

#: longest walk between two stops to change vehicles, minutes
TRANSFER_WALK_MIN = 10.0
#: origins routed together: bounds memory at rows x (stops + egress links) x 8 bytes per departure; a small
#: block keeps its labels in the processor cache (benchmarks/README.md)
_ROWS = 64


@dataclass(frozen=True)
class TransitSettings:
    """When and how people travel: departures every minute from ``departure_s`` for ``window_min`` minutes."""

    departure_s: int                # seconds after midnight of the timetable's date
    window_min: int = 60
    percentile: int = 50            # of the window's door-to-door times, the one a scenario's matrix holds
    max_transfers: int = 3
    max_walk_min: float = 20.0      # longest walk to the first stop and from the last one
    transfer_walk_min: float = TRANSFER_WALK_MIN

    @property
    def departures_s(self) -> np.ndarray:
        """The departure times of the window, one a minute."""
        return self.departure_s + 60 * np.arange(self.window_min)


@dataclass(frozen=True, eq=False)
class TransitLegs:
    """Everything but the rides: walks to and from stops, walking the whole way, and the timetable for RAPTOR."""

    network: RaptorNetwork
    access: np.ndarray        # minutes, demand x stops (inf beyond max_walk_min or off the network)
    egress: np.ndarray        # minutes, stops x sites
    walk_only: np.ndarray     # minutes, demand x sites
    stops_off_network: np.ndarray   # bool (S,): stops farther than the snapping limit from every walkable node


def stop_walks(arrays: NetworkArrays, origins: Snapped, destinations: Snapped, max_min: float) -> np.ndarray:
    """Walking minutes from each origin to each destination (point to node, network, node to point), ``inf``
    beyond ``max_min`` or where a point is off the network."""
    out = np.full((len(origins.node), len(destinations.node)), np.inf)
    rows, cols = np.flatnonzero(origins.reachable), np.flatnonzero(destinations.reachable)
    if rows.size and cols.size:
        network = node_time_matrix(arrays, origins.node[rows], destinations.node[cols], max_min)
        out[np.ix_(rows, cols)] = origins.access_min[rows, None] + network + destinations.access_min[None, cols]
    out[out > max_min] = np.inf
    return out


def transit_legs(arrays: NetworkArrays, timetable: Timetable, demand: Snapped, sites: Snapped,
                 settings: TransitSettings, max_snap_m: float) -> TransitLegs:
    """The walks of every trip (see :class:`TransitLegs`) on the walk network ``arrays``."""
    stops = snap_points(arrays, timetable.stop_lon, timetable.stop_lat, max_snap_m)
    between = stop_walks(arrays, stops, stops, settings.transfer_walk_min)
    np.fill_diagonal(between, np.inf)
    finite = np.isfinite(between)
    transfers = scipy.sparse.csr_matrix((between[finite] * 60.0, np.nonzero(finite)), shape=between.shape)
    return TransitLegs(network=raptor_network(timetable.patterns, len(timetable.stop_ids), transfers),
                       access=stop_walks(arrays, demand, stops, settings.max_walk_min),
                       egress=stop_walks(arrays, stops, sites, settings.max_walk_min),
                       walk_only=travel_time_matrix(arrays, demand, sites),
                       stops_off_network=~stops.reachable)


def _links(minutes: np.ndarray) -> scipy.sparse.csr_matrix:
    """The finite walks of ``minutes`` as a sparse matrix of seconds (zero-second walks kept)."""
    rows, cols = np.nonzero(np.isfinite(minutes))
    return scipy.sparse.csr_matrix((minutes[rows, cols] * 60.0, (rows, cols)), shape=minutes.shape)


def _window(legs: TransitLegs, egress: scipy.sparse.csr_matrix, rows: slice, departures_s: np.ndarray,
            max_transfers: int) -> np.ndarray:
    """Minutes from the demand ``rows`` to every site for each departure, shape (departures, rows, sites)."""
    raptor = RangeRaptor(legs.network, legs.access[rows].T * 60.0, max_transfers + 1)
    walk_only = legs.walk_only[rows]
    arrive = np.full(walk_only.shape[::-1], np.inf)   # sites x origins, by transit
    out = np.empty((len(departures_s), *walk_only.shape))
    for i in np.argsort(departures_s)[::-1]:
        ridden, changed = raptor.depart(float(departures_s[i]))
        relax(ridden, changed, egress, arrive)
        out[i] = np.minimum(walk_only, (arrive.T - departures_s[i]) / 60.0)
    return out


def door_to_door(legs: TransitLegs, departure_s: float, max_transfers: int) -> np.ndarray:
    """Minutes from every demand location to every site leaving at ``departure_s`` (demand x sites)."""
    egress = _links(legs.egress)
    n = legs.access.shape[0]
    return np.vstack([_window(legs, egress, slice(r, min(r + _ROWS, n)), np.array([departure_s]), max_transfers)[0]
                      for r in range(0, n, _ROWS)]) if n else legs.walk_only.copy()


def window_times(legs: TransitLegs, settings: TransitSettings) -> np.ndarray:
    """Door-to-door minutes for every departure of the window, shape ``(departures, demand, sites)``."""
    egress = _links(legs.egress)
    n = legs.walk_only.shape[0]
    return np.concatenate([_window(legs, egress, slice(r, min(r + _ROWS, n)), settings.departures_s.astype(float),
                                   settings.max_transfers) for r in range(0, n, _ROWS)], axis=1)


def window_percentiles(legs: TransitLegs, settings: TransitSettings, percentiles: Sequence[float]) -> np.ndarray:
    """Percentiles (nearest rank) over the window's departures of the door-to-door minutes,
    shape ``(len(percentiles), demand, sites)``; routed a block of origins at a time to bound memory."""
    egress = _links(legs.egress)
    n, m = legs.walk_only.shape
    out = np.empty((len(percentiles), n, m))
    for r in range(0, n, _ROWS):
        rows = slice(r, min(r + _ROWS, n))
        times = _window(legs, egress, rows, settings.departures_s.astype(float), settings.max_transfers)
        out[:, rows] = np.percentile(times, list(percentiles), axis=0, method="inverted_cdf")
    return out
