"""RAPTOR: earliest arrivals at every stop by public transport, many origins at once (numpy).

Round ``k`` of RAPTOR (Delling, Pajor, Werneck 2012) finds the earliest
arrival at each stop with ``k`` rides: every route pattern is scanned once,
boarding at each stop the earliest trip that leaves after the traveller is
there, then walking transfers from the stops it improved.  Here a round scans
a pattern for all origins together: the earliest boardable trip at every
(origin, stop) is one ``searchsorted`` over the pattern's departures, and the
trip ridden at each stop is the running minimum of those along the pattern
(trips of a pattern never overtake each other: :func:`raptor_network` splits a
pattern whose trips do into overtaking-free ones).  Times are seconds after
midnight, ``inf``: not reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from allocator.inputs.gtfs import Pattern

#: larger than any time of day in seconds: the offset between a pattern's stops in its flattened departure keys
_SPAN = 1e7


@dataclass(frozen=True, eq=False)
class ScanPattern:
    """One overtaking-free pattern, laid out for the vectorised scan."""

    stops: np.ndarray        # int (k,)
    arrivals: np.ndarray     # float (n_trips + 1, k): the last row inf ("no trip")
    keys: np.ndarray         # float (k * n_trips,): departures at stop i plus i * _SPAN, ascending
    offsets: np.ndarray      # float (k,): i * _SPAN
    unique_stops: bool       # no stop called twice (the fast write-back applies)


@dataclass(frozen=True, eq=False)
class RaptorNetwork:
    """The patterns and the walking transfers between stops (seconds), ready for :class:`RangeRaptor`."""

    n_stops: int
    patterns: tuple[ScanPattern, ...]
    stop_patterns: scipy.sparse.csr_matrix   # (S, P) 1 where pattern p calls at stop s
    transfers: scipy.sparse.csr_matrix       # (S, S) walking seconds from stop u to stop v (u != v)


def fifo_groups(departures: np.ndarray, arrivals: np.ndarray) -> list[np.ndarray]:
    """Split a pattern's trips (sorted by first departure) into groups in which no trip overtakes another."""
    groups: list[list[int]] = []
    for trip in range(len(departures)):
        for group in groups:
            last = group[-1]
            if (departures[last] <= departures[trip]).all() and (arrivals[last] <= arrivals[trip]).all():
                group.append(trip)
                break
        else:
            groups.append([trip])
    return [np.array(group) for group in groups]


def _scan_pattern(stops: np.ndarray, arrivals: np.ndarray, departures: np.ndarray) -> ScanPattern:
    n, k = departures.shape
    offsets = np.arange(k) * _SPAN
    keys = (departures.astype(float) + offsets).T.ravel()
    last = np.full((1, k), np.inf)
    return ScanPattern(stops.astype(np.int64), np.vstack([arrivals.astype(float), last]), keys, offsets,
                       len(np.unique(stops)) == k)


def raptor_network(patterns: tuple[Pattern, ...], n_stops: int, transfers: scipy.sparse.csr_matrix) -> RaptorNetwork:
    """The scan layout of ``patterns`` (split where trips overtake) and the transfer walks (seconds)."""
    scans = []
    for pattern in patterns:
        order = np.argsort(pattern.departures[:, 0], kind="stable")
        departures, arrivals = pattern.departures[order], pattern.arrivals[order]
        for group in fifo_groups(departures, arrivals):
            scans.append(_scan_pattern(np.asarray(pattern.stops), arrivals[group], departures[group]))
    rows = np.concatenate([s.stops for s in scans]) if scans else np.zeros(0, dtype=np.int64)
    cols = np.repeat(np.arange(len(scans)), [len(s.stops) for s in scans])
    stop_patterns = scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_stops, len(scans)))
    return RaptorNetwork(n_stops, tuple(scans), stop_patterns, transfers.tocsr())


