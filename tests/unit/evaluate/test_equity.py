"""Equity measures against hand computations on tiny cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from allocator.errors import AllocatorError
from allocator.evaluate import equity
from allocator.inputs.districts import OUTSIDE_NAME, assign_districts
from allocator.scenario.paths import Origin
from allocator.scenario.schema import DemandLayer, DistrictSpec, Scenario, TargetSpec


def test_gini_equal_weights_by_hand() -> None:
    # times 1, 2, 3 minutes, one person each: mean 2; sum_ij |xi - xj| = 2 * (1 + 2 + 1) = 8
    # G = 8 / (2 * 3^2 * 2) = 2/9
    assert equity.gini([1, 2, 3], [1, 1, 1]) == pytest.approx(2 / 9)
    p, share = equity.lorenz([3, 1, 2], [1, 1, 1])
    assert p == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert share == pytest.approx([0, 1 / 6, 1 / 2, 1])


def test_gini_weighted_by_hand_and_edge_cases() -> None:
    # weights 2, 1, 1 on 1, 2, 3: W = 4, mean 7/4; pairs (1,2): 2, (1,3): 2*1*2 = 4, (2,3): 1 -> double sum 14
    # G = 14 / (2 * 16 * 7/4) = 0.25
    assert equity.gini([1, 2, 3], [2, 1, 1]) == pytest.approx(0.25)
    assert equity.gini([5, 5, 5], [1, 2, 3]) == pytest.approx(0.0)
    assert equity.gini([4, np.nan, np.inf], [1, 1, 1]) == pytest.approx(0.0), "unreachable is left out"
    assert equity.gini([1, 2], [0, 0]) is None
    # the double-sum definition on random data
    rng = np.random.default_rng(1)
    x, w = rng.uniform(1, 30, 40), rng.uniform(0, 100, 40)
    direct = (w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum() / (2 * w.sum() ** 2 * np.average(x, weights=w))
    assert equity.gini(x, w) == pytest.approx(direct)


def test_theil_by_hand_and_decomposition() -> None:
    # times 1, 1 (district A) and 2, 4 (district B), one person each; mean 2
    # T = 1/4 * (2 * 0.5 ln 0.5 + 1 ln 1 + 2 ln 2) = ln(2) / 4
    # shares of minutes: A 2/8, B 6/8; between = 0.25 ln(1/2) + 0.75 ln(3/2)
    # within = 0.75 * T_B, T_B = 1/2 * (2/3 ln 2/3 + 4/3 ln 4/3)
    t = equity.theil([1, 1, 2, 4], [1, 1, 1, 1], ["A", "A", "B", "B"])
    assert t["total"] == pytest.approx(math.log(2) / 4)
    assert t["between"] == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    t_b = 0.5 * (2 / 3 * math.log(2 / 3) + 4 / 3 * math.log(4 / 3))
    assert t["within"] == pytest.approx(0.75 * t_b)
    assert t["between"] + t["within"] == pytest.approx(t["total"])


def test_theil_parts_sum_to_total_on_random_data() -> None:
    rng = np.random.default_rng(7)
    x, w = rng.uniform(0.5, 60, 200), rng.uniform(0, 500, 200)
    g = rng.integers(0, 9, 200)
    t = equity.theil(x, w, g)
    assert t["between"] > 0 and t["within"] > 0
    assert t["between"] + t["within"] == pytest.approx(t["total"], rel=1e-12)
    no_split = equity.theil(x, w)   # no districts: the split is not defined (issue 22: null, not 0 and the total)
    assert no_split["between"] is None and no_split["within"] is None
    assert no_split["total"] == pytest.approx(t["total"], rel=1e-12)


def test_tail_ratios_by_hand() -> None:
    # times 1, 2, 3, 4, 10 with populations 1, 1, 1, 1, 0.2 (total 4.2)
    # median: smallest time reached by >= 2.1 people -> 3; p90: >= 3.78 people -> 4
    # worst 10 % = 0.42 people: 0.2 at 10 min and 0.22 at 4 min -> mean (2 + 0.88) / 0.42
    r = equity.tail_ratios([1, 2, 3, 4, 10], [1, 1, 1, 1, 0.2])
    assert r["p90_median_ratio"] == pytest.approx(4 / 3)
    assert r["worst_decile_mean_min"] == pytest.approx(2.88 / 0.42)
    assert r["worst_decile_ratio"] == pytest.approx(2.88 / 0.42 / 3)


COST = np.array([[5.0, 20.0],
                 [10.0, 12.0],
                 [30.0, 8.0]])
SUPPLY = np.array([1.0, 2.0])
POP = np.array([100.0, 200.0, 300.0])


def test_2sfca_by_hand() -> None:
    # T = 15. Step 1: facility 0 reaches locations 0, 1 (300 people): R0 = 1/300;
    #                 facility 1 reaches locations 1, 2 (500 people): R1 = 2/500 = 1/250.
    # Step 2: A0 = R0 = 1/300 -> 33.33 per 10,000; A1 = 1/300 + 1/250 -> 73.33; A2 = 1/250 -> 40.
    a = equity.two_sfca(COST, SUPPLY, POP, 15)
    assert a == pytest.approx([1e4 / 300, 1e4 / 300 + 1e4 / 250, 40.0])
    # supply is conserved: sum_i P_i A_i = sum_j S_j (per 10,000)
    assert (POP * a).sum() == pytest.approx(SUPPLY.sum() * 1e4)


def test_e2sfca_by_hand() -> None:
    # zones for T = 15: [0, 5] weight 1, (5, 10] 0.68, (10, 15] 0.22
    # facility 0: 100 * 1 + 200 * 0.68 = 236 weighted people -> R0 = 1/236
    # facility 1: 200 * 0.22 + 300 * 0.68 = 248            -> R1 = 2/248
    # A0 = 1/236; A1 = 0.68/236 + 0.22 * 2/248; A2 = 0.68 * 2/248
    a = equity.e2sfca(COST, SUPPLY, POP, 15)
    assert a == pytest.approx([1e4 / 236, 1e4 * (0.68 / 236 + 0.44 / 248), 1e4 * 1.36 / 248])
    assert equity.e2sfca(np.full((3, 2), np.inf), SUPPLY, POP, 15) == pytest.approx([0, 0, 0])
    assert equity.two_sfca(np.zeros((3, 0)), np.zeros(0), POP, 15) == pytest.approx([0, 0, 0])


def _demand() -> pd.DataFrame:
    return pd.DataFrame({
        "population": [100.0, 100.0, 200.0, 100.0],
        "time_before": [5.0, 20.0, 25.0, np.nan],
        "time_after": [5.0, 10.0, 12.0, 14.0],
        "district": ["A", "A", "B", "B"],
        "district_name": ["North", "North", "South", "South"],
    })


def test_districts_and_targets() -> None:
    demand = _demand()
    targets = [TargetSpec(metric="within_share", min=0.95),
               TargetSpec(metric="within_share", min=0.8, per_district=True),
               TargetSpec(metric="gini", max=0.25),
               TargetSpec(metric="max_min", max=13, per_district=True)]
    block = equity.service_equity(demand, 15, targets)
    districts = pd.DataFrame(block["districts"]).set_index("district")
    # North: 100 of 200 within 15 min before, all after; South: nobody before (one unreachable), all after
    assert districts.loc["A", "within_share_before"] == pytest.approx(0.5)
    assert districts.loc["B", "within_share_before"] == pytest.approx(0.0)
    assert districts.loc["B", "within_share_after"] == pytest.approx(1.0)
    within, per_district, gini, worst_max = block["targets"]
    assert within["before"] == pytest.approx(0.2) and within["met_before"] is False
    assert within["after"] == pytest.approx(1.0) and within["met_after"] is True
    assert per_district["before"] == pytest.approx(0.0) and per_district["worst_district_before"] == "South"
    assert per_district["met_after"] is True
    # after: times 5, 10, 12, 14 with populations 1, 1, 2, 1 (hundreds) -> Gini by the double sum
    x, w = np.array([5, 10, 12, 14.0]), np.array([1, 1, 2, 1.0])
    g = (w[:, None] * w[None, :] * abs(x[:, None] - x[None, :])).sum() / (2 * 25 * np.average(x, weights=w))
    assert gini["after"] == pytest.approx(g) and gini["met_after"] is True
    assert worst_max["after"] == pytest.approx(14) and worst_max["worst_district_after"] == "South"
    assert worst_max["met_after"] is False
    overall = block["overall"]["after"]
    assert overall["theil_between"] + overall["theil_within"] == pytest.approx(overall["theil"])
    assert block["lorenz"]["after"]["time_share"][0] == 0 and block["lorenz"]["after"]["time_share"][-1] == 1


def test_scenario_fields_validate() -> None:
    with pytest.raises(ValueError):
        DistrictSpec(h3_parent=6, column="x")
    with pytest.raises(ValueError):
        TargetSpec(metric="gini")
    with pytest.raises(ValueError):
        TargetSpec(metric="nonsense", min=1)
    assert "language" in Scenario.model_fields and "districts" in Scenario.model_fields


def test_h3_parent_districts() -> None:
    import h3

    cell = "89a901291abffff"
    lat, lon = h3.cell_to_latlng(cell)
    frame = pd.DataFrame({"lon": [lon], "lat": [lat], "id": ["x"]})
    keys, names = assign_districts(frame, DistrictSpec(h3_parent=6), None, Origin("districts"))
    assert keys.iloc[0] == h3.cell_to_parent(cell, 6) == names.iloc[0]


def test_polygon_and_column_districts(tmp_path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"code": ["W", "E"], "label": ["West", "East"]},
                     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326").to_file(tmp_path / "d.gpkg")
    frame = pd.DataFrame({"id": ["a", "b", "c"], "lon": [0.5, 1.5, 5.0], "lat": [0.5, 0.5, 0.5]})
    origin = Origin("districts", tmp_path / "s.yaml")
    keys, names = assign_districts(frame, DistrictSpec(source="d.gpkg", id="code", name_column="label"),
                                   tmp_path / "d.gpkg", origin)
    assert list(keys) == ["W", "E", "outside"] and list(names) == ["West", "East", OUTSIDE_NAME]

    pd.DataFrame({"id": ["a", "b", "c"], "pop": [1, 2, 3], "bairro": ["X", "Y", "X"]}).to_csv(tmp_path / "p.csv", index=False)
    layer = DemandLayer(source="p.csv", id="id", population="pop")
    keys, _ = assign_districts(frame, DistrictSpec(column="bairro"), tmp_path / "p.csv", origin, demand_layer=layer)
    assert list(keys) == ["X", "Y", "X"]
    with pytest.raises(AllocatorError, match="column 'nope' is not in the demand layer") as info:
        assign_districts(frame, DistrictSpec(column="nope"), tmp_path / "p.csv", origin, demand_layer=layer)
    assert info.value.field == "districts.column" and info.value.file == str(tmp_path / "s.yaml")


def test_per_district_target_needs_districts() -> None:
    base = {"name": "x", "network": {"source": "a.pbf"},
            "demand": [{"source": "d.csv", "population": "p"}],
            "services": [{"name": "s", "objective": "p_median", "threshold_min": 10, "p": 1,
                          "candidates": {"source": "d.csv"}}],
            "targets": [{"metric": "within_share", "min": 0.8, "per_district": True}]}
    with pytest.raises(ValueError, match="districts"):
        Scenario.model_validate(base)
    assert Scenario.model_validate({**base, "districts": {"h3_parent": 6}}).districts.h3_parent == 6
