"""The robustness batch: variants of the plan, the sites chosen in every variant, the plan without each site.

The figures are checked against independent computations on the small matrix
case (money_case.py): max coverage by brute force over every set of p
candidates, straight from matrix.csv and demand.csv.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from money_case import write_case
from test_hostile import assert_clean_error

from allocator import pipeline
from allocator.cli import main
from allocator.scale.cluster import open_client
from allocator.scale.robustness import RobustnessJob, Variant, run_robustness, solve_variant
from allocator.scenario.loader import load_scenario

P, THRESHOLD = 3, 10


def brute_force(folder: Path, *, forbidden: str | None = None, factor: float = 1.0,
                threshold: float = THRESHOLD, people: pd.Series | None = None) -> float:
    """The most people within ``threshold`` (times divided by ``factor``) with e0 and the best P candidates."""
    matrix = pd.read_csv(folder / "matrix.csv")
    demand = pd.read_csv(folder / "demand.csv")
    weights = (people if people is not None else demand["people"]).to_numpy(float)
    table = matrix.pivot(index="origin", columns="destination", values="minutes").loc[demand["id"]] / factor
    covered = table.to_numpy() <= threshold
    columns = list(table.columns)
    base = covered[:, columns.index("e0")]
    candidates = [c for c in columns if c != "e0" and c != forbidden]
    return max(float(weights[base | covered[:, [columns.index(c) for c in chosen]].any(axis=1)].sum())
               for chosen in itertools.combinations(candidates, P))


@pytest.fixture
def case(tmp_path: Path):
    path = write_case(tmp_path, robustness={"speed_share": 0.1, "threshold_min": 2,
                                            "population": [{"districts": {"z1": 1.5}, "label": "z1 +50%"}]})
    scenario = load_scenario(path)
    return tmp_path, scenario, run_robustness(scenario, solver=scenario.spec.solver, client=None, quiet=True)


def test_baseline_variant_equals_the_plain_run(case) -> None:
    _, scenario, result = case
    plain = pipeline.run(scenario, log=pipeline.Progress(quiet=True)).only
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    baseline = solve_variant(RobustnessJob(prepared, scenario.spec.solver), Variant("baseline"))
    new = plain.facilities.loc[plain.facilities["status"] == "new", "id"].tolist()
    assert sorted(baseline.sites) == sorted(new) == sorted(result.robustness.baseline.sites)
    assert baseline.objective == plain.solution.objective == result.robustness.baseline.objective
    assert result.only.solution.objective == plain.solution.objective   # the run itself is the plain run


def test_site_swaps_equal_separate_runs_without_the_site(case) -> None:
    folder, _, result = case
    r = result.robustness
    best = brute_force(folder)
    assert r.baseline.objective == pytest.approx(best)
    assert len(r.swaps) == P
    for swap, alternative in zip(r.swaps, r.alternatives, strict=True):
        without = brute_force(folder, forbidden=swap.removed)
        assert alternative.objective == pytest.approx(without)
        assert swap.people_change == pytest.approx(without - best)
        assert swap.removed not in alternative.sites
        assert set(swap.added) == set(alternative.sites) - set(r.baseline.sites)


def test_changed_conditions_equal_independent_solves(case) -> None:
    folder, _, result = case
    by_label = {v.label: v for v in result.robustness.variants}
    assert by_label["-10%"].objective == pytest.approx(brute_force(folder, factor=0.9))
    assert by_label["+10%"].objective == pytest.approx(brute_force(folder, factor=1.1))
    assert by_label["-2 min"].objective == pytest.approx(brute_force(folder, threshold=THRESHOLD - 2))
    assert by_label["+2 min"].objective == pytest.approx(brute_force(folder, threshold=THRESHOLD + 2))
    demand = pd.read_csv(folder / "demand.csv")
    grown = demand["people"] * np.where(demand["zone"] == "z1", 1.5, 1.0)
    assert by_label["z1 +50%"].objective == pytest.approx(brute_force(folder, people=grown))


def test_stable_sites_and_range_count_the_variants(case) -> None:
    _, _, result = case
    r = result.robustness
    solved = [r.baseline, *r.variants]
    assert len(solved) == 6
    for site in r.baseline.sites:
        assert r.times_chosen[site] == sum(site in v.sites for v in solved)
    assert r.stable == [s for s in r.baseline.sites if all(s in v.sites for v in solved)]
    shares = [v.within_share for v in solved]
    assert r.share_range == (min(shares), max(shares))


@pytest.mark.slow
def test_a_two_variant_batch_on_a_local_dask_cluster_equals_serial(tmp_path: Path) -> None:
    path = write_case(tmp_path, robustness={"speed_share": 0.2, "alternatives": False})
    scenario = load_scenario(path)
    serial = run_robustness(scenario, solver=scenario.spec.solver, client=None, quiet=True).robustness
    with open_client(workers=2) as client:
        spread = run_robustness(scenario, solver=scenario.spec.solver, client=client, quiet=True).robustness
    assert len(spread.variants) == 2
    assert [(v.label, v.sites, v.objective) for v in spread.variants] == \
        [(v.label, v.sites, v.objective) for v in serial.variants]


def test_forbidding_a_site_takes_it_out(case) -> None:
    _, scenario, _ = case
    prepared = pipeline.prepare(scenario, log=pipeline.Progress(quiet=True))
    p = prepared.services[0]
    smaller = p.without_sites(["s3"])
    assert "s3" not in set(smaller.sites["id"]) and smaller.cost.shape[1] == p.cost.shape[1] - 1
    with pytest.raises(ValueError, match="not candidate sites"):
        p.without_sites(["e0"])
    assert replace(p) == p   # the problem given is unchanged


@pytest.mark.parametrize("robustness, field, words", [
    ({"threshold_min": 10}, "robustness.threshold_min", ["leaves no time"]),
    ({"service": "schools"}, "robustness.service", ["not a service"]),
    ({"speed_share": 1.5}, "robustness.speed_share", ["less than 1"]),
    ({"alternatives": False}, "robustness", ["at least one of"]),
])
def test_bad_robustness_sections(tmp_path: Path, capsys, robustness, field, words) -> None:
    path = write_case(tmp_path, robustness=robustness)
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, field, *words)


@pytest.mark.parametrize("body, field, words", [
    ("id,growth\nd1,1.2\n", "robustness.population[0].factor", ["no column 'factor'"]),
    ("id,factor\nd1,-1\n", "robustness.population[0].factor", ["not a factor >= 0", "-1"]),
    ("id,factor\nd1,lots\n", "robustness.population[0].factor", ["'lots'"]),
    ("id,factor\nd1,\n", "robustness.population[0].factor", ["not a factor"]),
    ("id,factor\nd1,1\nd1,2\n", "robustness.population[0].id", ["listed twice"]),
])
def test_bad_growth_files_name_file_column_and_fix(tmp_path: Path, capsys, body: str, field: str, words) -> None:
    (tmp_path / "growth.csv").write_text(body)
    path = write_case(tmp_path, robustness={"population": [{"file": "growth.csv"}], "alternatives": False})
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, "growth.csv", field, *words)


def test_unknown_district_key_is_a_clean_error(tmp_path: Path, capsys) -> None:
    path = write_case(tmp_path, robustness={"population": [{"districts": {"z9": 2.0}}]})
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, "robustness.population[0].districts", "'z9'")


def test_growth_file_scales_the_listed_ids(tmp_path: Path) -> None:
    (tmp_path / "growth.csv").write_text("id,factor\nd1,2\nd5,0\n")
    path = write_case(tmp_path, robustness={"population": [{"file": "growth.csv", "label": "g"}],
                                            "alternatives": False})
    scenario = load_scenario(path)
    r = run_robustness(scenario, solver=scenario.spec.solver, client=None, quiet=True).robustness
    demand = pd.read_csv(tmp_path / "demand.csv")
    grown = demand["people"] * demand["id"].map({"d1": 2.0, "d5": 0.0}).fillna(1.0)
    assert r.variants[0].objective == pytest.approx(brute_force(tmp_path, people=grown))


def test_report_and_summary_state_how_sure(tmp_path: Path) -> None:
    import html
    import json

    path = write_case(tmp_path, robustness={"threshold_min": 2})
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    folder = tmp_path / "out" / "case"
    doc = json.loads((folder / "summary.json").read_text())
    block, sure = doc["robustness"], doc["how_sure"]
    assert sure["variants_tried"] == block["variants_tried"] == 3
    assert sure["stable_sites"] == block["stable_sites"] and sure["data_year"] is None
    assert sure["software_version"] and doc["timings"]["run_date"]
    report = html.unescape((folder / "report.html").read_text())
    sites = pd.read_csv(folder / "sites.csv").set_index("id")
    for site, k in block["times_chosen"].items():
        assert f"{sites.loc[site, 'place'].lstrip(chr(39))}: in {k} of 3 variants" in report
    assert f"{len(block['stable_sites'])} of {block['chosen_sites']} new sites are chosen in every variant" in report
    assert f"run on {doc['timings']['run_date']}" in report.split("<footer>")[1]
    for swap in block["alternatives"]:
        assert f"{swap['within_share_change'] * 100:+.1f} percentage points" in report
