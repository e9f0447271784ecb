"""The Python face (allocator.api): problems from arrays, from GeoDataFrames and from a scenario.

Each answer is checked against one derived independently: brute force over
every set of candidate sites, shortest paths computed by networkx, or the
YAML run of the same scenario.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import Point, box

import allocator as al
from allocator import pipeline
from allocator.outputs.summary import summary
from allocator.scenario.loader import load_scenario
from allocator.traveltime.network import WALK_SPEED_KPH
from allocator.traveltime.network_source import times_on_network

INF = np.inf
#: 6 demand locations x 5 sites (site "a" exists today); minutes, inf: unreachable
TIMES = pd.DataFrame([[3.0, 12.0, 25.0, 8.0, INF],
                      [14.0, 4.0, 30.0, 11.0, 16.0],
                      [22.0, 9.0, 6.0, 13.0, 7.0],
                      [INF, 18.0, 5.0, 21.0, 9.0],
                      [17.0, 26.0, 11.0, 2.0, 15.0],
                      [28.0, 13.0, 19.0, 24.0, 3.0]],
                     index=[f"d{i}" for i in range(6)], columns=["a", "b", "c", "d", "e"])
PEOPLE = np.array([120.0, 80.0, 60.0, 150.0, 40.0, 90.0])


def brute_force(times: np.ndarray, people: np.ndarray, existing: list[int], candidates: list[int], p: int,
                value) -> tuple[tuple[int, ...], float, float]:
    """The best and second-best value of ``value(nearest minutes)`` over every set of ``p`` candidates."""
    scored = sorted(((value(times[:, existing + list(chosen)].min(axis=1)), chosen)
                     for chosen in itertools.combinations(candidates, p)), key=lambda t: -t[0])
    return scored[0][1], scored[0][0], scored[1][0]


def covered(threshold: float):
    return lambda nearest: float(PEOPLE[nearest <= threshold].sum())


def test_from_cost_matrix_max_coverage_is_the_brute_force_optimum() -> None:
    problem = al.Problem.from_cost_matrix(TIMES, PEOPLE, existing=["a"])
    plan = al.solve(problem, objective="max_coverage", p=2, threshold_min=10)
    columns, solved = list(problem.services[0].demand.columns), plan.solution.objective
    result = al.evaluate(problem, plan)
    assert list(problem.services[0].demand.columns) == columns, "evaluation adds columns to new frames only"
    assert plan.solution.objective == solved and al.evaluate(problem, plan).after == result.after
    best, value, second = brute_force(TIMES.to_numpy(), PEOPLE, [0], [1, 2, 3, 4], 2, covered(10))
    assert value > second, "the instance has one optimum"
    assert sorted(result.sites.loc[result.sites["status"] == al.SiteStatus.NEW, "id"]) == \
        sorted(TIMES.columns[list(best)])
    assert result.after.within == value
    assert result.before.within == covered(10)(TIMES[["a"]].to_numpy().min(axis=1))
    assert result.after.within_share == pytest.approx(value / PEOPLE.sum())


def test_from_cost_matrix_p_median_is_the_brute_force_optimum() -> None:
    finite = TIMES.replace(INF, 60.0)
    problem = al.Problem.from_cost_matrix(finite.to_numpy(), PEOPLE, existing=[True, False, False, False, False])
    plan = al.solve(problem, objective="p_median", p=1, threshold_min=15)
    best, value, second = brute_force(finite.to_numpy(), PEOPLE, [0], [1, 2, 3, 4], 1,
                                      lambda nearest: -float(PEOPLE @ nearest))
    assert value > second
    assert plan.solution.new_sites.tolist() == [best[0]]   # positions: the existing site first, then candidates
    result = al.evaluate(problem, plan)
    assert result.after.mean_min == pytest.approx(-value / PEOPLE.sum(), rel=1e-12)
    assert result.sites["status"].tolist() == ["existing", "new"]


def test_from_cost_matrix_site_choice_and_errors() -> None:
    only = al.Problem.from_cost_matrix(TIMES, PEOPLE, existing=["a"], candidates=["c", "e"])
    assert only.services[0].sites["id"].tolist() == ["a", "c", "e"]   # sites in neither set are left out
    np.testing.assert_array_equal(only.services[0].cost, TIMES[["a", "c", "e"]].to_numpy())
    with pytest.raises(ValueError, match="both existing and a candidate"):
        al.Problem.from_cost_matrix(TIMES, PEOPLE, existing=["a"], candidates=["a", "b"])
    with pytest.raises(ValueError, match="objective= and threshold_min="):
        al.solve(only, p=1)


# --- from GeoDataFrames, on a small synthetic road graph ---------------------------------------

STEP = 0.001   # degrees between grid nodes (about 111 m)


def grid_graph(n: int = 4) -> nx.MultiDiGraph:
    """An n x n street grid near (0, 0), both directions, lengths in metres (no travel times yet)."""
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i, j in itertools.product(range(n), range(n)):
        graph.add_node(i * n + j, x=j * STEP, y=i * STEP)
    for i, j in itertools.product(range(n), range(n)):
        for di, dj in ((0, 1), (1, 0)):
            if i + di < n and j + dj < n:
                u, v = i * n + j, (i + di) * n + j + dj
                length = 111.0 * (1.0 + 0.3 * ((u + v) % 3))   # uneven blocks: one shortest path
                graph.add_edge(u, v, length=length)
                graph.add_edge(v, u, length=length)
    return graph


def test_from_geodataframes_on_a_graph_is_the_shortest_path_optimum(tmp_path: Path) -> None:
    graph = grid_graph()
    xy = {node: (data["x"], data["y"]) for node, data in graph.nodes(data=True)}
    homes = [0, 3, 5, 10, 12, 15]
    demand = gpd.GeoDataFrame({"id": [f"h{k}" for k in homes], "population": PEOPLE},
                              geometry=[box(xy[k][0] - 1e-4, xy[k][1] - 1e-4, xy[k][0] + 1e-4, xy[k][1] + 1e-4)
                                        for k in homes], crs="EPSG:4326")   # polygons centred on nodes
    existing = gpd.GeoDataFrame({"id": ["s0"], "name": ["Old clinic"]}, geometry=[Point(xy[0])], crs="EPSG:4326")
    spots = [6, 9, 11, 14]
    candidates = gpd.GeoDataFrame({"id": [f"c{k}" for k in spots]}, geometry=[Point(xy[k]) for k in spots],
                                  crs="EPSG:4326")
    problem = al.Problem.from_geodataframes(demand, existing, candidates, network=graph, mode="walk")
    plan = al.solve(problem, objective="p_median", p=1, threshold_min=5)
    result = al.evaluate(problem, plan)

    metres_per_min = WALK_SPEED_KPH * 1000 / 60
    minutes = np.array([[nx.shortest_path_length(graph, h, s, weight="length") / metres_per_min
                         for s in [0, *spots]] for h in homes])
    best, value, second = brute_force(minutes, PEOPLE, [0], [1, 2, 3, 4], 1, lambda t: -float(PEOPLE @ t))
    assert value > second
    new = result.sites.loc[result.sites["status"] == al.SiteStatus.NEW, "id"].tolist()
    assert new == [f"c{spots[best[0] - 1]}"]
    assert result.after.mean_min == pytest.approx(-value / PEOPLE.sum(), rel=1e-6)
    np.testing.assert_allclose(problem.services[0].cost, minutes, rtol=1e-6, atol=1e-6)   # polygon centroids: ~0 m off
    assert result.sites["name"].tolist()[0] == "Old clinic"

    # the same problem with the travel times given as a matrix (by ids) gives the same plan and metrics
    matrix = pd.DataFrame(minutes, index=demand["id"], columns=["s0", *candidates["id"]])
    again = al.Problem.from_geodataframes(demand, existing, candidates, matrix=matrix)
    twice = al.evaluate(again, al.solve(again, objective="p_median", p=1, threshold_min=5))
    assert twice.sites["id"].tolist() == result.sites["id"].tolist()
    assert dict(twice.after) == pytest.approx(dict(result.after), rel=1e-6)

    written = al.write(result, tmp_path / "out", tiles=False)   # every output, as a scenario's run writes them
    doc = json.loads((written / "summary.json").read_text())
    assert [s["id"] for s in doc["services"][0]["new_sites"]] == new and (written / "report.html").is_file()



def test_from_geodataframes_keeps_a_graphs_own_travel_times_as_times_on_network_does() -> None:
    graph = grid_graph()
    for u, v, data in graph.edges(data=True):   # the user's own speeds, slower one way than the other
        data["travel_time"] = data["length"] / (2.0 if u < v else 0.5)
    xy = {node: (data["x"], data["y"]) for node, data in graph.nodes(data=True)}
    homes, spots = [0, 3, 5, 10, 12, 15], [6, 9, 11, 14]
    demand = gpd.GeoDataFrame({"id": [f"h{k}" for k in homes], "population": PEOPLE},
                              geometry=[Point(xy[k]) for k in homes], crs="EPSG:4326")
    candidates = gpd.GeoDataFrame({"id": [f"c{k}" for k in spots]}, geometry=[Point(xy[k]) for k in spots],
                                  crs="EPSG:4326")
    problem = al.Problem.from_geodataframes(demand, None, candidates, network=graph, mode="drive")
    minutes = np.array([[nx.shortest_path_length(graph, h, s, weight="travel_time") / 60 for s in spots]
                        for h in homes])
    np.testing.assert_allclose(problem.services[0].cost, minutes, rtol=1e-9, atol=1e-9)
    same = times_on_network(graph, "drive", [xy[k] for k in homes], [xy[k] for k in spots], max_snap_m=500.0)
    np.testing.assert_allclose(problem.services[0].cost, same, rtol=1e-9)   # the points located alike, ~1e-12
    assert problem.prepared.network is not None and problem.prepared.network.nodes_kept == graph.number_of_nodes()

# --- from a scenario: the same as the YAML run --------------------------------------------------

HEX = "catalog:sao_paulo/spo_hexgrid.csv"
CELLS = {"source": HEX, "h3": "id", "id": "id"}
SCENARIO = {
    "name": "spo_api",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "districts": {"h3_parent": 7},
    "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 3,
                  "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
    "output": {"tiles": False},
}


def test_from_scenario_solves_as_the_yaml_run(tmp_path: Path, mirror: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALLOCATOR_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("ALLOCATOR_CACHE", os.environ.get("ALLOCATOR_CACHE") or str(tmp_path / "cache"))
    path = tmp_path / "spo.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    scenario = load_scenario(path)
    reference = pipeline.run(scenario, log=pipeline.Progress(quiet=True))

    problem = al.Problem.from_scenario(path)
    result = al.evaluate(problem, al.solve(problem))
    new = result.sites.loc[result.sites["status"] == al.SiteStatus.NEW, "id"].tolist()
    assert len(new) == 3
    assert new == reference.sites.loc[reference.sites["status"] == "new", "id"].tolist()
    assert result.before == reference.before and result.after == reference.after
    ours, theirs = summary(result), summary(reference)
    ours.pop("timings"), theirs.pop("timings")
    assert ours == theirs   # every figure of summary.json, equity and districts included

    fewer = al.evaluate(problem, al.solve(problem, p=2))   # a rule given in Python replaces the scenario's
    assert (fewer.sites["status"] == al.SiteStatus.NEW).sum() == 2 and fewer.after.within <= result.after.within
    assert fewer.info.resolved["services"][0]["p"] == 2 and result.info.resolved["services"][0]["p"] == 3

    again = al.run_scenario(path, out=tmp_path / "out")
    assert (tmp_path / "out" / "spo_api" / "summary.json").is_file()
    assert again.after == reference.after


def test_porto_alegre_clinics_from_geodataframes_as_the_yaml_run(mirror: Path, tmp_path: Path, monkeypatch) -> None:
    """The README's question asked from Python: the same ten cells, the same access, as scenarios/poa_clinics.yaml."""
    import h3

    from allocator.scenario import catalog

    monkeypatch.setenv("ALLOCATOR_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("ALLOCATOR_CACHE", os.environ.get("ALLOCATOR_CACHE") or str(tmp_path / "cache"))
    cells = pd.read_csv(catalog.resolve("catalog:porto_alegre/poa_hexgrid.csv"), dtype={"id": str})
    lat, lon = zip(*(h3.cell_to_latlng(c) for c in cells["id"]), strict=True)
    grid = gpd.GeoDataFrame(cells, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")   # cell centres
    clinics = grid[grid["healthcare"].fillna(0) > 0].rename(columns={"healthcare": "count"})
    candidates = grid[~grid["id"].isin(clinics["id"])]
    problem = al.Problem.from_geodataframes(grid, clinics, candidates, mode="walk",
                                            network=catalog.resolve("catalog:porto_alegre/poa_osm.pbf"))
    result = al.evaluate(problem, al.solve(problem, objective="max_coverage", p=10, threshold_min=15))
    reference = al.run_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "poa_clinics.yaml")
    new = result.sites.loc[result.sites["status"] == al.SiteStatus.NEW, "id"]
    assert sorted(new) == sorted(reference.sites.loc[reference.sites["status"] == "new", "id"]) and len(new) == 10
    assert dict(result.after) == pytest.approx(dict(reference.after), rel=1e-9)
    assert dict(result.before) == pytest.approx(dict(reference.before), rel=1e-9)


def test_a_cost_matrix_problem_cannot_be_drawn(tmp_path: Path) -> None:
    problem = al.Problem.from_cost_matrix(TIMES, PEOPLE)
    result = al.evaluate(problem, al.solve(problem, objective="max_coverage", p=1, threshold_min=10))
    with pytest.raises(ValueError, match="Problem.from_geodataframes"):
        al.write(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_brief_of_a_cost_matrix_problem_names_locations_by_their_ids() -> None:
    """A problem from a cost matrix has no coordinates: who is still beyond T, and the longest trip, are named
    by the demand ids (by hand: only site s0 covers both "a" and "c", so it opens; "b" reaches it in 30 min, beyond T = 10)."""
    times = pd.DataFrame([[5.0, 20.0, 12.0], [30.0, 40.0, 42.0], [8.0, 8.0, 3.0]], index=["a", "b", "c"],
                         columns=["s0", "s1", "s2"])
    problem = al.Problem.from_cost_matrix(times, [100, 50, 70])
    result = al.evaluate(problem, al.solve(problem, objective="max_coverage", p=1, threshold_min=10))
    brief = result.services[0].brief
    assert [(u.place, u.people) for u in brief.underserved] == [("b", 50.0)]
    assert brief.longest is not None and (brief.longest.where, brief.longest.minutes) == ("b", 30.0)
