"""Rasters read right and safely: GTiff only (no VRT reaching other files, URLs or Python), declared sizes
checked before any pixel is read, scale/offset and masks honoured, read failures named.

Every hostile file is built here in ``tmp_path``; runs that could hang or blow up memory go through
``tests/e2e/test_hostile.py``'s ``run_child`` (a timeout and an address-space limit).
"""

from __future__ import annotations

import struct
import sys
import time
import zlib
from pathlib import Path

import h3
import numpy as np
import pytest
import rasterio
import yaml

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.inputs import raster
from allocator.inputs.raster import read_raster
from allocator.scenario.schema import RasterSpec

TESTS = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TESTS / "e2e"), str(TESTS / "unit" / "inputs")]   # also when another module runs this one
from conftest import local_http_server  # noqa: E402
from test_hostile import assert_clean_error, run_child  # noqa: E402
from test_raster import CRS, write_tif  # noqa: E402

#: a VRT band reading the raw bytes of /etc/hostname as pixels (8 x 1, one byte each)
HOSTNAME_VRT = """<VRTDataset rasterXSize="8" rasterYSize="1">
  <SRS>EPSG:4326</SRS><GeoTransform>-46.64, 0.001, 0, -23.55, 0, -0.001</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativetoVRT="0">/etc/hostname</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>8</LineOffset>
  </VRTRasterBand>
</VRTDataset>"""


def _scenario(folder: Path, source: str, raster_options: dict | None = None) -> Path:
    """A scenario whose demand and candidates are the raster ``source`` (no network is read before them)."""
    layer = {"source": source, **({"raster": raster_options} if raster_options else {})}
    scenario = {"name": "gate", "network": {"source": "none.osm.pbf"}, "demand": [layer],
                "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                              "candidates": {"source": source}}]}
    (folder / "s.yaml").write_text(yaml.safe_dump(scenario))
    return folder / "s.yaml"


def _cli(scenario: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(scenario), "--out", str(scenario.parent / "out"), "--quiet"])
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- #
# only the GTiff driver: no VRT, no other files, no URLs, no Python           #
# --------------------------------------------------------------------------- #

def test_a_vrt_named_tif_cannot_read_another_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.tif"
    path.write_text(HOSTNAME_VRT)
    with rasterio.open(path) as src:   # what GDAL would do unrestricted: /etc/hostname as people
        assert src.driver == "VRT"
    with pytest.raises(AllocatorError, match=r"cannot read the raster \(.*not recognized") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].source"
    code, err = _cli(_scenario(tmp_path, "p.tif"), capsys)   # the file gate refuses it before GDAL sees it
    assert_clean_error(code, err, "p.tif: demand[0].source: the file is a GDAL virtual dataset")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def web_server():
    """A local HTTP server counting the requests it gets; yields (url, requests)."""
    with local_http_server() as (port, requests):
        yield f"http://127.0.0.1:{port}", requests


def _vsicurl_vrt(url: str) -> str:
    return f"""<VRTDataset rasterXSize="4" rasterYSize="4">
  <SRS>EPSG:4326</SRS><GeoTransform>-46.64, 0.001, 0, -23.55, 0, -0.001</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1"><SimpleSource>
    <SourceFilename relativeToVRT="0">/vsicurl/{url}/people.tif</SourceFilename><SourceBand>1</SourceBand>
  </SimpleSource></VRTRasterBand>
</VRTDataset>"""


def test_a_vrt_naming_a_url_sends_no_request(tmp_path: Path, web_server) -> None:
    url, requests = web_server
    path = tmp_path / "p.tif"
    path.write_text(_vsicurl_vrt(url))
    with pytest.raises(AllocatorError, match=r"cannot read the raster \(.*not recognized") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].source"
    assert requests == []
    with rasterio.open(path) as src, pytest.raises(rasterio.errors.RasterioIOError):   # unrestricted GDAL asks
        src.read(1)
    assert requests, "the check above must be able to see a request"


