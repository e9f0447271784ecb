"""solver.time_limit_s bounds every model of the solve stage, not only HiGHS and the p-median engine: the plan
models (their blocks and level rounds), set cover, maximal coverage, p-center, the diagnosis of an impossible plan
and a phased plan's one-shot comparisons (allocator.solve.deadline).

Past the limit a model stops with its plan and bound (status ``time_limit``, the gap in the notes) or raises
:class:`OutOfTimeError`; it never builds or solves on.  The clock of the deadline is the test's
(:func:`clock`): the limit passes at a chosen step, so what happens is asserted, never how long it took.
"""

from __future__ import annotations

import itertools
import time
from types import SimpleNamespace

import numpy as np
import pulp
import pytest
from conftest import make_problem
from test_deadline import run_child
from test_phased_model import service
from test_plans import brute, make

from allocator.scenario.phases import PhaseSpec
from allocator.solve import cover
from allocator.solve import coverage as coverage_module
from allocator.solve import deadline as deadline_module
from allocator.solve.checks import options
from allocator.solve.coverage import solve_max_coverage
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.kernels import nearest_time, people_within
from allocator.solve.objectives import plan_objective
from allocator.solve.p_center import solve_p_center
from allocator.solve.plan import model as model_module
from allocator.solve.plan import phases as phases_module
from allocator.solve.plan.block import Block
from allocator.solve.plan.diagnosis import explain_infeasible
from allocator.solve.plan.model import PlanService, Sites, solve_plan
from allocator.solve.plan.phases import solve_phased
from allocator.solve.set_cover import solve_set_cover

#: a limit already past when the model starts
PAST = Deadline(1.0, start=time.perf_counter() - 2.0)


@pytest.fixture
def clock(monkeypatch):
    """The deadline's clock in the test's hands: ``clock.now`` seconds (deadlines of this module start at 0)."""
    now = SimpleNamespace(now=0.0)
    monkeypatch.setattr(deadline_module, "time", SimpleNamespace(perf_counter=lambda: now.now))
    return now


@pytest.mark.parametrize("objective", ["p_median", "max_coverage", "set_cover"])
@pytest.mark.parametrize("capacitated", [False, True])
def test_a_plan_past_its_limit_builds_nothing_and_says_so(objective: str, capacitated: bool) -> None:
    for seed in range(6):
        svc = make(seed, objective, capacitated)
        with pytest.raises(OutOfTimeError, match="no plan was found within the time limit"):
            solve_plan([svc], time_limit=PAST)
        with pytest.raises(OutOfTimeError):
            solve_phased(svc, [PhaseSpec(year=2030, budget=2.0), PhaseSpec(year=2031, budget=1.0)], time_limit=PAST)


def test_a_later_level_round_built_past_the_limit_keeps_the_last_plan(monkeypatch, clock) -> None:
    # the first p-median model without heuristic caps is often not exact; the build of the next round passes
    # the limit: the plan of the round before stands, with its (relaxed, hence valid) bound
    monkeypatch.setattr(Block, "open_estimate", lambda self: 0)
    late = []

    def late_block(prob, k, s, goal, levels=None, deadline=None) -> Block:
        if levels is not None:   # the rows of a later round
            late.append(s.name)
            clock.now = 100.0
        return Block(prob, k, s, goal, levels, deadline)

    monkeypatch.setattr(model_module, "Block", late_block)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n, m = 18, 10
        cost = rng.integers(1, 40, (n, m)).astype(float)
        kept = np.arange(m) == 0
        svc = PlanService(name=f"s{seed}", objective="p_median", cost=cost, weight=rng.integers(1, 9, n).astype(float),
                          sites=Sites(kept=kept, closable=np.zeros(m, bool), open_cost=np.ones(m), saving=np.zeros(m)),
                          p=int(rng.integers(1, 4)))
        clock.now = 0.0
        sol = solve_plan([svc], time_limit=Deadline(10.0, start=0.0))[0]
        best = brute(svc)
        assert best is not None and sol.objective >= best - 1e-6
        assert len(sol.new_sites) <= svc.p
        if svc.name not in late:
            assert sol.status == "optimal" and sol.objective == pytest.approx(best)
            continue
        assert sol.status == "time_limit", sol.notes
        assert any(n.startswith("time limit reached: best plan found, proven gap") for n in sol.notes), sol.notes
        assert sol.gap is not None and sol.objective * (1 - sol.gap) <= best + 1e-6   # the bound holds
    assert len(late) >= 3, late


