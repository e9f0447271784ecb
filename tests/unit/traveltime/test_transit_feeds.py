"""Public-transport times on the real feeds: Porto Alegre (EPTC + Trensurb) and São Paulo (a frequency feed).

Porto Alegre: the engine agrees with the reference router (time-expanded
Dijkstra, reference_router.py) on a sample of origins and departures, on the
walks the engine itself computed from the street network.  Both cities: the
invariants (door to door never slower than walking, percentiles ordered,
leaving later never arrives earlier).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest
from reference_router import earliest_arrivals

from allocator.inputs.gtfs import Timetable, read_timetable
from allocator.traveltime.graph import network_arrays, snap_points
from allocator.traveltime.network_source import road_network
from allocator.traveltime.transit import TransitLegs, TransitSettings, transit_legs, window_percentiles, window_times

pytestmark = pytest.mark.slow


def cells(hexgrid: Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of the centres of the hexgrid's cells at ``rows``."""
    ids = pd.read_csv(hexgrid)["id"].to_numpy()[rows]
    lat, lon = np.array([h3.cell_to_latlng(c) for c in ids]).T
    return lon, lat


def city_legs(osm: Path, feeds: list[Path], hexgrid: Path, day: datetime.date, settings: TransitSettings,
              n_demand: int, n_sites: int, cache: Path) -> tuple[Timetable, TransitLegs]:
    """The legs between a seeded sample of the city's cells (demand) and another sample (sites)."""
    arrays = network_arrays(road_network(osm, "walk", cache_dir=cache).graph)
    timetable = read_timetable(feeds, day, settings.departure_s, settings.departure_s + 60 * settings.window_min
                               + 3 * 3600)
    n = len(pd.read_csv(hexgrid))
    rng = np.random.default_rng(7)
    rows = rng.choice(n, size=n_demand + n_sites, replace=False)
    demand = snap_points(arrays, *cells(hexgrid, rows[:n_demand]), 500.0)
    sites = snap_points(arrays, *cells(hexgrid, rows[n_demand:]), 500.0)
    return timetable, transit_legs(arrays, timetable, demand, sites, settings, 500.0)


def check_invariants(legs: TransitLegs, settings: TransitSettings) -> np.ndarray:
    """Door to door <= walking, percentiles ordered, arrivals monotone in the departure; the window's times."""
    times = window_times(legs, settings)
    assert (times <= legs.walk_only[None] + 1e-9).all()
    arrival = times + (settings.departures_s[:, None, None] - settings.departure_s) / 60.0
    finite = np.isfinite(arrival[:-1])
    assert (arrival[1:][finite] >= arrival[:-1][finite] - 1e-9).all()   # leaving later never arrives earlier
    p25, p50, p75 = window_percentiles(legs, settings, [25, 50, 75])
    assert (p25 <= p50).all() and (p50 <= p75).all()
    return times


def test_porto_alegre_agrees_with_the_reference_router(mirror: Path, tmp_path: Path) -> None:
    data = mirror / "porto_alegre"
    settings = TransitSettings(departure_s=14 * 3600, window_min=20, max_transfers=2)
    timetable, legs = city_legs(data / "poa_osm.pbf", [data / "poa_eptc.zip", data / "poa_trensurb.zip"],
                                data / "poa_hexgrid.csv", datetime.date(2019, 5, 13), settings, 40, 60, tmp_path)
    times = check_invariants(legs, settings)
    assert (times < legs.walk_only[None] - 1).any()   # the buses matter somewhere
    coo = legs.network.transfers.tocoo()
    transfers: dict[int, dict[int, float]] = {}
    for u, v, w in zip(coo.row, coo.col, coo.data, strict=True):
        transfers.setdefault(int(u), {})[int(v)] = float(w)
    for origin, i in ((0, 0), (16, 13), (32, 6)):   # the reference router takes about half a minute a query
        expected = earliest_arrivals(timetable.patterns, legs.access[origin] * 60, legs.egress * 60,
                                     legs.walk_only[origin] * 60, transfers, float(settings.departures_s[i]),
                                     settings.max_transfers + 1) / 60
        np.testing.assert_allclose(times[i, origin], expected, atol=1e-6)


def test_sao_paulo_frequency_feed_invariants(mirror: Path, spo_pbf: Path, tmp_path: Path) -> None:
    data = mirror / "sao_paulo"
    settings = TransitSettings(departure_s=7 * 3600, window_min=30)
    _, legs = city_legs(spo_pbf, [data / "spo_gtfs.zip"], data / "spo_hexgrid.csv", datetime.date(2019, 5, 13),
                        settings, 60, 60, tmp_path)
    times = check_invariants(legs, settings)
    assert (times < legs.walk_only[None] - 1).any()
