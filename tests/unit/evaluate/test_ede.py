"""The Kolm-Pollak EDE as a measure: its kappa, per service and district, targets on it, and the honest figures
(max_min and the unreachable, Theil's split without districts, Gini moving against the mean and the EDE)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allocator.evaluate import equity
from allocator.evaluate.access import access_metrics
from allocator.evaluate.brief import relative_shift
from allocator.scenario.schema import TargetSpec
from allocator.solve.kolm_pollak import DEFAULT_EPSILON, ede, kappa, service_kappa


def _independent_kappa(before: np.ndarray, weights: np.ndarray, epsilon: float) -> float:
    """Horton et al.'s kappa = alpha * epsilon, alpha = sum w z / sum w z^2 over the finite before times."""
    ok = np.isfinite(before) & (weights > 0)
    return float(np.sum(weights[ok] * before[ok]) / np.sum(weights[ok] * before[ok] ** 2) * epsilon)


def _independent_ede(times: np.ndarray, weights: np.ndarray, k: float) -> float:
    """The EDE written out in plain numpy (no logsumexp): -(1/kappa) ln(sum w exp(-kappa z) / sum w), finite z."""
    ok = np.isfinite(times) & (weights > 0)
    return float(-np.log(np.sum(weights[ok] * np.exp(-k * times[ok])) / np.sum(weights[ok])) / k)


def test_ede_by_hand() -> None:
    # times 10 and 20, one person each: alpha = 30 / 500 = 0.06, kappa = -0.06,
    # EDE = ln((e^0.6 + e^1.2) / 2) / 0.06 = 15.739 (the mean is 15)
    z, w = np.array([10.0, 20.0]), np.array([1.0, 1.0])
    k = kappa(z, w, -1.0)
    assert k == pytest.approx(-0.06)
    assert ede(z, w, k) == pytest.approx(math.log((math.exp(0.6) + math.exp(1.2)) / 2) / 0.06)
    assert ede(z, w, k) == pytest.approx(15.739012832, rel=1e-9)
    # weights 1 and 3: alpha = 70 / 1300
    w = np.array([1.0, 3.0])
    k = kappa(z, w, -1.0)
    assert k == pytest.approx(-70 / 1300)
    assert ede(z, w, k) == pytest.approx(17.958743921754, rel=1e-9)


def test_ede_properties_on_random_data() -> None:
    rng = np.random.default_rng(22)
    for _ in range(20):
        z, w = rng.uniform(0, 60, 50), rng.uniform(0, 100, 50)
        k = kappa(z, w, -rng.uniform(0.1, 3))
        e = ede(z, w, k)
        assert e >= np.average(z, weights=w) - 1e-9                      # never below the mean
        assert e == pytest.approx(_independent_ede(z, w, k), rel=1e-10)
        better = z.copy()
        better[rng.integers(0, 50)] *= 0.5                                # one person gains, nobody loses
        assert ede(better, w, k) < e
        assert ede(np.full(50, 12.5), w, k) == pytest.approx(12.5)          # equal times: the time itself
    # the unreachable do not count; nobody reaching: NaN
    assert ede(np.array([10.0, np.inf]), np.array([1.0, 5.0]), -0.1) == pytest.approx(10.0)
    assert math.isnan(ede(np.array([np.inf]), np.array([1.0]), -0.1))


def test_service_kappa_is_fixed_from_the_before_distribution() -> None:
    cost = np.array([[10.0, 1.0], [20.0, 2.0], [np.inf, 3.0]])
    w = np.array([1.0, 1.0, 5.0])
    # existing site 0: the times before are 10, 20 (and one unreachable)
    assert service_kappa(cost, w, np.array([True, False]), -1.0) == pytest.approx(-0.06)
    # no existing site: the nearest of all sites
    assert service_kappa(cost, w, np.array([False, False]), -2.0) == pytest.approx(
        kappa(np.array([1.0, 2.0, 3.0]), w, -2.0))
    with pytest.raises(ValueError):
        kappa(np.array([1.0]), np.array([1.0]), 0.5)


