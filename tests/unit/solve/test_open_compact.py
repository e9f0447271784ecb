"""decision open (allocator.solve.staffing.open_and_staff): the compact catchment-order model against
enumeration (ties included) and against the former per-pair PuLP model (kept here as the reference).

Enumeration takes every set of new offices, assigns each client to its first open site in the order
(minutes, site column) by a plain loop, and tries every vector of counters per open office: the least
travel whose offices all meet the target within the budget and p.  The tie-break is checked both ways by
running each instance on its columns and on its columns reversed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pulp
import pytest

from allocator.errors import AllocatorError
from allocator.solve import highs
from allocator.solve.checks import options
from allocator.solve.open_model import (
    SiteCounters,
    catchments,
    good_openings,
    open_model,
    plan_columns,
    potential_visitors,
)
from allocator.solve.staffing import JointLimits, QueueModel, open_and_staff, open_counters

TIE_MODEL = QueueModel(service_min=10.0, mean_wait_max_min=5.0)


def first_open(cost: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """Per client, its open site with the least (minutes, column); -1 with none reachable (a plain loop)."""
    out = np.full(cost.shape[0], -1)
    for i in range(cost.shape[0]):
        ranked = sorted((cost[i, j], j) for j in range(cost.shape[1]) if is_open[j] and np.isfinite(cost[i, j]))
        out[i] = ranked[0][1] if ranked else -1
    return out


def enumerate_open(cost, pop, rate_pp, existing, today, model, limits: JointLimits, top: int = 6):
    """Least travel over every open set and counter vector (1..top per office, today's at least): (travel, open)."""
    n, m = cost.shape
    opening = np.ones(m) if limits.open_cost is None else limits.open_cost
    new = [j for j in range(m) if not existing[j]]
    best: tuple[float, np.ndarray | None] = (np.inf, None)
    for r in range(len(new) + 1):
        if limits.p is not None and r > limits.p:
            break
        for chosen in itertools.combinations(new, r):
            is_open = existing.copy()
            is_open[list(chosen)] = True
            site = first_open(cost, is_open)
            if ((site < 0) & (pop > 0)).any():
                continue
            lam = np.array([sum(pop[i] * rate_pp for i in range(n) if site[i] == j) for j in range(m)])
            offices = np.flatnonzero(is_open)
            ranges = [range(max(1, int(today[j]) if existing[j] else 1), top + 1) for j in offices]
            for ks in itertools.product(*ranges):
                if not all(model.meets(k, lam[j]) for k, j in zip(ks, offices, strict=True)):
                    continue
                spent = sum(opening[j] for j in chosen) + limits.counter_cost * sum(
                    k - (today[j] if existing[j] else 0) for k, j in zip(ks, offices, strict=True))
                if limits.budget is not None and spent > limits.budget + 1e-9:
                    continue
                travel = float(sum(pop[i] * cost[i, site[i]] for i in range(n) if site[i] >= 0))
                if travel < best[0] - 1e-9:
                    best = (travel, is_open)
    return best


def check_plan(plan, cost, pop, rate_pp, existing, today, model, limits: JointLimits) -> None:
    """The plan as the evaluation measures it: first-open catchments, targets met, budget and p held."""
    opening = np.ones(cost.shape[1]) if limits.open_cost is None else limits.open_cost
    site = first_open(cost, plan.open)
    assert (plan.assignment[pop > 0] == site[pop > 0]).all()
    lam = np.bincount(site[site >= 0], weights=(pop * rate_pp)[site >= 0], minlength=cost.shape[1])
    assert all(model.meets(int(plan.counters[j]), lam[j]) for j in np.flatnonzero(plan.open))
    assert plan.open[existing].all() and (plan.counters[existing] >= today[existing]).all()
    spent = float(opening[plan.open & ~existing].sum()
                  + limits.counter_cost * (plan.counters - np.where(existing, today, 0))[plan.open].sum())
    assert plan.spent == pytest.approx(spent)
    assert limits.budget is None or spent <= limits.budget + 1e-9
    assert limits.p is None or plan.open[~existing].sum() <= limits.p


def test_a_tied_visitor_group_is_not_split_to_dodge_the_budget():
    # the first point is 1 minute from existing office e and from candidate s; opening s needs a second
    # counter at e (3 visitors/h there) or two at s: 3.0 > 2.0 either way, so s stays closed
    cost = np.array([[1.0, 1.0], [5.0, 1.0]])
    pop = np.array([2400.0, 400.0])
    limits = JointLimits(p=1, budget=2.0)
    for cols in ([0, 1], [1, 0]):            # e first (ties to e), then s first (ties to s)
        existing = np.array([True, False])[cols]
        today = np.array([1, 0])[cols]
        plan = open_and_staff(cost[:, cols], pop, 0.01 / 8, existing, today, TIE_MODEL, limits)
        assert plan.open.tolist() == existing.tolist()
        assert plan.travel == pytest.approx(4400.0) and plan.spent == pytest.approx(1.0)
        assert plan.status == "optimal" and plan.lower == pytest.approx(4400.0)
        assert enumerate_open(cost[:, cols], pop, 0.01 / 8, existing, today, TIE_MODEL, limits)[0] == 4400.0
        check_plan(plan, cost[:, cols], pop, 0.01 / 8, existing, today, TIE_MODEL, limits)


def tie_instance(seed: int):
    """Whole-minute times 1..4 (many ties), 6 clients, 5 sites (2 existing), loads of 1 to 3 counters."""
    rng = np.random.default_rng(4000 + seed)
    n, m = 6, 5
    cost = rng.integers(1, 5, (n, m)).astype(float)
    cost[rng.random((n, m)) < 0.1] = np.inf
    cost[:, 0] = np.where(np.isinf(cost[:, 0]), 4.0, cost[:, 0])   # everybody reaches an existing office
    pop = rng.integers(0, 5, n) * 300.0
    existing = np.zeros(m, dtype=bool)
    existing[:2] = True
    today = np.where(existing, rng.integers(0, 3, m), 0)
    p = None if seed % 4 == 0 else int(rng.integers(1, 3))
    limits = JointLimits(p=p, budget=float(rng.integers(2, 8)), open_cost=rng.integers(1, 3, m).astype(float))
    return cost, pop, existing, today, limits


@pytest.mark.parametrize("seed", range(60))
def test_the_compact_model_is_enumeration_with_ties(seed):
    cost, pop, existing, today, limits = tie_instance(seed)
    matches_enumeration(cost, pop, existing, today, limits)


def matches_enumeration(cost, pop, existing, today, limits: JointLimits) -> None:
    """With the sites in both orders (both tie-breaks), the plan is enumeration's, or both find none."""
    for cols in (np.arange(cost.shape[1]), np.arange(cost.shape[1])[::-1]):
        args = (cost[:, cols], pop, 0.01 / 8, existing[cols], today[cols], TIE_MODEL)
        lim = JointLimits(p=limits.p, budget=limits.budget, open_cost=limits.open_cost[cols])
        travel, best = enumerate_open(*args, lim)
        if best is None:
            with pytest.raises(AllocatorError, match="wait target"):
                open_and_staff(*args, lim)
            continue
        plan = open_and_staff(*args, lim)
        assert plan.travel == pytest.approx(travel, rel=1e-9, abs=1e-9)
        check_plan(plan, *args, lim)


def per_pair_travel(cost, population, rate_pp, existing, today, model: QueueModel, limits: JointLimits, kmax: int):
    """The former model: one variable per reachable (client, site) pair, closest rows by cumulative groups."""
    n, m = cost.shape
    rate = population * rate_pp
    opening = np.ones(m) if limits.open_cost is None else limits.open_cost
    serve = [model.most_arrivals(k) for k in range(kmax + 1)]
    prob = pulp.LpProblem("per_pair", pulp.LpMinimize)
    y = {(j, k): prob.add_variable(f"y{j}_{k}", 0, 1, pulp.LpBinary)
         for j in range(m) for k in range(max(1, today[j] if existing[j] else 1), kmax + 1)}
    reach = [[int(j) for j in np.flatnonzero(np.isfinite(cost[i]))] for i in range(n)]
    x = {(i, j): prob.add_variable(f"x{i}_{j}", 0, 1) for i in range(n) for j in reach[i]}
    is_open = [prob.add_variable(f"o{j}", 0, 1, pulp.LpBinary) for j in range(m)]
    prob += pulp.lpSum(population[i] * cost[i, j] * v for (i, j), v in x.items())
    for j in range(m):
        if existing[j]:
            prob += is_open[j] == 1
        prob += pulp.lpSum(v for (jj, _), v in y.items() if jj == j) == is_open[j]
        prob += (pulp.lpSum(rate[i] * x[i, j] for i in range(n) if (i, j) in x)
                 <= pulp.lpSum(serve[k] * v for (jj, k), v in y.items() if jj == j))
    for i in range(n):
        for j in reach[i]:
            prob += x[i, j] <= is_open[j]
            prob += pulp.lpSum(x[i, k] for k in reach[i] if cost[i, k] <= cost[i, j]) >= is_open[j]
        if reach[i]:
            prob += pulp.lpSum(x[i, j] for j in reach[i]) == 1
    new = [j for j in range(m) if not existing[j]]
    if limits.p is not None:
        prob += pulp.lpSum(is_open[j] for j in new) <= limits.p
    if limits.budget is not None:
        prob += (pulp.lpSum(opening[j] * is_open[j] for j in new) + pulp.lpSum(
            limits.counter_cost * (k - (today[j] if existing[j] else 0)) * v for (j, k), v in y.items())
            <= limits.budget)
    run = highs.solve(prob, options())
    return float(pulp.value(prob.objective)) if run.status == "optimal" else None


@pytest.mark.parametrize("seed", range(8))
def test_the_compact_model_is_the_per_pair_model_without_ties(seed):
    rng = np.random.default_rng(500 + seed)
    n, m = 40, 9
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    cost = np.linalg.norm(pts[:, None] - sites[None], axis=2) * 3.0      # ties have probability 0
    pop = rng.uniform(100, 2000, n)
    existing = np.zeros(m, dtype=bool)
    existing[:3] = True
    today = np.where(existing, rng.integers(1, 4, m), 0)
    limits = JointLimits(p=int(rng.integers(1, 4)), budget=float(rng.uniform(10, 30)),
                         open_cost=rng.uniform(2.0, 6.0, m))
    model = QueueModel(service_min=10.0, limit_min=10.0, share_within=0.8)
    reference = per_pair_travel(cost, pop, 0.002, existing, today, model, limits,
                                model.fewest(float(pop.sum()) * 0.002) or 1)
    if reference is None:
        with pytest.raises(AllocatorError, match="wait target"):
            open_and_staff(cost, pop, 0.002, existing, today, model, limits)
        return
    plan = open_and_staff(cost, pop, 0.002, existing, today, model, limits)
    assert plan.travel == pytest.approx(reference, rel=1e-7)
    check_plan(plan, cost, pop, 0.002, existing, today, model, limits)


def test_catchments_stop_at_the_first_existing_office_and_merge_equal_orders():
    cost = np.array([[3.0, 1.0, 2.0, 1.0], [3.0, 1.0, 2.0, 1.0], [np.inf, 2.0, 0.5, 9.0], [1.0, 1.0, 1.0, 1.0]])
    existing = np.array([False, False, True, False])
    pop = np.array([10.0, 30.0, 5.0, 0.0])            # the last client has no people: not modelled
    cat = catchments(cost, existing, pop, pop * 0.1)
    groups = [cat.site[a:b].tolist() for a, b in zip(cat.start[:-1], cat.start[1:], strict=True)]
    assert groups == [[1, 3, 2], [2]]                 # ties to the lower column; clients 0 and 1 merged
    assert cat.rate.tolist() == pytest.approx([4.0, 0.5])
    assert cat.travel.tolist() == pytest.approx([40.0, 40.0, 80.0, 2.5])


def model_of(cost, pop, rate_pp, existing, today, model: QueueModel, limits: JointLimits):
    """The instance's catchments, compact model and most counters per site, as open_and_staff builds them."""
    opening = np.ones(len(existing)) if limits.open_cost is None else limits.open_cost
    cat = catchments(cost, existing, pop, pop * rate_pp)
    most = open_counters(potential_visitors(cat, len(existing)), np.where(existing, np.maximum(today, 1), 1), model,
                         limits.max_counters)
    serve = [model.most_arrivals(k) for k in range(int(most.max()) + 1)]
    return cat, open_model(cat, existing, today, serve, most, limits, opening), most


def whole_plans(cost, pop, rate_pp, existing, today, model: QueueModel, limits: JointLimits, modelled: np.ndarray):
    """Every whole plan within p and the budget: (open, counters), counters from the fewest to the most modelled."""
    opening = np.ones(cost.shape[1]) if limits.open_cost is None else limits.open_cost
    for r in range(len(modelled) + 1 if limits.p is None else min(limits.p, len(modelled)) + 1):
        for chosen in itertools.combinations(modelled, r):
            is_open = existing.copy()
            is_open[list(chosen)] = True
            site = first_open(cost, is_open)
            if ((site < 0) & (pop > 0)).any():
                continue                                # someone with no open office: not a plan
            lam = np.bincount(site[site >= 0], weights=(pop * rate_pp)[site >= 0], minlength=cost.shape[1])
            offices = np.flatnonzero(is_open)
            ranges = [range(max(1, int(today[j])), 7) for j in offices]
            for ks in itertools.product(*ranges):
                counters = np.zeros(cost.shape[1], dtype=int)
                counters[offices] = ks
                if not all(model.meets(int(counters[j]), lam[j]) for j in offices):
                    continue
                spent = opening[list(chosen)].sum() + limits.counter_cost * (counters - np.where(existing, today, 0))[
                    is_open].sum()
                if limits.budget is None or spent <= limits.budget + 1e-9:
                    yield is_open, counters


@pytest.mark.parametrize("seed", range(30))
def test_no_row_of_the_model_cuts_off_a_whole_plan(seed):
    # every plan meeting the target within p and the budget, with any counters the model weighs, satisfies
    # every row: the load, visitors-by-counters and saving rows only cut fractional points
    cost, pop, existing, today, limits = tie_instance(seed)
    rate_pp = 0.01 / 8
    cat, built, most = model_of(cost, pop, rate_pp, existing, today, TIE_MODEL, limits)
    modelled = [int(j) for j in np.flatnonzero(built.o_col >= 0)]
    a = built.arrays
    checked = 0
    for is_open, counters in whole_plans(cost, pop, rate_pp, existing, today, TIE_MODEL, limits, modelled):
        if (counters > most)[is_open].any():
            continue                                    # beyond what any catchment of the office needs
        v = plan_columns(built, cat, is_open, counters)
        lhs = a.matrix @ v
        assert (lhs >= a.row_lower - 1e-9).all() and (lhs <= a.row_upper + 1e-9).all()
        checked += 1
    assert checked > 0 or enumerate_open(cost, pop, rate_pp, existing, today, TIE_MODEL, limits)[1] is None


@pytest.mark.parametrize("seed", range(30))
def test_whole_openings_price_the_counters_exactly(seed):
    # with the openings fixed whole, the relaxation's least spending is the plan's (fewest counters meeting
    # the target): why the counters need not be integer columns
    cost, pop, existing, today, limits = tie_instance(seed)
    rate_pp = 0.01 / 8
    free = JointLimits(p=limits.p, open_cost=limits.open_cost)
    cat, built, most = model_of(cost, pop, rate_pp, existing, today, TIE_MODEL, free)
    a = built.arrays
    chosen = np.flatnonzero(built.o_col >= 0)
    y0 = built.z + len(chosen)
    added = built.y_k - np.where(existing[built.y_site], today[built.y_site], 0)
    for r in range(min(2 if limits.p is None else limits.p, 2, len(chosen)) + 1):    # within p
        for opened in itertools.combinations(chosen, r):
            is_open = existing.copy()
            is_open[list(opened)] = True
            lower, upper = a.lower.copy(), a.upper.copy()
            upper[built.o_col[chosen]] = 0.0
            lower[built.o_col[list(opened)]] = upper[built.o_col[list(opened)]] = 1.0
            spend = np.zeros(len(a.cost))
            spend[y0:y0 + len(added)] = added
            lp = highs.ArrayModel(cost=spend, lower=lower, upper=upper, integer=np.zeros(len(a.cost), dtype=bool),
                                  row_lower=a.row_lower, row_upper=a.row_upper, matrix=a.matrix)
            run, values = highs.solve_arrays(lp, options())
            site = first_open(cost, is_open)
            if ((site < 0) & (pop > 0)).any():
                assert run.status == "infeasible"       # someone with no open office
                continue
            lam = np.bincount(site[site >= 0], weights=(pop * rate_pp)[site >= 0], minlength=cost.shape[1])
            need = [TIE_MODEL.fewest(float(lam[j])) for j in np.flatnonzero(is_open)]
            if any(n is None or n > most[j] for n, j in zip(need, np.flatnonzero(is_open), strict=True)):
                assert run.status == "infeasible"
                continue
            exact = sum(max(n, int(today[j]) if existing[j] else 1) - (today[j] if existing[j] else 0)
                        for n, j in zip(need, np.flatnonzero(is_open), strict=True))
            assert run.status == "optimal" and float(spend @ values) == pytest.approx(exact, abs=1e-7)


def binding_budgets(seed: int):
    """A tie instance with its budget set just below what its best plan without a budget spends (binding)."""
    cost, pop, existing, today, limits = tie_instance(seed)
    free = JointLimits(p=limits.p, open_cost=limits.open_cost)
    try:
        plan = open_and_staff(cost, pop, 0.01 / 8, existing, today, TIE_MODEL, free)
    except AllocatorError:
        return None
    return cost, pop, existing, today, [JointLimits(p=limits.p, budget=plan.spent - cut, open_cost=limits.open_cost)
                                        for cut in (1.0, 2.0, 3.0)]


@pytest.mark.parametrize("seed", range(40))
def test_binding_budgets_match_enumeration(seed):
    inst = binding_budgets(seed)
    if inst is None:
        pytest.skip("no plan meets the target even without a budget")
    cost, pop, existing, today, budgets = inst
    for lim in budgets:
        matches_enumeration(cost, pop, existing, today, lim)


@pytest.mark.parametrize("seed", range(20))
def test_the_starting_plan_is_a_whole_plan_of_the_model(seed):
    # good_openings' plan (the solver's start) keeps every row, the budget and p, and measures as the
    # evaluation does; it is never better than enumeration's optimum
    inst = binding_budgets(seed)
    if inst is None:
        pytest.skip("no plan meets the target even without a budget")
    cost, pop, existing, today, budgets = inst
    rate_pp = 0.01 / 8
    for lim in budgets:
        cat, built, most = model_of(cost, pop, rate_pp, existing, today, TIE_MODEL, lim)
        serve = np.array([TIE_MODEL.most_arrivals(k) for k in range(int(most.max()) + 1)])
        found = good_openings(cat, SiteCounters(existing=existing, today=today, most=most, opening=lim.open_cost),
                              serve, lim, np.flatnonzero(built.o_col >= 0), lambda: False)
        best = enumerate_open(cost, pop, rate_pp, existing, today, TIE_MODEL, lim)[0]
        if found is None:
            continue
        is_open, counters = found
        v = plan_columns(built, cat, is_open, counters)
        a = built.arrays
        lhs = a.matrix @ v
        assert (lhs >= a.row_lower - 1e-9).all() and (lhs <= a.row_upper + 1e-9).all()
        site = first_open(cost, is_open)
        travel = float(pop[site >= 0] @ cost[site >= 0, site[site >= 0]])
        assert travel == pytest.approx(built.constant + a.cost @ v) and travel >= best - 1e-9
        lam = np.bincount(site[site >= 0], weights=(pop * rate_pp)[site >= 0], minlength=cost.shape[1])
        assert all(TIE_MODEL.meets(int(counters[j]), lam[j]) for j in np.flatnonzero(is_open))
        spent = lim.open_cost[is_open & ~existing].sum() + (counters - np.where(existing, today, 0))[is_open].sum()
        assert spent <= lim.budget + 1e-9 and (lim.p is None or (is_open & ~existing).sum() <= lim.p)
