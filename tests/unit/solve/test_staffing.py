"""Counters per office (allocator.solve.staffing) against brute-force enumeration on small seeded cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from allocator.errors import AllocatorError
from allocator.solve.kernels import nearest_open
from allocator.solve.queueing import min_stable_counters
from allocator.solve.staffing import JointLimits, QueueModel, allocate, fewest_meeting, open_and_staff, total_wait

MODEL = QueueModel(service_min=12.0, cv=1.0, limit_min=15.0, share_within=0.9)


def brute_allocate(lam: np.ndarray, start: np.ndarray, extra: int, model: QueueModel, cap=None) -> float:
    """Least total waiting over every way of adding at most ``extra`` counters to ``start``."""
    best = np.inf
    for add in itertools.product(range(extra + 1), repeat=len(lam)):
        if sum(add) > extra:
            continue
        c = start + np.array(add)
        if cap is not None and (c > cap).any():
            continue
        best = min(best, total_wait(lam, c, model))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_greedy_allocation_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    lam = rng.uniform(2.0, 25.0, k)                           # visitors per hour
    start = np.array([max(1, min_stable_counters(r, MODEL.service_min) - int(rng.integers(0, 2))) for r in lam])
    extra = int(rng.integers(k, k + 5))
    cv_model = QueueModel(service_min=12.0, cv=float(rng.choice([0.5, 1.0, 1.3])))
    got = allocate(lam, start, extra, cv_model)
    assert got.sum() == start.sum() + extra and (got >= start).all()
    assert total_wait(lam, got, cv_model) == pytest.approx(brute_allocate(lam, start, extra, cv_model), rel=1e-12)


def test_greedy_respects_caps_and_leaves_unusable_counters():
    lam = np.array([10.0, 0.0])
    got = allocate(lam, np.array([1, 1]), 10, MODEL, cap=np.array([4, 9]))
    assert got.tolist() == [4, 1]   # the office without visitors gets nothing, the other stops at its cap


@pytest.mark.parametrize("seed", range(10))
def test_fewest_meeting_is_the_least_count_meeting_the_target(seed):
    rng = np.random.default_rng(100 + seed)
    lam = rng.uniform(0.5, 60.0, 6)
    for model in (MODEL, QueueModel(service_min=8.0, mean_wait_max_min=5.0)):
        got = fewest_meeting(lam, model)
        for r, c in zip(lam, got, strict=True):
            assert model.meets(int(c), r)
            assert c == 1 or not model.meets(int(c) - 1, r)   # one fewer misses (monotone, so none fewer meets)
    assert fewest_meeting(np.array([60.0]), MODEL, cap=np.array([3])).tolist() == [-1]


def test_most_arrivals_is_the_boundary_of_meets():
    for k in (1, 2, 5, 12):
        top = MODEL.most_arrivals(k)
        assert MODEL.meets(k, top) and not MODEL.meets(k, top * 1.0001)


def brute_open_and_staff(cost, pop, rate_pp, existing, today, model, limits: JointLimits):
    """Every set of new sites: nearest-open catchments, fewest counters meeting the target, cheapest feasible."""
    p, budget, open_cost, counter_cost = limits.p, limits.budget, limits.open_cost, limits.counter_cost
    n, m = cost.shape
    new = [j for j in range(m) if not existing[j]]
    best = (np.inf, None)
    for r in range(len(new) + 1):
        if p is not None and r > p:
            break
        for chosen in itertools.combinations(new, r):
            is_open = existing.copy()
            is_open[list(chosen)] = True
            site, t = nearest_open(cost, is_open)
            lam = np.bincount(site[site >= 0], weights=pop[site >= 0] * rate_pp, minlength=m)
            need = fewest_meeting(lam, model, floor=np.where(existing, today, 1))
            if (need[is_open] < 0).any():
                continue
            spent = open_cost[list(chosen)].sum() + counter_cost * (need[is_open] - np.where(existing, today, 0)[is_open]).sum()
            if budget is not None and spent > budget + 1e-9:
                continue
            travel = float((pop * t).sum())
            if travel < best[0] - 1e-9:
                best = (travel, chosen)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_open_and_staff_equals_brute_force(seed):
    rng = np.random.default_rng(200 + seed)
    n, m = 9, 6
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    cost = np.linalg.norm(pts[:, None] - sites[None], axis=2) * 3.0      # minutes, ties have probability 0
    pop = rng.uniform(100, 2000, n)
    rate_pp = 0.002                                                     # visits per person per hour
    existing = np.zeros(m, dtype=bool)
    existing[:2] = True
    today = np.where(existing, rng.integers(1, 4, m), 0)
    open_cost = rng.uniform(2.0, 6.0, m)
    p, budget = (int(rng.integers(1, 4)), float(rng.uniform(8, 25)))
    if seed % 3 == 0:
        p = None
    model = QueueModel(service_min=10.0, limit_min=10.0, share_within=0.8) if seed % 2 else \
        QueueModel(service_min=10.0, mean_wait_max_min=6.0)
    limits = JointLimits(p=p, budget=budget, open_cost=open_cost, counter_cost=1.0)
    travel, chosen = brute_open_and_staff(cost, pop, rate_pp, existing, today, model, limits)
    if chosen is None:
        with pytest.raises(AllocatorError, match="wait target"):
            open_and_staff(cost, pop, rate_pp, existing, today, model, JointLimits(p=p, budget=budget, open_cost=open_cost))
        return
    plan = open_and_staff(cost, pop, rate_pp, existing, today, model, JointLimits(p=p, budget=budget, open_cost=open_cost))
    assert plan.travel == pytest.approx(travel, rel=1e-7)
    # the plan itself: nearest-open catchments, every office meets the target, within budget and p
    site, t = nearest_open(cost, plan.open)
    assert (plan.assignment == site).all() and float((pop * t).sum()) == pytest.approx(travel, rel=1e-7)
    lam = np.bincount(site, weights=pop * rate_pp, minlength=m)
    assert all(model.meets(int(plan.counters[j]), lam[j]) for j in np.flatnonzero(plan.open))
    assert plan.open[existing].all() and (plan.counters[existing] >= today[existing]).all()
    assert plan.spent <= budget + 1e-6 and (p is None or plan.open[~existing].sum() <= p)


def test_open_and_staff_says_when_the_budget_cannot_meet_the_target():
    cost = np.array([[1.0, 5.0], [5.0, 1.0]])
    pop = np.array([5000.0, 5000.0])
    model = QueueModel(service_min=10.0, mean_wait_max_min=5.0)
    with pytest.raises(AllocatorError, match="wait target") as err:
        open_and_staff(cost, pop, 0.002, np.array([True, False]), np.array([1, 0]), model, JointLimits(budget=2.0))
    assert err.value.fix and "budget" in err.value.fix
    # with enough budget: site 1 opens and both offices are staffed to the target (10 visitors/h each)
    plan = open_and_staff(cost, pop, 0.002, np.array([True, False]), np.array([1, 0]), model, JointLimits(budget=10.0))
    assert plan.open.all() and plan.travel == pytest.approx(10_000.0)
    assert plan.counters.tolist() == fewest_meeting(np.array([10.0, 10.0]), model).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_open_and_staff_with_tied_times_is_the_p_median(seed):
    # whole-minute times (many ties, broken to the lowest site column in the catchment order) and a
    # target that never binds: the model is a p-median, so its travel equals the brute-force p-median
    rng = np.random.default_rng(300 + seed)
    n, m, p = 10, 6, 2
    cost = rng.integers(1, 6, (n, m)).astype(float)
    pop = rng.uniform(100, 1000, n)
    existing = np.zeros(m, dtype=bool)
    existing[0] = True
    model = QueueModel(service_min=1.0, mean_wait_max_min=1e6)
    plan = open_and_staff(cost, pop, 1e-4, existing, np.where(existing, 1, 0), model, JointLimits(p=p))
    best = min(float((pop * cost[:, [0, *chosen]].min(axis=1)).sum())
               for chosen in itertools.combinations(range(1, m), p))
    assert plan.travel == pytest.approx(best, rel=1e-9)
    assert float((pop * nearest_open(cost, plan.open)[1]).sum()) == pytest.approx(best, rel=1e-9)
