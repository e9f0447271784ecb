"""allocator.solve.bounds against brute force: bounds hold, reductions keep the optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import make_problem
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allocator.solve import bounds as mb
from allocator.solve.p_median import solve_p_median


def instance(seed: int, n: int = 25, m: int = 10):
    """Euclidean-like costs with ties, some unreachable pairs, a few fixed sites."""
    rng = np.random.default_rng(seed)
    prob = make_problem(n, m, rng, existing=0.2, unreachable=0.1)
    cost, W, fixed = prob.cost, prob.weight, prob.existing
    fa = cost[:, fixed].min(axis=1) if fixed.any() else np.full(n, np.inf)
    Ca = cost[:, ~fixed]
    ok = np.isfinite(np.minimum(fa, Ca.min(axis=1)))
    return Ca[ok], W[ok], fa[ok], int(rng.integers(1, min(4, Ca.shape[1]) + 1))


def brute(Ca, W, fa, p, columns=None):
    """(best value, all optimal site sets) over the given columns."""
    cols = range(Ca.shape[1]) if columns is None else columns
    best, arg = np.inf, []
    for S in itertools.combinations(cols, p):
        d = np.minimum(fa, Ca[:, list(S)].min(axis=1))
        v = float(W @ d) if np.isfinite(d).all() else np.inf
        if v < best - 1e-9:
            best, arg = v, [set(S)]
        elif abs(v - best) <= 1e-9:
            arg.append(set(S))
    return best, arg


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6))
@example(18202)   # the greedy + interchange incumbent leaves clients unreachable; its penalised value < optimum
def test_bounds_and_reductions_keep_the_optimum(seed):
    Ca, W, fa, p = instance(seed)
    opt, optimal_sets = brute(Ca, W, fa, p)
    if not np.isfinite(opt):
        return
    P, f = mb.penalised(Ca, fa)
    start = mb.greedy(P, W, f, p)
    local = mb.interchange(P, W, f, start)
    penalised = mb.value(P, W, f, local)
    # local optimality on the penalised costs: no single swap improves (checked by enumeration)
    for out, inn in itertools.product(local, set(range(Ca.shape[1])) - set(local)):
        S = np.array(sorted(set(local) - {out} | {inn}))
        assert mb.value(P, W, f, S) >= penalised - 1e-9
    # the incumbent's value is its true cost (infinite when it leaves somebody unreachable), as in p_median:
    # a penalised value is no upper bound, since penalties can total less than the optimum
    d = np.minimum(fa, Ca[:, local].min(axis=1))
    upper = float(W @ d) if np.isfinite(d).all() else np.inf
    assert upper >= opt - 1e-9
    if not np.isfinite(upper):
        return
    bound = mb.lagrangian(mb.SortedRows(W[:, None] * Ca), W * fa, p, upper)
    assert bound.lower <= opt + 1e-9 * max(1, opt)
    # any multipliers give a valid bound, not only the optimised ones
    rng = np.random.default_rng(seed)
    L, _, _ = mb.evaluate(mb.SortedRows(W[:, None] * Ca), W * fa, rng.uniform(0, 50, Ca.shape[0]), p)
    assert L <= opt + 1e-9 * max(1, opt)  # noqa: SIM300 (L is the bound)
    closed, opened = mb.reduction(bound, p, upper)
    assert not (closed & opened).any()
    # every solution strictly better than the incumbent survives the reduction
    for S in itertools.combinations(range(Ca.shape[1]), p):
        d = np.minimum(fa, Ca[:, list(S)].min(axis=1))
        if np.isfinite(d).all() and float(W @ d) < upper * (1 - 1e-6):
            assert not closed[list(S)].any()
            assert set(np.flatnonzero(opened)) <= set(S)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6))
def test_the_bound_from_sorted_prefixes_is_the_bound_over_the_whole_matrix(seed):
    """With more candidates than the sorted window keeps, ``evaluate`` gives the Lagrangian value, its rho
    and its sites as computed over the whole matrix, for any multipliers up to each row's limit."""
    rng = np.random.default_rng(seed)
    prob = make_problem(40, 150, rng, unreachable=0.2)
    WC = prob.weight[:, None] * prob.cost
    WF = np.where(rng.random(40) < 0.3, prob.weight * rng.uniform(1, 15, 40), np.inf)
    rows = mb.SortedRows(WC)
    assert rows.table.shape[1] < WC.shape[1]
    lam = rng.uniform(0, 1, 40) * rows.limit
    p = int(rng.integers(1, 20))
    L, rho, sites = mb.evaluate(rows, WF, lam, p)
    dense = np.minimum(WC - lam[:, None], 0.0).sum(axis=0)
    assert np.allclose(rho, dense, rtol=1e-12, atol=1e-9)
    assert np.isclose(dense[sites].sum(), np.sort(dense)[:p].sum(), rtol=1e-12)
    assert np.isclose(L, lam.sum() + np.minimum(WF - lam, 0.0).sum() + np.sort(dense)[:p].sum(), rtol=1e-12)


