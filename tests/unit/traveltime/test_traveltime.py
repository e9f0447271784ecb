"""Snapping and many-to-many travel times, against networkx and by hand."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest

from allocator.errors import AllocatorError
from allocator.traveltime.graph import (
    WALK_KPH,
    NetworkArrays,
    Snapped,
    network_arrays,
    node_time_matrix,
    snap_points,
    travel_time_matrix,
)
from allocator.traveltime.network import load_network


@pytest.fixture(scope="module")
def spo_drive(spo_pbf: Path) -> tuple[nx.MultiDiGraph, NetworkArrays]:
    graph, _ = load_network(spo_pbf, "drive")
    return graph, network_arrays(graph)


def _fastest_minutes(_u, _v, parallel: dict) -> float:
    """networkx weight: minutes on the fastest of the parallel edges u->v."""
    return min(d["travel_time"] for d in parallel.values()) / 60.0


@pytest.mark.slow
def test_node_times_match_networkx(spo_drive):
    graph, arrays = spo_drive
    rng = np.random.default_rng(7)
    n = len(arrays.node_ids)
    origins, destinations = rng.choice(n, 30, replace=False), rng.choice(n, 30, replace=False)
    matrix = node_time_matrix(arrays, origins, destinations)
    assert matrix.shape == (30, 30) and matrix.dtype == np.float64
    for i, origin in enumerate(origins):
        times = nx.single_source_dijkstra_path_length(graph, arrays.node_ids[origin], weight=_fastest_minutes)
        expected = [times[arrays.node_ids[d]] for d in destinations]
        np.testing.assert_allclose(matrix[i], expected, rtol=1e-9)


@pytest.mark.slow
def test_fewer_origins_than_destinations_gives_the_same_times(spo_drive):
    _, arrays = spo_drive
    rng = np.random.default_rng(3)
    origins, destinations = rng.choice(len(arrays.node_ids), (2, 40))
    many_to_few = node_time_matrix(arrays, origins, destinations[:5])
    few_to_many = node_time_matrix(arrays, origins[:5], destinations)
    np.testing.assert_allclose(many_to_few[:5], few_to_many[:, :5])


@pytest.mark.slow
def test_duplicate_nodes_give_identical_rows_and_columns(spo_drive):
    _, arrays = spo_drive
    nodes = np.array([10, 20, 10, 30, 20])
    columns = nodes[::-1]  # 20, 30, 10, 20, 10
    matrix = node_time_matrix(arrays, nodes, columns)
    np.testing.assert_array_equal(matrix[0], matrix[2])
    np.testing.assert_array_equal(matrix[1], matrix[4])
    np.testing.assert_array_equal(matrix[:, 0], matrix[:, 3])
    np.testing.assert_array_equal(matrix[:, 2], matrix[:, 4])
    assert np.all(np.diag(node_time_matrix(arrays, nodes, nodes)) == 0)


@pytest.mark.slow
def test_cutoff_keeps_exact_values_within(spo_drive):
    _, arrays = spo_drive
    nodes = np.arange(0, len(arrays.node_ids), 97)
    full = node_time_matrix(arrays, nodes, nodes)
    cut = node_time_matrix(arrays, nodes, nodes, cutoff_min=3.0)
    within = full <= 3.0
    assert within.any() and (~within).any()
    np.testing.assert_array_equal(cut[within], full[within])
    assert np.isinf(cut[~within]).all()


@pytest.mark.slow
def test_spo_hexgrid_snaps_and_travel_times_are_finite(spo_drive, spo_hexgrid):
    _, arrays = spo_drive
    assert arrays.crs_metric == "EPSG:32723"  # UTM 23S: São Paulo
    cells = pd.read_csv(spo_hexgrid)
    snapped = snap_points(arrays, cells["lon"].to_numpy(), cells["lat"].to_numpy(), max_distance_m=1000)
    assert snapped.reachable.mean() > 0.9
    times = travel_time_matrix(arrays, snapped, snapped)
    reachable = np.outer(snapped.reachable, snapped.reachable)
    assert np.isfinite(times[reachable]).all() and np.isinf(times[~reachable]).all()
    assert np.all(times[reachable] >= 0)


# --- a hand-made network: 1 -> 2 oneway (two parallel edges), 2 <-> 3, 3 -> 1 ---

LON0, LAT0 = -51.2, -30.03


@pytest.fixture
def tiny() -> NetworkArrays:
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node, (dx, dy) in {1: (0, 0), 2: (0.01, 0), 3: (0.01, 0.01)}.items():
        graph.add_node(node, x=LON0 + dx, y=LAT0 + dy)
    graph.add_edge(1, 2, travel_time=60.0)  # 1 min: the fastest of two parallel edges
    graph.add_edge(1, 2, travel_time=90.0)
    graph.add_edge(2, 3, travel_time=120.0)  # 2 min
    graph.add_edge(3, 2, travel_time=120.0)
    graph.add_edge(3, 1, travel_time=300.0)  # 5 min; no edge 2 -> 1
    return network_arrays(graph)


def _offset(arrays: NetworkArrays, node: int, east_m: float) -> tuple[float, float]:
    """The lon/lat of a point ``east_m`` metres east of ``node`` in the metric CRS."""
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", arrays.crs_metric, always_xy=True)
    x, y = to_metric.transform(arrays.lon[node], arrays.lat[node])
    return to_metric.transform(x + east_m, y, direction="INVERSE")


def test_tiny_network_by_hand(tiny):
    node = {osm: i for i, osm in enumerate(tiny.node_ids)}
    expected_nodes = np.array([[0, 1, 3], [7, 0, 2], [5, 2, 0]], dtype=float)  # 2->1 goes round by 3
    every = np.array([node[1], node[2], node[3]])
    np.testing.assert_allclose(node_time_matrix(tiny, every, every), expected_nodes)

    walk_m_per_min = WALK_KPH * 1000 / 60  # 80 m a minute
    demand_points = [_offset(tiny, node[1], walk_m_per_min), _offset(tiny, node[3], 0.0)]  # 1 min, 0 min
    site_points = [_offset(tiny, node[2], 2 * walk_m_per_min), _offset(tiny, node[1], 0.0)]  # 2 min, 0 min
    demand = snap_points(tiny, *np.array(demand_points).T, max_distance_m=500)
    sites = snap_points(tiny, *np.array(site_points).T, max_distance_m=500)
    np.testing.assert_allclose(demand.access_min, [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(sites.access_min, [2.0, 0.0], atol=1e-6)
    # demand at 1 (+1) -> site at 2 (+2): 1 + 1 + 2; -> site at 1: 1 + 0 + 0
    # demand at 3 (+0) -> site at 2 (+2): 0 + 2 + 2; -> site at 1: 0 + 5 + 0
    expected = np.array([[4.0, 1.0], [4.0, 5.0]])
    times = travel_time_matrix(tiny, demand, sites)
    assert times.dtype == np.float64
    np.testing.assert_allclose(times, expected, atol=1e-6)
    # the cutoff applies to the door-to-door total, walks included
    cut = travel_time_matrix(tiny, demand, sites, cutoff_min=4.5)
    np.testing.assert_allclose(cut, np.where(expected <= 4.5, expected, np.inf), atol=1e-6)


def test_far_point_is_unreachable_not_snapped(tiny):
    lon, lat = _offset(tiny, 0, -2000.0)  # 2 km west of node 1, the westernmost
    snapped = snap_points(tiny, np.array([lon, LON0]), np.array([lat, LAT0]), max_distance_m=500)
    assert snapped.reachable.tolist() == [False, True]
    assert snapped.node[0] == -1 and snapped.distance_m[0] == pytest.approx(2000.0, rel=1e-6)
    times = travel_time_matrix(tiny, snapped, snapped)
    assert np.isinf(times[0]).all() and np.isinf(times[:, 0]).all()
    assert times[1, 1] == 0.0


def test_all_unreachable_gives_all_inf(tiny):
    nowhere = Snapped(node=np.array([-1]), distance_m=np.array([5000.0]), reachable=np.array([False]))
    assert np.isinf(travel_time_matrix(tiny, nowhere, nowhere)).all()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: node_time_matrix(a, np.array([0, 99]), np.array([0])), "origin_nodes"),
        (lambda a: node_time_matrix(a, np.array([0]), np.array([-1])), "destination_nodes"),
        (lambda a: snap_points(a, np.array([1.0, 2.0]), np.array([1.0]), 100), "lon/lat"),
        (lambda a: snap_points(a, np.array([np.nan]), np.array([1.0]), 100), "lon/lat"),
        (lambda a: snap_points(a, np.array([1.0]), np.array([1.0]), 0), "max_distance_m"),
    ],
)
def test_bad_input_is_an_allocator_error(tiny, call, field):
    with pytest.raises(AllocatorError) as err:
        call(tiny)
    assert err.value.field == field and err.value.fix


def test_graph_without_travel_times_is_rejected():
    graph = nx.MultiDiGraph()
    graph.add_node(1, x=0.0, y=0.0)
    graph.add_node(2, x=0.001, y=0.0)
    graph.add_edge(1, 2, travel_time=0.0)
    with pytest.raises(AllocatorError, match="travel_time"):
        network_arrays(graph)
