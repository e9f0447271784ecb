"""Road networks: filters, oneway, speeds, cache, errors, every source type."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import osmnx._nominatim
import osmnx._overpass
import pytest
import requests

from allocator.errors import AllocatorError
from allocator.traveltime.network import (
    DRIVE_DEFAULT_KPH,
    DRIVE_FALLBACK_KPH,
    GIVEN_GRAPH,
    MIN_TRAVEL_TIME_S,
    MODES,
    WALK_SPEED_KPH,
    edge_speed_kph,
    load_network,
)
from allocator.traveltime.network_report import NetworkReport
from allocator.traveltime.network_source import road_network, times_on_graph, times_on_network

# A 4-node block near Porto Alegre: way 1 is a oneway street A->B->C, way 2 a
# two-way street C->D->A, way 3 a dead end A-E, way 4 a footway B-D and way 5
# a building (no highway tag).  A=1, B=2, C=3, D=4, E=5.
TINY_NODES = {
    1: (-51.200, -30.030),
    2: (-51.199, -30.030),
    3: (-51.199, -30.029),
    4: (-51.200, -30.029),
    5: (-51.201, -30.030),
}
TINY_WAYS = {
    1: ([1, 2, 3], {"highway": "residential", "oneway": "yes", "maxspeed": "30 mph"}),
    2: ([3, 4, 1], {"highway": "residential"}),
    3: ([1, 5], {"highway": "service"}),
    4: ([2, 4], {"highway": "footway"}),
    5: ([1, 3, 5, 1], {"building": "yes"}),
}


def _osm_xml(nodes: dict[int, tuple[float, float]], ways: dict[int, tuple[list[int], dict[str, str]]]) -> str:
    """An OSM XML document with these nodes (lon, lat) and ways (refs, tags)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for way_id, (refs, tags) in ways.items():
        lines.append(f'  <way id="{way_id}" version="1">')
        lines += [f'    <nd ref="{ref}"/>' for ref in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines)


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(_osm_xml(TINY_NODES, TINY_WAYS))
    return path


@pytest.fixture(scope="module")
def spo_networks(spo_pbf: Path) -> dict[str, tuple[nx.MultiDiGraph, NetworkReport]]:
    return {mode: load_network(spo_pbf, mode) for mode in MODES}


def _osmids(data: dict) -> set[int]:
    """The OSM way ids of an edge (a list once osmnx has merged segments)."""
    osmid = data["osmid"]
    return set(osmid) if isinstance(osmid, list) else {osmid}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_spo_graph_is_strongly_connected_with_positive_travel_times(spo_networks, mode):
    graph, report = spo_networks[mode]
    assert graph.graph["crs"] == "EPSG:4326"
    assert nx.is_strongly_connected(graph)
    times = [t for *_, t in graph.edges(data="travel_time")]
    assert times and all(math.isfinite(t) and t > 0 for t in times)
    assert all(d["length"] >= 0 for *_, d in graph.edges(data=True))
    assert (report.nodes_kept, report.edges_kept) == (graph.number_of_nodes(), graph.number_of_edges())
    assert 0 < report.nodes_kept <= report.nodes_loaded
    assert 0 < report.edges_kept <= report.edges_loaded
    assert 0.0 <= report.dropped_node_share <= 1.0
    assert report.dropped_node_share == pytest.approx(1 - report.nodes_kept / report.nodes_loaded)
    assert 0 <= report.edges_default_speed <= report.edges_kept
    assert report.mode == mode and not report.from_cache
    assert report.as_dict()["nodes_kept"] == report.nodes_kept


@pytest.mark.slow
def test_spo_report_counts_ways_without_highway(spo_networks, spo_pbf):
    ways = [w.tags.get("highway") for w in osmium.FileProcessor(str(spo_pbf), osmium.osm.WAY)]
    _, report = spo_networks["drive"]
    assert report.ways_read == len(ways)
    assert report.ways_without_highway == sum(h is None for h in ways) > 0


@pytest.mark.slow
def test_drive_respects_oneway_and_walk_does_not(spo_networks, spo_pbf):
    oneway_ids = {
        w.id
        for w in osmium.FileProcessor(str(spo_pbf), osmium.osm.WAY)
        if w.tags.get("oneway") == "yes" and w.tags.get("highway") in DRIVE_DEFAULT_KPH
    }
    drive, _ = spo_networks["drive"]
    checked = 0
    for u, v, data in drive.edges(data=True):
        ids = _osmids(data)
        if ids <= oneway_ids:
            checked += 1
            # a reverse edge may exist only if built from other ways
            reverse = drive.get_edge_data(v, u) or {}
            assert all(not (_osmids(r) & ids) for r in reverse.values())
    assert checked > 100
    walk, _ = spo_networks["walk"]
    walk_edges = [(u, v) for u, v, d in walk.edges(data=True) if _osmids(d) <= oneway_ids]
    assert walk_edges and all(walk.has_edge(v, u) for u, v in walk_edges)


