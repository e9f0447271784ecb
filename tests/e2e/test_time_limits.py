"""solver.time_limit_s end to end on the hand-made matrix scenario (tests/e2e/test_matrix.py): a run past its limit
exits 2 saying no plan was found and writes nothing; a phased run whose one-shot comparisons run out keeps its
plan and says, in every output, that the price of phasing is unknown (tests/unit/solve/test_stage_limits.py holds
the models themselves)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_hostile import assert_clean_error, cli
from test_matrix import hand_files

from allocator.cli import main
from allocator.solve import deadline as deadline_module
from allocator.solve.plan import phases as phases_module

CANDIDATES = {"source": "c12.csv", "id": "id", "lon": "lon", "lat": "lat"}
#: what each objective needs besides its candidates (a budget makes the p-median a plan model): the models
#: with no plan before their integer program
SERVICES = {
    "p_median plan": {"objective": "p_median", "threshold_min": 5, "p": 1, "budget": 1},
    "max_coverage plan": {"objective": "max_coverage", "threshold_min": 5, "p": 1, "budget": 1},
    "set_cover": {"objective": "set_cover", "threshold_min": 5},
}


@pytest.mark.parametrize("case", SERVICES)
def test_a_run_past_its_limit_exits_2_saying_no_plan_and_writes_nothing(tmp_path: Path, capsys, case: str) -> None:
    # a microsecond: past before the first model is built (the travel times are not counted)
    path = hand_files(tmp_path, services=[{"name": "svc", **SERVICES[case], "candidates": CANDIDATES}],
                      solver={"time_limit_s": 1e-6})
    code, err = cli(tmp_path, path.read_text(), capsys)
    assert_clean_error(code, err, "no plan was found within the time limit", "solver.time_limit_s")
    assert not (tmp_path / "out" / "hand" / "summary.json").exists()


@pytest.mark.parametrize("objective, value, gap, said", [
    # s1 covers a, b (300 people), s2 b, c (500): the greedy's s2; bound: everyone coverable (600)
    ("max_coverage", 500, (600 - 500) / 500,
     "solver: The solver stopped at its time limit: the plan is within 20.00 % of the best possible."),
    # s1 leaves c unserved; s2's longest trip is a's 12 min; bound: the longest of each one's nearest (b: 4 min)
    ("p_center", 12, (12 - 4) / 12, "solver: Time limit reached: best value 12 min, proven lower bound 4 min."),
])
def test_a_model_with_a_greedy_start_past_its_limit_writes_that_plan_with_its_gap(
        tmp_path: Path, capsys, objective: str, value: float, gap: float, said: str) -> None:
    path = hand_files(tmp_path, services=[{"name": "svc", "objective": objective, "threshold_min": 5, "p": 1,
                                           "candidates": CANDIDATES}], solver={"time_limit_s": 1e-6})
    service, _, console = run_cli(path, capsys, "--verbose")
    assert service["status"] == "time_limit" and [s["id"] for s in service["new_sites"]] == ["s2"], service
    assert service["objective_value"] == value and service["gap"] == pytest.approx(gap)
    assert said in console, console


def phased(folder: Path) -> Path:
    """The hand-made scenario as a phased coverage plan: s2 (b and c, 500 people) first, then s1 (a, 100)."""
    return hand_files(folder, services=[{"name": "coverage", "objective": "max_coverage", "threshold_min": 5,
                                         "phases": [{"year": 2027, "budget": 1}, {"year": 2028, "budget": 1}],
                                         "candidates": CANDIDATES}], solver={"time_limit_s": 600})


def run_cli(path: Path, capsys, *extra: str) -> tuple[dict, str, str]:
    """The CLI on ``path``: (its service in summary.json, report.html, the console)."""
    capsys.readouterr()
    assert main([str(path), "--out", str(path.parent / "out"), *extra]) == 0
    out = path.parent / "out" / "hand"
    service = json.loads((out / "summary.json").read_text())["services"][0]
    return service, (out / "report.html").read_text(), capsys.readouterr().out


def test_a_phased_run_whose_comparisons_run_out_keeps_its_plan_and_says_the_price_is_unknown(
        tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "known").mkdir()
    known, _, _ = run_cli(phased(tmp_path / "known"), capsys)
    real = phases_module.solve_plan

    def late(*args, **kwargs):   # the phased model was solved in time; the limit passes as the comparisons start
        monkeypatch.setattr(deadline_module, "time", SimpleNamespace(perf_counter=lambda: time.perf_counter() + 1e6))
        return real(*args, **kwargs)

    monkeypatch.setattr(phases_module, "solve_plan", late)
    for lang in ("en", "zh"):
        (tmp_path / lang).mkdir()
        service, report, console = run_cli(phased(tmp_path / lang), capsys, "--lang", lang)
        monkeypatch.setattr(deadline_module, "time", time)
        assert service["status"] == "optimal" and service["new_sites"] == known["new_sites"]
        order, before = service["phases"]["build_order"], known["phases"]["build_order"]
        assert [[s["id"] for s in ph["new_sites"]] for ph in order] == [["s2"], ["s1"]]
        assert [ph["value"] for ph in order] == [ph["value"] for ph in before] == [500, 600]
        assert all(ph["one_shot_value"] is None and ph["price_of_phasing"] is None and ph["price_share"] is None
                   for ph in order)
        assert [ph["one_shot_value"] for ph in before] == [500, 600]   # s2 alone, then both: phasing costs nothing
        assert "note: The price of phasing for 2027, 2028 is unknown" in console
        if lang == "en":
            assert report.count("<td>unknown</td>") == 4   # the one-shot value and the price of both phases
            assert "The best plan in one go for 2027, 2028 was not found within the time limit" in report
            assert "The price of phasing for 2027, 2028 is unknown" in report   # the caveats
        else:
            assert report.count("<td>未知</td>") == 4 and "2027, 2028 年的分期代价未知" in report
            assert "2027, 2028 年的一次性规划最优方案未能在时间上限内求得" in report