def test_a_vrt_with_a_python_pixel_function_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "p.tif"
    path.write_text(f"""<VRTDataset rasterXSize="4" rasterYSize="4">
  <SRS>EPSG:4326</SRS><GeoTransform>-46.64, 0.001, 0, -23.55, 0, -0.001</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">
    <PixelFunctionType>touch</PixelFunctionType><PixelFunctionLanguage>Python</PixelFunctionLanguage>
    <PixelFunctionCode><![CDATA[
def touch(in_ar, out_ar, *args, **kwargs):
    open({str(marker)!r}, "w").write("ran")
    out_ar[:] = 1
]]></PixelFunctionCode>
  </VRTRasterBand>
</VRTDataset>""")
    with pytest.raises(AllocatorError, match=r"cannot read the raster \(.*not recognized") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and not marker.exists()


def test_a_gdal_virtual_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError, match="virtual path") as info:
        read_raster(Path("/vsicurl/http://127.0.0.1:9/p.tif"), RasterSpec(), "demand[0]")
    assert info.value.field == "demand[0].source"


# --------------------------------------------------------------------------- #
# declared sizes checked before any pixel is read                             #
# --------------------------------------------------------------------------- #

def tile_bomb(path: Path, tiles: int, tile: int) -> Path:
    """A deflate-tiled float32 GeoTIFF of ``tiles`` x ``tiles`` tiles of ``tile`` pixels, every tile offset
    pointing at the one compressed tile of zeros stored (classic little-endian TIFF, EPSG:4326)."""
    data = zlib.compress(bytes(tile * tile * 4), 9)
    n = tiles * tiles
    entries = [(256, 4, 1, tiles * tile), (257, 4, 1, tiles * tile), (258, 3, 1, 32), (259, 3, 1, 8),
               (262, 3, 1, 1), (277, 3, 1, 1), (284, 3, 1, 1), (322, 4, 1, tile), (323, 4, 1, tile),
               (324, 4, n, None), (325, 4, n, None), (339, 3, 1, 3),
               (33550, 12, 3, None), (33922, 12, 6, None), (34735, 3, 16, None)]
    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    offsets_at = extra_at
    counts_at = offsets_at + 4 * n
    scale_at = counts_at + 4 * n
    tie_at = scale_at + 24
    keys_at = tie_at + 48
    data_at = keys_at + 32
    pointers = {324: offsets_at, 325: counts_at, 33550: scale_at, 33922: tie_at, 34735: keys_at}
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if value is None:
            out += struct.pack("<HHII", tag, kind, count, pointers[tag])
        elif kind == 3:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, kind, count, value)
    out += struct.pack("<I", 0)
    out += struct.pack(f"<{n}I", *([data_at] * n)) + struct.pack(f"<{n}I", *([len(data)] * n))
    out += struct.pack("<3d", 0.0001, 0.0001, 0.0) + struct.pack("<6d", 0, 0, 0, -46.7, -23.5, 0)
    out += struct.pack("<16H", 1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326)
    assert len(out) == data_at
    path.write_bytes(bytes(out + data))
    return path


@pytest.mark.slow
def test_tiles_all_pointing_at_one_tile_exit_2_fast(tmp_path: Path) -> None:
    """The issue's case: 2,304 tiles of 4096 x 4096 float32 sharing one compressed tile (~144 GiB decoded)."""
    path = tile_bomb(tmp_path / "bomb.tif", 48, 4096)
    assert path.stat().st_size < 100_000
    with rasterio.open(path) as src:   # GDAL sees what the issue describes
        assert (src.width, src.height, src.count, src.dtypes[0]) == (196_608, 196_608, 1, "float32")
    started = time.monotonic()
    done = run_child(_scenario(tmp_path, "bomb.tif"))
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 30
    assert "bomb.tif: demand[0].source: the raster declares 196,608 x 196,608 pixels" in done.stderr
    assert "fix:" in done.stderr and "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_tile_reuse_under_the_size_cap_is_refused_by_the_expansion_bound(tmp_path: Path) -> None:
    """529 tiles of 1024 x 1024 (2.1 GB decoded, under the 4 GB cap) from a file of a few kB."""
    path = tile_bomb(tmp_path / "bomb.tif", 23, 1024)
    with pytest.raises(AllocatorError, match="decompression bomb") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].source"
    assert "crop" in info.value.fix


