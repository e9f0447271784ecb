"""A whole scenario on the real São Paulo data, through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml

from allocator.cli import main
from allocator.solve.run_info import ATTRIBUTION

REPO = Path(__file__).resolve().parents[2]
HEX = "catalog:sao_paulo/spo_hexgrid.csv"
CELLS = {"source": HEX, "h3": "id", "id": "id"}
SCENARIO = {
    "name": "spo_test",
    "title": "São Paulo test",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [
        {"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 3,
         "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS},
        {"name": "schools", "kind": "school", "objective": "p_median", "threshold_min": 10, "p": 2,
         "demand_weights": {"residents": 0.2},
         "existing": {**CELLS, "count": "schools"}, "candidates": CELLS},
    ],
    "output": {"tiles": False},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mirror: Path) -> Path:
    """Run the scenario once through the CLI entry point; the tests read its outputs."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    folder = tmp_path_factory.mktemp("scenario")
    path = folder / "spo.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True))
    assert main([str(path), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out" / "spo_test"


def test_every_output_is_written(run_dir: Path) -> None:
    for name in ("map.html", "summary.json", "sites.csv", "sites.geojson", "demand.geojson"):
        assert (run_dir / name).stat().st_size > 0, name
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")], "no staging folders left"


def test_summary_is_consistent_with_the_tables(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["schema"] == "allocator.summary/2" and ATTRIBUTION in summary["attribution"]
    demand = gpd.read_file(run_dir / "demand.geojson")
    sites = pd.read_csv(run_dir / "sites.csv")
    for service in summary["services"]:
        name, t = service["name"], service["threshold_min"]
        assert service["status"] == "optimal" and service["gap"] in (0, 0.0, None) or service["gap"] < 1e-6
        assert len(service["new_sites"]) == service["p"]
        new_ids = set(sites.loc[(sites.service == name) & (sites.status == "new"), "id"].astype(str))
        assert new_ids == {s["id"] for s in service["new_sites"]}
        pop = demand[f"population_{name}"].to_numpy()
        after = demand[f"after_min_{name}"].to_numpy(dtype=float)
        before = demand[f"before_min_{name}"].to_numpy(dtype=float)
        # the published within-T figure is recomputed from the published per-location times
        assert service["after"]["within"] == pytest.approx(pop[after <= t].sum(), rel=1e-9)
        assert service["before"]["within"] == pytest.approx(pop[before <= t].sum(), rel=1e-9)
        assert np.all(np.nan_to_num(after, nan=np.inf) <= np.nan_to_num(before, nan=np.inf) + 1e-6), \
            "adding sites never lengthens a trip"
        assert service["after"]["within"] >= service["before"]["within"]
    clinics = summary["services"][0]
    assert clinics["objective_value"] == pytest.approx(clinics["after"]["within"], rel=1e-6)
    assert summary["services"][1]["before"]["population"] == pytest.approx(0.2 * 517_570)
    assert summary["network"]["nodes_kept"] > 1000 and 0 <= summary["network"]["dropped_node_share"] < 0.5


def test_map_shows_both_services_and_attribution(run_dir: Path) -> None:
    html = (run_dir / "map.html").read_text()
    assert ATTRIBUTION in html and "clinics" in html and "schools" in html


def test_bad_scenario_exits_2_without_traceback(tmp_path: Path, mirror: Path) -> None:
    bad = yaml.safe_load(yaml.safe_dump(SCENARIO))
    bad["services"][0]["candidates"]["h3"] = "no_such_column"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    env = {**os.environ, "ALLOCATOR_DATA_MIRROR": str(mirror)}
    proc = subprocess.run([sys.executable, str(REPO / "run_scenario.py"), str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no_such_column" in proc.stderr and "services[0].candidates.h3" in proc.stderr
    assert "columns are:" in proc.stderr
    assert not (tmp_path / "o").exists(), "nothing written for a failed run"


def test_help_lists_the_options() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "run_scenario.py"), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--time-limit" in proc.stdout and "--out" in proc.stdout
