"""Facilities, districts and building-level demand read from OpenStreetMap (Liechtenstein 2013, synthetic files)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pytest
import yaml
from conftest import mirrored_env
from shapely.geometry import Point, Polygon

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.inputs.dasymetric import spread_over_buildings
from allocator.inputs.districts import OUTSIDE_NAME
from allocator.inputs.osm_districts import osm_places, read_districts, read_places
from allocator.inputs.osm_features import read_features
from allocator.inputs.place_names import unnamed
from allocator.inputs.raster import read_raster
from allocator.scenario.catalog import resolve
from allocator.scenario.loader import load_scenario
from allocator.scenario.schema import RasterSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from population_raster import write_population_raster  # noqa: E402

LIE = "catalog:liechtenstein/liechtenstein-2013-08-03.osm.pbf"
MUNICIPALITIES = {"Balzers", "Eschen", "Gamprin", "Mauren", "Planken", "Ruggell", "Schaan", "Schellenberg",
                  "Triesen", "Triesenberg", "Vaduz"}


@pytest.fixture(scope="module")
def lie(mirror: Path, tmp_path_factory) -> Path:
    with mirrored_env(mirror, tmp_path_factory.mktemp("cache")):
        return resolve(LIE)


def _tagged(path: Path, key: str, value: str) -> set[str]:
    """Ids of the nodes and ways with key=value, by a plain pyosmium pass (the independent count)."""
    ids = set()
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if obj.tags.get(key) == value:
            ids.add(f"{'node' if isinstance(obj, osmium.osm.Node) else 'way'}/{obj.id}")
    return ids


@pytest.mark.parametrize(("value", "count", "named"), [
    ("school", 16, "Primarschule Triesen"), ("post_office", 7, "Post Schaan"),
    ("pharmacy", 4, "Apotheke am Postplatz"), ("hospital", 1, "Liechtensteinisches Landesspital"),
])
def test_tag_selection_keeps_ids_and_names(lie: Path, value: str, count: int, named: str) -> None:
    sites = read_features(lie, {"amenity": [value]}, "services[0].existing")
    assert set(sites["id"]) == _tagged(lie, "amenity", value) and len(sites) == count
    assert (sites["id"] == sites["osm_id"]).all() and named in set(sites["name"])
    assert sites["lon"].between(9.47, 9.64).all() and sites["lat"].between(47.04, 47.28).all()


def test_a_way_is_a_site_at_its_area_centroid(lie: Path) -> None:
    sites = read_features(lie, {"amenity": ["school"]}, "x").set_index("id")
    coords = {}
    for way in osmium.FileProcessor(str(lie)).with_locations():
        if isinstance(way, osmium.osm.Way) and way.id == 1171:
            coords = [(n.lon, n.lat) for n in way.nodes]
    shape = gpd.GeoSeries([Polygon(coords)], crs=4326)
    centre = shape.to_crs(shape.estimate_utm_crs()).centroid.to_crs(4326).iloc[0]
    site = sites.loc["way/1171"]
    assert (site["lon"], site["lat"]) == pytest.approx((centre.x, centre.y), abs=1e-9)
    assert site["name"] == "Primarschule Triesen"


SYNTHETIC = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="47.10" lon="9.50" version="1"><tag k="amenity" v="clinic"/><tag k="name" v="Praxis"/>
    <tag k="name:zh" v="诊所"/></node>
  <node id="2" lat="47.10" lon="9.51" version="1"><tag k="amenity" v="doctors"/></node>
  <node id="3" lat="47.10" lon="9.52" version="1"><tag k="amenity" v="bench"/></node>
  <node id="4" lat="47.10" lon="9.53" version="1"><tag k="amenity" v="clinic"/>
    <tag k="addr:street" v="Mannerheimintie"/><tag k="addr:housenumber" v="5"/></node>
  <node id="10" lat="47.000" lon="9.000" version="1"/>
  <node id="11" lat="47.000" lon="9.002" version="1"/>
  <node id="12" lat="47.002" lon="9.002" version="1"/>
  <node id="13" lat="47.002" lon="9.000" version="1"/>
  <way id="100" version="1"><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/>
    <tag k="amenity" v="hospital"/><tag k="name" v="Spital"/></way>
  <way id="101" version="1"><nd ref="11"/><nd ref="999"/><nd ref="12"/>
    <tag k="amenity" v="clinic"/></way>
  <way id="102" version="1"><nd ref="998"/><nd ref="997"/><tag k="amenity" v="clinic"/></way>
</osm>
"""


