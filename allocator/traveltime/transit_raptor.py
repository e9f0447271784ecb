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
    """The patterns and the walking transfers between stops (seconds), ready for :func:`earliest_rides`."""

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
    """Arrival at each stop of ``pattern`` (columns) riding one of its trips boarded at an earlier stop."""
    n = pattern.arrivals.shape[0] - 1
    k = len(pattern.stops)
    boardable = np.minimum(labels, _SPAN - 1) + pattern.offsets
    trip = np.searchsorted(pattern.keys, boardable, side="left") - np.arange(k) * n
    riding = np.empty_like(trip)
    riding[:, 0] = n
    np.minimum.accumulate(trip[:, :-1], axis=1, out=riding[:, 1:])
    return pattern.arrivals[riding, np.arange(k)]


def _walk_transfers(network: RaptorNetwork, arrived: np.ndarray, improved_stops: np.ndarray) -> np.ndarray:
    """Earliest arrivals after one transfer walk from the stops in ``improved_stops`` (their own times included)."""
    out = arrived.copy()
    sub = network.transfers[improved_stops]
    if sub.nnz == 0:
        return out
    coo = sub.tocoo()
    source = improved_stops[coo.row]
    order = np.argsort(coo.col, kind="stable")
    source, target, seconds = source[order], coo.col[order], coo.data[order]
    starts = np.flatnonzero(np.r_[True, target[1:] != target[:-1]])
    best = np.minimum.reduceat(arrived[:, source] + seconds, starts, axis=1)
    out[:, target[starts]] = np.minimum(out[:, target[starts]], best)
    return out


def earliest_rides(network: RaptorNetwork, start: np.ndarray, max_rides: int) -> np.ndarray:
    """Earliest arrival at each stop by at most ``max_rides`` rides (alighting there), for each origin row.

    ``start`` (origins x stops) is when each origin can be at each stop
    without riding (its access walk), ``inf`` elsewhere.  Walking transfers
    between rides follow ``network.transfers``.  The result is ``inf`` where
    no ride reaches a stop.
    """
    best = start.astype(float).copy()
    boarding = best.copy()
    ridden = np.full_like(best, np.inf)
    marked = np.flatnonzero(np.isfinite(boarding).any(axis=0))
    for _ in range(max_rides):
        if not marked.size:
            break
        scanned = np.unique(network.stop_patterns[marked].indices)
        arrived = np.full_like(best, np.inf)
        for p in scanned:
            pattern = network.patterns[p]
            reached = _ride(pattern, boarding[:, pattern.stops])
            if pattern.unique_stops:
                arrived[:, pattern.stops] = np.minimum(arrived[:, pattern.stops], reached)
            else:
                for column, stop in enumerate(pattern.stops):
                    arrived[:, stop] = np.minimum(arrived[:, stop], reached[:, column])
        # transfers walk from rides that beat every earlier ride (not the access walks: no walk follows a walk)
        arrived = np.where(arrived < ridden, arrived, np.inf)
        np.minimum(ridden, arrived, out=ridden)
        improved = np.flatnonzero(np.isfinite(arrived).any(axis=0))
        walked = _walk_transfers(network, arrived, improved)
        boarding = np.where(walked < best, walked, np.inf)
        np.minimum(best, boarding, out=best)
        marked = np.flatnonzero(np.isfinite(boarding).any(axis=0))
    return ridden
