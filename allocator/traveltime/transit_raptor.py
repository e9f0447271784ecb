"""RAPTOR: earliest arrivals at every stop by public transport, many origins at once (numpy).

Round ``k`` of RAPTOR (Delling, Pajor, Werneck 2012) finds the earliest
arrival at each stop with ``k`` rides: every route pattern is scanned,
boarding at each stop the earliest trip that leaves after the traveller is
there, then walking transfers from the stops it improved.  Here a round scans
every (pattern, origin) pair at once in one flat layout of the patterns' stop
positions: the earliest boardable trip at every (position, origin) is one
``searchsorted`` over all the patterns' departures, and the trip ridden at each
position is the running minimum of those along the pattern (trips of a pattern
never overtake each other: :func:`raptor_network` splits a pattern whose trips
do into overtaking-free ones).  A pair is scanned only from the first position
where a new label boards an earlier trip than before: nothing before it can
change.  Times are seconds after midnight, ``inf``: not reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from allocator.inputs.gtfs import Pattern


@dataclass(frozen=True, eq=False)
class RaptorNetwork:
    """Every stop position of every overtaking-free pattern, flat, and the walking transfers between stops.

    Position ``g`` is a stop of a pattern; its trips' departures there are ``keys[key_start[g]:key_start[g + 1]]``
    (ascending, plus ``g * span`` so that all positions share one sorted array) and their arrivals
    ``arrivals[arrival_start[g]:...]``, one more ``inf`` at the end for "no trip"."""

    n_stops: int
    stop: np.ndarray            # int64 (G,): the stop at each position
    pattern: np.ndarray         # int64 (G,): the pattern of each position, numbered from 0
    end: np.ndarray             # int64 (G,): one past the last position of its pattern
    span: float                 # larger than any time: the offset between positions in ``keys``
    keys: np.ndarray            # float (sum of trips over positions,)
    key_start: np.ndarray       # int64 (G + 1,)
    arrivals: np.ndarray        # float (sum of trips + 1 over positions,)
    arrival_start: np.ndarray   # int64 (G,)
    boards: scipy.sparse.csr_matrix      # (S, G) 1 where a pattern calls at stop s at g and goes on from there
    transfers: scipy.sparse.csr_matrix   # (S, S) walking seconds from stop u to stop v (u != v)


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


def raptor_network(patterns: tuple[Pattern, ...], n_stops: int, transfers: scipy.sparse.csr_matrix) -> RaptorNetwork:
    """The flat scan layout of ``patterns`` (split where trips overtake) and the transfer walks (seconds)."""
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # stops, departures, arrivals (trips x stops)
    for pattern in patterns:
        order = np.argsort(pattern.departures[:, 0], kind="stable")
        departures, arrivals = pattern.departures[order], pattern.arrivals[order]
        groups.extend((np.asarray(pattern.stops, dtype=np.int64), departures[g], arrivals[g])
                      for g in fifo_groups(departures, arrivals))
    latest = max((int(d.max()) for _, d, _ in groups), default=0)
    span = float(2 ** int(np.ceil(np.log2(latest + 2))))
    stop = np.concatenate([s for s, _, _ in groups]) if groups else np.zeros(0, dtype=np.int64)
    lengths = np.array([len(s) for s, _, _ in groups], dtype=np.int64)
    end = np.repeat(np.cumsum(lengths), lengths)
    trips = np.repeat([d.shape[0] for _, d, _ in groups], lengths).astype(np.int64)
    position = np.arange(len(stop))
    keys = np.concatenate([d.T.ravel() for _, d, _ in groups]).astype(float) if groups else np.zeros(0)
    keys += np.repeat(position * span, trips)
    alighting = [np.vstack([a.astype(float), np.full((1, a.shape[1]), np.inf)]).T.ravel() for _, _, a in groups]
    going_on = position[position + 1 < end]
    return RaptorNetwork(n_stops, stop, np.repeat(np.arange(len(groups)), lengths), end, span, keys,
                         np.concatenate([[0], np.cumsum(trips)]), np.concatenate(alighting) if groups else np.zeros(0),
                         np.concatenate([[0], np.cumsum(trips + 1)[:-1]]).astype(np.int64),
                         scipy.sparse.csr_matrix((np.ones(len(going_on)), (stop[going_on], going_on)),
                                                 shape=(n_stops, len(stop))),
                         transfers.tocsr())


def _link_entries(links: scipy.sparse.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The index in ``links.indices`` of every stored entry of each of ``rows`` (in order), and how many each has."""
    counts = links.indptr[rows + 1] - links.indptr[rows]
    first = np.repeat(links.indptr[rows] - (np.cumsum(counts) - counts), counts)
    return first + np.arange(int(counts.sum())), counts


