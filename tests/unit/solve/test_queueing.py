"""The queueing formulas (allocator.solve.queueing) against closed forms, tables, exact fractions and ciw."""

from __future__ import annotations

import math
from fractions import Fraction

import ciw
import numpy as np
import pytest

from allocator.solve.queueing import erlang_b, erlang_c, min_stable_counters, queue


def erlang_c_fraction(load: Fraction, c: int) -> Fraction:
    """Erlang C from its factorial definition, in exact rational arithmetic (an independent formula)."""
    top = load ** c / math.factorial(c) * Fraction(c) / (c - load)
    return top / (sum(load ** k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("load", "c"), [(Fraction(1, 2), 1), (Fraction(5, 2), 3), (Fraction(19, 2), 12),
                                         (Fraction(45), 50), (Fraction(180), 190)])
def test_erlang_c_equals_the_factorial_formula(load, c):
    assert erlang_c(float(load), c) == pytest.approx(float(erlang_c_fraction(load, c)), rel=1e-10)


@pytest.mark.parametrize(("load", "c"), [(1.361, 5), (4.461, 10), (12.031, 20), (37.901, 50)])
def test_erlang_b_matches_the_published_one_percent_table(load, c):
    # Erlang B table, grade of service 1 %: offered traffic that N circuits carry at 1 % blocking
    assert erlang_b(load, c) == pytest.approx(0.01, abs=5e-5)


def test_mm1_and_mm2_closed_forms():
    # M/M/1: C = rho, Wq = rho / (mu - lambda); lambda = 4/h, s = 10 min -> rho = 2/3
    q = queue(1, 4.0, 10.0)
    assert q.p_wait == pytest.approx(2 / 3) and q.mean_wait_min == pytest.approx((2 / 3) / (0.1 - 4 / 60))
    # M/M/2: C = 2 rho^2 / (1 + rho); lambda = 9/h, s = 10 min -> a = 1.5, rho = 0.75
    q = queue(2, 9.0, 10.0)
    assert q.p_wait == pytest.approx(2 * 0.75 ** 2 / 1.75)
    assert q.mean_wait_min == pytest.approx(q.p_wait / (2 / 10 - 9 / 60))
    assert q.share_longer(5.0) == pytest.approx(q.p_wait * math.exp(-(2 / 10 - 9 / 60) * 5.0))
    assert q.utilisation == pytest.approx(0.75)


def test_hundreds_of_counters_do_not_overflow():
    q = queue(600, 60 * 590 / 10.0, 10.0)          # 590 Erlang on 600 counters
    assert 0 < q.p_wait < 1 and math.isfinite(q.mean_wait_min)
    assert q.p_wait == pytest.approx(float(erlang_c_fraction(Fraction(590), 600)), rel=1e-9)


def test_unstable_and_empty_offices():
    q = queue(2, 12.0, 10.0)                        # a = 2 on 2 counters: rho = 1
    assert not q.stable and q.mean_wait_min == math.inf and q.share_longer(60) == 1.0
    assert queue(0, 1.0, 5.0).utilisation == math.inf
    empty = queue(3, 0.0, 5.0)
    assert empty.stable and empty.mean_wait_min == 0.0 and empty.share_longer(0) == 0.0
    assert min_stable_counters(12.0, 10.0) == 3 and min_stable_counters(11.9, 10.0) == 2
    assert min_stable_counters(0.0, 10.0) == 0
    with pytest.raises(ValueError):
        queue(2, 1.0, 0.0)


def test_mean_wait_falls_convexly_with_counters():
    lam, s = 40.0, 12.0                             # a = 8 Erlang
    waits = [lam * queue(c, lam, s).mean_wait_min for c in range(9, 30)]
    steps = np.diff(waits)
    assert (steps < 0).all() and (np.diff(steps) > -1e-12).all()


def simulate(c: int, arrivals_per_h: float, service, horizon_min: float, seed: int) -> np.ndarray:
    """Waiting times (minutes) of a ciw M/G/c run, the first 10 % of the horizon dropped as warm-up."""
    ciw.seed(seed)
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=arrivals_per_h / 60)],
                                 service_distributions=[service], number_of_servers=[c])
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(horizon_min)
    return np.array([r.waiting_time for r in sim.get_all_records() if r.arrival_date > 0.1 * horizon_min])


def test_erlang_c_against_a_ciw_simulation():
    # 3 counters, 12 visitors/h, 10 min each (rho = 2/3); about 18,000 visitors: mean wait within 10 %,
    # probability of waiting and share over 5 min within 0.03
    q = queue(3, 12.0, 10.0)
    w = simulate(3, 12.0, ciw.dists.Exponential(rate=1 / 10), 100_000, seed=1)
    assert w.mean() == pytest.approx(q.mean_wait_min, rel=0.10)
    assert (w > 0).mean() == pytest.approx(q.p_wait, abs=0.03)
    assert (w > 5).mean() == pytest.approx(q.share_longer(5), abs=0.03)


def test_allen_cunneen_against_a_ciw_simulation():
    # Deterministic service (cv = 0) and gamma service with cv = 1.5: the approximate mean within 15 %
    for cv, service in ((0.0, ciw.dists.Deterministic(value=10)),
                        (1.5, ciw.dists.Gamma(shape=1 / 1.5 ** 2, scale=10 * 1.5 ** 2))):
        q = queue(3, 12.0, 10.0, cv)
        w = simulate(3, 12.0, service, 150_000, seed=2)
        assert w.mean() == pytest.approx(q.mean_wait_min, rel=0.15), cv


def test_allen_cunneen_on_one_counter_is_pollaczek_khinchine():
    # M/G/1: Wq = rho s (1 + cv^2) / (2 (1 - rho)); lambda = 4/h, s = 10 min, cv = 0.5
    rho, s, cv = 4 / 60 * 10, 10.0, 0.5
    assert queue(1, 4.0, s, cv).mean_wait_min == pytest.approx(rho * s * (1 + cv ** 2) / (2 * (1 - rho)))
