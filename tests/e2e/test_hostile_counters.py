"""Hostile counters values, each a real run in a child process: a clean exit 2 or a quick exit 0, never a hang.

The scenario is test_counters' hand-made one (two offices, one candidate, a
matrix: no network).  Every case runs the command line under
:func:`test_hostile.run_child` (a timeout and an address-space limit), so a
regression that loops once per counter fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from test_counters import files
from test_hostile import assert_clean_error, run_child

from allocator.scenario.counters import MAX_COUNTERS_PER_OFFICE

#: seconds a hostile case may take, start-up included (a few seconds of work on a loaded 2-core machine)
QUICK_S = 45

OPEN = {"decision": "open", "staff": ..., "p": 1, "budget": 20, "mean_wait_max_min": 10}

REFUSED = [  # (case, counters change, field named, words in the message)
    ("staff 1e9", {"staff": 10 ** 9}, "services[0].counters.staff", ["1,000,000", "beyond any network"]),
    ("today 1e8", {"today": 10 ** 8}, "services[0].counters.today", ["10,000"]),
    ("visits 1e6 a day", {"visits_per_person_day": 1e6}, "services[0].counters.visits_per_person_day", ["unit slip"]),
    ("open 1e-9 h", {"opening_hours": 1e-9}, "services[0].counters.opening_hours", ["busiest hour"]),
    ("peak 1e12", {"peak_factor": 1e12}, "services[0].counters.peak_factor", ["whole day's visitors"]),
    ("peak above hours", {"peak_factor": 9}, "services[0].counters", ["peak_factor <= opening_hours"]),
    ("visits a year over few days", {"visits_per_person_day": ..., "visits_per_person_year": 3000,
                                     "opening_days_per_year": 100}, "services[0].counters",
     ["30 visits per resident per opening day"]),
    ("max_per_office 1e5, open", {**OPEN, "max_per_office": 10 ** 5}, "services[0].counters.max_per_office",
     ["10,000"]),
    ("today column missing", {"today": "nosuch"}, "services[0].counters.today", ["e.csv", "'nosuch'", "desks"]),
]


def run(tmp_path: Path, **counters) -> tuple[int, str, float]:
    """The scenario with ``counters`` changed, run as a child: (status, stderr, seconds)."""
    path = files(tmp_path, **counters)
    start = time.monotonic()
    done = run_child(path)
    return done.returncode, done.stderr, time.monotonic() - start


def assert_refused(tmp_path: Path, code: int, err: str, seconds: float, *expected: str) -> None:
    """A clean exit 2 naming the scenario and ``expected``, quickly, with nothing written."""
    assert_clean_error(code, err, *expected)
    assert seconds < QUICK_S, seconds
    assert not (tmp_path / "out" / "counters").exists()
    assert pd.read_csv(tmp_path / "e.csv")["id"].tolist() == ["e1", "e2"]   # the inputs untouched


@pytest.mark.slow
@pytest.mark.parametrize(("case", "change", "field", "words"), REFUSED, ids=[c[0] for c in REFUSED])
def test_counters_without_planning_meaning_exit_2_quickly(tmp_path: Path, case: str, change: dict, field: str,
                                                          words: list[str]) -> None:
    code, err, seconds = run(tmp_path, **change)
    assert_refused(tmp_path, code, err, seconds, "s.yaml" if "column" not in case else "e.csv", field, *words)


@pytest.mark.slow
def test_today_column_beyond_an_office_exits_2(tmp_path: Path) -> None:
    path = files(tmp_path)
    pd.read_csv(tmp_path / "e.csv").assign(desks=[4, 10 ** 8]).to_csv(tmp_path / "e.csv", index=False)
    start = time.monotonic()
    done = run_child(path)
    assert_refused(tmp_path, done.returncode, done.stderr, time.monotonic() - start, "s.yaml",
                   "services[0].counters.today", "from 0 to 10,000", "'e2'")


@pytest.mark.slow
@pytest.mark.parametrize(("decision", "field", "words"), [
    ({}, "services[0].counters.visits_per_person_day", [f"{MAX_COUNTERS_PER_OFFICE:,} counters", "population"]),
    (OPEN, "services[0].counters.decision", ["decision open would weigh up to", "max_per_office"]),
])
def test_visitors_no_office_can_serve_exit_2_before_the_work(tmp_path: Path, decision: dict, field: str,
                                                             words: list[str]) -> None:
    path = files(tmp_path, **decision)
    demand = pd.read_csv(tmp_path / "d.csv")
    demand.assign(pop=demand["pop"] * 10 ** 6).to_csv(tmp_path / "d.csv", index=False)   # billions of people
    start = time.monotonic()
    done = run_child(path)
    assert_refused(tmp_path, done.returncode, done.stderr, time.monotonic() - start, "s.yaml", field, *words)


@pytest.mark.slow
@pytest.mark.parametrize(("case", "change"), [
    ("add budget 1e12", {"decision": "add", "staff": ..., "budget": 1e12}),
    ("counter cost 1e-12", {"decision": "add", "staff": ..., "budget": 10, "counter_cost": 1e-12}),
    ("staff 1e6", {"staff": 10 ** 6}),
    ("max_per_office 1e4, open", {**OPEN, "max_per_office": MAX_COUNTERS_PER_OFFICE}),
    ("tiny mean wait target", {"decision": "add", "staff": ..., "goal": "meet_target", "mean_wait_max_min": 1e-300}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_unusual_counters_run_quickly(tmp_path: Path, case: str, change: dict) -> None:
    code, err, seconds = run(tmp_path, **change)
    assert code == 0, err
    assert seconds < QUICK_S, seconds
    doc = json.loads((tmp_path / "out" / "counters" / "summary.json").read_text())["services"][0]["counters"]
    after = [office["counters_after"] for office in doc["offices"]]
    assert all(1 <= c <= MAX_COUNTERS_PER_OFFICE for c in after), after
    if change.get("budget") is not None:
        assert doc["spent"] <= change["budget"]