def test_nodes_ways_clipped_ways_and_language(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.osm"
    path.write_text(SYNTHETIC, encoding="utf-8")
    tags = {"amenity": ["clinic", "doctors", "hospital"]}
    sites = read_features(path, tags, "x").set_index("id")
    # way 102 has no node in the file: skipped; way 101 loses its missing node 999
    assert sorted(sites.index) == ["node/1", "node/2", "node/4", "way/100", "way/101"]
    assert sites.loc["node/1", "name"] == "Praxis"
    # unnamed: never named by the type alone (the pages add its streets), an address first when it has one
    assert sites.loc["node/2", "name"] == unnamed("doctors") and sites.loc["way/101", "name"] == unnamed("clinic")
    assert sites.loc["node/4", "name"] == "Mannerheimintie 5 — clinic"
    assert read_features(path, tags, "x", language="zh").set_index("id").loc["node/1", "name"] == "诊所"
    assert sites.loc["way/100", "geometry"].geom_type == "Polygon"
    assert (sites.loc["way/100", "lon"], sites.loc["way/100", "lat"]) == pytest.approx((9.001, 47.001), abs=1e-5)
    assert (sites.loc["way/101", "lon"], sites.loc["way/101", "lat"]) == pytest.approx((9.002, 47.001), abs=1e-9)


def test_places_name_parts_of_a_city(tmp_path: Path, mirror: Path) -> None:
    """Suburb, quarter and neighbourhood nodes (and city-part areas) are read; other places and files are not."""
    path = tmp_path / "places.osm"
    path.write_text("""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="47.10" lon="9.50" version="1"><tag k="place" v="suburb"/><tag k="name" v="Oberdorf"/></node>
  <node id="2" lat="47.11" lon="9.50" version="1"><tag k="place" v="city"/><tag k="name" v="Vaduz"/></node>
  <node id="3" lat="47.12" lon="9.50" version="1"><tag k="place" v="neighbourhood"/></node>
  <node id="4" lat="47.13" lon="9.50" version="1"><tag k="place" v="quarter"/><tag k="name" v="Mitte"/>
    <tag k="name:zh" v="中区"/></node>
</osm>
""", encoding="utf-8")
    places = read_places(path)
    assert list(places["name"]) == ["Oberdorf", "Mitte"] and (places.geom_type == "Point").all()
    assert list(read_places(path, "zh")["name"]) == ["Oberdorf", "中区"]
    helsinki = osm_places(mirror / "helsinki" / "Helsinki.osm.pbf")
    assert helsinki is not None and "Kaartinkaupunki" in set(helsinki["name"])
    assert osm_places(mirror / "porto_alegre" / "poa_osm.pbf") is None       # no place names in this extract
    assert osm_places(tmp_path / "roads.graphml") is None and osm_places(None) is None


def test_a_query_matching_nothing_says_what_there_is(lie: Path) -> None:
    with pytest.raises(AllocatorError, match="amenity=clinic") as info:
        read_features(lie, {"amenity": ["clinic"]}, "services[0].existing")
    assert info.value.field == "services[0].existing.tags"
    assert "parking (127)" in info.value.fix and "school (16)" in info.value.fix
    with pytest.raises(AllocatorError) as info:
        read_features(lie, {"amenty": ["school"]}, "x")
    assert "no feature in this file has a 'amenty' tag" in info.value.fix


BASE = {"name": "t", "network": {"source": "net.osm.pbf"},
        "demand": [{"source": "p.csv", "lon": "lon", "lat": "lat", "population": "p"}]}


@pytest.mark.parametrize(("candidates", "message"), [
    ({"osm": "network", "tags": {}}, "candidates.tags"),
    ({"osm": "network", "tags": {"amenity": []}}, "candidates.tags.amenity"),
    ({"osm": "network", "tags": {"amenity": [1]}}, "candidates.tags.amenity"),
    ({"osm": "network", "tags": {"amenity": ""}}, "candidates.tags.amenity"),
    ({"osm": "network", "tags": {"": ["school"]}}, "candidates.tags"),
    ({"osm": "network"}, "'osm' and 'tags' go together"),
    ({"source": "c.csv", "osm": "network", "tags": {"amenity": ["school"]}}, "not both"),
    ({"osm": "network", "tags": {"amenity": ["school"]}, "cost": "price"}, "as numbers"),
    ({"osm": "network", "tags": {"amenity": ["school"]}, "lon": "x", "lat": "y"}, "remove lon, lat"),
])
def test_bad_tag_queries_are_schema_errors(tmp_path: Path, candidates: dict, message: str) -> None:
    scenario = {**BASE, "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                                      "candidates": candidates}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    with pytest.raises(AllocatorError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert message in f"{info.value.field} {info.value.message}" and info.value.line


def test_municipalities_from_admin_boundaries(lie: Path) -> None:
    districts = read_districts(lie, 8, "districts")
    assert set(districts["name"]) == MUNICIPALITIES and districts["id"].str.startswith("relation/").all()
    area_km2 = districts.to_crs(32632).area.sum() / 1e6
    assert 150 < area_km2 < 170      # Liechtenstein: 160 km²
    assert districts.geometry.contains(Point(9.5215, 47.1410)).sum() == 1   # Vaduz centre lies in one
    assert districts[districts.geometry.contains(Point(9.5215, 47.1410))]["name"].iloc[0] == "Vaduz"
    with pytest.raises(AllocatorError, match="admin_level 9") as info:
        read_districts(lie, 9, "districts")
    assert "8 (22)" in info.value.fix


def test_boundaries_cut_by_the_extract_are_named_as_such(mirror: Path, tmp_path: Path) -> None:
    with mirrored_env(mirror, tmp_path / "cache"):
        helsinki = resolve("catalog:helsinki/Helsinki.osm.pbf")
    with pytest.raises(AllocatorError, match="the extract cuts all 6 of them") as info:
        read_districts(helsinki, 10, "districts")
    assert "10 (6)" in info.value.fix


def _lie_raster(path: Path) -> Path:
    """A synthetic 500 m raster over Liechtenstein: 100 people in each pixel (documented as synthetic)."""
    square = gpd.GeoSeries([Polygon([(9.47, 47.04), (9.64, 47.04), (9.64, 47.27), (9.47, 47.27)])], crs=4326)
    cells = square.to_crs(32632).iloc[0]
    minx, miny, maxx, maxy = cells.bounds
    xs, ys = np.arange(minx, maxx, 500.0), np.arange(miny, maxy, 500.0)
    pixels = gpd.GeoSeries([Polygon([(x, y), (x + 500, y), (x + 500, y + 500), (x, y + 500)]) for x in xs for y in ys],
                           crs=32632)
    write_population_raster(pixels, np.full(len(pixels), 100.0), path, crs="EPSG:32632", resolution=500, block=16)
    return path


def test_dasymetric_spreading_keeps_every_zone_total(lie: Path, tmp_path: Path) -> None:
    zones, read = read_raster(_lie_raster(tmp_path / "lie.tif"), RasterSpec(aggregate="h3", h3_resolution=7), "d")
    buildings = read_features(lie, {"building": ["residential", "house", "apartments", "yes"]}, "d.dasymetric")
    frame, spread = spread_over_buildings(zones, buildings)
    assert frame["value"].sum() == pytest.approx(read.total, rel=1e-12)
    zone_of = frame["id"].str.split("/", n=1).str[0]
    per_zone = frame.groupby(zone_of)["value"].sum()
    assert np.allclose(per_zone[zones["id"]].to_numpy(), zones["value"].to_numpy(), rtol=1e-12, atol=0)
    assert spread.zones_spread > 0 and spread.buildings > 1000
    # within a zone, people follow footprint area
    on_buildings = frame[frame["id"].str.contains("/way/")].copy()
    on_buildings["zone"] = on_buildings["id"].str.split("/", n=1).str[0]
    busiest = on_buildings["zone"].value_counts().index[0]
    rows = on_buildings[on_buildings["zone"] == busiest]
    area = gpd.GeoSeries(rows.geometry, crs=4326).to_crs(32632).area.to_numpy()
    assert np.allclose(rows["value"].to_numpy() / area, rows["value"].sum() / area.sum(), rtol=1e-9)


@pytest.mark.slow
def test_a_scenario_from_an_osm_file_and_a_raster(lie: Path, tmp_path: Path, mirror: Path) -> None:
    """Liechtenstein: schools and candidates from the network's own OSM file, municipalities as districts."""
    _lie_raster(tmp_path / "lie.tif")
    scenario = {
        "name": "lie_schools", "network": {"source": LIE, "mode": "walk"},
        "demand": [{"name": "residents", "source": "lie.tif", "raster": {"aggregate": "h3", "h3_resolution": 8},
                    "dasymetric": {"osm": "network", "buildings": ["residential", "house", "apartments", "yes"]}}],
        "districts": {"osm": "network", "admin_level": 8},
        "services": [{"name": "schools", "objective": "p_median", "threshold_min": 15, "p": 2,
                      "existing": {"osm": "network", "tags": {"amenity": ["school"]}},
                      "candidates": {"osm": "network", "tags": {"amenity": ["post_office", "townhall"]}}}],
        "output": {"tiles": False},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    with mirrored_env(mirror, tmp_path / "cache"):
        assert main([str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = tmp_path / "out" / "lie_schools"
    summary = json.loads((out / "summary.json").read_text())
    service = summary["services"][0]
    names = {d["district_name"] for d in service["equity"]["districts"]}
    assert names <= MUNICIPALITIES | {OUTSIDE_NAME} and len(names & MUNICIPALITIES) >= 10
    sites = gpd.read_file(out / "sites.geojson")
    assert {"Primarschule Triesen", "Post Schaan"} & set(sites["name"])
    assert Counter(sites["status"])["new"] == 2
    assert any("residential buildings by footprint area" in n for n in service["notes"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert any(str(lie) == item["path"] for item in manifest["inputs"])


def _grid_osm(path: Path, clinic_name: str) -> Path:
    """A synthetic OSM file: a 5 x 5 street grid (about 110 m apart), a clinic node and two school buildings."""
    step = 0.001
    nodes, ways = [], []
    for i in range(5):
        for j in range(5):
            nodes.append(f'<node id="{1 + 5 * i + j}" lat="{47.0 + i * step}" lon="{9.0 + j * step * 1.47}" version="1"/>')
    way_id = 100
    for i in range(5):
        for refs in ([1 + 5 * i + j for j in range(5)], [1 + 5 * j + i for j in range(5)]):
            nd = "".join(f'<nd ref="{r}"/>' for r in refs)
            ways.append(f'<way id="{way_id}" version="1">{nd}<tag k="highway" v="residential"/></way>')
            way_id += 1
    nodes.append(f'<node id="90" lat="47.0005" lon="9.0007" version="1"><tag k="amenity" v="clinic"/>'
                 f'<tag k="name" v="{clinic_name}"/></node>')
    for k, (lat, lon) in enumerate([(47.0035, 9.0051), (47.0015, 9.0044)]):
        corners = [(lat, lon), (lat, lon + 0.0003), (lat + 0.0002, lon + 0.0003), (lat + 0.0002, lon)]
        for c, (la, lo) in enumerate(corners):
            nodes.append(f'<node id="{200 + 10 * k + c}" lat="{la}" lon="{lo}" version="1"/>')
        nd = "".join(f'<nd ref="{200 + 10 * k + c}"/>' for c in [0, 1, 2, 3, 0])
        ways.append(f'<way id="{300 + k}" version="1">{nd}<tag k="building" v="school"/>'
                    f'<tag k="name" v="School {k}"/></way>')
    path.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n"
                    + "\n".join(nodes + ways) + "\n</osm>\n", encoding="utf-8")
    return path


def test_osm_names_are_escaped_in_the_outputs(tmp_path: Path) -> None:
    """A name from OSM is untrusted text: the map and the report show it escaped, never as markup."""
    evil = "&lt;script&gt;alert(1)&lt;/script&gt; Praxis"   # the XML file's escaping of <script>...
    _grid_osm(tmp_path / "town.osm", evil)
    square = gpd.GeoSeries([Polygon([(9.0, 47.0), (9.006, 47.0), (9.006, 47.004), (9.0, 47.004)])], crs=4326)
    cells = square.to_crs(32632).iloc[0]
    minx, miny, maxx, maxy = cells.bounds
    pixels = gpd.GeoSeries([Polygon([(x, y), (x + 100, y), (x + 100, y + 100), (x, y + 100)])
                            for x in np.arange(minx, maxx, 100.0) for y in np.arange(miny, maxy, 100.0)], crs=32632)
    write_population_raster(pixels, np.arange(len(pixels), dtype=float), tmp_path / "town.tif",
                            crs="EPSG:32632", resolution=100)
    scenario = {"name": "town", "network": {"source": "town.osm", "mode": "walk"},
                "demand": [{"source": "town.tif"}],
                "services": [{"name": "clinics", "objective": "p_median", "threshold_min": 5, "p": 1,
                              "existing": {"osm": "network", "tags": {"amenity": ["clinic"]}},
                              "candidates": {"osm": "network", "tags": {"building": ["school"]}}}],
                "output": {"tiles": False}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    assert main([str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = tmp_path / "out" / "town"
    sites = gpd.read_file(out / "sites.geojson")
    assert "<script>alert(1)</script> Praxis" in set(sites["name"])   # the name itself is kept
    for page in ("map.html", "report.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert "<script>alert(1)" not in text, page
    assert "alert(1)" in (out / "map.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["services"][0]["before"]["population"] == pytest.approx(float(np.arange(len(pixels)).sum()))


def test_osm_network_needs_a_network_file(tmp_path: Path) -> None:
    scenario = {**BASE, "network": {"source": {"place": "Vaduz, Liechtenstein"}},
                "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                              "candidates": {"osm": "network", "tags": {"amenity": ["school"]}}}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    with pytest.raises(AllocatorError, match="the network is not a file") as info:
        load_scenario(tmp_path / "s.yaml").osm_path("network", "services[0].candidates.osm")
    assert info.value.field == "services[0].candidates.osm" and "Geofabrik" in info.value.fix
    (tmp_path / "roads.graphml").write_text("<graphml/>")
    with pytest.raises(AllocatorError, match="not an OpenStreetMap file"):
        load_scenario(tmp_path / "s.yaml").osm_path("roads.graphml", "districts.osm")


def test_a_site_layer_without_source_or_osm_says_what_is_missing(tmp_path: Path) -> None:
    scenario = {**BASE, "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                                      "candidates": {"exclude_existing": False}}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    with pytest.raises(AllocatorError, match="required field is missing: add 'source'") as info:
        load_scenario(tmp_path / "s.yaml")
    assert info.value.field == "services[0].candidates"