def weak_lagrangian(rows, WF, p, upper, lam0=None, max_iter=0, deadline=None):
    """A valid but useless bound (all multipliers 0): nothing is ruled out, the MIP must prove it."""
    L, rho, sites = mb.evaluate(rows, WF, np.zeros(WF.size), p)
    return mb.Bound(L, rho, sites, np.zeros(WF.size), 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.booleans())
def test_p_median_on_larger_instances_equals_brute_force(seed, weak):
    """30 x 12 instances; with ``weak`` the Lagrangian bound is useless, so the
    radius MIP with level generation has to find and prove the optimum."""
    if weak:
        original, mb.lagrangian = mb.lagrangian, weak_lagrangian
    try:
        _check_larger(seed, weak)
    finally:
        if weak:
            mb.lagrangian = original


def _check_larger(seed, weak):
    rng = np.random.default_rng(seed)
    n, m, p = 30, 12, int(rng.integers(2, 5))
    prob = make_problem(n, m, rng, weights=(1, 50), decimals=1)
    cost, weight = prob.cost, prob.weight
    sol = solve_p_median(cost, weight, p)
    if weak:
        assert sol.n_variables > 0          # the MIP did run
    opt, optimal_sets = brute(cost, weight, np.full(n, np.inf), p)
    assert sol.status == "optimal"
    assert abs(sol.objective - opt) <= 1e-9 * opt
    assert set(sol.new_sites.tolist()) in optimal_sets
    assert sol.gap == 0.0


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_interchange_on_sorted_prefixes_ends_where_no_swap_helps(seed):
    """With many candidates and p not small the interchange reads each row's sorted prefix (rows whose
    second-nearest open site lies beyond the prefix are read whole): it still ends at a solution that no
    single swap improves, checked by enumerating every swap, and never worse than its start."""
    rng = np.random.default_rng(seed)
    prob = make_problem(60, 200, rng, existing=0.05, unreachable=0.05)
    P, f = mb.penalised(prob.cost[:, ~prob.existing], prob.cost[:, prob.existing].min(axis=1)
                        if prob.existing.any() else np.full(60, np.inf))
    W, p = prob.weight, int(rng.integers(10, 14))        # prefixes of max(64, 4m // p) < m / 2 sites
    start = rng.choice(P.shape[1], p, replace=False)
    local = mb.interchange(P, W, f, start)
    value = mb.value(P, W, f, local)
    assert local.size == p and value <= mb.value(P, W, f, np.sort(start)) + 1e-9
    for out, inn in itertools.product(local, set(range(P.shape[1])) - set(local)):
        assert mb.value(P, W, f, np.array(sorted(set(local) - {out} | {inn}))) >= value - 1e-9 * value