def _demand() -> pd.DataFrame:
    return pd.DataFrame({
        "population": [100.0, 100.0, 200.0, 100.0, 50.0],
        "time_before": [5.0, 20.0, 25.0, np.nan, np.nan],
        "time_after": [5.0, 10.0, 12.0, 14.0, np.nan],
        "district": ["A", "A", "B", "B", "B"],
        "district_name": ["North", "North", "South", "South", "South"],
    })


def _access(demand: pd.DataFrame, k: float | None) -> dict[str, Any]:
    pop = demand["population"].to_numpy(float)
    return {when: access_metrics(demand[f"time_{when}"].fillna(np.inf).to_numpy(float), pop, 15, k)
            for when in ("before", "after")}


def test_ede_per_service_and_district_with_one_kappa() -> None:
    demand = _demand()
    pop, before, after = (demand[c].to_numpy(float) for c in ("population", "time_before", "time_after"))
    k = kappa(before, pop, DEFAULT_EPSILON)
    assert k == pytest.approx(_independent_kappa(before, pop, -1.0), rel=1e-12)
    access = _access(demand, k)
    block = equity.service_equity(demand, 15, [], access, k)
    # recomputed independently from the minutes and people, kappa from the before times
    assert access["before"]["ede_min"] == pytest.approx(_independent_ede(before, pop, k), rel=1e-12)
    assert access["after"]["ede_min"] == pytest.approx(_independent_ede(after, pop, k), rel=1e-12)
    assert access["after"]["ede_min"] < access["before"]["ede_min"]
    districts = pd.DataFrame(block["districts"]).set_index("district")
    for key, rows in (("A", [0, 1]), ("B", [2, 3, 4])):   # the service's kappa, not the district's own
        for when, times in (("before", before), ("after", after)):
            expected = _independent_ede(times[rows], pop[rows], k)
            assert districts.loc[key, f"ede_min_{when}"] == pytest.approx(expected, rel=1e-12)
    assert districts.loc["B", "unreachable_before"] == 150 and districts.loc["B", "unreachable_after"] == 50


def test_targets_on_the_ede() -> None:
    demand = _demand()
    k = kappa(demand["time_before"].to_numpy(float), demand["population"].to_numpy(float))
    access = _access(demand, k)
    b, a = access["before"]["ede_min"], access["after"]["ede_min"]
    limit = (a + b) / 2
    targets = [TargetSpec(metric="ede_min", max=limit), TargetSpec(metric="ede_min", max=a - 0.1),
               TargetSpec(metric="ede_min", max=limit, per_district=True)]
    met, missed, per_district = equity.service_equity(demand, 15, targets, access, k)["targets"]
    assert (met["before"], met["after"]) == (pytest.approx(b), pytest.approx(a))
    assert (met["met_before"], met["met_after"]) == (False, True)
    assert missed["met_after"] is False
    block = equity.service_equity(demand, 15, [], access, k)
    worst = max(block["districts"], key=lambda d: d["ede_min_after"])
    assert per_district["after"] == pytest.approx(worst["ede_min_after"])
    assert per_district["worst_district_after"] == worst["district_name"]
    assert per_district["met_after"] is (worst["ede_min_after"] <= limit)


