"""Scenarios with ``network: {mode: transit}``: a São Paulo run end to end, the Porto Alegre demo scenario, and
clean errors (exit 2) for misplaced keys and broken feeds."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import mirrored_env
from test_hostile import assert_clean_error, cli

from allocator.traveltime.network_source import network_cache_dir

REPO = Path(__file__).resolve().parents[2]
CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
TRANSIT = {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "transit", "gtfs": ["catalog:sao_paulo/spo_gtfs.zip"],
           "departure": "2019-05-13T07:00", "window_min": 20}


def scenario(network: dict, name: str = "spo_transit") -> dict:
    return {"name": name, "network": network,
            "demand": [{"name": "residents", **CELLS, "population": "population"}],
            "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 10,
                          "p": 2, "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
            "output": {"tiles": False}}


def test_transit_keys_need_mode_transit(tmp_path: Path, capsys) -> None:
    network = {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "gtfs": ["feed.zip"], "window_min": 30}
    assert_clean_error(*cli(tmp_path, scenario(network), capsys), "network", "gtfs, window_min",
                       "only with mode: transit")


def test_transit_needs_feeds_and_a_departure(tmp_path: Path, capsys) -> None:
    network = {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "transit"}
    assert_clean_error(*cli(tmp_path, scenario(network), capsys), "network", "gtfs and departure")


def test_a_departure_that_is_not_a_date_and_time(tmp_path: Path, capsys) -> None:
    assert_clean_error(*cli(tmp_path, scenario({**TRANSIT, "departure": "monday 7am"}), capsys),
                       "network.departure", "2019-05-13T14:00")


def test_a_missing_feed_names_its_field(tmp_path: Path, capsys, mirror: Path) -> None:
    with mirrored_env(mirror, tmp_path / "cache"):
        assert_clean_error(*cli(tmp_path, scenario({**TRANSIT, "gtfs": ["nowhere.zip"]}), capsys),
                           "network.gtfs[0]", "nowhere.zip")


@pytest.mark.slow
def test_a_broken_feed_exits_2_naming_the_file_and_field(tmp_path: Path, capsys, mirror: Path) -> None:
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(mirror / "sao_paulo" / "spo_gtfs.zip") as source, zipfile.ZipFile(broken, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "stop_times.txt":
                frame = pd.read_csv(io.BytesIO(data), dtype=str).drop(columns="arrival_time")
                data = frame.to_csv(index=False).encode()
            out.writestr(name, data)
    with mirrored_env(mirror, tmp_path / "cache"):
        assert_clean_error(*cli(tmp_path, scenario({**TRANSIT, "gtfs": [str(broken)]}), capsys),
                           "broken.zip", "stop_times.txt", "arrival_time")


@pytest.mark.slow
def test_sao_paulo_transit_scenario_runs(tmp_path: Path, capsys, mirror: Path) -> None:
    with mirrored_env(mirror, tmp_path / "cache"):
        code, err = cli(tmp_path, scenario(TRANSIT), capsys)
        assert code == 0, err
        walk = {k: v for k, v in TRANSIT.items() if k in ("source",)}
        code, err = cli(tmp_path, scenario({**walk, "mode": "walk"}, "spo_walk"), capsys)
        assert code == 0, err
        # the matrix is cached (where the run caches: the session may have set ALLOCATOR_CACHE already)
        assert list((network_cache_dir() / "transit").glob("transit-*.npz"))
    out = tmp_path / "out"
    summary = json.loads((out / "spo_transit" / "summary.json").read_text())
    walking = json.loads((out / "spo_walk" / "summary.json").read_text())
    assert summary["network"]["mode"] == "transit"
    report = (out / "spo_transit" / "report.html").read_text()
    assert "By public transport, departing 07:00–07:20 on Monday 2019-05-13" in report
    assert "spo_gtfs.zip" in report
    assert "walking at 4.8 km/h to and from stops" in report and "0 km/h" not in report   # the walks' speed
    # the same existing clinics: by transit (or on foot when faster) nobody is farther than on foot
    before = summary["services"][0]["before"]["mean_min"]
    assert before <= walking["services"][0]["before"]["mean_min"] + 1e-9


@pytest.mark.slow
def test_porto_alegre_transit_demo_runs(tmp_path: Path, capsys, mirror: Path) -> None:
    # the demo scenario (`make demo`) on a 15-minute window: the full hour's matrix is a minute of the suite
    scenario_text = (REPO / "scenarios" / "poa_clinics_transit.yaml").read_text()
    assert "window_min: 60" in scenario_text
    scenario_text = scenario_text.replace("window_min: 60", "window_min: 15")
    with mirrored_env(mirror, tmp_path / "cache"):
        code, err = cli(tmp_path, scenario_text.replace("../docs/scenario.schema.json", ""), capsys)
    assert code == 0, err
    report = (tmp_path / "out" / "poa_clinics_transit" / "report.html").read_text()
    assert "By public transport, departing 14:00–14:15 on Monday 2019-05-13" in report
    assert "poa_eptc.zip" in report and "poa_trensurb.zip" in report and "2019-04-15 to 2019-07-15" in report