def test_groups_with_the_same_balls_share_columns_and_their_costs_add():
    """Groups whose balls (the sets of sites within each level) coincide share one column per ball, whatever
    their distances; its cost is the sum of theirs, and the model charges each group its own cost."""
    from allocator.solve.checks import options
    from allocator.solve.highs import solve_arrays
    from allocator.solve.radius import Groups, build_radius, radius_levels

    Ca = np.array([[1., 2., 4.], [3., 5., 9.], [2., 1., 4.], [1., 2., 4.]])
    fa = np.array([np.inf, np.inf, np.inf, 9.])
    W = np.array([1., 2., 4., 8.])
    levels, members, K = radius_levels(Ca, fa)
    one = np.ones(4, dtype=np.int64)
    rm = build_radius(Groups(W, levels, members, K, fa), one, 3, 1, one)
    # one level each: groups 0, 1 and 3 have the ball {0}, group 2 the ball {1}
    assert [b.tolist() for b in rm.balls] == [[0], [1]]
    assert rm.model.cost[3:].tolist() == [1. * 1 + 2. * 2 + 8. * 1, 4. * 1]
    for j in range(3):      # each site alone: the charge is every group's cost capped at its second level
        rm.model.lower[:3] = rm.model.upper[:3] = np.arange(3) == j
        run, _ = solve_arrays(rm.model, options(60, None, None))
        capped = np.minimum(Ca[:, j], [lv[1] for lv in levels])
        assert abs(sum(W[g] * levels[g][0] for g in range(4)) + run.bound - W @ capped) < 1e-9


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6))
def test_radius_mip_with_shared_balls_and_a_poor_start_equals_brute_force(seed):
    """Shifted copies of clients (same offsets, other constants) share balls in
    the radius model, and a deliberately poor MIP start makes the first caps
    too small, so level generation must extend them; the result is still the
    brute-force optimum."""
    from allocator.solve import radius
    from allocator.solve.checks import options

    rng = np.random.default_rng(seed)
    n, m, p = 12, 9, int(rng.integers(2, 4))
    base = make_problem(n, m, rng)
    Ca = np.vstack([base.cost, base.cost + rng.integers(1, 4, (n, 1))])     # every client twice, shifted
    W = np.concatenate([base.weight, rng.integers(1, 20, n).astype(float)])
    fa = np.full(2 * n, np.inf)
    worst = np.argsort(-(W @ Ca))[:p]
    shared: list[bool] = []
    original = radius.build_radius

    def spy(groups, t_idx, *args):
        rm = original(groups, t_idx, *args)
        shared.append(len(rm.balls) < int(t_idx.sum()))      # fewer balls than the groups' levels
        return rm

    radius.build_radius = spy
    try:
        notes: list[str] = []
        res = radius.radius_mip(Ca, fa, W, p, worst, options(60, None, None), notes, lambda: pytest.fail("feasible"))
        pos, status, lower = res.positions, res.status, res.lower
    finally:
        radius.build_radius = original
    opt, optimal_sets = brute(Ca, W, fa, p)
    assert status == "optimal" and all(shared)
    assert abs(float(W @ Ca[:, pos].min(axis=1)) - opt) <= 1e-9 * opt
    assert set(pos.tolist()) in optimal_sets
    assert lower <= opt + 1e-9 * opt


def test_level_generation_extends_caps_from_a_poor_start():
    """On some of these instances the first truncated model is not exact (the note
    says how many solves it took): the extension step is exercised, not assumed."""
    from allocator.solve import radius
    from allocator.solve.checks import options

    extended = 0
    for seed in range(40):
        prob = make_problem(30, 10, seed, weights=(1, 30), side=14.0)
        cost, W = prob.cost, prob.weight
        worst = np.argsort(-(W @ cost))[:3]
        notes: list[str] = []
        res = radius.radius_mip(cost, np.full(30, np.inf), W, 3, worst, options(60, None, None), notes, lambda: None)
        pos, status = res.positions, res.status
        opt, _ = brute(cost, W, np.full(30, np.inf), 3)
        assert status == "optimal" and abs(float(W @ cost[:, pos].min(axis=1)) - opt) <= 1e-9 * opt
        extended += any("level generation needed" in s for s in notes)
    assert extended > 0


def test_radius_tail_charges_the_cap_inside_its_ring_and_its_end_beyond():
    """The truncated radius model with a tail ring (see ``build_radius``):
    the true cost up to the cap, the cap for service inside the ring, the
    ring's end beyond it; never more than the true cost."""
    from allocator.solve.checks import options
    from allocator.solve.highs import solve_arrays
    from allocator.solve.radius import Groups, build_radius, radius_levels

    Ca = np.array([[1., 2., 3., 4., 6.]])
    fa = np.array([np.inf])
    levels, members, K = radius_levels(Ca, fa)
    t, u = np.array([1]), np.array([3])              # exact up to 2, ring [2, 4), end 4
    charged = []
    for j in range(5):
        model = build_radius(Groups(np.array([1.0]), levels, members, K, fa), t, 5, 1, u).model
        model.lower[:5] = model.upper[:5] = np.arange(5) == j
        run, _ = solve_arrays(model, options(60, None, None))
        charged.append(levels[0][0] + run.bound)
    assert charged == [1.0, 2.0, 2.0, 4.0, 4.0]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6))
