"""Library exceptions at the input boundary become AllocatorErrors; silent wrong results become errors or notes.

Each test builds the hostile file in ``tmp_path`` and reads it through the
reader a run uses: coordinates out of range or in a CRS without a way to
WGS84 (:mod:`allocator.inputs.crs`), data near the poles (no UTM zone),
invalid polygons, H3 numbers beyond 64 bits, OpenStreetMap nodes out of
range, district columns and polygons that cannot group the demand, opaque
ids, an over-long path and a network cache whose header claims more bytes
than the file holds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from allocator.errors import AllocatorError
from allocator.inputs.crs import metric_crs
from allocator.inputs.dasymetric import spread_over_buildings
from allocator.inputs.districts import OUTSIDE_NAME, assign_districts
from allocator.inputs.layers import combine_layers, locate, read_layer
from allocator.inputs.osm_features import read_features
from allocator.inputs.raster import read_raster_layer
from allocator.scenario.paths import Origin
from allocator.scenario.schema import DemandLayer, DistrictSpec, LayerSpec
from allocator.traveltime import cache
from allocator.traveltime.graph import network_arrays, snap_points
from allocator.traveltime.network import load_network

CRS_HINT = "is the layer's CRS right?"
ENGINEERING_CRS = ('ENGCRS["site grid",EDATUM["site"],CS[Cartesian,2],AXIS["x",east,ORDER[1],LENGTHUNIT["metre",1]],'
                   'AXIS["y",north,ORDER[2],LENGTHUNIT["metre",1]]]')


def _geojson(path: Path, geometries: list, **columns: list) -> Path:
    """A GeoJSON file (EPSG:4326 by definition) of ``geometries`` with ``columns``."""
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(g),
                 "properties": {k: v[i] for k, v in columns.items()}} for i, g in enumerate(geometries)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _read(path: Path, **spec: str) -> gpd.GeoDataFrame:
    return read_layer(path, LayerSpec(source=path.name, **spec), value_column="pop", field="demand[0]")


def _bowtie(x: float, y: float, size: float = 0.01) -> Polygon:
    """A self-intersecting quadrilateral: GEOS fails on it in union and overlay."""
    return Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size), (x, y)])


# --------------------------------------------------------------------------- #
# coordinates out of range, CRS conversion, the poles                          #
# --------------------------------------------------------------------------- #

def test_geojson_at_longitude_500_names_the_file_and_asks_about_the_crs(tmp_path: Path) -> None:
    path = _geojson(tmp_path / "d.geojson", [Point(500, 10), Point(10, 10)], pop=[1, 2])
    with pytest.raises(AllocatorError) as info:
        _read(path)
    assert info.value.file == str(path) and info.value.field == "demand[0].source"
    assert "out of range" in info.value.message and "lon=500" in info.value.message
    assert CRS_HINT in info.value.fix


def test_polygons_in_metres_declared_as_degrees_are_refused(tmp_path: Path) -> None:
    metres = gpd.GeoDataFrame({"pop": [5]}, geometry=[box(333_000, 7_390_000, 334_000, 7_391_000)], crs="EPSG:31983")
    metres.set_crs("EPSG:4326", allow_override=True).to_file(tmp_path / "z.gpkg")
    with pytest.raises(AllocatorError) as info:
        _read(tmp_path / "z.gpkg")
    assert info.value.file == str(tmp_path / "z.gpkg") and CRS_HINT in info.value.fix


def test_csv_lon_lat_out_of_range_names_the_columns(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,lon,lat,pop\na,-46.6,-23.5,1\nb,-466.6,-23.5,2\n")
    with pytest.raises(AllocatorError) as info:
        _read(tmp_path / "d.csv", id="id", lon="lon", lat="lat")
    assert info.value.field == "demand[0].lon/lat" and "row 2" in info.value.message and CRS_HINT in info.value.fix


def test_raster_zones_in_metres_declared_as_degrees_name_the_zones_file(tmp_path: Path) -> None:
    from test_raster import ORIGIN, write_tif

    tif = write_tif(tmp_path / "p.tif", np.ones((64, 64), dtype="float32"))
    zone = box(ORIGIN[0], ORIGIN[1] - 6400, ORIGIN[0] + 6400, ORIGIN[1])   # the raster's UTM metres, said to be degrees
    gpd.GeoDataFrame({"code": ["z"]}, geometry=[zone], crs="EPSG:4326").to_file(tmp_path / "zones.gpkg")
    layer = DemandLayer(source="p.tif", raster={"aggregate": "polygons", "zones": "zones.gpkg"})
    with pytest.raises(AllocatorError, match="out of range") as info:
        read_raster_layer(tif, layer, "demand[0]", tmp_path / "zones.gpkg")
    assert info.value.file == str(tmp_path / "zones.gpkg") and info.value.field == "demand[0].raster.zones.source"
    assert CRS_HINT in info.value.fix


def test_layer_crs_without_a_way_to_wgs84_is_an_input_error(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"pop": [1]}, geometry=[Point(10, 10)], crs=pyproj.CRS.from_wkt(ENGINEERING_CRS))
    frame.to_file(tmp_path / "site.gpkg")
    with pytest.raises(AllocatorError, match="cannot convert the layer's CRS to WGS84") as info:
        _read(tmp_path / "site.gpkg")
    assert info.value.file == str(tmp_path / "site.gpkg") and info.value.field == "demand[0].source"


@pytest.mark.parametrize("number", ["NaN", "Infinity"])
def test_shapes_with_coordinates_that_are_not_numbers_name_the_row(tmp_path: Path, number: str) -> None:
    features = [f'{{"type": "Feature", "properties": {{"pop": 1}}, "geometry": {{"type": "Polygon", "coordinates": '
                f'[[[1, 1], [2, 1], [2, {y}], [1, 1]]]}}}}' for y in ("2", number)]
    path = tmp_path / "n.geojson"
    path.write_text(f'{{"type": "FeatureCollection", "features": [{", ".join(features)}]}}')
    with pytest.raises(AllocatorError, match="1 rows have coordinates that are not finite numbers \\(first: row 2\\)"):
        _read(path)


def test_metric_crs_is_utm_where_defined_and_equal_area_near_the_poles() -> None:
    assert metric_crs(-46.63, -23.55) == "EPSG:32723"   # São Paulo: UTM 23S, as geopandas estimates it
    for lat in (89.99, -89.99, 84.5, -80.5):
        crs = pyproj.CRS.from_user_input(metric_crs(10.0, lat))
        assert crs.is_projected and crs.axis_info[0].unit_name == "metre"


def test_polygons_at_the_north_pole_are_located_inside_themselves(tmp_path: Path) -> None:
    shapes = [box(-20, 89.5, 20, 89.9), Point(100, 89.99)]
    frame = _read(_geojson(tmp_path / "pole.geojson", shapes, pop=[10, 20]))
    assert frame["value"].tolist() == [10, 20]
    assert shapes[0].contains(Point(frame["lon"][0], frame["lat"][0]))
    assert (frame["lon"][1], frame["lat"][1]) == pytest.approx((100, 89.99))


def test_a_network_near_the_pole_snaps_in_metres() -> None:
    graph = nx.MultiDiGraph()
    graph.add_node(1, x=0.0, y=89.5)
    graph.add_node(2, x=0.01, y=89.5)
    graph.add_edge(1, 2, travel_time=10.0)
    graph.add_edge(2, 1, travel_time=10.0)
    arrays = network_arrays(graph)
    snapped = snap_points(arrays, np.array([0.0]), np.array([89.501]), max_distance_m=1000)
    assert snapped.node.tolist() == [0]
    assert snapped.distance_m[0] == pytest.approx(111.7, rel=0.01)   # 0.001° of latitude


def test_buildings_near_the_pole_are_measured_for_dasymetric_spreading() -> None:
    zones = gpd.GeoDataFrame({"id": ["z"], "value": [90.0], "name": ["Z"], "lon": [0.5], "lat": [89.55]},
                             geometry=[box(0, 89.5, 1, 89.6)], crs="EPSG:4326")
    houses = [box(0.1, 89.51, 0.2, 89.52), box(0.3, 89.51, 0.5, 89.52)]   # the second twice as wide
    located = locate(gpd.GeoSeries(houses, crs="EPSG:4326"))
    buildings = gpd.GeoDataFrame({"id": ["a", "b"], "value": 1.0, "name": "", "lon": located["lon"],
                                  "lat": located["lat"]}, geometry=houses, crs="EPSG:4326")
    frame, spread = spread_over_buildings(zones, buildings)
    assert frame["id"].tolist() == ["z/a", "z/b"] and spread.buildings == 2
    assert frame["value"].tolist() == pytest.approx([30.0, 60.0], rel=1e-3)


# --------------------------------------------------------------------------- #
# invalid shapes, H3 numbers, OpenStreetMap coordinates, paths                 #
# --------------------------------------------------------------------------- #

def test_self_intersecting_polygons_are_repaired_at_read_time_with_a_note(tmp_path: Path) -> None:
    shapes = [_bowtie(-46.64, -23.56), box(-46.62, -23.56, -46.61, -23.55)]
    assert shapely.union_all(shapes[1:]).is_valid
    with pytest.raises(shapely.errors.GEOSException):
        shapely.union_all(shapes, grid_size=1e-5)   # what the map's district and service layers do
    frame = _read(_geojson(tmp_path / "bow.geojson", shapes, pop=[1, 2]))
    assert frame.geometry.is_valid.all()
    shapely.union_all(frame.geometry.to_numpy(), grid_size=1e-5)
    assert frame.attrs["notes"] == ["demand[0].source: 1 invalid shapes in bow.geojson (e.g. self-intersecting) "
                                    "were repaired with make_valid"]
    assert _read(_geojson(tmp_path / "ok.geojson", shapes[1:], pop=[2])).attrs["notes"] == []


@pytest.mark.parametrize("cell", ["ffffffffffffffffffffff", "-1", "1" * 40])
def test_numbers_h3_cannot_hold_are_invalid_cells(tmp_path: Path, cell: str) -> None:
    (tmp_path / "h.csv").write_text(f"id,pop\n89a8100c603ffff,1\n{cell},2\n")
    with pytest.raises(AllocatorError, match="not valid H3 cells") as info:
        _read(tmp_path / "h.csv", id="id", h3="id")
    assert info.value.field == "demand[0].h3" and cell in info.value.message


def _osm(path: Path, lon: float) -> Path:
    path.write_text(f"""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
 <node id="1" version="1" lat="-23.55" lon="{lon}"><tag k="amenity" v="clinic"/></node>
 <node id="2" version="1" lat="-23.551" lon="-46.631"/>
 <node id="3" version="1" lat="-23.552" lon="-46.632"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
