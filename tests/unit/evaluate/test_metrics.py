"""Access metrics against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.evaluate.access import access_metrics, weighted_quantile


def test_hand_computed_case() -> None:
    # five locations: minutes and population
    times = np.array([5.0, 10.0, 20.0, 30.0, np.inf])
    population = np.array([100.0, 200.0, 300.0, 400.0, 50.0])
    m = access_metrics(times, population, threshold=15)
    assert m["population"] == 1050
    assert m["within"] == 300                       # 100 + 200
    assert m["within_share"] == pytest.approx(300 / 1050)
    assert m["underserved"] == 750                  # 300 + 400 + the 50 unreachable
    assert m["unreachable"] == 50
    # reachable population 1000: mean = (500 + 2000 + 6000 + 12000) / 1000
    assert m["mean_min"] == pytest.approx(20.5)
    # cumulative 100, 300, 600, 1000: half (500) is reached at 20 min, 90 % (900) at 30 min
    assert m["median_min"] == 20
    assert m["p90_min"] == 30
    assert m["max_min"] == 30


def test_quantile_is_a_real_value_without_interpolation() -> None:
    assert weighted_quantile(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 0.5) == 1.0
    assert weighted_quantile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0]), 0.5) == 2.0


def test_max_ignores_empty_locations() -> None:
    m = access_metrics(np.array([1.0, 99.0]), np.array([10.0, 0.0]), threshold=5)
    assert m["max_min"] == 1.0 and m["within_share"] == 1.0