def _ride(pattern: ScanPattern, labels: np.ndarray) -> np.ndarray:
    """Arrival at each stop of ``pattern`` (rows) riding one of its trips boarded at an earlier stop;
    ``labels`` (stops of the pattern x origins) is when each origin can board there."""
    n = pattern.arrivals.shape[0] - 1
    k = len(pattern.stops)
    boardable = np.minimum(labels, _SPAN - 1) + pattern.offsets[:, None]
    trip = np.searchsorted(pattern.keys, boardable, side="left") - (np.arange(k) * n)[:, None]
    riding = np.empty_like(trip)
    riding[0] = n
    np.minimum.accumulate(trip[:-1], axis=0, out=riding[1:])
    return pattern.arrivals[riding, np.arange(k)[:, None]]


def relax(values: np.ndarray, changed: np.ndarray, links: scipy.sparse.csr_matrix, out: np.ndarray) -> None:
    """``out[t, r] = min(out[t, r], values[s, r] + links[s, t])`` for every changed entry ``(s, r)`` and every
    stored link of ``s``: one walk from the stops where something changed (``values``, ``out``: rows x origins)."""
    stop, origin = np.nonzero(changed)
    counts = links.indptr[stop + 1] - links.indptr[stop]
    total = int(counts.sum())
    if not total:
        return
    first = np.repeat(links.indptr[stop] - (np.cumsum(counts) - counts), counts)
    edge = first + np.arange(total)
    flat = links.indices[edge] * out.shape[1] + np.repeat(origin, counts)   # 1-d: numpy's fast ufunc.at
    np.minimum.at(out.reshape(-1), flat, np.repeat(values[stop, origin], counts) + links.data[edge])


class RangeRaptor:
    """RAPTOR over a departure window, latest departure first (range RAPTOR).

    A journey that can be made leaving later can be made leaving earlier, so
    the labels of each round are kept from one departure to the next (earlier)
    one and a round only rescans the patterns at stops whose labels the earlier
    departure improved, and only walks from the arrivals it improved.
    ``depart`` returns the earliest ride arrivals and which of them changed.
    """

    def __init__(self, network: RaptorNetwork, access_s: np.ndarray, max_rides: int) -> None:
        """``access_s`` (stops x origins): seconds to walk from each origin to each stop (``inf``: too far)."""
        self.network = network
        self.access_s = access_s
        self.boarding = [np.full(access_s.shape, np.inf) for _ in range(max_rides)]   # k rides then a transfer
        self.rides = [np.full(access_s.shape, np.inf) for _ in range(max_rides)]      # k + 1 rides, alighted
        self.ridden = np.full(access_s.shape, np.inf)
        self.last_departure = np.inf

    def depart(self, departure_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Earliest arrival at each stop by at most ``max_rides`` rides leaving at ``departure_s`` (no later than
        the previous call's), stops x origins (``inf``: no ride reaches it), and where it improved on the previous
        departure's."""
        if departure_s > self.last_departure:
            raise ValueError("departures must come latest first")
        self.last_departure = departure_s
        boarding = self.boarding[0]
        new = departure_s + self.access_s
        changed = new < boarding
        np.minimum(boarding, new, out=boarding)
        before = self.ridden.copy()
        for k, rides in enumerate(self.rides):
            marked = np.flatnonzero(changed.any(axis=1))
            if not marked.size:
                break
            old = rides.copy()
            for p in np.unique(self.network.stop_patterns[marked].indices):
                pattern = self.network.patterns[p]
                who = np.flatnonzero(changed[pattern.stops].any(axis=0))   # the origins with a new label on it
                reached = _ride(pattern, boarding[np.ix_(pattern.stops, who)])
                if pattern.unique_stops:
                    rides[np.ix_(pattern.stops, who)] = np.minimum(rides[np.ix_(pattern.stops, who)], reached)
                else:
                    for row, stop in enumerate(pattern.stops):
                        rides[stop, who] = np.minimum(rides[stop, who], reached[row])
            improved = rides < old
            np.minimum(self.ridden, rides, out=self.ridden)
            if k + 1 == len(self.rides):
                break
            boarding = self.boarding[k + 1]
            old = boarding.copy()
            np.minimum(boarding, rides, out=boarding)
            # transfers walk from the ride arrivals (not from the access walks: no walk follows a walk)
            relax(rides, improved, self.network.transfers, boarding)
            changed = boarding < old
        return self.ridden, self.ridden < before
