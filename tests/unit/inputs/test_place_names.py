"""Labels of places: a given name first, else the nearest named streets, else coordinates; districts never a bare code."""

from __future__ import annotations

import networkx as nx
import pandas as pd

from allocator.inputs.place_names import compass, district_labels, name_sites, place_labels, street_index

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
    assert list(place_labels(frame, streets)) == ["UBS Centro", "Main Street, near Side <b>Road</b>", "0.02000, 0.02000"]
    assert list(place_labels(frame, None)) == ["UBS Centro", "0.00010, 0.00080", "0.02000, 0.02000"]
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


def test_built_labels_connect_names_in_the_report_language() -> None:
    """In Chinese the connecting words of a built label are Chinese and the street names stay as they are."""
    streets = street_index(_graph(), "zh")
    assert streets.label(0.0008, 0.0001) == "Main Street（靠近Side <b>Road</b>）"
    frame = pd.DataFrame({"lon": [0.0008, 0.0008, 0.5], "lat": [0.0001, 0.0001, -0.5], "population": [10, 10, 5]})
    keys = pd.Series(["A", "A", "C"])
    named = district_labels(frame, keys, keys, streets)
    assert list(named) == ["Main Street一带", "Main Street一带", "东南部1区"]
    assert list(district_labels(frame, keys, keys, streets, "en")) == ["around Main Street", "around Main Street",
                                                                        "south-east 1"]
