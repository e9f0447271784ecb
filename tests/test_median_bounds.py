"""allocator.median_bounds against brute force: bounds hold, reductions keep the optimum."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import median_bounds as mb
from allocator.models import solve_p_median


def instance(seed: int, n: int = 25, m: int = 10):
    """Euclidean-like costs with ties, some unreachable pairs, a few fixed sites."""
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    cost = np.round(np.linalg.norm(pts[:, None] - sites[None], axis=2))   # rounding makes ties
    cost[rng.random((n, m)) < 0.1] = np.inf
    W = rng.integers(1, 20, n).astype(float)
    fixed = rng.random(m) < 0.2
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
def test_bounds_and_reductions_keep_the_optimum(seed):
    Ca, W, fa, p = instance(seed)
    opt, optimal_sets = brute(Ca, W, fa, p)
    if not np.isfinite(opt):
        return
    P, f = mb.penalised(Ca, fa)
    start = mb.greedy(P, W, f, p)
    local = mb.interchange(P, W, f, start)
    upper = mb.value(P, W, f, local)
    assert upper >= opt - 1e-9
    # local optimality: no single swap improves (checked by enumeration)
    for out, inn in itertools.product(local, set(range(Ca.shape[1])) - set(local)):
        S = np.array(sorted(set(local) - {out} | {inn}))
        assert mb.value(P, W, f, S) >= upper - 1e-9
    bound = mb.lagrangian(Ca, W, fa, p, upper)
    assert bound.lower <= opt + 1e-9 * max(1, opt)
    # any multipliers give a valid bound, not only the optimised ones
    rng = np.random.default_rng(seed)
    L, _, _ = mb.evaluate(W[:, None] * Ca, W * fa, rng.uniform(0, 50, Ca.shape[0]), p)
    assert L <= opt + 1e-9 * max(1, opt)
    closed, opened = mb.reduction(bound, p, upper)
    assert not (closed & opened).any()
    # every solution strictly better than the incumbent survives the reduction
    for S in itertools.combinations(range(Ca.shape[1]), p):
        d = np.minimum(fa, Ca[:, list(S)].min(axis=1))
        if np.isfinite(d).all() and float(W @ d) < upper * (1 - 1e-6):
            assert not closed[list(S)].any()
            assert set(np.flatnonzero(opened)) <= set(S)


def weak_lagrangian(Ca, W, fa, p, upper, lam0=None, max_iter=0):
    """A valid but useless bound (all multipliers 0): nothing is ruled out, the MIP must prove it."""
    L, rho, sites = mb.evaluate(W[:, None] * Ca, W * fa, np.zeros(Ca.shape[0]), p)
    return mb.Bound(L, rho, sites, np.zeros(Ca.shape[0]), 0)


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
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    cost = np.round(np.linalg.norm(pts[:, None] - sites[None], axis=2), 1)
    weight = rng.integers(1, 50, n).astype(float)
    sol = solve_p_median(cost, weight, p)
    if weak:
        assert sol.n_variables > 0          # the MIP did run
    opt, optimal_sets = brute(cost, weight, np.full(n, np.inf), p)
    assert sol.status == "optimal"
    assert abs(sol.objective - opt) <= 1e-9 * opt
    assert set(sol.new_sites.tolist()) in optimal_sets
    assert sol.gap == 0.0
