"""Whole runs on hostile inputs at the boundary: each ends in exit 2 naming the file, or exit 0 with a note.

The small São Paulo scenario of ``test_hostile.py`` with one input replaced
by a file built in ``tmp_path``: demand polygons that GEOS cannot union (the
map dissolves them after the solve), a GeoJSON at longitude 500, district
polygons that cover no demand, a district column with empty cells, demand
ids holding ``~``, ``|``, ``/`` and spaces, an OpenStreetMap network with a
node at -466°, and a network cache whose header claims 9e11 bytes (in a
child process with a memory limit, so a regression fails instead of
exhausting the machine).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import geopandas as gpd
import h3
import pandas as pd
import pytest
from conftest import mirrored_env
from shapely.geometry import Polygon, box
from test_hostile import SMALL, assert_clean_error, cli, run_child

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def shared_env(tmp_path_factory, mirror: Path):
    with mirrored_env(mirror, tmp_path_factory.mktemp("hb-cache")):
        yield


@pytest.fixture(scope="module")
def hexgrid(mirror: Path) -> pd.DataFrame:
    return pd.read_csv(mirror / "sao_paulo" / "spo_hexgrid.csv", dtype={"id": str})


def _scenario(**changes) -> dict:
    doc = copy.deepcopy(SMALL)
    doc.update(changes)
    return doc


def _with_demand(path: Path, **layer) -> dict:
    doc = _scenario()
    doc["demand"] = [{"name": "residents", "source": str(path), **layer}]
    return doc


def _summary_notes(folder: Path) -> list[str]:
    summary = json.loads((folder / "out" / "hs" / "summary.json").read_text())
    return [note for service in summary["services"] for note in service["notes"]]


def test_self_intersecting_demand_polygons_are_repaired_and_the_map_is_written(tmp_path: Path, capsys,
                                                                                hexgrid: pd.DataFrame) -> None:
    shapes = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in hexgrid["id"][:40]]
    x0, y0, x1, y1 = shapes[0].bounds
    shapes[0] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])   # a bowtie: GEOS fails to union it
    gpd.GeoDataFrame({"zone": [f"z{i}" for i in range(40)], "pop": 100}, geometry=shapes,
                     crs="EPSG:4326").to_file(tmp_path / "zones.geojson")
    code, err = cli(tmp_path, _with_demand(tmp_path / "zones.geojson", id="zone", population="pop"), capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "hs" / "map.html").stat().st_size > 0
    assert "demand[0].source: 1 invalid shapes in zones.geojson (e.g. self-intersecting) were repaired with " \
           "make_valid" in _summary_notes(tmp_path)


def test_geojson_at_longitude_500_names_the_file(tmp_path: Path, capsys) -> None:
    gpd.GeoDataFrame({"pop": [5, 6]}, geometry=gpd.points_from_xy([500, 500.01], [10, 10]),
                     crs="EPSG:4326").to_file(tmp_path / "far.geojson")
    code, err = cli(tmp_path, _with_demand(tmp_path / "far.geojson", population="pop"), capsys)
    assert_clean_error(code, err, str(tmp_path / "far.geojson"), "demand[0].source", "out of range",
                       "is the layer's CRS right?")
    assert not (tmp_path / "out").exists()


def test_district_polygons_covering_no_demand_are_an_error_naming_them(tmp_path: Path, capsys) -> None:
    swapped = [box(-23.6, -46.7, -23.5, -46.63), box(-23.6, -46.63, -23.5, -46.55)]   # lat/lon swapped
    gpd.GeoDataFrame({"code": ["W", "E"]}, geometry=swapped, crs="EPSG:4326").to_file(tmp_path / "d.gpkg")
    code, err = cli(tmp_path, _scenario(districts={"source": "d.gpkg", "id": "code"}), capsys)
    assert_clean_error(code, err, str(tmp_path / "d.gpkg"), "districts.source",
                       "no demand location falls inside any of the 2 district polygons", "CRS")
    assert not (tmp_path / "out").exists()


def test_demand_outside_the_districts_and_empty_districts_are_run_notes(tmp_path: Path, capsys) -> None:
    west, far = box(-46.70, -23.60, -46.635, -23.50), box(10, 10, 11, 11)   # half the demand, and none
    gpd.GeoDataFrame({"code": ["W", "far"]}, geometry=[west, far], crs="EPSG:4326").to_file(tmp_path / "d.gpkg")
    code, err = cli(tmp_path, _scenario(districts={"source": "d.gpkg", "id": "code"}), capsys)
    assert code == 0, err
    notes = _summary_notes(tmp_path)
    assert any(n.startswith("districts.source: ") and "fall outside every district polygon of d.gpkg" in n
               for n in notes), notes
    assert "districts.source: 1 districts of d.gpkg contain no demand location (first: far); they are left out " \
           "of the district figures" in notes
    districts = pd.read_csv(tmp_path / "out" / "hs" / "districts.csv")
    assert set(districts["district"]) == {"W", "outside"}


def test_district_column_with_empty_cells_names_file_column_and_lines(tmp_path: Path, capsys,
                                                                      hexgrid: pd.DataFrame) -> None:
    table = hexgrid.assign(bairro=["A", "B"] * (len(hexgrid) // 2) + ["A"] * (len(hexgrid) % 2))
    table.loc[[1, 4], "bairro"] = ["", "nan"]
    table.to_csv(tmp_path / "h.csv", index=False)
    code, err = cli(tmp_path, _with_demand(tmp_path / "h.csv", h3="id", id="id", population="population") | {
        "districts": {"column": "bairro"}}, capsys)
    assert_clean_error(code, err, str(tmp_path / "h.csv"), "districts.column", "2 rows have no district",
                       "line 3, line 6")


def test_demand_ids_are_opaque_strings_for_district_columns(tmp_path: Path, capsys, hexgrid: pd.DataFrame) -> None:
    marks = ["~", "|", "/", " "]
    table = hexgrid.assign(pid=[f"cell{marks[i % 4]}{i}" for i in range(len(hexgrid))],
                           bairro=[f"D{i % 3}" for i in range(len(hexgrid))])
    table.to_csv(tmp_path / "h.csv", index=False)
    doc = _with_demand(tmp_path / "h.csv", lon="lon", lat="lat", id="pid", population="population")
    code, err = cli(tmp_path, doc | {"districts": {"column": "bairro"}}, capsys)
    assert code == 0, err
    districts = pd.read_csv(tmp_path / "out" / "hs" / "districts.csv")
    assert sorted(districts["district"]) == ["D0", "D1", "D2"]
    assert districts["locations"].sum() == len(hexgrid)


def test_network_node_at_minus_466_degrees_names_the_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "roads.osm").write_text("""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
 <node id="1" version="1" lat="-23.55" lon="-466.63"/>
 <node id="2" version="1" lat="-23.551" lon="-46.631"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