@pytest.mark.slow
def test_drive_speeds_use_maxspeed_or_highway_default(spo_networks):
    graph, report = spo_networks["drive"]
    assert report.edges_default_speed == sum(1 for *_, fb in graph.edges(data="speed_fallback") if fb)
    # an edge merged from segments that all carry the same maxspeed runs at it
    tagged = [
        d for *_, d in graph.edges(data=True) if not d["speed_fallback"] and str(d.get("maxspeed")).isdigit()
    ]
    assert len(tagged) > 100
    for data in tagged:
        assert data["length"] / data["travel_time"] * 3.6 == pytest.approx(float(data["maxspeed"]))
    # an edge with no maxspeed anywhere runs at its highway's default
    untagged = [
        d for *_, d in graph.edges(data=True) if "maxspeed" not in d and isinstance(d["highway"], str)
    ]
    assert untagged
    for data in untagged:
        expected = DRIVE_DEFAULT_KPH.get(data["highway"].removesuffix("_link"), DRIVE_FALLBACK_KPH)
        assert data["length"] / data["travel_time"] * 3.6 == pytest.approx(expected)


@pytest.mark.parametrize(
    ("mode", "highway", "maxspeed", "expected"),
    [
        ("drive", "primary", "60", (60.0, False)),
        ("drive", "residential", "30 mph", (48.28032, False)),
        ("drive", "residential", None, (30.0, True)),
        ("drive", "primary", None, (60.0, True)),
        ("drive", "primary_link", None, (60.0, True)),
        ("drive", "busway", None, (30.0, True)),
        ("drive", "tertiary", "BR:urban", (40.0, True)),
        ("drive", "secondary", "50;70", (60.0, False)),
        ("drive", ["primary", "secondary"], ["40", "60"], (50.0, False)),
        ("drive", ["primary", "secondary"], None, (55.0, True)),
        ("walk", "motorway", "100", (4.8, False)),
        ("bike", "residential", None, (15.0, False)),
    ],
)
def test_speed_rule(mode, highway, maxspeed, expected):
    kph, fallback = edge_speed_kph(mode, highway, maxspeed)
    assert (kph, fallback) == (pytest.approx(expected[0], abs=1e-3), expected[1])


def test_osm_xml_tiny_block(tiny_osm):
    drive, report = load_network(tiny_osm, "drive")
    assert (report.ways_read, report.ways_without_highway) == (5, 1)
    assert set(drive.nodes) == {1, 3, 5}  # B and D are interstitial once simplified
    oneway = [(u, v) for u, v, d in drive.edges(data=True) if d["osmid"] == 1]
    assert oneway == [(1, 3)]  # A->B->C only, never C->A along way 1
    edge = next(d for *_, d in drive.edges(data=True) if d["osmid"] == 1)
    assert edge["length"] / edge["travel_time"] * 3.6 == pytest.approx(30 * 1.609344)
    assert report.edges_default_speed == drive.number_of_edges() - 1
    walk, _ = load_network(tiny_osm, "walk")
    assert set(walk.nodes) == {1, 2, 4, 5}  # the footway makes B and D junctions; C is interstitial
    along_way_1 = [(u, v) for u, v, d in walk.edges(data=True) if 1 in _osmids(d)]
    assert along_way_1 and all((v, u) in along_way_1 for u, v in along_way_1)  # walk ignores oneway


def test_mode_without_roads_is_an_error(tmp_path):
    path = tmp_path / "footpaths.xml"
    path.write_text(_osm_xml(TINY_NODES, {4: ([2, 4], {"highway": "footway"})}))
    with pytest.raises(AllocatorError, match="no roads usable by drive") as err:
        load_network(path, "drive")
    assert err.value.file == str(path) and err.value.fix


