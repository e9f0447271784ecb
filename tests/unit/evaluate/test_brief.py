"""The decision brief's facts (allocator.evaluate.brief) against hand computations on tiny cases."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

import allocator as al
from allocator.evaluate.brief import (
    BriefFacts,
    DistrictGain,
    Gains,
    LongestTrip,
    Underserved,
    brief_facts,
)

NAN = math.nan


def _result(demand: pd.DataFrame, threshold_min: float, districts: list[dict] | None = None) -> Any:
    """What brief_facts reads of a ServiceResult: demand, service.threshold_min, equity["districts"]."""
    equity = {"districts": districts} if districts is not None else {}
    return SimpleNamespace(demand=demand, service=SimpleNamespace(threshold_min=threshold_min), equity=equity)


def test_facts_with_districts_by_hand() -> None:
    # T = 10 min; NaN time: no site reachable
    demand = pd.DataFrame({
        "district_name": ["North", "North", "South", "South", "East", "East", "Centre"],
        "population":    [100.0,   50.0,    30.0,    25.0,    0.0,    10.0,   40.0],
        "time_before":   [20.0,    12.0,    NAN,     NAN,     50.0,   9.0,    11.0],
        "time_after":    [5.0,     12.0,    25.0,    NAN,     40.0,   8.0,    10.0],
    })
    # shares within T, as the equity block gives them (West has nobody: no shares)
    districts = [
        {"district_name": "North", "within_share_before": 0.0, "within_share_after": 100 / 150},
        {"district_name": "South", "within_share_before": 0.0, "within_share_after": 0.0},
        {"district_name": "East", "within_share_before": 1.0, "within_share_after": 1.0},
        {"district_name": "Centre", "within_share_before": 0.0, "within_share_after": 1.0},
        {"district_name": "West", "within_share_before": None, "within_share_after": None},
    ]
    facts = brief_facts(_result(demand, 10.0, districts))
    # beyond T after (NaN counts, 10 min is within, nobody at East counts): South 30 + 25, North 50
    assert facts.underserved == (Underserved("South", 55.0), Underserved("North", 50.0))
    # shorter trip after: rows 0 (100), 2 (30, from none), 4 (0 people), 5 (10), 6 (40) -> 180 people
    # minutes saved, only those with a time before: (15 * 100 + 10 * 0 + 1 * 10 + 1 * 40) / 150
    assert facts.gains.people == 180.0
    assert facts.gains.minutes_saved == pytest.approx(1550 / 150)
    # districts whose share grows: Centre +1.0, North +2/3 (South, East, West: no growth)
    assert [d.name for d in facts.gains.top_districts] == ["Centre", "North"]
    assert facts.gains.top_districts[0] == DistrictGain("Centre", 1.0)
    assert facts.gains.top_districts[1].gain == pytest.approx(2 / 3)
    # longest trip among populated rows that reach a site: 25 min in South (East's 40 min has nobody)
    assert facts.longest == LongestTrip(25.0, "South")


def test_facts_without_districts_name_h3_areas_by_hand() -> None:
    # three places 0.2 degrees apart (different H3 resolution-7 areas), T = 15; no road network
    demand = pd.DataFrame({
        "population":  [100.0, 300.0, 60.0],
        "lon":         [10.0,  10.2,  9.8],
        "lat":         [50.0,  50.0,  50.0],
        "time_before": [40.0,  5.0,   NAN],
        "time_after":  [30.0,  5.0,   NAN],
    })
    facts = brief_facts(_result(demand, 15.0))
    # centre of the people: lon (1000 + 3060 + 588) / 460 = 10.104; areas named by compass sector, numbered by
    # population: 10.2 -> "east 1", 10.0 -> "west 1" (100 people), 9.8 -> "west 2" (60)
    assert facts.underserved == (Underserved("west 1", 100.0), Underserved("west 2", 60.0))
    assert facts.gains == Gains(people=100.0, minutes_saved=10.0, top_districts=())
    assert facts.longest == LongestTrip(30.0, "50.0000, 10.0000")


def test_nobody_beyond_and_nobody_reaching() -> None:
    within = pd.DataFrame({"population": [10.0, 0.0], "time_before": [3.0, NAN], "time_after": [3.0, NAN],
                           "lon": [10.0, 10.1], "lat": [50.0, 50.0]})
    assert brief_facts(_result(within, 5.0)) == BriefFacts(
        underserved=(), gains=Gains(0.0, 0.0, ()), longest=LongestTrip(3.0, "50.0000, 10.0000"))
    nowhere = pd.DataFrame({"district_name": ["A"], "population": [10.0], "time_before": [NAN],
                            "time_after": [NAN]})
    facts = brief_facts(_result(nowhere, 5.0, [{"district_name": "A", "within_share_before": 0.0,
                                                  "within_share_after": 0.0}]))
    assert facts.underserved == (Underserved("A", 10.0),)
    assert facts.gains == Gains(0.0, 0.0, ())
    assert facts.longest is None


def test_service_result_computes_the_facts_on_first_use_only() -> None:
    problem = al.Problem.from_cost_matrix(np.array([[5.0, 20.0], [30.0, 4.0]]), [100.0, 50.0])
    s = al.evaluate(problem, al.solve(problem, objective="max_coverage", p=2, threshold_min=10)).only
    assert "brief" not in vars(s), "evaluation does not compute the brief"
    facts = s.brief
    assert s.brief is facts
    assert facts.underserved == ()
    assert facts.gains.people == 150.0     # no site before: everyone gains, nobody had a time to save from
    assert facts.gains.minutes_saved == 0.0
    assert facts.longest is not None and facts.longest.minutes == 5.0
