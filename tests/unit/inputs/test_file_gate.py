"""The file gate covers what decoders do: ``.gz``, ``.bz2``, ``.xz`` and ``.zip`` (every member) decompress
completely to at most the data cap, and to at most MAX_EXPANSION times their size; ``ALLOCATOR_MAX_FILE_MB``
is a size or an error.

Every hostile file is built here in ``tmp_path``; whole runs on bombs go through ``tests/e2e/test_hostile.py``'s
``run_child`` (a timeout and an address-space limit), so a regression fails instead of hanging.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import struct
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from allocator.errors import AllocatorError
from allocator.files import MAX_EXPANSION, MAX_ZIP_MEMBERS, checked_file, data_file_cap
from allocator.inputs.layers import read_layer
from allocator.scenario.schema import DemandLayer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))
from test_hostile import SMALL, assert_clean_error, cli, run_child, shared_env  # noqa: E402, F401 (a fixture)

MATRIX = b"origin,destination,minutes\n" + b"a,s,3\n" * 5000


def _zip(data: bytes, name: str = "m.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress, ".zip": _zip}


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_each_format_is_capped_by_allocator_max_file_mb(tmp_path: Path, monkeypatch, suffix: str) -> None:
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "1")
    bomb = tmp_path / f"m.csv{suffix}"
    bomb.write_bytes(COMPRESS[suffix](MATRIX + b"0" * (2 << 20)))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(AllocatorError, match="more than 1 MB") as info:
        checked_file(bomb, field="matrix.source")
    assert info.value.file == str(bomb) and info.value.field == "matrix.source"
    assert "ALLOCATOR_MAX_FILE_MB" in info.value.fix
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "3")
    assert checked_file(bomb) == bomb


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_each_format_must_be_complete(tmp_path: Path, suffix: str) -> None:
    damaged = tmp_path / f"m.csv{suffix}"
    whole = COMPRESS[suffix](MATRIX)
    damaged.write_bytes(whole[:len(whole) // 2])
    kind = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}[suffix]
    with pytest.raises(AllocatorError, match=f"not a complete {kind} file") as info:
        checked_file(damaged, field="matrix.source")
    assert info.value.field == "matrix.source" and info.value.fix
    damaged.write_bytes(whole)
    assert checked_file(damaged) == damaged


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".gz"])
def test_a_real_bomb_is_refused_by_the_expansion_bound_whatever_the_cap(tmp_path: Path, suffix: str) -> None:
    """Concatenated streams of 64 MB of zeros (48 GB from 60 kB for bz2) under the default 4 GB cap: refused
    once past MAX_EXPANSION times the file's size (at least MIN_DECODED_BYTES), in seconds."""
    stream = COMPRESS[suffix](bytes(64 << 20))
    bomb = tmp_path / f"roads.osm{suffix}"
    bomb.write_bytes(stream * (750 if suffix == ".bz2" else 8))
    assert data_file_cap() == 4 << 30
    started = time.monotonic()
    with pytest.raises(AllocatorError, match=rf"more than [\d,]+ MB, over {MAX_EXPANSION} times the file's") as info:
        checked_file(bomb, field="network.source")
    assert time.monotonic() - started < 10
    assert "decompress it" in info.value.fix and info.value.field == "network.source"


@pytest.mark.slow
def test_a_36_kb_osm_bz2_of_48_gb_exits_2_quickly(tmp_path: Path) -> None:
    """The issue's road network: a run in a memory-limited child ends in exit 2 naming the file, in seconds."""
    (tmp_path / "roads.osm.bz2").write_bytes(bz2.compress(bytes(64 << 20)) * 750)   # 750 x 64 MB = 48 GB
    assert (tmp_path / "roads.osm.bz2").stat().st_size < 100_000
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({**SMALL, "network": {"source": "roads.osm.bz2"}}))
    started = time.monotonic()
    done = run_child(tmp_path / "s.yaml")
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 30
    assert "roads.osm.bz2: network.source: the file decompresses to more than" in done.stderr
    assert "decompression bomb" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def _feature(i: int) -> str:
    return json.dumps({"type": "Feature", "properties": {"id": f"z{i}", "population": 10},
                       "geometry": {"type": "Point", "coordinates": [-46.63, -23.55]}})