@pytest.mark.slow
def test_cache_hit_and_corrupt_cache_rebuilt(spo_pbf, tmp_path):
    graph, first = load_network(spo_pbf, "drive", cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("network-*")
    cached, second = load_network(spo_pbf, "drive", cache_dir=tmp_path)
    assert not first.from_cache and second.from_cache
    assert cached.number_of_nodes() == graph.number_of_nodes()
    assert cached.number_of_edges() == graph.number_of_edges()
    assert second.seconds < first.seconds
    cache_file.write_bytes(b"not a cache file")
    rebuilt, third = load_network(spo_pbf, "drive", cache_dir=tmp_path)
    assert not third.from_cache and rebuilt.number_of_edges() == graph.number_of_edges()
    assert load_network(spo_pbf, "drive", cache_dir=tmp_path)[1].from_cache
    load_network(spo_pbf, "walk", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("network-*"))) == 2  # keyed by mode too


def test_a_cache_hit_names_the_file_read_not_the_one_cached(tiny_osm, tmp_path):
    """The cache is keyed by content: a copy of the roads at another path is served from it, under its own name."""
    copy = tmp_path / "copy" / tiny_osm.name
    copy.parent.mkdir()
    copy.write_bytes(tiny_osm.read_bytes())
    _, first = load_network(tiny_osm, "walk", cache_dir=tmp_path / "cache")
    _, second = load_network(copy, "walk", cache_dir=tmp_path / "cache")
    assert second.from_cache and str(copy) in second.source and str(copy) not in first.source


def test_graphml_round_trip(tiny_osm, tmp_path):
    drive, _ = load_network(tiny_osm, "drive")
    path = tmp_path / "tiny.graphml"
    ox.save_graphml(drive, path)
    loaded, report = load_network(path, "drive")
    assert report.ways_read == 0
    assert sorted(loaded.edges()) == sorted(drive.edges())
    assert sorted(t for *_, t in loaded.edges(data="travel_time")) == pytest.approx(
        sorted(t for *_, t in drive.edges(data="travel_time"))
    )


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("missing/roads.osm.pbf", "not found"),
        ("roads.shp", "unsupported road network file type"),
        ({"bbox": [1, 2, 3]}, "expected"),
        ({"bbox": [3, 2, 1, 4]}, "west < east"),
        ({"place": "x", "bbox": [0, 0, 1, 1]}, "cannot understand"),
        ({"point": [-30.0, -51.2]}, "cannot understand"),
        ({"point": [-30.0, -51.2], "dist": -5}, "dist must be positive"),
    ],
)
def test_bad_sources(tmp_path, source, match):
    if isinstance(source, str):
        source = tmp_path / source
        if source.suffix == ".shp":
            source.write_text("")
    with pytest.raises(AllocatorError, match=match) as err:
        load_network(source, "drive")
    assert err.value.fix


def test_unknown_mode(tiny_osm):
    with pytest.raises(AllocatorError, match="unknown travel mode") as err:
        load_network(tiny_osm, "fly")
    assert err.value.field == "mode"


@pytest.mark.slow
def test_helsinki_loads_despite_missing_node_refs(mirror):
    path = mirror / "helsinki" / "Helsinki.osm.pbf"
    refs = [
        [n.location.valid() for n in w.nodes]
        for w in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    ]
    assert sum(not all(valid) for valid in refs) == 421
    graph, report = load_network(path, "walk")
    assert report.nodes_kept > 1000 and nx.is_strongly_connected(graph)
    assert all(math.isfinite(d["x"]) and math.isfinite(d["y"]) for _, d in graph.nodes(data=True))


# --- online (osmnx) with the request layer replaced: never touches the network ---


def _overpass_json(way_ids: list[int]) -> dict:
    """TINY_NODES and these TINY_WAYS as an Overpass API response."""
    elements = [{"type": "node", "id": i, "lat": lat, "lon": lon} for i, (lon, lat) in TINY_NODES.items()]
    elements += [{"type": "way", "id": i, "nodes": TINY_WAYS[i][0], "tags": TINY_WAYS[i][1]} for i in way_ids]
    return {"version": 0.6, "elements": elements}


class FakeOverpass:
    """Stands in for osmnx's Overpass request: records queries, answers ``ways``.

    A test sets ``ways`` to what the server would select with its mode filter.
    """

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.ways = [1, 2, 3, 4]

    def __call__(self, data: dict) -> dict:
        self.queries.append(data["data"])
        return _overpass_json(self.ways)


@pytest.fixture
def fake_overpass(monkeypatch) -> FakeOverpass:
    fake = FakeOverpass()
    monkeypatch.setattr(osmnx._overpass, "_overpass_request", fake)
    return fake


