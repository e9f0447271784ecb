"""A phased plan end to end on central São Paulo: summary.json's build order equals a recomputation
from sites.csv (the year of each new site) and the travel times; the report shows the build order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import mirrored_env

from allocator.api import Problem, run_scenario
from allocator.outputs.map import facility_popup
from allocator.outputs.phases import phases_section
from allocator.solve.kernels import nearest_time

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
PHASED = {
    "name": "spo_phased",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8,
                  "phases": [{"year": 2027, "budget": 3}, {"year": 2028, "budget": 2}, {"year": 2030, "budget": 3}],
                  "existing": {**CELLS, "count": "healthcare"}, "candidates": {**CELLS, "cost": 1.5}}],
    "output": {"tiles": False},
}


@pytest.fixture(scope="module")
def run(mirror: Path, tmp_path_factory):
    with mirrored_env(mirror, tmp_path_factory.mktemp("cache")):
        folder = tmp_path_factory.mktemp("phased")
        path = folder / "s.yaml"
        path.write_text(yaml.safe_dump(PHASED))
        result = run_scenario(path, folder / "out")
        yield folder / "out" / "spo_phased", Problem.from_scenario(path).prepared.services[0], result


@pytest.mark.slow
def test_build_order_equals_a_recomputation_from_sites_csv(run) -> None:
    out, prep, result = run
    phases = json.loads((out / "summary.json").read_text())["services"][0]["phases"]
    sites = pd.read_csv(out / "sites.csv", dtype={"id": str})
    ids = prep.sites["id"].astype(str).to_numpy()
    pop, T = prep.population, 8.0
    open_mask = prep.existing.copy()
    within_before = float(pop[nearest_time(prep.cost, open_mask) <= T].sum())
    built = sites[sites["status"] == "new"]
    assert sorted(built["year"].astype(int).unique()) == sorted({p["year"] for p in phases["build_order"]})
    for ph in phases["build_order"]:
        new = sorted(built.loc[built["year"] == ph["year"], "id"])
        assert new == sorted(s["id"] for s in ph["new_sites"])
        assert ph["spent"] == pytest.approx(1.5 * len(new)) and ph["spent"] <= ph["budget"] + 1e-9
        open_mask |= np.isin(ids, new)
        t = nearest_time(prep.cost, open_mask)
        within = float(pop[t <= T].sum())
        reach = np.isfinite(t)
        assert ph["within"] == pytest.approx(within)
        assert ph["newly_within"] == pytest.approx(within - within_before)
        assert ph["mean_min"] == pytest.approx(float(np.average(t[reach], weights=pop[reach])))
        assert ph["value"] <= ph["one_shot_value"] + 1e-9 and ph["price_of_phasing"] >= 0
        within_before = within
    assert sites.loc[sites["status"] != "new", "year"].isna().all()
    report = (out / "report.html").read_text()
    assert "Build order" in report and f"{phases['build_order'][0]['year']}: build" in report
    assert report.index("Build order") < report.index("Build these")   # on the first screen, above the decision
    zh = phases_section(result, "zh")   # every word of the section in Chinese
    assert "建设顺序" in zh and "分期代价" in zh and "Build order" not in zh and "Price" not in zh


def test_a_new_sites_popup_says_the_year_it_is_built() -> None:
    row = {"id": "a", "name": "A", "place": "A", "lat": 1.0, "lon": 2.0, "status": "new", "count": 1}
    assert "built in" in facility_popup({**row, "year": 2028}, "clinics") and "2028" in facility_popup(
        {**row, "year": 2028}, "clinics")
    assert "built in" not in facility_popup({**row, "year": pd.NA}, "clinics")
    assert "建设年份" in facility_popup({**row, "year": 2028}, "clinics", "zh")