@pytest.mark.slow
def test_a_small_zip_holding_a_huge_geojson_exits_2_quickly(tmp_path: Path) -> None:
    """The issue's zip: under 2 MB holding a 950 MB GeoJSON (a ratio real data never reach)."""
    feature = (_feature(0) + "," + " " * 4000 + "\n").encode()   # whitespace: deflate at its best
    with zipfile.ZipFile(tmp_path / "d.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("d.geojson", "w", force_zip64=True) as member:
        member.write(b'{"type": "FeatureCollection", "features": [\n')
        block = feature * ((8 << 20) // len(feature))
        for _ in range(950 // 8):
            member.write(block)
        member.write(_feature(1).encode() + b"]}\n")
    assert (tmp_path / "d.zip").stat().st_size < 2 << 20
    doc = {**SMALL, "demand": [{"name": "residents", "source": "d.zip", "population": "population", "id": "id"}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    started = time.monotonic()
    done = run_child(tmp_path / "s.yaml")
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 30
    assert "d.zip: demand[0].source: the zip file declares more than" in done.stderr, done.stderr
    assert "decompression bomb" in done.stderr and not (tmp_path / "out").exists()


def test_a_zip_lying_about_its_sizes_is_refused_by_what_it_holds(tmp_path: Path, monkeypatch) -> None:
    """Declared sizes of a few bytes for 2 MB of content: only decompressing shows it."""
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", "1")
    data = bytearray(_zip(b"0" * (2 << 20)))
    directory = data.rindex(b"PK\x01\x02")   # the central directory entry: uncompressed size at +24
    data[directory + 24:directory + 28] = struct.pack("<I", 10)
    local = data.index(b"PK\x03\x04")         # the local header: uncompressed size at +22
    data[local + 22:local + 26] = struct.pack("<I", 10)
    (tmp_path / "m.zip").write_bytes(bytes(data))
    assert zipfile.ZipFile(tmp_path / "m.zip").infolist()[0].file_size == 10
    with pytest.raises(AllocatorError, match="not a complete zip file|more than 1 MB"):
        checked_file(tmp_path / "m.zip")


def test_a_zip_with_too_many_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"f{i}.txt", b"")
    with pytest.raises(AllocatorError, match=f"holds {MAX_ZIP_MEMBERS + 1:,} files") as info:
        checked_file(path, field="demand[0].source")
    assert info.value.file == str(path) and info.value.field == "demand[0].source"


def test_a_zipped_geojson_still_reads(tmp_path: Path) -> None:
    text = '{"type": "FeatureCollection", "features": [' + ",".join(_feature(i) for i in range(3)) + "]}"
    (tmp_path / "d.zip").write_bytes(_zip(text.encode(), "d.geojson"))
    frame = read_layer(tmp_path / "d.zip", DemandLayer(source="d.zip", population="population", id="id"),
                       value_column="population", field="demand[0]")
    assert list(frame["id"]) == ["z0", "z1", "z2"] and frame["value"].sum() == 30


# --------------------------------------------------------------------------- #
# the format a GDAL file's suffix names, and no VRT                           #
# --------------------------------------------------------------------------- #

PASSWD_VRT = b"""<OGRVRTDataSource><OGRVRTLayer name="pw">
  <SrcDataSource>CSV:/etc/passwd</SrcDataSource><SrcLayer>passwd</SrcLayer>
</OGRVRTLayer></OGRVRTDataSource>"""


def test_a_vrt_named_geojson_cannot_read_another_file(tmp_path: Path, capsys) -> None:
    import geopandas as gpd

    (tmp_path / "d.geojson").write_bytes(PASSWD_VRT)
    assert "root" in " ".join(gpd.read_file(tmp_path / "d.geojson").columns)   # what GDAL alone would do
    with pytest.raises(AllocatorError, match="GDAL virtual dataset") as info:
        read_layer(tmp_path / "d.geojson", DemandLayer(source="d.geojson", population="p"), value_column="p",
                   field="demand[0]")
    assert info.value.file == str(tmp_path / "d.geojson") and info.value.field == "demand[0].source"
    doc = {**SMALL, "demand": [{"name": "residents", "source": "d.geojson", "population": "p"}]}
    code, err = cli(tmp_path, doc, capsys)
    assert_clean_error(code, err, "d.geojson: demand[0].source: the file is a GDAL virtual dataset")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("member", ["d.geojson", "d.vrt"])
def test_a_vrt_inside_a_zip_is_refused(tmp_path: Path, member: str) -> None:
    (tmp_path / "d.zip").write_bytes(_zip(b"\xef\xbb\xbf\n  " + PASSWD_VRT, member))
    with pytest.raises(AllocatorError, match=f"the file {member} in the zip file is a GDAL virtual dataset"):
        checked_file(tmp_path / "d.zip", field="demand[0].source")


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("d.gpkg", b"id,lon,lat\n", "GeoPackage"), ("d.geojson", b"<gml:FeatureCollection>", "GeoJSON"),
    ("p.tif", b"\x89PNG\r\n", "GeoTIFF"), ("d.fgb", b"", "FlatGeobuf"), ("d.shp", b"PK\x03\x04", "Shapefile")])
def test_a_file_renamed_from_another_format_is_refused(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(AllocatorError, match=f"the file is not a {kind} file") as info:
        checked_file(tmp_path / name, field="demand[0].source")
    assert info.value.file == str(tmp_path / name) and "renamed" in info.value.fix


def test_geojson_with_a_byte_order_mark_and_blank_lines_passes(tmp_path: Path) -> None:
    text = '{"type": "FeatureCollection", "features": [' + _feature(0) + "]}"
    (tmp_path / "d.geojson").write_bytes(b"\xef\xbb\xbf\n\n  " + text.encode())
    assert checked_file(tmp_path / "d.geojson") == tmp_path / "d.geojson"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_shapefile_part_that_is_no_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    """GDAL opens the .dbf next to the .shp: a named pipe there would block the run forever."""
    import os

    import geopandas as gpd
    from shapely.geometry import Point

    gpd.GeoDataFrame({"p": [1]}, geometry=[Point(-46.63, -23.55)], crs=4326).to_file(tmp_path / "d.shp")
    assert checked_file(tmp_path / "d.shp") == tmp_path / "d.shp"
    (tmp_path / "d.dbf").unlink()
    if kind == "fifo":
        os.mkfifo(tmp_path / "d.dbf")
    else:
        (tmp_path / "d.dbf").symlink_to("/dev/zero")
    with pytest.raises(AllocatorError, match="not a regular file") as info:
        checked_file(tmp_path / "d.shp", field="demand[0].source")
    assert info.value.file == str(tmp_path / "d.dbf") and info.value.field == "demand[0].source"


# --------------------------------------------------------------------------- #
# ALLOCATOR_MAX_FILE_MB                                                       #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e400", "1e12", "abc", "-inf"])
def test_an_absurd_max_file_mb_is_an_error_naming_the_variable(tmp_path: Path, capsys, monkeypatch,
                                                              value: str) -> None:
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", value)
    with pytest.raises(AllocatorError, match=f"ALLOCATOR_MAX_FILE_MB='{value}' is not a size in MB") as info:
        data_file_cap()
    assert "ALLOCATOR_MAX_FILE_MB=" in info.value.fix and "unset it" in info.value.fix
    code, err = cli(tmp_path, SMALL, capsys)
    assert_clean_error(code, err, "ALLOCATOR_MAX_FILE_MB", value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("value", "expected"), [("", 4 << 30), ("  ", 4 << 30), ("0.5", 1 << 19),
                                                 ("8192", 8 << 30), ("1048576", 1 << 40)])
def test_sensible_max_file_mb_values_set_the_cap(monkeypatch, value: str, expected: int) -> None:
    monkeypatch.setenv("ALLOCATOR_MAX_FILE_MB", value)
    assert data_file_cap() == expected


def test_the_expansion_bound_leaves_real_compressed_data_alone(tmp_path: Path, mirror: Path) -> None:
    """São Paulo's hexgrid CSV in each format (a few times smaller compressed) passes the gate."""
    data = (mirror / "sao_paulo" / "spo_hexgrid.csv").read_bytes()
    for suffix, compress in COMPRESS.items():
        path = tmp_path / f"spo_hexgrid.csv{suffix}"
        path.write_bytes(compress(data))
        assert len(data) / path.stat().st_size < MAX_EXPANSION
        assert checked_file(path) == path
