"""Each site's contribution equals a brute-force recount with that site removed."""

from __future__ import annotations

import numpy as np
from conftest import make_problem

from allocator.evaluate.contributions import site_contributions


def test_contribution_is_the_loss_when_dropped_hand_case() -> None:
    # 4 people groups x 3 sites; T = 10
    cost = np.array([[5, 50, 50], [5, 8, 50], [50, 9, 50], [50, 50, np.inf]], dtype=float)
    pop = np.array([10.0, 20.0, 30.0, 40.0])
    opened = np.array([True, True, True])
    # without site 0: group 0 has nothing within 10 (-10), group 1 still has site 1 (8 min)
    # without site 1: group 2 loses (-30); group 1 still has site 0; without site 2: nobody loses
    assert list(site_contributions(cost, pop, opened, np.array([0, 1, 2]), 10.0)) == [10.0, 30.0, 0.0]


def test_contribution_matches_brute_force_random() -> None:
    prob = make_problem(40, 8, 3, existing=0.6, weights=(0, 100), side=20.0, decimals=1)
    cost, pop, opened = prob.cost, prob.weight, prob.existing
    sites = np.flatnonzero(opened)
    got = site_contributions(cost, pop, opened, sites, 12.0)
    def within(mask: np.ndarray) -> float:
        best = np.where(mask.any(), cost[:, mask].min(axis=1) if mask.any() else np.inf, np.inf)
        return float(pop[best <= 12.0].sum())
    for j, value in zip(sites, got):
        mask = opened.copy()
        mask[j] = False
        assert abs(value - (within(opened) - within(mask))) < 1e-9
