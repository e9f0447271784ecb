"""Money: the currency code, per-site build and running costs, spending and cost per person reached.

Every figure is recomputed here from the files the small matrix case writes
(money_case.py): the chosen sites' costs summed by hand, the people within the
threshold from the matrix with numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from money_case import write_case
from test_hostile import assert_clean_error

from allocator.cli import main
from allocator.evaluate.costs import spending
from allocator.scale.sweep import run_loaded
from allocator.scenario.loader import load_scenario
from allocator.scenario.money import money


def run_case(path: Path):
    scenario = load_scenario(path)
    return run_loaded(scenario, solver=scenario.spec.solver, client=None, quiet=True)


def within_people(folder: Path, open_ids: list[str], threshold: float) -> float:
    """People with an open site within ``threshold`` minutes, straight from matrix.csv and demand.csv."""
    matrix = pd.read_csv(folder / "matrix.csv")
    demand = pd.read_csv(folder / "demand.csv")
    near = matrix[matrix["destination"].isin(open_ids) & (matrix["minutes"] <= threshold)]["origin"].unique()
    return float(demand.loc[demand["id"].isin(near), "people"].sum())


def edit(path: Path, change) -> Path:
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_spending_and_cost_per_person_match_the_files(tmp_path: Path) -> None:
    result = run_case(write_case(tmp_path))
    s = result.only
    chosen = s.facilities.loc[s.facilities["status"] == "new", "id"].tolist()
    sites = pd.read_csv(tmp_path / "sites.csv").set_index("id")
    sp = spending(s, result.info.currency)
    assert sp.currency == "BRL"
    assert sp.build == pytest.approx(sites.loc[chosen, "build"].sum())
    assert sp.running_per_year == pytest.approx(sites.loc[chosen, "running"].sum())
    reached = within_people(tmp_path, ["e0", *chosen], 10) - within_people(tmp_path, ["e0"], 10)
    assert reached > 0
    assert sp.people_reached == pytest.approx(reached)
    assert sp.per_person_reached == pytest.approx((sp.build + sp.running_per_year) / reached)


def test_outputs_carry_the_costs_in_the_currency(tmp_path: Path) -> None:
    path = write_case(tmp_path, cost_note="assumed for the test")
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    folder = tmp_path / "out" / "case"
    doc = json.loads((folder / "summary.json").read_text())
    block = doc["services"][0]["spending"]
    table = pd.read_csv(folder / "sites.csv")
    new = table[table["status"] == "new"]
    assert block["build"] == pytest.approx(new["build_cost"].sum())
    assert block["running_per_year"] == pytest.approx(new["running_cost_per_year"].sum())
    assert set(table["currency"]) == {"BRL"}
    assert table.loc[table["status"] == "existing", "build_cost"].isna().all()
    report = (folder / "report.html").read_text()
    assert money(block["first_year"], "BRL") in report and "BRL" in money(1_200_000, "BRL")
    assert money(block["per_person_reached"], "BRL") in report
    assert "assumed for the test" in report


def test_money_words() -> None:
    assert money(1_200_000, "BRL") == "BRL 1,200,000"
    assert money(12.5, "EUR") == "EUR 12.50"
    assert money(63, None) == "63 units"


def test_chinese_report_has_the_new_boxes(tmp_path: Path) -> None:
    path = write_case(tmp_path, language="zh", robustness={"speed_share": 0.1, "alternatives": False})
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    report = (tmp_path / "out" / "case" / "report.html").read_text()
    for words in ("费用", "首年合计", "可信程度", "已试情形", "速度 -10%", "运行日期"):
        assert words in report, words


def test_without_currency_amounts_are_units(tmp_path: Path) -> None:
    path = edit(write_case(tmp_path), lambda s: s.pop("currency"))
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    doc = json.loads((tmp_path / "out" / "case" / "summary.json").read_text())
    assert doc["services"][0]["spending"]["currency"] is None
    assert " units" in (tmp_path / "out" / "case" / "report.html").read_text()


def test_without_costs_a_currency_leaves_building_not_stated(tmp_path: Path) -> None:
    def no_costs(s):
        s["services"][0]["candidates"].pop("cost")
        s["services"][0]["candidates"].pop("running_cost")
    result = run_case(edit(write_case(tmp_path), no_costs))
    sp = spending(result.only, "BRL")
    assert sp.build is None and sp.first_year is None and sp.per_person_reached is None
    assert spending(result.only, None).build == len(result.only.solution.new_sites)   # one unit a site


@pytest.mark.parametrize("code, words", [("BRR", ["'BRR' is not an ISO 4217"]), ("brl", ["upper case", "'BRL'"]),
                                         ("", ["ISO 4217"])])
def test_unknown_currency_is_a_clean_error(tmp_path: Path, capsys, code: str, words: list[str]) -> None:
    path = edit(write_case(tmp_path), lambda s: s.update(currency=code))
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, "currency", *words)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cell, words", [("-5", ["negative"]), ("", ["empty"]), ("abc", ["non-numeric"]),
                                         ("nan", ["empty"])])
def test_bad_running_cost_cells_name_file_and_field(tmp_path: Path, capsys, cell: str, words: list[str]) -> None:
    path = write_case(tmp_path)
    sites = pd.read_csv(tmp_path / "sites.csv").astype({"running": object})
    sites.loc[4, "running"] = cell
    sites.to_csv(tmp_path / "sites.csv", index=False)
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, "sites.csv", "services[0].candidates.running_cost", *words)


def test_missing_running_cost_column_names_it(tmp_path: Path, capsys) -> None:
    path = edit(write_case(tmp_path), lambda s: s["services"][0]["candidates"].update(running_cost="yearly"))
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, "sites.csv", "running_cost", "yearly")


@pytest.mark.parametrize("value, words", [(-3, ["greater than or equal to 0"]), (".nan", ["finite number"])])
def test_bad_running_cost_numbers_are_schema_errors(tmp_path: Path, capsys, value, words) -> None:
    path = write_case(tmp_path)
    text = path.read_text().replace("running_cost: running", f"running_cost: {value}")
    path.write_text(text)
    capsys.readouterr()
    status = main([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert_clean_error(status, capsys.readouterr().err, "services[0].candidates.running_cost")


def test_comparison_adds_cost_rows(tmp_path: Path) -> None:
    first = write_case(tmp_path)
    second = tmp_path / "b.yaml"
    spec = yaml.safe_load(first.read_text())
    spec["name"], spec["services"][0]["p"] = "case_b", 2
    second.write_text(yaml.safe_dump(spec))
    assert main(["--compare", str(first), str(second), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    frame = pd.read_csv(tmp_path / "out" / "compare" / "comparison.csv").set_index("metric")
    for name in ("case", "case_b"):
        doc = json.loads((tmp_path / "out" / name / "summary.json").read_text())["services"][0]["spending"]
        assert float(frame.loc["cost_first_year", name]) == pytest.approx(doc["first_year"])
        assert float(frame.loc["cost_per_person_reached", name]) == pytest.approx(doc["per_person_reached"])
    page = (tmp_path / "out" / "compare" / "comparison.html").read_text()
    assert "Cost per person reached" in page and "BRL " in page
    assert np.isfinite(frame.loc["cost_first_year", ["case", "case_b"]].astype(float)).all()


def test_comparison_cost_rows_of_a_phased_plan_say_every_phase_is_built(tmp_path: Path) -> None:
    # a phased plan's "first year" is every phase built plus one year of running them all (as the report says)
    first = write_case(tmp_path)

    def variant(name: str, **service) -> Path:
        def change(spec: dict) -> None:
            spec["name"] = name
            del spec["services"][0]["p"]
            spec["services"][0].update(service)
        path = tmp_path / f"{name}.yaml"
        path.write_text(first.read_text())
        return edit(path, change)

    phased = variant("case_b", phases=[{"year": 2027, "budget": 900_000}, {"year": 2029, "budget": 900_000}])
    out = tmp_path / "out"
    assert main(["--compare", str(first), str(phased), "--out", str(out), "--quiet"]) == 0
    order = json.loads((out / "case_b" / "summary.json").read_text())["services"][0]["phases"]["build_order"]
    built = [s["id"] for ph in order for s in ph["new_sites"]]
    assert all(ph["new_sites"] for ph in order)   # both phases build
    sites = pd.read_csv(tmp_path / "sites.csv").set_index("id")
    every_phase = sites.loc[built, "build"].sum() + sites.loc[built, "running"].sum()
    frame = pd.read_csv(out / "compare" / "comparison.csv").set_index("metric")
    assert float(frame.loc["cost_first_year", "case_b"]) == pytest.approx(every_phase)
    page = (out / "compare" / "comparison.html").read_text()
    assert "Cost, first year (a phased plan: every phase built, plus one year of running)" in page
    assert "Cost per person reached (a phased plan: once every phase is built)" in page
    one_go = variant("case_c", p=2)
    assert main(["--compare", str(first), str(one_go), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    plain = (tmp_path / "plain" / "compare" / "comparison.html").read_text()
    assert "Cost, first year" in plain and "a phased plan" not in plain


def test_console_states_spending_and_robustness(tmp_path: Path, capsys) -> None:
    path = write_case(tmp_path, robustness={"threshold_min": 2, "alternatives": False})
    capsys.readouterr()
    assert main([str(path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "out" / "case" / "summary.json").read_text())
    sp, r = doc["services"][0]["spending"], doc["robustness"]
    assert f"clinics spending: first year {money(sp['first_year'], 'BRL')}, " \
           f"{money(sp['per_person_reached'], 'BRL')} per person newly within 10 min" in out
    assert f"{len(r['stable_sites'])} of {r['chosen_sites']} new sites chosen in every one of 3 variants" in out