def test_max_min_counts_the_unreachable_unless_the_scenario_opts_out() -> None:
    demand = _demand()   # 50 people in South reach no site, even after
    access = _access(demand, None)
    targets = [TargetSpec(metric="max_min", max=30),
               TargetSpec(metric="max_min", max=30, count_unreachable=False),
               TargetSpec(metric="max_min", max=30, per_district=True),
               TargetSpec(metric="max_min", max=30, per_district=True, count_unreachable=False)]
    counted, opted_out, per_district, per_district_out = equity.service_equity(demand, 15, targets, access)["targets"]
    assert counted["after"] == pytest.approx(14) and counted["unreachable_after"] == 50
    assert counted["met_after"] is False
    assert opted_out["met_after"] is True and opted_out["unreachable_after"] is None
    # South holds the unreachable: it is the worst district, missed, though its longest trip (14) is within 30
    assert per_district["worst_district_after"] == "South" and per_district["met_after"] is False
    assert per_district["after"] == pytest.approx(14) and per_district["unreachable_after"] == 50
    assert per_district_out["met_after"] is True
    # nobody unreachable: judged on the longest trip as before
    everyone = demand.iloc[:4].copy()
    everyone.loc[3, "time_before"] = 40.0
    [t] = equity.service_equity(everyone, 15, targets[:1])["targets"]
    assert t["met_after"] is True and t["met_before"] is False and t["unreachable_after"] == 0


def test_no_districts_no_theil_split() -> None:
    demand = _demand().drop(columns=["district", "district_name"])
    overall = equity.service_equity(demand, 15, [])["overall"]["after"]
    assert overall["theil"] is not None and overall["theil"] > 0
    assert overall["theil_between"] is None and overall["theil_within"] is None


def _service(before: list[float], after: list[float], pop: list[float]) -> Any:
    """What relative_shift reads of a ServiceResult: demand and overall(when)."""
    demand = pd.DataFrame({"population": pop, "time_before": before, "time_after": after})
    p = np.array(pop)
    k = kappa(np.array(before), p)
    block = equity.service_equity(demand, 15, [], None, k)
    metrics = {when: {**equity.access_of(demand, when, 15, k), **block["overall"][when]} for when in ("before", "after")}
    return SimpleNamespace(demand=demand, overall=lambda when: metrics[when], equity={})


def test_gini_rising_while_nobody_is_slower_is_said() -> None:
    # short trips shorten a lot, the long one a little: everyone gains, the mean and EDE fall, the Gini rises
    s = _service([10.0, 10.0, 30.0], [2.0, 2.0, 28.0], [1.0, 1.0, 1.0])
    b, a = s.overall("before"), s.overall("after")
    assert a["gini"] > b["gini"] and a["mean_min"] < b["mean_min"] and a["ede_min"] < b["ede_min"]
    shift = relative_shift(s)
    assert shift is not None and shift.rises and shift.nobody_slower and "gini" in shift.measures
    # everyone gains the same share: Gini unchanged, nothing to say
    assert relative_shift(_service([10.0, 20.0, 30.0], [5.0, 10.0, 15.0], [1.0, 1.0, 1.0])) is None
    # someone is slower: still said, without "nobody is slower"
    shift = relative_shift(_service([10.0, 10.0, 30.0, 5.0], [2.0, 2.0, 28.0, 6.0], [1.0, 1.0, 1.0, 0.1]))
    assert shift is not None and shift.rises and not shift.nobody_slower


def test_a_district_whose_gini_rises_while_its_mean_and_ede_fall_is_named() -> None:
    s = _service([10.0, 10.0, 30.0, 20.0, 40.0], [9.0, 9.0, 20.0, 2.0, 38.0], [1.0, 1.0, 1.0, 1.0, 1.0])
    rows = [{"district_name": "Calm", "mean_min_before": 10.0, "mean_min_after": 9.0, "ede_min_before": 11.0,
             "ede_min_after": 10.0, "gini_before": 0.2, "gini_after": 0.1},
            {"district_name": "La Paz", "mean_min_before": 16.4, "mean_min_after": 8.6, "ede_min_before": 17.1,
             "ede_min_after": 9.0, "gini_before": 0.161, "gini_after": 0.227},
            {"district_name": "Empty", "mean_min_before": None, "mean_min_after": None, "ede_min_before": None,
             "ede_min_after": None, "gini_before": None, "gini_after": None}]
    s.equity = {"districts": rows}
    shift = relative_shift(s)
    assert shift is not None and shift.districts == ("La Paz",)
