"""Labels of places: a given name first, else the nearest named streets, else coordinates; districts never a bare code."""

from __future__ import annotations

import geopandas as gpd
import h3
import networkx as nx
import pandas as pd
import pytest
import shapely

from allocator.inputs.place_names import (
    cell_size_m,
    compass,
    district_labels,
    name_sites,
    place_labels,
    street_index,
    unnamed,
)

# a cross of two streets at (0, 0): "Main Street" east-west, "Side <b>Road</b>" north-south, ~110 m arms
DEG = 0.001


def _graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n, (x, y) in {0: (0, 0), 1: (DEG, 0), 2: (-DEG, 0), 3: (0, DEG), 4: (0, -DEG), 5: (0.05, 0.05),
                      6: (0.051, 0.05)}.items():
        g.add_node(n, x=x, y=y)
    g.add_edge(0, 1, name="Main Street")
    g.add_edge(2, 0, name=["Main Street", "Old name"])
    g.add_edge(0, 3, name="Side <b>Road</b>")
    g.add_edge(4, 0)                      # unnamed
    g.add_edge(5, 6, name="Far Lane")     # ~5.5 km away
    return g


def test_nearest_street_and_cross_street() -> None:
    streets = street_index(_graph())
    assert streets is not None
    assert streets.label(0.0008, 0.0001) == "Main Street, near Side <b>Road</b>"
    assert streets.label(0.0001, 0.0008) == "Side <b>Road</b>, near Main Street"
    assert streets.label(0.0505, 0.0501) == "Far Lane"        # no other street within 250 m
    assert streets.label(0.02, 0.02) == ""                     # nothing named within 400 m


def test_given_name_wins_then_streets_then_coordinates() -> None:
    streets = street_index(_graph())
    frame = pd.DataFrame({"name": ["UBS Centro", "", "nan"], "lon": [0.0008, 0.0008, 0.02], "lat": [0.0001, 0.0001, 0.02]})
    assert list(place_labels(frame, streets)) == ["UBS Centro", "Main Street, near Side <b>Road</b>", "0.0200, 0.0200"]
    assert list(place_labels(frame, None)) == ["UBS Centro", "0.0001, 0.0008", "0.0200, 0.0200"]
    assert street_index(nx.MultiDiGraph()) is None


def test_districts_get_labels_and_sites_their_district() -> None:
    streets = street_index(_graph())
    demand = pd.DataFrame({"population": [10.0, 5.0, 100.0, 1.0], "lon": [0.0008, 0.0009, 0.0505, -0.2],
                           "lat": [0.0001, 0.0001, 0.0501, -0.2]})
    keys = pd.Series(["A", "A", "B", "C"])
    named = district_labels(demand, keys, pd.Series(["A", "A", "Bairro B", "C"]), streets)
    assert list(named) == ["around Main Street", "around Main Street", "Bairro B", "south-west 1"]
    assert all(n != k for n, k in zip(named, keys))
    twice = district_labels(demand, pd.Series(["A", "D", "B", "C"]), pd.Series(["A", "D", "Bairro B", "C"]), streets)
    assert list(twice[:2]) == ["around Main Street [A]", "around Main Street [D]"]
    demand["district_name"] = named
    sites = pd.DataFrame({"name": [""], "lon": [0.0506], "lat": [0.0502]})
    named_sites = name_sites(sites, demand, streets)
    assert named_sites.loc[0, "place"] == "Far Lane" and named_sites.loc[0, "district"] == "Bairro B"
    assert list(sites.columns) == ["name", "lon", "lat"]   # a new frame: the input is left as it is


def test_compass() -> None:
    assert [compass(1, 0), compass(1, 1), compass(0, -1), compass(-1, -1), compass(0, 0)] == \
        ["east", "north-east", "south", "south-west", "centre"]


