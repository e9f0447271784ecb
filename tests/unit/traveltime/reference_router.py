"""An independent router for the tests: Dijkstra over a time-expanded graph of trips, in plain Python.

States: at the origin; at a stop, free to board (``("at", stop, rides)``);
on a trip at its i-th call (``("on", pattern, trip, i, rides)``); just off a
trip at a stop (``("off", stop, rides)``); at a site.  Edges: origin -> site
(walk only), origin -> at(stop) (access walk), at(stop) -> on(any trip of any
pattern calling there that leaves no earlier, rides + 1 <= max_rides), on(i)
-> on(i + 1), on(i) -> off(stop i) for i after boarding, off(stop) ->
at(stop) and at(other stop) (transfer walk), off(stop) -> site (egress walk).
Every edge moves forward in time, so the first time a state is settled is its
earliest arrival.  No overtaking assumption, no vectorisation, no pruning.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

import numpy as np

from allocator.inputs.gtfs import Pattern


def earliest_arrivals(patterns: tuple[Pattern, ...], access: np.ndarray, egress: np.ndarray, walk_only: np.ndarray,
                      transfers: dict[int, dict[int, float]], departure_s: float, max_rides: int) -> np.ndarray:
    """Door-to-door seconds from one origin to every site leaving at ``departure_s``.

    ``access`` (stops) and ``egress`` (stops x sites) and ``walk_only`` (sites)
    are walking seconds (inf: no walk); ``transfers[u][v]`` walking seconds
    between stops.
    """
    calls: dict[int, list[tuple[int, int]]] = {}
    for p, pattern in enumerate(patterns):
        for i, stop in enumerate(pattern.stops):
            calls.setdefault(int(stop), []).append((p, i))
    query = _Query(patterns, calls, access, egress, walk_only, transfers, max_rides)
    best = np.full(len(walk_only), np.inf)
    counter = itertools.count()
    heap: list[tuple[float, int, tuple]] = [(departure_s, next(counter), ("origin",))]
    settled: set[tuple] = set()
    while heap:
        time, _, state = heapq.heappop(heap)
        if state in settled:
            continue
        settled.add(state)
        for when, nxt in _edges(state, time, query):
            if nxt[0] == "site":
                best[nxt[1]] = min(best[nxt[1]], when)
            elif nxt not in settled:
                heapq.heappush(heap, (when, next(counter), nxt))
    return best - departure_s


@dataclass(frozen=True)
class _Query:
    patterns: tuple[Pattern, ...]
    calls: dict[int, list[tuple[int, int]]]   # stop -> (pattern, position) of every call there
    access: np.ndarray
    egress: np.ndarray
    walk_only: np.ndarray
    transfers: dict[int, dict[int, float]]
    max_rides: int


def _edges(state: tuple, time: float, q: _Query) -> list[tuple[float, tuple]]:
    """The states reachable from ``state`` (reached at ``time``) in one step, with their times."""
    patterns, access, egress, walk_only, transfers = q.patterns, q.access, q.egress, q.walk_only, q.transfers
    kind = state[0]
    out: list[tuple[float, tuple]] = []
    if kind == "origin":
        out += [(time + w, ("site", d)) for d, w in enumerate(walk_only) if np.isfinite(w)]
        out += [(time + w, ("at", s, 0)) for s, w in enumerate(access) if np.isfinite(w)]
    elif kind == "at":
        _, stop, rides = state
        if rides < q.max_rides:
            for p, i in q.calls.get(stop, []):
                departures = patterns[p].departures
                for trip in range(len(departures)):
                    if departures[trip, i] >= time:
                        out.append((float(departures[trip, i]), ("on", p, trip, i, i, rides + 1)))
    elif kind == "on":
        _, p, trip, i, boarded, rides = state
        pattern = patterns[p]
        if i > boarded:
            out.append((time, ("off", int(pattern.stops[i]), rides)))
        if i + 1 < len(pattern.stops):
            out.append((float(pattern.arrivals[trip, i + 1]), ("on", p, trip, i + 1, boarded, rides)))
    elif kind == "off":
        _, stop, rides = state
        out.append((time, ("at", stop, rides)))
        out += [(time + w, ("at", v, rides)) for v, w in transfers.get(stop, {}).items()]
        out += [(time + w, ("site", d)) for d, w in enumerate(egress[stop]) if np.isfinite(w)]
    return out