def test_online_bbox_with_cache(fake_overpass, tmp_path):
    query = {"bbox": [-51.202, -30.031, -51.198, -30.028]}
    fake_overpass.ways = [1, 2, 3]  # the streets: drive's filter leaves out the footway
    graph, report = load_network(query, "drive", cache_dir=tmp_path)
    assert set(graph.nodes) == {1, 3, 5}
    assert all(math.isfinite(t) and t > 0 for *_, t in graph.edges(data="travel_time"))
    assert report.source.startswith("osmnx online query") and report.ways_read == 0
    assert '["highway"~"^(living_street|motorway' in fake_overpass.queries[0]  # our drive filter was sent
    _, again = load_network(query, "drive", cache_dir=tmp_path)
    assert again.from_cache and len(fake_overpass.queries) == 1


@pytest.mark.usefixtures("fake_overpass")
def test_online_place(monkeypatch):
    west, south, east, north = -51.202, -30.031, -51.198, -30.028
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    result = {
        "place_id": 1,
        "osm_type": "relation",
        "osm_id": 1,
        "importance": 0.9,
        "lat": "-30.0295",
        "lon": "-51.2",
        "display_name": "Tiny Block",
        "boundingbox": ["-30.031", "-30.028", "-51.202", "-51.198"],
        "geojson": {"type": "Polygon", "coordinates": [ring]},
    }
    monkeypatch.setattr(osmnx._nominatim, "_nominatim_request", lambda *_args, **_kwargs: [result])
    graph, _ = load_network({"place": "Tiny Block"}, "walk")
    assert set(graph.nodes) == {1, 2, 4, 5}
    assert graph.has_edge(2, 4) and graph.has_edge(4, 2)


def test_online_without_internet(monkeypatch):
    def offline(_data):
        raise requests.exceptions.ConnectionError("no route to host")

    monkeypatch.setattr(osmnx._overpass, "_overpass_request", offline)
    with pytest.raises(AllocatorError, match="needs internet") as err:
        load_network({"point": [-30.03, -51.2], "dist": 300}, "drive")
    assert ".osm.pbf" in err.value.fix


def test_times_on_network_from_a_file_or_a_graph(tiny_osm, tmp_path):
    walk, _ = load_network(tiny_osm, "walk")
    points = np.array([TINY_NODES[1], TINY_NODES[2], TINY_NODES[4]])
    times = times_on_network(tiny_osm, "walk", points, points, cache_dir=tmp_path)
    assert times.shape == (3, 3) and np.all(np.diag(times) == 0)
    # points on nodes: no access walk, only the network at 4.8 km/h (80 m a minute)
    assert times[0, 1] == pytest.approx(min(d["length"] for d in walk[1][2].values()) / 80.0)
    path = tmp_path / "walk.graphml"
    ox.save_graphml(walk, path)
    given = ox.load_graphml(path)
    for *_, data in given.edges(data=True):
        del data["travel_time"]
    before = sorted(map(str, given.edges(data=True)))
    np.testing.assert_allclose(times_on_network(given, "walk", points, points), times)
    assert sorted(map(str, given.edges(data=True))) == before   # the caller's graph is not changed


def test_times_on_network_unreachable_points_and_bad_input(tiny_osm, tmp_path):
    far = (TINY_NODES[1][0] + 0.1, TINY_NODES[1][1])   # about 10 km east
    times = times_on_network(tiny_osm, "walk", [TINY_NODES[1], far], [TINY_NODES[2]], cache_dir=tmp_path)
    assert np.isfinite(times[0, 0]) and np.isinf(times[1, 0])
    assert times_on_network(tiny_osm, "walk", [TINY_NODES[1]], [], cache_dir=tmp_path).shape == (1, 0)
    with pytest.raises(AllocatorError, match=r"\(lon, lat\) pairs") as info:
        times_on_network(tiny_osm, "walk", [1.0, 2.0, 3.0], [TINY_NODES[2]], cache_dir=tmp_path)
    assert info.value.field == "demand"
    with pytest.raises(AllocatorError, match="unknown travel mode"):
        times_on_network(nx.MultiDiGraph(), "fly", [TINY_NODES[1]], [TINY_NODES[2]])


# --- a graph given in Python: its own travel times, or the mode's from length --------------------

GRID_STEP = 0.001   # degrees between grid nodes (about 111 m)


