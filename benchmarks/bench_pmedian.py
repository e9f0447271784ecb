"""Compact radius p-median (allocator.solve.models) vs the dense textbook model, 300 x 100.

Run: .venv/bin/python benchmarks/bench_pmedian.py [n_clients n_sites p]
Prints build/solve seconds of both, the time ratio and both objectives.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pulp

from allocator.solve.p_median import solve_p_median


def dense(cost, weight, p):
    """ReVelle & Swain (1970): x_ij for every pair, x_ij <= y_j, sum_j x_ij = 1."""
    t0 = time.perf_counter()
    n, m = cost.shape
    prob = pulp.LpProblem("dense", pulp.LpMinimize)
    y = [prob.add_variable(f"y{j}", 0, 1, pulp.LpBinary) for j in range(m)]
    x = [[prob.add_variable(f"x{i}_{j}", 0, 1) for j in range(m)] for i in range(n)]
    prob += pulp.lpSum(weight[i] * cost[i, j] * x[i][j] for i in range(n) for j in range(m))
    for i in range(n):
        prob += pulp.lpSum(x[i]) == 1
        for j in range(m):
            prob += x[i][j] <= y[j]
    prob += pulp.lpSum(y) == p
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    prob.solve(pulp.HiGHS(msg=False, gapRel=0.0, threads=1))
    return pulp.value(prob.objective), build, time.perf_counter() - t1


def main(n=300, m=100, p=10):
    rng = np.random.default_rng(0)
    c, s = rng.uniform(0, 20, (n, 2)), rng.uniform(0, 20, (m, 2))
    cost = np.linalg.norm(c[:, None] - s[None], axis=2) / 30 * 60   # minutes at 30 km/h
    weight = rng.integers(1, 1000, n).astype(float)
    t0 = time.perf_counter()
    sol = solve_p_median(cost, weight, p)
    t_compact = time.perf_counter() - t0
    obj, b, sv = dense(cost, weight, p)
    t_dense = b + sv
    print(f"compact: build {sol.build_seconds:.2f}s solve {sol.solve_seconds:.2f}s total {t_compact:.2f}s "
          f"objective {sol.objective:.4f} ({sol.status}, {sol.n_variables} vars)")
    print(f"dense:   build {b:.2f}s solve {sv:.2f}s total {t_dense:.2f}s objective {obj:.4f}")
    print(f"dense/compact time ratio: {t_dense / t_compact:.1f}x; "
          f"same objective: {abs(obj - sol.objective) <= 1e-6 * abs(obj)}")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