@pytest.mark.slow
def test_a_sparse_raster_declaring_a_trillion_pixels_exits_2_fast(tmp_path: Path) -> None:
    path = tmp_path / "sparse.tif"
    with rasterio.open(path, "w", driver="GTiff", width=1_000_000, height=1_000_000, count=1, dtype="float32",
                       crs=CRS, transform=rasterio.Affine(100, 0, 385_000, 0, -100, 6_675_000), tiled=True,
                       blockxsize=4096, blockysize=4096, compress="deflate", sparse_ok=True, BIGTIFF="YES"):
        pass
    assert path.stat().st_size < 2 << 20
    started = time.monotonic()
    done = run_child(_scenario(tmp_path, "sparse.tif"))
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 30
    assert "sparse.tif: demand[0].source: the raster declares 1,000,000 x 1,000,000 pixels" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_decoded_size_follows_allocator_max_file_mb(tmp_path: Path, population, monkeypatch) -> None:
    path = write_tif(tmp_path / "p.tif", np.repeat(np.repeat(population, 8, 0), 8, 1))   # 512 x 512 float32: 1 MB
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "0.5")
    spec = RasterSpec(aggregate="h3", h3_resolution=7)
    with pytest.raises(AllocatorError, match=r"the raster declares 512 x 512 pixels x 1 band\(s\), 1 MB decoded: "
                                             "more than 0.5 MB") as info:
        read_raster(path, spec, "demand[0]")
    assert "ALLOCATOR_MAX_FILE_MB" in info.value.fix
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "2")
    assert read_raster(path, spec, "demand[0]")[1].total == float(population.sum()) * 64


# --------------------------------------------------------------------------- #
# values as GDAL means them: scale/offset, masks; complex refused             #
# --------------------------------------------------------------------------- #

@pytest.fixture
def population() -> np.ndarray:
    """Integer people per pixel, no nodata."""
    return np.random.default_rng(5).integers(1, 60, size=(64, 64)).astype("float32")


def test_scale_and_offset_are_applied(tmp_path: Path, population) -> None:
    path = write_tif(tmp_path / "p.tif", population * 100, nodata=None)
    with rasterio.open(path, "r+") as dst:
        dst.scales, dst.offsets = (0.01,), (0.5,)
    frame, read = read_raster(path, RasterSpec(), "demand[0]")
    expected = population.astype(np.float64) * 100 * 0.01 + 0.5
    assert read.total == pytest.approx(expected.sum(), rel=1e-12)
    assert frame.set_index("id")["value"]["r3c4"] == pytest.approx(expected[3, 4])


def test_pixels_outside_the_internal_mask_count_zero(tmp_path: Path, population) -> None:
    path = write_tif(tmp_path / "p.tif", population, nodata=None)
    mask = np.full(population.shape, 255, dtype="uint8")
    mask[:, 32:] = 0
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "r+") as dst:
        dst.write_mask(mask)
    assert not list(tmp_path.glob("*.msk"))   # the mask is inside the file
    frame, read = read_raster(path, RasterSpec(), "demand[0]")
    assert read.total == float(population[:, :32].astype(np.float64).sum())
    assert len(frame) == 64 * 32 and not any(int(i.split("c")[1]) >= 32 for i in frame["id"])


def test_complex_pixels_are_refused(tmp_path: Path, population) -> None:
    path = write_tif(tmp_path / "p.tif", (population + 1j * population).astype("complex64"), nodata=None)
    with pytest.raises(AllocatorError, match="complex numbers") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].raster.band"


def test_a_huge_pixel_value_names_the_file(tmp_path: Path, population, capsys) -> None:
    data = population.copy()
    data[10, 10] = 1e30
    path = write_tif(tmp_path / "p.tif", data, nodata=None)
    with pytest.raises(AllocatorError, match="more than 1e\\+12 people") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and "1e+30" in info.value.message
    code, err = _cli(_scenario(tmp_path, "p.tif"), capsys)
    assert_clean_error(code, err, "p.tif: demand[0].source")
    assert "weight" not in err


