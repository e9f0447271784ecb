"""Phased plans (allocator.solve.plan.phases) against brute force over every nested build order,
and the one-phase plan against today's plan model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import make_problem

from allocator.errors import AllocatorError
from allocator.scenario.phases import PhaseSpec, phase_weights
from allocator.solve.objectives import objective
from allocator.solve.plan.model import PlanService, Sites, solve_plan
from allocator.solve.plan.phases import solve_phased

THRESHOLD = 4.0


def service(seed: int, name: str, n: int = 14, m: int = 6) -> PlanService:
    rng = np.random.default_rng(seed)
    prob = make_problem(n, m, rng, existing=0.2, decimals=3)
    cost = rng.integers(1, 4, m).astype(float)
    return PlanService(name="s", objective=name, cost=prob.cost, weight=prob.weight,
                       sites=Sites(kept=prob.existing, closable=np.zeros(m, bool), open_cost=cost),
                       threshold=THRESHOLD if name == "max_coverage" else None)


def brute_force(s: PlanService, phases: list[PhaseSpec], carry_over: bool) -> float:
    """The best weighted value over every assignment of each candidate to a phase (or none)."""
    goal = objective(s.objective)
    weights = phase_weights(phases)
    cand = np.flatnonzero(~s.sites.kept)
    cost = s.sites.open_cost
    assert cost is not None
    best = None
    for when in itertools.product(range(len(phases) + 1), repeat=len(cand)):   # len(phases): never
        when_a = np.array(when)
        spent = [float(cost[cand[when_a == t]].sum()) for t in range(len(phases))]
        count = [int((when_a == t).sum()) for t in range(len(phases))]
        if not _within(phases, spent, count, carry_over):
            continue
        total = 0.0
        for t, w in enumerate(weights):
            open_ = s.sites.kept.copy()
            open_[cand[when_a <= t]] = True
            total += w * goal.evaluate(s.cost, s.weight, np.flatnonzero(open_), s.threshold)
        if best is None or (total < best if goal.sense == "min" else total > best):
            best = total
    assert best is not None
    return best


def _within(phases: list[PhaseSpec], spent: list[float], count: list[int], carry_over: bool) -> bool:
    budgets = [ph.budget for ph in phases]
    sites = [ph.new_sites for ph in phases]
    if carry_over:
        spent, count = list(itertools.accumulate(spent)), list(itertools.accumulate(count))
        budgets = list(itertools.accumulate(b or 0.0 for b in budgets)) if budgets[0] is not None else budgets
        sites = list(itertools.accumulate(k or 0 for k in sites)) if sites[0] is not None else sites
    return all((b is None or s <= b + 1e-9) and (k is None or c <= k)
               for b, s, k, c in zip(budgets, spent, sites, count, strict=True))


PHASES = {
    "budget": [PhaseSpec(year=2027, budget=2), PhaseSpec(year=2028, budget=3), PhaseSpec(year=2031, budget=2)],
    "new_sites": [PhaseSpec(year=2027, new_sites=1), PhaseSpec(year=2029, new_sites=1),
                  PhaseSpec(year=2030, new_sites=2, years=4)],
    "both": [PhaseSpec(year=2027, budget=3, new_sites=1), PhaseSpec(year=2028, budget=2, new_sites=2)],
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("carry_over", [False, True])
@pytest.mark.parametrize("limits", sorted(PHASES))
@pytest.mark.parametrize("name", ["p_median", "max_coverage"])
def test_phased_plan_is_the_best_nested_build_order(name: str, limits: str, carry_over: bool, seed: int) -> None:
    s, phases = service(seed, name), PHASES[limits]
    sol = solve_phased(s, phases, carry_over)
    plan = sol.phases
    assert plan is not None and sol.status == "optimal"
    assert plan.weighted == pytest.approx(brute_force(s, phases, carry_over), rel=1e-9, abs=1e-9)
    masks = [ph.open_mask for ph in plan.phases]
    assert all((a <= b).all() for a, b in zip(masks, masks[1:]))                      # nested
    assert (masks[-1] == sol.open_mask(len(masks[-1]))).all()
    goal = objective(name)
    for ph in plan.phases:   # each phase's value, spending and new sites recomputed from its sites
        assert ph.value == pytest.approx(goal.evaluate(s.cost, s.weight, np.flatnonzero(ph.open_mask), s.threshold))
        assert ph.spent == pytest.approx(float(s.sites.open_cost[ph.new].sum()))
    spent, count = [ph.spent for ph in plan.phases], [len(ph.new) for ph in plan.phases]
    assert _within(phases, spent, count, carry_over)
    for k in range(len(phases)):   # the one-shot plan of the same size never does worse
        assert plan.price(k) >= -1e-9


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", ["p_median", "max_coverage"])
def test_one_phase_is_todays_plan(name: str, seed: int) -> None:
    s = service(seed, name, n=40, m=12)
    budget = float(np.random.default_rng(seed).integers(2, 8))
    today = solve_plan([PlanService(**{**s.__dict__, "budget": budget})])[0]
    phased = solve_phased(s, [PhaseSpec(year=2027, budget=budget)])
    assert phased.objective == pytest.approx(today.objective)
    assert phased.new_sites.tolist() == today.new_sites.tolist()
    assert phased.phases is not None and phased.phases.price(0) == pytest.approx(0.0, abs=1e-9)


def test_a_rule_that_cannot_hold_in_the_first_phase_names_phases() -> None:
    s = service(0, "p_median")
    s = PlanService(**{**s.__dict__, "max_time": 0.5})
    with pytest.raises(AllocatorError) as err:
        solve_phased(s, [PhaseSpec(year=2027, new_sites=0), PhaseSpec(year=2028, new_sites=6)])
    assert err.value.field == "phases"


@pytest.mark.parametrize("carry_over", [False, True])
def test_each_phase_states_what_it_could_spend(carry_over: bool) -> None:
    """Without carry-over a phase's budget is its own; with it, its own plus what earlier phases left."""
    s = service(1, "max_coverage")
    phases = [PhaseSpec(year=2027, budget=2.5), PhaseSpec(year=2028, budget=3), PhaseSpec(year=2029, budget=1)]
    plan = solve_phased(s, phases, carry_over).phases
    assert plan is not None
    left = 0.0
    for ph, spec in zip(plan.phases, phases, strict=True):
        assert spec.budget is not None
        expected = spec.budget + (left if carry_over else 0.0)
        assert ph.budget == pytest.approx(expected) and ph.spent <= expected + 1e-9
        left = expected - ph.spent