def test_set_cover_past_its_limit_says_no_plan() -> None:
    prob = make_problem(40, 15, 3)
    with pytest.raises(OutOfTimeError, match="no plan was found within the time limit"):
        solve_set_cover(prob.cost, prob.weight, 3.0, time_limit=PAST)
    assert solve_set_cover(prob.cost, prob.weight, 3.0).status == "optimal"   # the same cover needs the model


def test_a_minimum_cover_past_its_limit_builds_nothing() -> None:
    A = make_problem(40, 15, 3).cost <= 3.0
    A = A[A.any(axis=1)]
    assert cover.min_cover(A, options()).chosen.size >= 2   # it needs the integer program
    late = cover.min_cover(A, options(PAST))
    assert late.status == "no_solution" and late.chosen.size == 0 and late.sizes.n_variables == 0


@pytest.mark.parametrize("model", ["p_center", "max_coverage"])
def test_a_model_with_a_greedy_start_past_its_limit_stops_with_it(model: str) -> None:
    # the greedy (p vectorised steps) always ends: it is the plan, with the bound proven so far
    for seed in range(10):
        prob = make_problem(25, 9, seed)
        p, T, n = 2, 3.0, 9
        sets = [np.isin(np.arange(n), combo) for combo in itertools.combinations(range(n), p)]
        if model == "p_center":
            sol = solve_p_center(prob.cost, prob.weight, p, time_limit=PAST)
            value = float(nearest_time(prob.cost, sol.open_mask(n)).max())
            best = min(float(nearest_time(prob.cost, s).max()) for s in sets)
            assert sol.objective == pytest.approx(value) and sol.objective >= best - 1e-9
            assert sol.objective * (1 - sol.gap) <= best + 1e-9   # the bound holds
        else:
            sol = solve_max_coverage(prob.cost, prob.weight, p, T, time_limit=PAST)
            value = people_within(prob.cost, prob.weight, sol.open_mask(n), T)
            best = max(people_within(prob.cost, prob.weight, s, T) for s in sets)
            assert sol.objective == pytest.approx(value) and sol.objective <= best + 1e-9
            assert sol.objective * (1 + sol.gap) >= best - 1e-9   # the bound holds
        assert len(sol.new_sites) == p
        assert sol.status == "time_limit" or sol.gap == 0, (sol.status, sol.gap)
        assert sol.status != "time_limit" or any(n.startswith("time limit reached") for n in sol.notes), sol.notes


def test_max_coverage_out_of_time_before_its_model_stops_with_its_heuristic_plan(monkeypatch, clock) -> None:
    # the limit passes once the dominated candidates are dropped: the greedy + interchange start is the plan,
    # with the bound "everyone coverable covered"
    real = coverage_module.undominated

    def then_late(*args, **kwargs):
        kept = real(*args, **kwargs)
        clock.now = 100.0
        return kept

    monkeypatch.setattr(coverage_module, "undominated", then_late)
    stopped = 0
    for seed in range(12):
        prob = make_problem(30, 10, seed)
        T, p = 2.5, 2
        clock.now = 0.0
        sol = solve_max_coverage(prob.cost, prob.weight, p, T, time_limit=Deadline(10.0, start=0.0))
        opened = np.zeros(10, bool)
        opened[sol.open_sites] = True
        assert sol.objective == pytest.approx(people_within(prob.cost, prob.weight, opened, T))
        best = max(people_within(prob.cost, prob.weight, np.isin(np.arange(10), combo), T)
                   for combo in itertools.combinations(range(10), p))
        assert len(sol.new_sites) == p and sol.objective <= best + 1e-9
        if sol.status == "optimal":   # the set cover settled it before the limit
            assert sol.objective == pytest.approx(best)
            continue
        stopped += 1
        assert sol.status == "time_limit"
        assert any(n.startswith("time limit reached: best solution found, proven gap") for n in sol.notes)
        assert sol.objective * (1 + sol.gap) >= best - 1e-6   # the bound holds
    assert stopped >= 6, stopped