# --------------------------------------------------------------------------- #
# read failures are input errors                                              #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_tiff_is_an_input_error(tmp_path: Path, population, capsys, damage: str) -> None:
    path = tmp_path / "p.tif"
    with rasterio.open(path, "w", driver="GTiff", width=256, height=256, count=1, dtype="float32", crs=CRS,
                       transform=rasterio.Affine(100, 0, 385_000, 0, -100, 6_675_000), tiled=True,
                       blockxsize=64, blockysize=64, compress="deflate") as dst:
        dst.write(np.tile(population, (4, 4)), 1)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 2:len(data) // 2 + 4000] = b"\x55" * 4000
    path.write_bytes(bytes(data))
    with pytest.raises(AllocatorError, match="cannot read the raster's pixels") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].source"
    assert "re-export" in info.value.fix
    code, err = _cli(_scenario(tmp_path, "p.tif"), capsys)
    assert_clean_error(code, err, "p.tif: demand[0].source", "re-export")


def test_a_strip_claiming_2_gb_is_an_input_error(tmp_path: Path, population) -> None:
    """One deflate strip whose StripByteCounts says 2 GB in a file of a few kB."""
    path = tmp_path / "p.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1, dtype="float32", crs=CRS,
                       transform=rasterio.Affine(100, 0, 385_000, 0, -100, 6_675_000), blockysize=64,
                       compress="deflate") as dst:
        dst.write(population, 1)
    data = bytearray(path.read_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    entries = [ifd + 2 + 12 * i for i in range(struct.unpack("<H", data[ifd:ifd + 2])[0])]
    (entry,) = [e for e in entries if struct.unpack("<HHI", data[e:e + 8]) == (279, 4, 1)]   # StripByteCounts
    data[entry + 8:entry + 12] = struct.pack("<I", 0x7FFFFFFF)
    path.write_bytes(bytes(data))
    with pytest.raises(AllocatorError, match="cannot read the raster's pixels") as info:
        read_raster(path, RasterSpec(), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].source" and "re-export" in info.value.fix


# --------------------------------------------------------------------------- #
# aggregate: h3 capped like pixels                                            #
# --------------------------------------------------------------------------- #

def test_h3_cells_are_capped_like_pixels_and_the_fix_fits(tmp_path: Path, population, monkeypatch) -> None:
    monkeypatch.setattr(raster, "MAX_PIXELS", 500)   # 64 x 64 pixels of 100 m: 4,096 cells at resolution 15
    path = write_tif(tmp_path / "p.tif", population, nodata=None)
    with pytest.raises(AllocatorError, match="more than 500 populated cells") as info:
        read_raster(path, RasterSpec(aggregate="h3", h3_resolution=15), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].raster.h3_resolution"
    fits = int(info.value.fix.split("h3_resolution: ")[1].split()[0])
    assert 0 < fits < 15
    frame, _ = read_raster(path, RasterSpec(aggregate="h3", h3_resolution=fits), "demand[0]")
    assert len(frame) <= 500 and all(h3.get_resolution(c) == fits for c in frame["id"])
    with pytest.raises(AllocatorError, match="populated cells"):   # the suggestion is the finest that fits
        read_raster(path, RasterSpec(aggregate="h3", h3_resolution=fits + 2), "demand[0]")


@pytest.mark.slow
def test_h3_resolution_15_on_a_large_raster_exits_2(tmp_path: Path) -> None:
    """600 x 600 populated pixels of 100 m at resolution 15: 360,000 cells, over the 200,000 cap."""
    data = np.ones((600, 600), dtype="float32")
    write_tif(tmp_path / "p.tif", data, nodata=None, block=256)
    done = run_child(_scenario(tmp_path, "p.tif", {"aggregate": "h3", "h3_resolution": 15}))
    assert done.returncode == 2, done.stderr
    assert "p.tif: demand[0].raster.h3_resolution: h3_resolution 15 gives more than 200,000" in done.stderr
    assert "fix: choose a coarser resolution: h3_resolution: " in done.stderr


@pytest.mark.parametrize("origin", [(500.0, -23.5), (-46.6, 95.0)])
def test_pixels_off_the_earth_are_an_input_error(tmp_path: Path, population, origin: tuple[float, float]) -> None:
    path = tmp_path / "p.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1, dtype="float32", crs="EPSG:4326",
                       transform=rasterio.Affine(0.001, 0, origin[0], 0, -0.001, origin[1])) as dst:
        dst.write(population, 1)
    with pytest.raises(AllocatorError, match="outside the Earth's longitudes and latitudes") as info:
        read_raster(path, RasterSpec(aggregate="h3", h3_resolution=8), "demand[0]")
    assert info.value.file == str(path) and info.value.field == "demand[0].source"
