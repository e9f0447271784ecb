"""Counters end to end: the scenario section, the staffing in a run, its outputs and its errors (no network)."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.pipeline import Progress, run
from allocator.scenario.loader import load_scenario
from allocator.solve.queueing import queue

POINTS = {"a": (-51.20, -30.03), "b": (-51.21, -30.03), "c": (-51.22, -30.04), "d": (-51.23, -30.04),
          "e1": (-51.205, -30.031), "e2": (-51.225, -30.041), "s1": (-51.23, -30.05)}
# a, b nearest e1; c, d nearest e2; s1 is nearest d
MATRIX = """origin,destination,minutes
a,e1,2
a,e2,9
a,s1,12
b,e1,3
b,e2,8
b,s1,11
c,e1,9
c,e2,2
c,s1,5
d,e1,12
d,e2,4
d,s1,1
"""
POP = {"a": 1000, "b": 1000, "c": 2000, "d": 500}
COUNTERS = {"visits_per_person_day": 0.01, "opening_hours": 8, "service_min": 20, "decision": "reassign",
            "staff": 5, "wait_limit_min": 15}
SCENARIO = {
    "name": "counters",
    "matrix": {"source": "m.csv"},
    "demand": [{"name": "residents", "source": "d.csv", "id": "id", "lon": "lon", "lat": "lat", "population": "pop"}],
    "services": [{
        "name": "offices", "kind": "service_counter", "objective": "p_median", "threshold_min": 10, "p": 0,
        "existing": {"source": "e.csv", "id": "id", "lon": "lon", "lat": "lat", "name_column": "name"},
        "candidates": {"source": "c.csv", "id": "id", "lon": "lon", "lat": "lat"},
        "counters": {**COUNTERS, "today": "desks"},
        "targets": [{"metric": "wait_worst_office_min", "max": 10, "label": "mean wait ≤ 10 min at every office"}],
    }],
    "output": {"tiles": False},
}


def files(folder: Path, **counters) -> Path:
    """The hand-made scenario (4 places, offices e1 with 4 desks and e2 with 1, candidate s1); return its path."""
    pd.DataFrame([{"id": k, "lon": POINTS[k][0], "lat": POINTS[k][1], "pop": p} for k, p in POP.items()]) \
        .to_csv(folder / "d.csv", index=False)
    pd.DataFrame([{"id": k, "name": f"Office <{k}>", "lon": POINTS[k][0], "lat": POINTS[k][1], "desks": n}
                  for k, n in (("e1", 4), ("e2", 1))]).to_csv(folder / "e.csv", index=False)
    pd.DataFrame([{"id": "s1", "lon": POINTS["s1"][0], "lat": POINTS["s1"][1]}]).to_csv(folder / "c.csv", index=False)
    (folder / "m.csv").write_text(MATRIX)
    doc = copy.deepcopy(SCENARIO)
    service = doc["services"][0]
    for key, value in counters.items():
        if key in ("p", "objective"):
            service[key] = value
        elif value is ...:
            service["counters"].pop(key, None)
        else:
            service["counters"][key] = value
    (folder / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return folder / "s.yaml"


def per_hour(people: float) -> float:
    return people * 0.01 / 8


def brute_best(lams: list[float], total: int, service_min: float = 20.0) -> tuple[int, ...]:
    """The split of ``total`` counters over the offices with the least person-minutes of waiting."""
    def waiting(split):
        return sum(r * queue(c, r, service_min).mean_wait_min for c, r in zip(split, lams, strict=True))
    splits = [s for s in itertools.product(range(1, total + 1), repeat=len(lams)) if sum(s) == total]
    return min(splits, key=waiting)


def test_reassign_moves_counters_to_the_unstable_office(tmp_path: Path) -> None:
    result = run(load_scenario(files(tmp_path)), log=Progress(quiet=True))
    s = result.services[0]
    st = s.staffing
    lam = [per_hour(2000), per_hour(2500)]       # e1 serves a+b, e2 serves c+d: 2.5 and 3.125 per hour
    np.testing.assert_allclose(st.offices["visitors_per_h_after"], lam)
    assert st.offices["counters_before"].tolist() == [4, 1]
    assert tuple(st.offices["counters_after"]) == brute_best(lam, 5)
    assert st.offices["counters_after"].tolist() == [2, 3]
    # e2 with one counter: load 3.125 * 20 / 60 > 1, unstable before
    assert st.metrics["before"]["unstable_offices"] == 1 and st.metrics["after"]["unstable_offices"] == 0
    q = queue(3, lam[1], 20.0)
    assert st.offices["mean_wait_min_after"][1] == pytest.approx(q.mean_wait_min)
    assert st.offices["share_over_limit_after"][1] == pytest.approx(q.share_longer(15))
    waits = [queue(2, lam[0], 20).mean_wait_min, q.mean_wait_min]
    assert st.metrics["after"]["wait_mean_min"] == pytest.approx(np.average(waits, weights=lam))
    assert st.metrics["after"]["wait_worst_office_min"] == pytest.approx(max(waits))
    # per person: travel + the expected wait at the office
    trips = np.array([2 + waits[0], 3 + waits[0], 2 + waits[1], 4 + waits[1]])
    assert st.metrics["after"]["travel_wait_mean_min"] == pytest.approx(np.average(trips, weights=list(POP.values())))
    target = s.equity["targets"][0]
    assert target["met_before"] is False and target["after"] == pytest.approx(max(waits))
    assert target["met_after"] is (max(waits) <= 10)


@pytest.mark.slow
def test_outputs_carry_the_counters(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(files(tmp_path)), "--out", str(out), "--quiet"]) == 0
    folder = out / "counters"
    sites = pd.read_csv(folder / "sites.csv")
    assert sites["counters_before"].tolist() == [4, 1] and sites["counters_after"].tolist() == [2, 3]
    assert {"visitors_per_h_after", "utilisation_after", "mean_wait_min_after", "share_over_limit_after"} <= set(sites)
    doc = json.loads((folder / "summary.json").read_text())["services"][0]["counters"]
    assert doc["moves"] == ["move 2 counters to Office <e2> (from Office <e1> (2))"]   # a count, not a number
    assert doc["before"]["wait_mean_min"] is None          # an unstable office: infinite, null in JSON
    assert doc["after"]["unstable_offices"] == 0 and len(doc["offices"]) == 2
    report = (folder / "report.html").read_text()
    assert "Move 2 counters to Office &lt;e2&gt; (from Office &lt;e1&gt; (2))." in report and "<e1>" not in report
    # the staffing decision is part of the decision brief, before the service's details
    assert report.index("Counters and waiting") < report.index("class='decision'") + report[
        report.index("class='decision'"):].index("</section>")
    assert "counters (size) and mean wait (colour)" in (folder / "map.html").read_text()
    # --lang zh: the staffing section in Chinese, the office names still escaped
    assert main([str(files(tmp_path)), "--out", str(tmp_path / "zh"), "--quiet", "--lang", "zh"]) == 0
    zh = (tmp_path / "zh" / "counters" / "report.html").read_text()
    assert "窗口与等候" in zh and "将 2 个窗口调至Office &lt;e2&gt;（来自 Office &lt;e1&gt;（2））。" in zh
    assert "Move 2 counters" not in zh and "Visitors per hour" not in zh
    zh_map = (tmp_path / "zh" / "counters" / "map.html").read_text()
    assert "规划后平均等候（圆圈大小：窗口数）" in zh_map and "counters (size)" not in zh_map   # legend, layer
    demand = json.loads((folder / "demand.geojson").read_text())["features"]
    waits = [f["properties"]["wait_after_min_offices"] for f in demand]
    assert waits[0] == waits[1] and waits[2] == waits[3] and all(w is not None for w in waits)
    assert all(f["properties"]["wait_before_min_offices"] is None for f in demand[2:])   # e2 unstable before


def test_add_spends_the_budget_and_opens_nothing_it_cannot_staff(tmp_path: Path) -> None:
    # add with a budget of 3 counters at cost 1: e2 needs 1 more to be stable (2), the other 2 go where waiting
    # falls most; brute force over the ways to add 2 more
    result = run(load_scenario(files(tmp_path, decision="add", staff=..., budget=3)), log=Progress(quiet=True))
    st = result.services[0].staffing
    lam = [per_hour(2000), per_hour(2500)]
    best = min(((4 + i, 2 + j) for i in range(3) for j in range(3) if i + j == 2),
               key=lambda s: sum(r * queue(c, r, 20).mean_wait_min for c, r in zip(s, lam, strict=True)))
    assert tuple(st.offices["counters_after"]) == best and st.spent == pytest.approx(3.0)


def test_meet_target_takes_the_fewest_counters(tmp_path: Path) -> None:
    path = files(tmp_path, decision="add", staff=..., goal="meet_target", mean_wait_max_min=10)
    st = run(load_scenario(path), log=Progress(quiet=True)).services[0].staffing
    lam = [per_hour(2000), per_hour(2500)]
    assert st.offices["counters_after"][0] == 4        # counters are only added: e1 keeps its 4
    c = int(st.offices["counters_after"][1])           # e2: the fewest with a mean wait <= 10 min
    assert queue(c, lam[1], 20).mean_wait_min <= 10 < queue(c - 1, lam[1], 20).mean_wait_min
    assert st.spent == pytest.approx(c - 1)


def test_open_decision_opens_the_office_the_target_needs(tmp_path: Path) -> None:
    # p = 1: opening s1 takes d (1 min instead of 4) off e2; every office must keep its mean wait <= 10 min
    path = files(tmp_path, decision="open", staff=..., p=1, budget=20, mean_wait_max_min=10)
    s = run(load_scenario(path), log=Progress(quiet=True)).services[0]
    assert s.facilities["id"].tolist() == ["e1", "e2", "s1"]
    assert s.solution.objective == pytest.approx(1000 * 2 + 1000 * 3 + 2000 * 2 + 500 * 1)   # person-minutes
    assert s.staffing.metrics["after"]["wait_worst_office_min"] <= 10
    st = s.staffing   # spent: the added counters (cost 1 each) and the new office (default cost 1)
    assert st.spent == pytest.approx((st.offices["counters_after"] - st.offices["counters_before"]).sum() + 1)


def test_open_decision_pays_candidates_cost(tmp_path: Path) -> None:
    path = files(tmp_path, decision="open", staff=..., p=1, budget=20, mean_wait_max_min=10)
    doc = yaml.safe_load(path.read_text())
    doc["services"][0]["candidates"]["cost"] = 7.5
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    st = run(load_scenario(path), log=Progress(quiet=True)).services[0].staffing
    assert st.spent == pytest.approx((st.offices["counters_after"] - st.offices["counters_before"]).sum() + 7.5)
    doc["services"][0]["counters"]["budget"] = 7   # cannot even open s1: the plan keeps the two offices
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    s = run(load_scenario(path), log=Progress(quiet=True)).services[0]
    assert s.facilities["id"].tolist() == ["e1", "e2"] and s.staffing.spent <= 7


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"staff": 2}, "services[0].counters.staff", ["3 counters are needed", "staff is 2"]),
    ({"decision": "add", "staff": ..., "budget": 0}, "services[0].counters.budget", ["costs 1", "budget is 0"]),
    ({"max_per_office": 1}, "services[0].counters.max_per_office", ["Office <e2>", "at most 1 counters"]),
    ({"service_min": 0}, "services[0].counters.service_min", ["greater than 0"]),
    ({"visits_per_person_day": -0.1}, "services[0].counters.visits_per_person_day", ["greater than 0"]),
    ({"goal": "meet_target"}, "services[0].counters", ["needs a target"]),
    ({"servce_min": 4}, "services[0].counters", ["did you mean 'service_min'"]),
    ({"visits_per_person_year": 2}, "services[0].counters", ["exactly one of 'visits_per_person_day'"]),
    ({"decision": "open", "staff": ..., "p": 1, "budget": 1, "mean_wait_max_min": 1},
     "services[0].counters", ["no set of offices and counters meets the wait target"]),
])
def test_bad_counters_name_file_field_and_fix(tmp_path: Path, capsys, change, field, words) -> None:
    path = files(tmp_path, **change)
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "s.yaml" in err and field in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "out" / "counters").exists()


def test_wait_targets_need_counters_and_are_not_per_district(tmp_path: Path) -> None:
    path = files(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["services"][0]["targets"][0]["per_district"] = True
    doc["districts"] = {"h3_parent": 6}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(AllocatorError, match="per office, not per district"):
        load_scenario(path)
    del doc["services"][0]["counters"]
    doc["services"][0]["targets"][0]["per_district"] = False
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(AllocatorError, match="wait targets need a 'counters' section") as err:
        load_scenario(path)
    assert err.value.field and err.value.field.startswith("services[0]")


def test_counters_today_must_be_whole(tmp_path: Path) -> None:
    path = files(tmp_path, today=...)
    pd.read_csv(tmp_path / "e.csv").assign(desks=[4, 1]).to_csv(tmp_path / "e.csv", index=False)
    # without 'today' the existing layer's count (1 per row here) is used
    assert run(load_scenario(path), log=Progress(quiet=True)).services[0].staffing.offices["counters_before"].tolist() == [1, 1]
    path = files(tmp_path, today="desks")
    pd.read_csv(tmp_path / "e.csv").assign(desks=[4, 1.5]).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(AllocatorError, match="whole numbers") as err:
        run(load_scenario(path), log=Progress(quiet=True))
    assert err.value.field == "services[0].counters.today"


def alternatives_scenario(folder: Path) -> Path:
    """The hand-made offices twice, as alternative plans: A moves the 5 desks, B adds the fewest for a 10-minute wait."""
    path = files(folder)
    doc = yaml.safe_load(path.read_text())
    first = doc["services"][0]
    second = copy.deepcopy(first)
    first["title"] = "Plan A: desks moved"
    second.update(name="offices_more", title="Plan B: desks added", alternative_to="offices")
    second["counters"].pop("staff")
    second["counters"].update(decision="add", goal="meet_target", mean_wait_max_min=10)
    doc["services"] = [first, second]
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


def test_alternatives_get_their_own_sections_and_titles(tmp_path: Path) -> None:
    """Issue 24: each alternative plan has its own decision section under its title; never the service key."""
    assert main([str(alternatives_scenario(tmp_path)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    report = (tmp_path / "out" / "counters" / "report.html").read_text()
    assert "2 alternative plans answer the same question: Plan A: desks moved or Plan B: desks added." in report
    a, b = report.index("id='plan-offices'"), report.index("id='plan-offices_more'")
    assert a < b and report.count("<section class='decision'") == 2
    headings = [h.split("</h2>")[0] for h in report.split("<h2>")[1:]]
    assert headings[0].startswith("Plan A: desks moved: ") and headings[1].startswith("Plan B: desks added: ")
    assert not any("offices" in h for h in headings)        # the keys offices, offices_more are never shown
    plan_b = report[b:report.index("</section>", b)]
    # B keeps A's sites: said once; e2 (3.125 visitors/h, 20 min each) needs the one added counter for a 10-min wait
    assert "The same 0 new sites as Plan A: desks moved" in plan_b
    lam = per_hour(2500)
    assert queue(2, lam, 20).mean_wait_min <= 10 < queue(1, lam, 20).mean_wait_min
    assert "Add 1 counter at Office &lt;e2&gt;." in plan_b and "<table class='sites'>" not in plan_b