</osm>
""")
    code, err = cli(tmp_path, _scenario(network={"source": "roads.osm", "mode": "walk"}), capsys)
    assert_clean_error(code, err, str(tmp_path / "roads.osm"), "coordinates are out of range")


def test_network_cache_header_claiming_9e11_bytes_is_rebuilt_in_bounded_memory(tmp_path: Path, mirror: Path) -> None:
    scenario = tmp_path / "s.yaml"
    doc = _scenario(network={"source": str(mirror / "sao_paulo" / "spo_osm.pbf"), "mode": "walk"})
    doc["demand"][0]["source"] = doc["services"][0]["candidates"]["source"] = \
        str(mirror / "sao_paulo" / "spo_hexgrid.csv")
    scenario.write_text(json.dumps(doc))
    env = {"ALLOCATOR_CACHE": str(tmp_path / "cache")}
    assert run_child(scenario, env=env).returncode == 0
    (entry,) = (tmp_path / "cache" / "networks").glob("network-*.json")
    header, payload = entry.read_bytes().split(b"\n", 1)
    entry.write_bytes(json.dumps({**json.loads(header), "bytes": 9e11}).encode() + b"\n" + payload)
    done = run_child(scenario, env=env)
    assert done.returncode == 0, done.stderr
    new_header, new_payload = entry.read_bytes().split(b"\n", 1)
    assert json.loads(new_header)["bytes"] == len(new_payload) == os.path.getsize(entry) - len(new_header) - 1, \
        "the entry was rebuilt"


def test_over_long_input_path_is_an_input_error(tmp_path: Path, capsys) -> None:
    code, err = cli(tmp_path, _with_demand(tmp_path / ("d" * 300 + ".csv"), h3="id", population="population"), capsys)
    assert_clean_error(code, err, "demand[0].source", "file not found", "d" * 300)

