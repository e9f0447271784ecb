"""The data catalog: every shared data set listed, hashes checked, mirror first, no network."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from allocator.errors import AllocatorError
from allocator.scenario import catalog


def test_catalog_lists_every_shared_file_with_its_readme_hash(mirror: Path) -> None:
    readme = (mirror / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| (\S+/\S+) \| ([0-9a-f]{64}) \|", readme, flags=re.M))
    entries = catalog.load_catalog()
    assert listed, "the mirror README lists files"
    for key, sha in listed.items():
        assert key in entries, f"{key} missing from data/catalog.yaml"
        assert entries[key].sha256 == sha
        assert entries[key].url.startswith("https://") and entries[key].licence and entries[key].attribution


def test_resolve_reads_the_mirror_and_checks_the_hash(mirror: Path, monkeypatch) -> None:
    monkeypatch.setenv(catalog.MIRROR_ENV, str(mirror))
    path = catalog.resolve("catalog:sao_paulo/spo_hexgrid.csv")
    assert path == mirror / "sao_paulo" / "spo_hexgrid.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == catalog.load_catalog()["sao_paulo/spo_hexgrid.csv"].sha256


def test_wrong_hash_is_an_error(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "sao_paulo").mkdir()
    (tmp_path / "sao_paulo" / "spo_hexgrid.csv").write_text("id,lon,lat,population\n")
    monkeypatch.setenv(catalog.MIRROR_ENV, str(tmp_path))
    with pytest.raises(AllocatorError, match="sha256 mismatch"):
        catalog.resolve("sao_paulo/spo_hexgrid.csv")


def test_unknown_key_lists_the_valid_ones() -> None:
    with pytest.raises(AllocatorError, match="porto_alegre/poa_osm.pbf"):
        catalog.resolve("catalog:nowhere/nothing.csv")


def test_download_goes_to_the_cache_once_and_is_verified(tmp_path: Path, monkeypatch, mirror: Path) -> None:
    """Without a mirror the file is downloaded (request layer replaced: no network in tests)."""
    source = mirror / "sao_paulo" / "spo_hexgrid.csv"
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return open(source, "rb")

    monkeypatch.delenv(catalog.MIRROR_ENV, raising=False)
    monkeypatch.setenv(catalog.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(catalog.urllib.request, "urlopen", fake_urlopen)
    first = catalog.resolve("sao_paulo/spo_hexgrid.csv")
    second = catalog.resolve("sao_paulo/spo_hexgrid.csv")
    assert first == second == tmp_path / "data" / "sao_paulo" / "spo_hexgrid.csv"
    assert calls == [catalog.load_catalog()["sao_paulo/spo_hexgrid.csv"].url]


def test_failed_download_says_how_to_use_a_mirror(tmp_path: Path, monkeypatch) -> None:
    def offline(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.delenv(catalog.MIRROR_ENV, raising=False)
    monkeypatch.setenv(catalog.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(catalog.urllib.request, "urlopen", offline)
    with pytest.raises(AllocatorError, match=catalog.MIRROR_ENV):
        catalog.resolve("sao_paulo/spo_osm.pbf")
    assert not list((tmp_path / "data").rglob("*.pbf")), "no partial download left behind"
