"""Public-transport times: the RAPTOR engine against an independent time-expanded Dijkstra, and by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from reference_router import earliest_arrivals

from allocator.inputs.gtfs import Pattern
from allocator.traveltime.transit import TransitLegs, TransitSettings, door_to_door, window_percentiles, window_times
from allocator.traveltime.transit_raptor import fifo_groups, raptor_network

INF = np.inf
H7 = 7 * 3600


def pattern(stops: list[int], *trips: list[float]) -> Pattern:
    """A pattern from trips given as minutes after 07:00 at each stop (no dwell)."""
    times = (H7 + 60 * np.array(trips, dtype=float)).astype(np.int32)
    return Pattern("r", np.array(stops, dtype=np.int32), times, times.copy())


def legs(patterns: tuple[Pattern, ...], access: list[list[float]], egress: list[list[float]],
         walk_only: list[list[float]], transfers: dict[tuple[int, int], float] | None = None) -> TransitLegs:
    """Legs given in minutes: access (demand x stops), egress (stops x sites), walk only, transfers {(u, v): min}."""
    n_stops = len(egress)
    pairs = transfers or {}
    matrix = scipy.sparse.csr_matrix(([60.0 * w for w in pairs.values()], ([u for u, _ in pairs], [v for _, v in pairs])),
                                     shape=(n_stops, n_stops))
    return TransitLegs(raptor_network(patterns, n_stops, matrix), np.array(access, dtype=float),
                       np.array(egress, dtype=float), np.array(walk_only, dtype=float), np.zeros(n_stops, dtype=bool))


def reference(legs_: TransitLegs, patterns: tuple[Pattern, ...], departure_s: float, max_transfers: int) -> np.ndarray:
    """Door-to-door minutes by the reference router, every demand row."""
    transfers: dict[int, dict[int, float]] = {}
    coo = legs_.network.transfers.tocoo()
    for u, v, w in zip(coo.row, coo.col, coo.data, strict=True):
        transfers.setdefault(int(u), {})[int(v)] = float(w)
    rows = [earliest_arrivals(patterns, legs_.access[o] * 60, legs_.egress * 60, legs_.walk_only[o] * 60, transfers,
                              departure_s, max_transfers + 1) / 60 for o in range(legs_.access.shape[0])]
    return np.array(rows)


def both(patterns: tuple[Pattern, ...], legs_: TransitLegs, departure_s: float, max_transfers: int) -> np.ndarray:
    """The engine's minutes, after checking they equal the reference router's."""
    engine = door_to_door(legs_, departure_s, max_transfers)
    np.testing.assert_allclose(engine, reference(legs_, patterns, departure_s, max_transfers), atol=1e-9)
    return engine


# Two lines: A calls at stops 0 -> 1, B at 2 -> 3; a 3-minute walk from 1 to 2; the origin is 2 min from stop 0,
# the site 4 min from stop 3; walking the whole way takes 90 min.
LINES = (pattern([0, 1], [10, 20], [40, 50]), pattern([2, 3], [25, 35], [26, 36], [55, 65]))
ACCESS = [[2, INF, INF, INF]]
EGRESS = [[INF], [INF], [INF], [4]]


def test_a_transfer_with_a_walk_between_lines() -> None:
    case = legs(LINES, ACCESS, EGRESS, [[90]], {(1, 2): 3})
    # leave 07:00, walk to stop 0 by 07:02, wait for A at 07:10, off at 07:20, walk to 2 by 07:23,
    # B at 07:25, off at 07:35, walk 4 min: 39 minutes
    assert both(LINES, case, H7, max_transfers=1)[0, 0] == pytest.approx(39)


def test_waiting_for_the_next_trip() -> None:
    case = legs(LINES, ACCESS, EGRESS, [[90]], {(1, 2): 3})
    # leave 07:09: A at 07:10 still caught (07:11 at the stop? no: 07:09 + 2 = 07:11 > 07:10), so A at 07:40,
    # off 07:50, stop 2 at 07:53, B at 07:55, off 08:05, site 08:09: 60 minutes
    assert both(LINES, case, H7 + 9 * 60, max_transfers=1)[0, 0] == pytest.approx(60)


def test_walking_the_whole_way_counts_when_faster() -> None:
    case = legs(LINES, ACCESS, EGRESS, [[30]], {(1, 2): 3})
    assert both(LINES, case, H7, max_transfers=1)[0, 0] == pytest.approx(30)


def test_max_transfers_cuts_journeys() -> None:
    case = legs(LINES, ACCESS, EGRESS, [[90]], {(1, 2): 3})
    assert both(LINES, case, H7, max_transfers=0)[0, 0] == pytest.approx(90)   # two rides are one transfer
    assert both(LINES, case, H7, max_transfers=1)[0, 0] == pytest.approx(39)


def test_no_chained_transfer_walks() -> None:
    # 1 -> 4 -> 2 walks are two transfer walks in a row: not allowed, so B is out of reach
    case = legs(LINES, [[2, INF, INF, INF, INF]], [[INF], [INF], [INF], [4], [INF]], [[90]], {(1, 4): 1, (4, 2): 1})
    assert both(LINES, case, H7, max_transfers=2)[0, 0] == pytest.approx(90)


def test_an_express_overtaking_a_slow_trip() -> None:
    lines = (pattern([0, 1, 2], [0, 30, 60], [5, 10, 15]),)
    assert len(fifo_groups(lines[0].departures, lines[0].arrivals)) == 2
    case = legs(lines, [[1, INF, INF]], [[INF], [INF], [0]], [[200]])
    assert both(lines, case, H7, max_transfers=0)[0, 0] == pytest.approx(15)   # waits for the express at 07:05


def test_window_percentiles_by_hand() -> None:
    # one line every 10 minutes (07:00, 07:10, ...), a 5-minute ride; origin on the stop, site on the other stop
    line = (pattern([0, 1], *[[m, m + 5] for m in range(0, 40, 10)]),)
    case = legs(line, [[0, INF]], [[INF], [0]], [[60]])
    settings = TransitSettings(departure_s=H7, window_min=10, max_transfers=0)
    # leaving at 07:00 + m (m = 0..9): wait (10 - m) % 10, then 5 minutes: 5, 14, 13, ..., 6
    by_hand = np.sort([5 + (10 - m) % 10 for m in range(10)])
    p = window_percentiles(case, settings, [25, 50, 75])
    assert p[:, 0, 0].tolist() == [by_hand[2], by_hand[4], by_hand[7]]   # nearest rank: ceil(q * 10) - 1


def random_case(rng: np.random.Generator) -> tuple[tuple[Pattern, ...], TransitLegs]:
    """A random timetable with loops, dwell times, overtaking and random walks."""
    n_stops, n_sites, n_demand = 8, 4, 3
    patterns = []
    for _ in range(rng.integers(2, 6)):
        stops = rng.choice(n_stops, size=rng.integers(2, 6), replace=bool(rng.random() < 0.2))
        trips = []
        for _ in range(rng.integers(1, 5)):
            start = H7 + rng.integers(0, 3600)
            hops = np.cumsum(rng.integers(60, 900, size=len(stops)))
            arrivals = start + hops - hops[0]
            trips.append((arrivals, arrivals + rng.integers(0, 2, size=len(stops)) * 30))
        trips.sort(key=lambda t: t[1][0])
        patterns.append(Pattern("r", stops.astype(np.int32), np.array([a for a, _ in trips], dtype=np.int32),
                                np.array([d for _, d in trips], dtype=np.int32)))

    def walks(shape: tuple[int, int], share: float) -> list[list[float]]:
        return np.where(rng.random(shape) < share, rng.integers(0, 20, size=shape), INF).tolist()

    pairs = {(int(u), int(v)): float(rng.integers(1, 8)) for u, v in rng.integers(0, n_stops, size=(6, 2)) if u != v}
    return tuple(patterns), legs(tuple(patterns), walks((n_demand, n_stops), 0.4), walks((n_stops, n_sites), 0.4),
                                 (rng.integers(30, 150, size=(n_demand, n_sites))).tolist(), pairs)


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_the_reference_router_on_random_timetables(seed: int) -> None:
    rng = np.random.default_rng(seed)
    patterns, case = random_case(rng)
    for departure in (H7, H7 + 17 * 60, H7 + 45 * 60):
        for max_transfers in (0, 1, 3):
            both(patterns, case, departure, max_transfers)


@pytest.mark.parametrize("seed", range(12))
def test_every_departure_of_a_window_agrees_with_the_reference_router(seed: int) -> None:
    # the window is routed latest departure first, keeping labels: each departure must still be exact
    patterns, case = random_case(np.random.default_rng(1000 + seed))
    settings = TransitSettings(departure_s=H7, window_min=50, max_transfers=1)
    times = window_times(case, settings)
    for i in range(0, 50, 7):
        np.testing.assert_allclose(times[i], reference(case, patterns, H7 + 60 * i, 1), atol=1e-9)


def test_settings_from_a_scenario_section() -> None:
    from allocator.scenario.schema import NetworkSpec
    from allocator.traveltime.transit_source import transit_settings

    spec = NetworkSpec.model_validate({"source": "x.osm.pbf", "mode": "transit", "gtfs": ["f.zip"],
                                       "departure": "2019-05-13T14:05", "max_transfers": 0})
    settings = transit_settings(spec)
    assert (settings.departure_s, settings.max_transfers) == (14 * 3600 + 300, 0)
    assert (settings.window_min, settings.percentile, settings.max_walk_min) == (60, 50, 20.0)   # the defaults
    assert settings.departures_s[[0, -1]].tolist() == [14 * 3600 + 300, 14 * 3600 + 300 + 59 * 60]


def test_the_note_on_stops_off_the_street_network() -> None:
    import datetime

    from allocator.inputs.gtfs import Timetable
    from allocator.traveltime.transit_source import stops_off_network_note

    lines = (pattern([0, 1], [0, 5], [10, 15]), pattern([1, 2, 3], [0, 5, 9]))   # 4 + 3 calls
    timetable = Timetable(np.array(["a", "b", "c", "d"], dtype=object), np.zeros(4), np.zeros(4), lines, (),
                          datetime.date(2019, 5, 13))
    note = stops_off_network_note(timetable, np.array([False, True, False, True]), 500)
    assert note is not None and note.startswith("2 of 4 public-transport stops (50%)")
    assert "57% of the stop calls" in note   # stop 1: 2 + 1 calls, stop 3: 1 call; 4 of 7
    assert stops_off_network_note(timetable, np.zeros(4, dtype=bool), 500) is None


def test_without_any_pattern_every_trip_walks() -> None:
    # no public transport at all (an empty flat layout): the window is walking the whole way at every departure
    case = legs((), [[2, INF]], [[INF], [4]], [[37]], {(0, 1): 3})
    times = window_times(case, TransitSettings(departure_s=H7, window_min=5, max_transfers=2))
    assert times.shape == (5, 1, 1) and (times == 37).all()
