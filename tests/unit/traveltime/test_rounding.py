"""allocator.traveltime.rounding: rounding travel times half up, and re-evaluating a plan on other times.

The whole option (``solver.round_s``) end to end is in ``tests/e2e/test_matrix.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from allocator.solve.coverage import solve_max_coverage
from allocator.solve.objectives import objective
from allocator.solve.p_center import solve_p_center
from allocator.solve.p_median import solve_p_median
from allocator.solve.plan.model import PlanService, Sites, solve_plan
from allocator.solve.set_cover import solve_set_cover
from allocator.traveltime.rounding import round_times

INF = np.inf


def test_round_times_rounds_half_up_to_the_step_and_keeps_unreachable() -> None:
    cost = np.array([[0.24, 0.25, 0.26, 14.75], [1.15, 0.0, INF, 29.99]])
    np.testing.assert_array_equal(round_times(cost, 30), [[0.0, 0.5, 0.5, 15.0], [1.0, 0.0, INF, 30.0]])
    # 2.05 min is 123 s, 61.5 steps of 2 s: a half that binary floating point puts a hair below .5
    assert round_times(np.array([2.05]), 2)[0] == pytest.approx(124 / 60)
    assert round_times(cost, 0) is cost, "0 leaves the matrix as it is"


def objective_on(name: str, cost: np.ndarray, sol, weight: np.ndarray, threshold: float) -> float:
    """The catalogue's value of ``sol`` under objective ``name`` on the times ``cost``."""
    return objective(name).value_of(cost, sol, weight, threshold)


def _instance(seed: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 20, (14, 7))
    cost[3, :] = INF                      # reaches no site
    cost[5, 2] = INF
    weight = rng.integers(0, 50, 14).astype(float)
    fixed = np.zeros(7, bool)
    fixed[0] = True
    return cost, weight, fixed


def test_objective_on_the_solved_matrix_is_the_models_own_value() -> None:
    cost, w, fixed = _instance()
    T = 8.0
    solved = {
        "p_median": solve_p_median(cost, w, 2, fixed),
        "max_coverage": solve_max_coverage(cost, w, 2, T, fixed),
        "set_cover": solve_set_cover(cost, w, T, fixed),
        "p_center": solve_p_center(cost, w, 2, fixed),
        "weighted_p_center": solve_p_center(cost, w, 2, fixed, weighted=True),
    }
    for name, sol in solved.items():
        assert objective_on(name, cost, sol, w, T) == pytest.approx(sol.objective), name
    covered = solved["max_coverage"].objective
    assert objective_on("min_underserved", cost, solved["max_coverage"], w, T) == pytest.approx(w.sum() - covered)


@pytest.mark.parametrize("objective", ["p_median", "max_coverage"])
def test_objective_on_follows_the_split_assignment_of_a_capacitated_plan(objective: str) -> None:
    cost, w, fixed = _instance()
    sites = Sites(kept=fixed, closable=np.zeros(7, bool), capacity=np.full(7, 120.0))
    sol = solve_plan([PlanService("c", objective, cost, w, sites, threshold=12.0, p=3)])[0]
    assert sol.shares is not None and (sol.shares.sum(axis=1) > 0).any()
    assert objective_on(objective, cost, sol, w, 12.0) == pytest.approx(sol.objective)
    # on other times, the same shares: person-minutes, or the people whose shares are within the threshold
    other = cost + 1.0
    minutes = (sol.shares * np.where(np.isfinite(other), other, 0)).sum(axis=1)
    within = (sol.shares * (other <= 12.0)).sum(axis=1)
    expected = w @ minutes if objective == "p_median" else w @ within
    assert objective_on(objective, other, sol, w, 12.0) == pytest.approx(expected)
