"""Population rasters: totals conserved, windowed reading, bad rasters explained, a whole Helsinki run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
import rasterio
import yaml
from conftest import mirrored_env
from shapely.geometry import box

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.inputs import raster
from allocator.inputs.demand import read_demand
from allocator.inputs.layers import read_layer
from allocator.inputs.raster import read_raster
from allocator.scenario.catalog import resolve
from allocator.scenario.loader import load_scenario
from allocator.scenario.schema import DemandLayer, RasterSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from population_raster import write_population_raster  # noqa: E402

#: 64 x 64 pixels of 100 m in UTM 35N (Helsinki), origin at the top left
ORIGIN = (385_000.0, 6_675_000.0)
CRS = "EPSG:32635"
TRANSFORM = rasterio.Affine(100.0, 0.0, ORIGIN[0], 0.0, -100.0, ORIGIN[1])


def write_tif(path: Path, data: np.ndarray, *, crs: str | None = CRS, nodata: float | None = -99999.0,
              block: int = 16) -> Path:
    """A tiled single-band GeoTIFF of ``data`` (100 m pixels)."""
    profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1,
               "dtype": data.dtype.name, "transform": TRANSFORM, "nodata": nodata,
               "tiled": True, "blockxsize": block, "blockysize": block}
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as out:
        out.write(data, 1)
    return path


@pytest.fixture
def population() -> np.ndarray:
    """Integer people per pixel (exact in float64), a quarter of the pixels nodata or empty."""
    rng = np.random.default_rng(17)
    data = rng.integers(0, 60, size=(64, 64)).astype("float32")
    data[rng.random((64, 64)) < 0.15] = -99999.0
    return data


def _people(data: np.ndarray) -> float:
    return float(data[data > 0].astype(np.float64).sum())


def test_pixels_keep_every_person_and_are_read_window_by_window(tmp_path, population) -> None:
    frame, read = read_raster(write_tif(tmp_path / "p.tif", population), RasterSpec(), "demand[0]")
    assert read.total == frame["value"].sum() == _people(population)
    assert len(frame) == read.pixels == int((population > 0).sum())
    # 16 x 16 blocks: 16 windows, never more than one block in memory
    assert read.windows == 16 and read.largest_window == 256 < population.size
    row, col = 5, 7
    pixel = frame.set_index("id").loc[f"r{row}c{col}"]
    assert pixel["value"] == population[row, col]
    x, y = ORIGIN[0] + 100 * col + 50, ORIGIN[1] - 100 * row - 50
    centre = gpd.GeoSeries(gpd.points_from_xy([x], [y]), crs=CRS).to_crs(4326).iloc[0]
    assert (pixel["lon"], pixel["lat"]) == pytest.approx((centre.x, centre.y), abs=1e-9)


def test_a_file_in_one_strip_is_read_in_bands_of_rows(tmp_path, population, monkeypatch) -> None:
    path = tmp_path / "strip.tif"
    profile = {"driver": "GTiff", "height": 64, "width": 64, "count": 1, "dtype": "float32", "crs": CRS,
               "transform": TRANSFORM, "nodata": -99999.0, "blockysize": 64, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as out:
        out.write(population, 1)
    with rasterio.open(path) as src:
        assert [w for _, w in src.block_windows(1)] == [rasterio.windows.Window(0, 0, 64, 64)]   # one block
    monkeypatch.setattr(raster, "MAX_WINDOW_PIXELS", 640)
    frame, read = read_raster(path, RasterSpec(), "demand[0]")
    assert read.windows == 7 and read.largest_window == 640      # 6 bands of 10 rows and one of 4
    assert read.total == frame["value"].sum() == _people(population)


def test_h3_cells_sum_the_pixels_whose_centre_they_hold(tmp_path, population) -> None:
    path = write_tif(tmp_path / "p.tif", population)
    pixels, _ = read_raster(path, RasterSpec(), "demand[0]")
    frame, read = read_raster(path, RasterSpec(aggregate="h3", h3_resolution=8), "demand[0]")
    assert frame["value"].sum() == read.total == _people(population)
    expected = pixels.groupby([h3.latlng_to_cell(la, lo, 8) for lo, la in zip(pixels.lon, pixels.lat)])["value"].sum()
    assert frame.set_index("id")["value"].to_dict() == expected.to_dict()
    assert all(h3.get_resolution(c) == 8 for c in frame["id"])


def test_zones_sum_their_pixels_and_report_the_rest(tmp_path, population) -> None:
    path = write_tif(tmp_path / "p.tif", population)
    # two zones splitting the left 40 columns at row 30 (a border through pixel centres is not hit:
    # centres are at 50 m offsets), the right 24 columns in no zone
    left, top = ORIGIN
    zones = gpd.GeoDataFrame({"code": ["north", "south"]}, crs=CRS, geometry=[
        box(left, top - 3000, left + 4000, top), box(left, top - 6400, left + 4000, top - 3000)])
    zones.to_file(tmp_path / "zones.gpkg")
    zone_frame = read_layer(tmp_path / "zones.gpkg", DemandLayer(source="zones.gpkg", population="code", id="code"),
                            value_column=None, field="zones")
    frame, read = read_raster(path, RasterSpec(aggregate="polygons", zones="zones.gpkg"), "demand[0]", zone_frame)
    sums = frame.set_index("id")["value"]
    block = np.where(population > 0, population, 0).astype(np.float64)
    assert sums["north"] == block[:30, :40].sum() and sums["south"] == block[30:, :40].sum()
    assert read.outside_zones == block[:, 40:].sum()
    assert sums.sum() + read.outside_zones == read.total == _people(population)
    assert "left out" in read.note(path)


def test_a_helsinki_raster_holds_the_grid_population(tmp_path, mirror) -> None:
    with mirrored_env(mirror, tmp_path / "cache"):
        grid = gpd.read_file(resolve("catalog:helsinki/helsinki_population_grid_2020.gpkg"))
    assert grid["population"].sum() == 71_724
    path = tmp_path / "helsinki.tif"
    pixels = write_population_raster(grid.geometry, grid["population"].to_numpy(float), path, crs="EPSG:3879",
                                     resolution=250, block=16)
    frame, read = read_raster(path, RasterSpec(), "demand[0]")
    assert read.total == frame["value"].sum() == 71_724 and len(frame) == pixels == 92
    # each 250 m cell is one pixel holding its people
    assert sorted(frame["value"]) == sorted(grid["population"].astype(float))


def test_zones_from_the_catalog_through_a_scenario(tmp_path, mirror) -> None:
    """The Helsinki raster summed back over the HSY grid cells gives every cell its own people."""
    with mirrored_env(mirror, tmp_path / "cache"):
        grid = gpd.read_file(resolve("catalog:helsinki/helsinki_population_grid_2020.gpkg"))
        write_population_raster(grid.geometry, grid["population"].to_numpy(float), tmp_path / "hel.tif",
                                crs="EPSG:3879", resolution=250)
        scenario = {"name": "zones", "network": {"source": "catalog:helsinki/Helsinki.osm.pbf"},
                    "demand": [{"source": "hel.tif", "raster": {
                        "aggregate": "polygons", "zones": "catalog:helsinki/helsinki_population_grid_2020.gpkg",
                        "zones_id": "id", "zones_name": "population"}}],
                    "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                                  "candidates": {"source": "hel.tif"}}]}
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
        loaded = load_scenario(tmp_path / "s.yaml")
        layer = loaded.spec.demand[0]
        frame = read_demand(layer, loaded.layer_files(layer, "demand[0]"), "demand[0]")
    got = frame.set_index("id")["value"]
    expected = grid.set_index(grid["id"].astype(str))["population"].astype(float)
    assert got.to_dict() == expected[expected > 0].to_dict()
    assert (frame["name"].astype(float) == frame["value"]).all()   # names from the zones' column (here: population)
    assert frame.attrs["notes"] == ["raster hel.tif: 71,724 people in 92 populated pixels (read in 1 window)"]


@pytest.mark.parametrize(("case", "message"), [
    ("nan", "NaN"), ("negative", "negative values"), ("no_crs", "no CRS"), ("unitless", "no units"),
    ("band", "band 2"), ("empty", "no populated pixel"), ("not_a_tif", "cannot read the raster"),
])
def test_bad_rasters_are_explained(tmp_path, population, case, message) -> None:
    data = population.copy()
    spec, crs, nodata = RasterSpec(), CRS, -99999.0
    if case == "nan":
        data[3, 3] = np.nan
    elif case == "negative":
        data[3, 3] = -5
    elif case == "no_crs":
        crs = None
    elif case == "unitless":
        crs = 'LOCAL_CS["arbitrary",UNIT["unknown",1]]'
    elif case == "band":
        spec = RasterSpec(band=2)
    elif case == "empty":
        data[:] = 0
    path = write_tif(tmp_path / "p.tif", data, crs=crs, nodata=nodata)
    if case == "not_a_tif":
        path.write_bytes(b"not a raster")
    with pytest.raises(AllocatorError, match=message) as info:
        read_raster(path, spec, "demand[0]")
    assert info.value.file == str(path) and info.value.field.startswith("demand[0]") and info.value.fix


def test_nodata_nan_is_skipped_when_declared(tmp_path, population) -> None:
    data = population.copy()
    data[data < 0] = np.nan
    frame, read = read_raster(write_tif(tmp_path / "p.tif", data, nodata=float("nan")), RasterSpec(), "d")
    assert read.total == _people(population) == frame["value"].sum()


def test_raster_options_are_checked_by_the_schema(tmp_path) -> None:
    base = {"name": "r", "network": {"source": "x.pbf"},
            "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                          "candidates": {"source": "c.csv", "lon": "lon", "lat": "lat"}}]}
    cases = [({"source": "p.tif", "population": "pop"}, "remove 'population'"),
             ({"source": "p.csv", "lon": "lon", "lat": "lat"}, "population column"),
             ({"source": "p.tif", "raster": {"aggregate": "h3"}}, "h3_resolution"),
             ({"source": "p.tif", "raster": {"aggregate": "polygons"}}, "zones"),
             ({"source": "p.csv", "population": "p", "lon": "lon", "lat": "lat", "raster": {}}, "GeoTIFF"),
             ({"source": "p.tif", "id": "code"}, "remove id")]
    for layer, message in cases:
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump({**base, "demand": [layer]}))
        with pytest.raises(AllocatorError, match=message):
            load_scenario(path)
    tif = {"source": "p.tif"}
    service = base["services"][0]
    for changes, message in [
        ({"services": [{**service, "existing": tif}]}, "holds people, not facilities"),
        ({"services": [{**service, "candidates": {**tif, "cost": "price"}}]}, "give cost as numbers"),
        ({"districts": {"column": "zone"}}, "a GeoTIFF has no columns"),
    ]:
        path.write_text(yaml.safe_dump({**base, "demand": [tif], **changes}))
        with pytest.raises(AllocatorError, match=message):
            load_scenario(path)


@pytest.mark.slow
def test_a_scenario_on_a_raster_and_an_osm_file(tmp_path, mirror) -> None:
    """Helsinki: demand from the raster, candidates at its pixels, the network from the clipped extract."""
    with mirrored_env(mirror, tmp_path / "cache"):
        grid = gpd.read_file(resolve("catalog:helsinki/helsinki_population_grid_2020.gpkg"))
        write_population_raster(grid.geometry, grid["population"].to_numpy(float), tmp_path / "hel.tif",
                                crs="EPSG:3879", resolution=250)
        scenario = {"name": "hel_raster", "network": {"source": "catalog:helsinki/Helsinki.osm.pbf", "mode": "walk"},
                    "demand": [{"name": "residents", "source": "hel.tif"}],
                    "services": [{"name": "clinics", "objective": "p_median", "threshold_min": 10, "p": 2,
                                  "candidates": {"source": "hel.tif"}}],
                    "output": {"tiles": False}}
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
        assert main([str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "out" / "hel_raster" / "summary.json").read_text())
    service = summary["services"][0]
    notes = " ".join(service["notes"])
    assert "71,724 people in 92 populated pixels" in notes
    # the extract covers ~1 x 1.7 km: most of the grid lies beyond 500 m of its roads, and the note says so
    assert "from the road network" in notes
    assert service["before"]["population"] == pytest.approx(71_724)
    assert summary["network"]["ways_read"] > 0 and summary["network"]["edges_kept"] > 1000   # the clipped extract


def test_a_bad_raster_in_a_scenario_exits_2_without_a_traceback(tmp_path, population, capsys) -> None:
    write_tif(tmp_path / "p.tif", population, crs=None)
    scenario = {"name": "bad", "network": {"source": "none.osm.pbf"}, "demand": [{"source": "p.tif"}],
                "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                              "candidates": {"source": "p.tif"}}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    assert main([str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "p.tif: demand[0].source: the raster has no CRS" in err and "fix: set it" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_fractional_people_are_conserved_to_float_rounding(tmp_path) -> None:
    """WorldPop-like fractional values: every aggregation keeps the total to 1e-12 relative."""
    rng = np.random.default_rng(3)
    data = (rng.random((64, 64)) * 7.3).astype("float64")
    data[rng.random((64, 64)) < 0.2] = -99999.0
    path = write_tif(tmp_path / "f.tif", data)
    expected = float(data[data > 0].sum())
    for spec in (RasterSpec(), RasterSpec(aggregate="h3", h3_resolution=7)):
        frame, read = read_raster(path, spec, "d")
        assert frame["value"].sum() == pytest.approx(expected, rel=1e-12) == read.total