def _starts(network: RaptorNetwork, changed: np.ndarray, labels: np.ndarray, trips: np.ndarray,
            latest: np.ndarray) -> np.ndarray:
    """For each pattern (row) and origin: the first position where a new label (``changed``, stops x origins) boards
    an earlier trip than ``trips`` (positions x origins: the first trip boardable there, counted from the
    position's first; ``latest``: that trip's predecessor's key, ``-inf``: none), both brought up to date; rows
    ``len(network.stop)``: none."""
    stop, origin = np.nonzero(changed)
    entry, counts = _link_entries(network.boards, stop)
    position = network.boards.indices[entry].astype(np.int64)   # int64 like ``start``: numpy's fast ufunc.at
    origin = np.repeat(origin, counts)
    key = np.minimum(labels.reshape(-1)[network.stop[position] * labels.shape[1] + origin], network.span - 1)
    key += position * network.span
    flat = position * labels.shape[1] + origin
    # only a key at or before the latest trip it could not board yet boards an earlier one (searchsorted's test)
    moved = key <= latest.reshape(-1)[flat]
    position, origin, flat = position[moved], origin[moved], flat[moved]
    found = np.searchsorted(network.keys, key[moved], side="left")
    trips.reshape(-1)[flat] = found - network.key_start[position]
    latest.reshape(-1)[flat] = np.where(found > network.key_start[position], network.keys[np.maximum(found - 1, 0)],
                                        -np.inf)
    n_patterns = int(network.pattern[-1]) + 1 if len(network.pattern) else 0
    start = np.full(n_patterns * labels.shape[1], len(network.stop))
    np.minimum.at(start, network.pattern[position] * labels.shape[1] + origin, position)
    return start.reshape(n_patterns, labels.shape[1])


def scan(network: RaptorNetwork, first: np.ndarray, origin: np.ndarray, trips: np.ndarray,
         rides: np.ndarray) -> np.ndarray:
    """Ride every pattern for each ``origin`` from position ``first`` to the pattern's end, boarding the first trip
    boardable at each position (``trips``, positions x origins), and lower ``rides`` (stops x origins) to the
    arrivals; returns where they fell."""
    lengths = network.end[first] - first
    total = int(lengths.sum())
    segment = np.repeat(np.arange(len(first)), lengths)
    position = first[segment] + np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    origin = origin[segment]
    n_origins = trips.shape[1]
    trip = trips.reshape(-1)[position * n_origins + origin]
    flat = network.stop[position] * n_origins + origin
    # the running minimum within each segment: later segments are shifted below every earlier one
    shift = (len(first) - segment) * (int(network.key_start[-1]) + 1)
    boarded = np.minimum.accumulate(trip + shift) - shift
    riding = np.empty_like(trip)
    riding[1:] = boarded[:-1]
    starts = np.cumsum(lengths) - lengths
    riding[starts] = network.key_start[first + 1] - network.key_start[first]   # nothing boarded yet: no trip
    reached = network.arrivals[network.arrival_start[position] + riding]
    better = reached < rides.reshape(-1)[flat]
    np.minimum.at(rides.reshape(-1), flat[better], reached[better])
    improved = np.zeros(rides.shape, dtype=bool)
    improved.reshape(-1)[flat[better]] = True
    return improved


def relax(values: np.ndarray, changed: np.ndarray, links: scipy.sparse.csr_matrix, out: np.ndarray) -> None:
    """``out[t, r] = min(out[t, r], values[s, r] + links[s, t])`` for every changed entry ``(s, r)`` and every
    stored link of ``s``: one walk from the stops where something changed (``values``, ``out``: rows x origins)."""
    stop, origin = np.nonzero(changed)
    edge, counts = _link_entries(links, stop)
    if not edge.size:
        return
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
        # the first trip boardable at each position by each origin with the labels of ``boarding``: none yet
        n_trips = np.diff(network.key_start)
        last = np.where(n_trips > 0, network.keys[np.maximum(network.key_start[1:] - 1, 0)], -np.inf)
        self.trips = [np.repeat(n_trips.astype(np.int32)[:, None], access_s.shape[1], axis=1) for _ in range(max_rides)]
        self.latest = [np.repeat(last[:, None], access_s.shape[1], axis=1) for _ in range(max_rides)]
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
            if not changed.any():
                break
            start = _starts(self.network, changed, boarding, self.trips[k], self.latest[k])
            pattern, origin = np.nonzero(start < len(self.network.stop))
            improved = scan(self.network, start[pattern, origin], origin, self.trips[k], rides)
            np.minimum(self.ridden, rides, out=self.ridden)
            if k + 1 == len(self.rides):
                break
            boarding = self.boarding[k + 1]
            previous = boarding.copy()
            np.minimum(boarding, rides, out=boarding)
            # transfers walk from the ride arrivals (not from the access walks: no walk follows a walk)
            relax(rides, improved, self.network.transfers, boarding)
            changed = boarding < previous
        return self.ridden, self.ridden < before