def test_the_diagnosis_of_an_impossible_plan_stops_at_the_stage_limit() -> None:
    # two far-apart locations, each 1 minute from its own candidate only, must both be within max_time 2: p = 1
    # is too few; the diagnosis works out "at least 2 new sites" by a set cover, unless the limit has passed
    cost = np.array([[1.0, 9.0], [9.0, 1.0]])
    svc = PlanService(name="s", objective="p_median", cost=cost, weight=np.array([1.0, 1.0]),
                      sites=Sites(kept=np.zeros(2, bool), closable=np.zeros(2, bool)), p=1, max_time=2.0)
    blocks = [Block(pulp.LpProblem("x", pulp.LpMinimize), 0, svc, plan_objective("p_median"))]
    told = explain_infeasible(blocks, None, solve_plan)
    assert "at least 2 new site(s), but p = 1" in str(told)
    late = explain_infeasible(blocks, None, solve_plan, deadline=PAST)
    assert "at least 2" not in str(late) and "no plan satisfies p/budget, max_time together" in str(late)


@pytest.mark.parametrize("name", ["p_median", "max_coverage"])
def test_one_shot_comparisons_out_of_time_leave_the_price_unknown_and_keep_the_plan(monkeypatch, clock,
                                                                                     name: str) -> None:
    # the phased model is solved in time; the limit passes as the one-shot comparisons start
    real = phases_module.solve_plan

    def late(*args, **kwargs):
        clock.now = 100.0
        return real(*args, **kwargs)

    monkeypatch.setattr(phases_module, "solve_plan", late)
    s = service(7, name)
    phases = [PhaseSpec(year=2027, budget=2.0), PhaseSpec(year=2029, budget=2.0)]
    sol = solve_phased(s, phases, time_limit=Deadline(10.0, start=0.0))
    monkeypatch.setattr(phases_module, "solve_plan", real)
    clock.now = 0.0
    known = solve_phased(s, phases, time_limit=Deadline(10.0, start=0.0))   # the same plan with its prices
    assert sol.status == "optimal" and sol.phases is not None and known.phases is not None
    assert [ph.new.tolist() for ph in sol.phases.phases] == [ph.new.tolist() for ph in known.phases.phases]
    assert sol.phases.weighted == pytest.approx(known.phases.weighted)
    assert [ph.one_shot for ph in sol.phases.phases] == [None, None]
    assert [sol.phases.price(k) for k in range(2)] == [None, None] and sol.phases.unknown_price() == [2027, 2029]
    assert all(ph.one_shot is not None for ph in known.phases.phases) and known.phases.unknown_price() == []
    assert "price of phasing unknown for 2027, 2029: the best plan in one go was not found within the time " \
           "limit" in sol.notes


@pytest.mark.slow
def test_a_capacitated_plan_past_a_tiny_limit_stops_building_and_says_so() -> None:
    # 2,000 locations x 200 sites with capacities: one assignment variable per pair, about 10 s of building
    # through PuLP before HiGHS starts; with 1 s the build stops (in a child: it must end, not run on)
    got = run_child("""
        import json, numpy as np
        from allocator.solve.deadline import Deadline, OutOfTimeError
        from allocator.solve.plan.model import PlanService, Sites, solve_plan
        rng = np.random.default_rng(2)
        n, m = 2000, 200
        pts, sites = rng.uniform(0, 20, (n, 2)), rng.uniform(0, 20, (m, 2))
        cost = np.round(np.linalg.norm(pts[:, None] - sites[None], axis=2) * 3)
        svc = PlanService(name="s", objective="p_median", cost=cost, weight=rng.integers(1, 50, n).astype(float),
                          sites=Sites(kept=np.arange(m) < 20, closable=np.zeros(m, bool), capacity=np.full(m, 2e3)),
                          p=10)
        try:
            print(json.dumps({"status": solve_plan([svc], time_limit=Deadline(1.0))[0].status}))
        except OutOfTimeError as exc:
            print(json.dumps({"status": "out", "message": str(exc)}))
    """)
    assert got["status"] == "out", got
    assert "no plan was found within the time limit (1 s)" in got["message"] and "fix:" in got["message"]