def _grid_with_a_dead_end() -> nx.MultiDiGraph:
    """A 3 x 3 two-way street grid (lengths in metres, primary and residential streets; the middle nodes of
    each side have two neighbours, so osmnx's simplification would remove them) and node 9 reached by a
    one-way street only (outside the largest strongly connected part)."""
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(3):
        for j in range(3):
            graph.add_node(3 * i + j, x=-51.2 + j * GRID_STEP, y=-30.03 + i * GRID_STEP)
    graph.add_node(9, x=-51.2 + 3 * GRID_STEP, y=-30.03)
    for i in range(3):
        for j in range(3):
            for di, dj in ((0, 1), (1, 0)):
                if i + di < 3 and j + dj < 3:
                    u, v = 3 * i + j, 3 * (i + di) + j + dj
                    length = 111.0 * (1.0 + 0.4 * ((u * v) % 3))
                    highway = "primary" if i == 0 or di == 1 and j == 0 else "residential"
                    graph.add_edge(u, v, length=length, highway=highway)
                    graph.add_edge(v, u, length=length, highway=highway)
    graph.add_edge(2, 9, length=111.0, highway="residential")
    return graph


def _edges(graph: nx.MultiDiGraph) -> list[str]:
    return sorted(map(str, graph.edges(keys=True, data=True)))


def _expected_minutes(graph: nx.MultiDiGraph, nodes: list[int], weight) -> np.ndarray:
    """Minutes between nodes by networkx's own Dijkstra (``weight`` in seconds)."""
    return np.array([[nx.shortest_path_length(graph, a, b, weight=weight) / 60.0 for b in nodes] for a in nodes])


def test_a_graph_with_travel_time_on_every_edge_keeps_its_own_times():
    graph = _grid_with_a_dead_end()
    rng = np.random.default_rng(7)
    for *_, data in graph.edges(data=True):   # the user's own speeds: nothing like length / a mode's speed
        data["travel_time"] = float(rng.uniform(5.0, 200.0))
    before = _edges(graph)
    nodes = list(range(9))
    points = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]
    expected = _expected_minutes(graph, nodes, "travel_time")

    for mode in MODES:   # the mode does not change a user's own times
        np.testing.assert_allclose(times_on_network(graph, mode, points, points), expected, rtol=1e-9)
    road = road_network(graph, "drive")
    np.testing.assert_allclose(times_on_graph(road.graph, points, points), expected, rtol=1e-9)
    # not simplified: every node of the strongly connected part is kept, the dead end dropped
    assert sorted(road.graph.nodes) == nodes
    assert (road.report.source, road.report.nodes_loaded, road.report.nodes_kept) == (GIVEN_GRAPH, 10, 9)
    assert road.report.dropped_node_share == pytest.approx(0.1) and road.file is None
    assert _edges(graph) == before   # the caller's graph is not changed


def test_a_graph_with_lengths_only_gets_the_modes_times():
    graph = _grid_with_a_dead_end()
    graph.edges[0, 1, 0]["travel_time"] = 3.0   # one edge's time is not every edge's: all come from length
    before = _edges(graph)
    nodes = list(range(9))
    points = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]

    def drive_seconds(_u, _v, parallel):
        return min(d["length"] / (DRIVE_DEFAULT_KPH[d["highway"]] / 3.6) for d in parallel.values())

    def walk_seconds(_u, _v, parallel):
        return min(d["length"] for d in parallel.values()) / (WALK_SPEED_KPH / 3.6)

    drive = times_on_network(graph, "drive", points, points)
    np.testing.assert_allclose(drive, _expected_minutes(graph, nodes, drive_seconds), rtol=1e-9)
    walk = times_on_network(graph, "walk", points, points)
    np.testing.assert_allclose(walk, _expected_minutes(graph, nodes, walk_seconds), rtol=1e-9)
    road = road_network(graph, "drive")
    assert sorted(road.graph.nodes) == nodes and road.report.edges_default_speed == road.report.edges_kept
    assert _edges(graph) == before


def test_a_graph_given_in_python_floors_tiny_times_and_refuses_negative_ones():
    graph = _grid_with_a_dead_end()
    for *_, data in graph.edges(data=True):
        data["travel_time"] = 60.0
    graph.edges[0, 1, 0]["travel_time"] = 0.0   # two nodes joined for free: floored, as load_network does
    road = road_network(graph, "walk")
    assert road.graph.edges[0, 1, 0]["travel_time"] == MIN_TRAVEL_TIME_S
    assert graph.edges[0, 1, 0]["travel_time"] == 0.0
    graph.edges[0, 1, 0]["travel_time"] = -1.0
    with pytest.raises(AllocatorError, match="negative travel_time") as info:
        road_network(graph, "walk")
    assert info.value.field == "travel_time" and info.value.file == GIVEN_GRAPH