def test_radius_arrays_for_highs_equal_the_pulp_rows(seed):
    """The radius model handed to HiGHS as arrays has the optimum of the same truncated model written
    with PuLP objects (``radius_rows``, as plans build it), caps and the last-level rows included."""
    import pulp

    from allocator.solve import highs
    from allocator.solve.checks import options
    from allocator.solve.radius import Groups, build_radius, radius_levels, radius_rows

    rng = np.random.default_rng(seed)
    Ca, W, fa, p = instance(seed, n=15, m=8)
    levels, members, K = radius_levels(Ca, fa)
    t = np.minimum(rng.integers(0, 4, K.size), K - 1)
    groups = Groups(W, levels, members, K, fa)
    opts = options(60, None, None)
    run, x = highs.solve_arrays(build_radius(groups, t, Ca.shape[1], p, t).model, opts)
    prob = pulp.LpProblem("radius", pulp.LpMinimize)
    y = [prob.add_variable(f"y{j}", 0, 1, pulp.LpBinary) for j in range(Ca.shape[1])]
    obj, _, _ = radius_rows(prob, y, groups, t)
    prob.setObjective(pulp.LpAffineExpression(obj))
    highs.add_row(prob, [(v, 1.0) for v in y], pulp.LpConstraintEQ, p, "p")
    peer = highs.solve(prob, opts)
    assert run.status == peer.status
    if run.status == "optimal":
        assert abs(run.bound - peer.bound) <= 1e-7 * max(1.0, abs(peer.bound))
        assert int(round(x[:Ca.shape[1]].sum())) == p


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6))
def test_rows_equal_up_to_a_constant_and_rounding_noise_merge_and_keep_the_optimum(seed):
    """Pixels snapped to one node: the node's row plus the pixel's own walk, computed in floating point
    (noise of a few ulps).  They merge into one profile per node, and the optimum, the sites' value and
    the proven bound are those of brute force on the pixels' own rows."""
    from allocator.solve.p_median import merge_profiles

    rng = np.random.default_rng(seed)
    nodes, m, p = 6, 7, int(rng.integers(1, 4))
    base = np.round(rng.uniform(1, 30, (nodes, m)), 3)
    base[rng.random(base.shape) < 0.1] = np.inf
    base[:, 0] = rng.uniform(1, 30, nodes)                   # everybody reaches a site
    node = rng.integers(0, nodes, 30)
    walk = rng.uniform(0, 5, node.size)
    C = (base[node] / 7.0 + walk[:, None] / 3.0) * 21.0 / 7.0 * (1 / 3.0) * 7.0  # noise in the last bits
    w = rng.uniform(0.5, 3.0, node.size)
    notes: list[str] = []
    prof = merge_profiles(C, w, notes)
    assert np.unique(C - C.min(axis=1)[:, None], axis=0).shape[0] > np.unique(node).size  # the noise is there
    assert prof.G.shape[0] == np.unique(node).size          # noise alone never splits a node's pixels
    assert 0 <= prof.slack <= 1e-9 * float(w.sum())
    # a client whose row differs by more than the tolerance stays apart
    bumped = C.copy()
    bumped[0, int(np.argmax(np.where(np.isfinite(C[0]), C[0], -1)))] += 1e-3   # column 0 is finite
    assert merge_profiles(bumped, w, []).G.shape[0] == prof.G.shape[0] + (np.sum(node == node[0]) > 1)
    opt, optimal_sets = brute(C, w, np.full(C.shape[0], np.inf), p)
    sol = solve_p_median(C, w, p)
    assert sol.status == "optimal"
    assert abs(sol.objective - opt) <= 1e-9 * max(1, opt)
    assert set(sol.new_sites.tolist()) in optimal_sets
    assert sol.gap <= 1e-9