</osm>
""")
    return path


def test_openstreetmap_nodes_out_of_range_name_the_file(tmp_path: Path) -> None:
    path = _osm(tmp_path / "bad.osm", -466.63)
    with pytest.raises(AllocatorError, match="coordinates are out of range") as info:
        read_features(path, {"amenity": ["clinic"]}, "services[0].candidates")
    assert info.value.file == str(path) and "-180..180" in info.value.fix
    with pytest.raises(AllocatorError, match="coordinates are out of range") as info:
        load_network(path, "walk")
    assert info.value.file == str(path)
    assert len(read_features(_osm(tmp_path / "good.osm", -46.63), {"amenity": ["clinic"]}, "s")) == 1


def test_a_path_too_long_for_the_system_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / ("d" * 300 + ".csv")   # one name beyond NAME_MAX (ENAMETOOLONG)
    with pytest.raises(AllocatorError, match="cannot open the file") as info:
        _read(path, id="id", lon="lon", lat="lat")
    assert info.value.field == "demand[0].source" and info.value.file == str(path)


# --------------------------------------------------------------------------- #
# districts                                                                    #
# --------------------------------------------------------------------------- #

ORIGIN = Origin("districts")


def _demand(ids: list[str], lon: list[float], lat: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "lon": lon, "lat": lat, "population": [100.0] * len(ids)})


@pytest.mark.parametrize("cell", ["", "nan", "  "])
def test_district_column_with_empty_values_names_file_column_and_lines(tmp_path: Path, cell: str) -> None:
    (tmp_path / "p.csv").write_text(f"id,pop,bairro\na,1,X\nb,2,{cell}\nc,3,Y\n")
    layer = DemandLayer(source="p.csv", id="id", population="pop")
    frame = _demand(["a", "b", "c"], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    with pytest.raises(AllocatorError, match="1 rows have no district in column 'bairro' \\(line 3\\)") as info:
        assign_districts(frame, DistrictSpec(column="bairro"), tmp_path / "p.csv", ORIGIN, demand_layer=layer)
    assert info.value.file == str(tmp_path / "p.csv") and info.value.field == "districts.column"


def test_district_column_matches_opaque_ids(tmp_path: Path) -> None:
    ids = ["a~1", "b|2", "c/3", "d 4", "e"]
    pd.DataFrame({"id": ids, "pop": [1, 2, 3, 4, 5], "lon": [0.1, 0.2, 0.3, 0.4, 0.5], "lat": [0.1] * 5,
                  "bairro": ["N", "S", "N", "S", "N"]}).to_csv(tmp_path / "p.csv", index=False)
    spec = DemandLayer(source="p.csv", id="id", population="pop", lon="lon", lat="lat")
    first = read_layer(tmp_path / "p.csv", spec, value_column="pop", field="demand[0]")
    other = first.iloc[:2].assign(lon=[5.0, 6.0])   # a second layer reusing two ids at other places
    demand = combine_layers([(first, 1.0), (other, 1.0)]).rename(columns={"value": "population"})
    assert demand["id"].tolist() == [*ids, "a~1~1", "b|2~1"]
    keys, names = assign_districts(demand, DistrictSpec(column="bairro"), tmp_path / "p.csv", ORIGIN,
                                   demand_layer=spec)
    assert keys.tolist() == ["N", "S", "N", "S", "N", "unknown", "unknown"] and names.tolist() == keys.tolist()
    assert keys.attrs["notes"] == ["districts.column: 2 demand locations (3 people) are not rows of p.csv (they "
                                   "come from another demand layer): district 'unknown'"]


def test_combined_ids_stay_unique_when_a_layer_already_holds_a_suffix() -> None:
    def layer(ids: list[str], lon: list[float]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"id": ids, "value": 1.0, "name": "", "lon": lon, "lat": 0.0},
                                geometry=gpd.points_from_xy(lon, [0.0] * len(lon)), crs="EPSG:4326")

    demand = combine_layers([(layer(["a", "a~1"], [0.0, 1.0]), 1.0), (layer(["a", "a~1"], [2.0, 3.0]), 1.0)])
    assert demand["id"].tolist() == ["a", "a~1", "a~2", "a~1~1"]


def test_district_column_of_a_vector_layer_keeps_the_rows_the_layer_keeps(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"pop": [1, 2, 3], "bairro": ["X", "gone", "Z"]}, geometry=[Point(0.1, 0.1), None, Point(0.3, 0.3)],
                     crs="EPSG:4326").to_file(tmp_path / "p.gpkg")
    spec = DemandLayer(source="p.gpkg", population="pop")   # no id column: ids are row numbers of the kept rows
    demand = read_layer(tmp_path / "p.gpkg", spec, value_column="pop", field="demand[0]")
    keys, _ = assign_districts(demand, DistrictSpec(column="bairro"), tmp_path / "p.gpkg", ORIGIN, demand_layer=spec)
    assert demand["id"].tolist() == ["0", "1"] and keys.tolist() == ["X", "Z"]


def test_district_column_matching_no_demand_id_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("id,pop,bairro\na,1,X\nb,2,Y\n")
    layer = DemandLayer(source="p.csv", id="id", population="pop")
    frame = _demand(["a/way/1", "b/way/2"], [0.1, 0.2], [0.1, 0.2])   # a dasymetric layer's building ids
    with pytest.raises(AllocatorError, match="no demand location's id is the id of a row of p.csv") as info:
        assign_districts(frame, DistrictSpec(column="bairro"), tmp_path / "p.csv", ORIGIN, demand_layer=layer)
    assert info.value.file == str(tmp_path / "p.csv") and info.value.field == "districts.column"


def _districts(path: Path, shapes: list, codes: list) -> Path:
    gpd.GeoDataFrame({"code": codes, "label": [f"D {c}" for c in codes]}, geometry=shapes,
                     crs="EPSG:4326").to_file(path)
    return path


def test_district_polygons_containing_no_demand_are_an_error_suggesting_the_crs(tmp_path: Path) -> None:
    demand = _demand(["a", "b"], [-46.64, -46.60], [-23.55, -23.56])
    swapped = [box(-23.6, -46.7, -23.5, -46.62), box(-23.6, -46.62, -23.5, -46.55)]   # lat/lon swapped
    path = _districts(tmp_path / "d.gpkg", swapped, ["W", "E"])
    with pytest.raises(AllocatorError, match="no demand location falls inside any of the 2 district polygons") as info:
        assign_districts(demand, DistrictSpec(source="d.gpkg", id="code"), path, ORIGIN)
    assert info.value.file == str(path) and info.value.field == "districts.source" and "CRS" in info.value.fix


def test_district_polygons_in_metres_are_refused(tmp_path: Path) -> None:
    demand = _demand(["a"], [-46.64], [-23.55])
    metres = gpd.GeoSeries([box(-46.7, -23.6, -46.5, -23.5)], crs="EPSG:4326").to_crs("EPSG:31983")
    path = tmp_path / "d.gpkg"
    gpd.GeoDataFrame({"code": ["W"]}, geometry=metres.to_numpy(), crs="EPSG:4326").to_file(path)
    with pytest.raises(AllocatorError, match="out of range") as info:
        assign_districts(demand, DistrictSpec(source="d.gpkg", id="code"), path, ORIGIN)
    assert info.value.file == str(path) and CRS_HINT in info.value.fix


def test_demand_outside_and_districts_without_demand_are_notes(tmp_path: Path) -> None:
    demand = _demand(["a", "b", "c"], [0.5, 0.6, 9.0], [0.5, 0.5, 9.0])
    path = _districts(tmp_path / "d.gpkg", [box(0, 0, 1, 1), box(2, 0, 3, 1), _bowtie(4, 0, 1)], ["W", "E", "B"])
    keys, names = assign_districts(demand, DistrictSpec(source="d.gpkg", id="code", name_column="label"), path,
                                   ORIGIN)
    assert keys.tolist() == ["W", "W", "outside"] and names.tolist() == ["D W", "D W", OUTSIDE_NAME]
    assert keys.attrs["notes"] == [
        "districts.source: 1 invalid shapes in d.gpkg (e.g. self-intersecting) were repaired with make_valid",
        f"districts.source: 1 demand locations (100 people) fall outside every district polygon of d.gpkg: "
        f"grouped as '{OUTSIDE_NAME}'",
        "districts.source: 2 districts of d.gpkg contain no demand location (first: D E); they are left out of "
        "the district figures"]


def test_district_polygons_without_an_id_name_the_column(tmp_path: Path) -> None:
    path = _districts(tmp_path / "d.gpkg", [box(0, 0, 1, 1), box(1, 0, 2, 1)], ["W", None])
    with pytest.raises(AllocatorError, match="1 district polygons have no id in column 'code'") as info:
        assign_districts(_demand(["a"], [0.5], [0.5]), DistrictSpec(source="d.gpkg", id="code"), path, ORIGIN)
    assert info.value.file == str(path) and info.value.field == "districts.id"


# --------------------------------------------------------------------------- #
# the network cache                                                            #
# --------------------------------------------------------------------------- #

def _network(path: Path) -> Path:
    """Two residential streets crossing at node 2: a tiny walkable network."""
    corners = [(-46.630, -23.550), (-46.629, -23.550), (-46.628, -23.550), (-46.629, -23.549)]
    nodes = "".join(f' <node id="{i + 1}" version="1" lat="{lat}" lon="{lon}"/>\n' for i, (lon, lat) in
                    enumerate(corners))
    ways = "".join(f' <way id="{10 + i}" version="1">{"".join(f"<nd ref={chr(34)}{n}{chr(34)}/>" for n in refs)}'
                   '<tag k="highway" v="residential"/></way>\n' for i, refs in enumerate(((1, 2, 3), (2, 4))))
    path.write_text(f"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"test\">\n{nodes}"
                    f"{ways}</osm>\n")
    return path


@pytest.mark.parametrize("claim", [900_000_000_000, 9e11, "9e11", -5, None])
def test_cache_header_claiming_more_than_the_file_holds_is_rebuilt(tmp_path: Path, claim: object) -> None:
    source = _network(tmp_path / "block.osm")
    graph, report = load_network(source, "walk", cache_dir=tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("network-*.json")
    header_line, payload = entry.read_bytes().split(b"\n", 1)
    header = {**json.loads(header_line), "bytes": claim}
    entry.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    notes: list[str] = []
    again, second = load_network(source, "walk", cache_dir=tmp_path / "cache", log=notes.append)
    assert not second.from_cache and notes == [f"cache file {entry.name} was discarded and the network rebuilt: its "
                                               f"header claims {claim!r} bytes of content, which the file does not hold"]
    assert sorted(again.edges(data="travel_time")) == sorted(graph.edges(data="travel_time"))
    assert load_network(source, "walk", cache_dir=tmp_path / "cache")[1].from_cache, "the rebuilt entry is good"
    assert math.isfinite(report.seconds)


def test_cache_entry_with_the_right_size_is_read(tmp_path: Path) -> None:
    source = _network(tmp_path / "block.osm")
    load_network(source, "walk", cache_dir=tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("network-*.json")
    key = cache.CacheKey(json.loads(entry.read_bytes().split(b"\n", 1)[0])["source_key"], "walk")
    assert cache.read_cache(entry, key).graph is not None


def test_cache_entry_nested_too_deep_is_rebuilt(tmp_path: Path) -> None:
    key = cache.CacheKey("some source", "walk")
    payload = b"[" * 200_000 + b"]" * 200_000   # well-formed and correctly hashed, but beyond json's recursion
    entry = tmp_path / "entry.json"
    entry.write_bytes(json.dumps(key.header(payload)).encode() + b"\n" + payload)
    read = cache.read_cache(entry, key)
    assert read.graph is None and read.note.endswith("its content no longer loads") and not entry.exists()