def test_a_merged_way_names_the_same_street_whatever_the_order_of_its_names() -> None:
    """osmnx merges the names of simplified ways through a set, so their order changes from run to run."""
    labels = []
    for names in (["Rua Álvares Penteado", "Rua Alvares Penteado"], ["Rua Alvares Penteado", "Rua Álvares Penteado"]):
        g = nx.MultiDiGraph()
        g.add_node(0, x=0.0, y=0.0)
        g.add_node(1, x=DEG, y=0.0)
        g.add_edge(0, 1, name=names)
        streets = street_index(g)
        assert streets is not None
        labels.append(streets.label(0.0005, 0.0001))
    assert labels[0] == labels[1] == "Rua Alvares Penteado"


def test_an_unnamed_feature_is_named_by_its_streets_with_its_type_after() -> None:
    """An OSM feature with only a type ("building") is never named by the type alone."""
    streets = street_index(_graph())
    frame = pd.DataFrame({"name": [unnamed("building"), unnamed("clinic"), "Mannerheimintie 5 — building"],
                          "lon": [0.0008, 0.02, 0.0008], "lat": [0.0001, 0.02, 0.0001]})
    assert list(place_labels(frame, streets)) == ["Main Street, near Side <b>Road</b> — building",
                                                  "0.0200, 0.0200 — clinic", "Mannerheimintie 5 — building"]


def test_districts_take_the_osm_place_at_their_centre() -> None:
    """A suburb area holding the district's centre names it; else a place node within PLACE_RADIUS_M; else streets."""
    places = gpd.GeoDataFrame({"name": ["Big suburb", "Small quarter", "Far node", "Near node"]}, geometry=[
        shapely.box(-0.01, -0.01, 0.01, 0.01), shapely.box(0.0005, 0.0, 0.001, 0.0005),
        shapely.Point(0.3, 0.3), shapely.Point(0.051, 0.055)], crs=4326)
    streets = street_index(_graph(), places)
    assert streets is not None
    assert streets.place(0.0008, 0.0001) == "Small quarter"      # the smallest area holding the point
    assert streets.place(-0.005, 0.0) == "Big suburb"
    assert streets.place(0.0505, 0.0501) == "Near node"          # ~550 m from the node
    assert streets.place(-0.2, -0.2) == ""                         # no area, every node beyond 1.5 km
    demand = pd.DataFrame({"population": [10.0, 100.0, 1.0], "lon": [0.0008, 0.0505, -0.2],
                           "lat": [0.0001, 0.0501, -0.2]})
    named = district_labels(demand, pd.Series(["A", "B", "C"]), pd.Series(["A", "B", "C"]), streets)
    assert list(named) == ["Small quarter", "Near node", "south-west 1"]
    # two districts in one place: their streets tell them apart (A has no street within 400 m: the place alone)
    two = pd.DataFrame({"population": [10.0, 5.0], "lon": [-0.0095, 0.0008], "lat": [-0.0095, 0.0001]})
    places_one = gpd.GeoDataFrame({"name": ["Big suburb"]}, geometry=[shapely.box(-0.01, -0.01, 0.01, 0.01)], crs=4326)
    one = street_index(_graph(), places_one)
    assert list(district_labels(two, pd.Series(["A", "B"]), pd.Series(["A", "B"]), one)) == \
        ["Big suburb", "Big suburb, around Main Street"]


def test_a_grid_cell_site_has_its_cell_size() -> None:
    """The width of an H3 cell from its own area: a regular hexagon of area A is sqrt(2A/sqrt(3)) across."""
    cell = h3.latlng_to_cell(-30.03, -51.2, 9)
    width = (2 * h3.cell_area(cell, unit="m^2") / 3 ** 0.5) ** 0.5
    assert cell_size_m(cell) == pytest.approx(width, abs=5) and cell_size_m(cell) % 10 == 0
    assert 250 < cell_size_m(cell) < 400                          # resolution 9: about 0.1 km2
    assert cell_size_m("node/1") is None and cell_size_m("way/2") is None
