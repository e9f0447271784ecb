"""Bounded work for every counters input: Erlang B, the staffing loops and the counters bounds of the schema.

Each fast path is checked against the plain computation it replaces (the
recursion from 0 counters, the one-counter-at-a-time greedy, the linear
search for the fewest counters) on small cases, and each hostile size runs
under an alarm so that a regression fails instead of hanging.
"""

from __future__ import annotations

import heapq
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import no_hang
from pydantic import ValidationError
from scipy import stats

from allocator.errors import AllocatorError
from allocator.scenario.counters import MAX_COUNTERS_PER_OFFICE, MAX_STAFF, CountersSpec
from allocator.solve.queueing import erlang_b, min_stable_counters, queue, queues_from
from allocator.solve.staffing import (
    MAX_OPEN_COUNTERS,
    JointLimits,
    QueueModel,
    allocate,
    fewest_meeting,
    open_and_staff,
    open_counters,
    today_counters,
)

MODEL = QueueModel(service_min=20.0, cv=1.0, limit_min=15.0, share_within=0.9)


def plain_erlang_b(load: float, counters: int) -> float:
    """The recursion from B_0 = 1, once per counter (the reference the cut-offs must reproduce)."""
    b = 1.0
    for k in range(1, counters + 1):
        b = load * b / (k + load * b)
    return b


def factorial_erlang_b(load: Fraction, counters: int) -> Fraction:
    """Erlang B from its factorial definition, in exact rational arithmetic (an independent formula)."""
    terms = [load ** k / math.factorial(k) for k in range(counters + 1)]
    return terms[-1] / sum(terms)


def greedy_one_at_a_time(lam: np.ndarray, start: np.ndarray, extra: int, model: QueueModel,
                         cap: np.ndarray | None = None) -> np.ndarray:
    """Counters added one by one where they cut waiting most, as long as they cut it (the reference greedy)."""
    counters = start.astype(int).copy()
    top = np.full(len(lam), 10 ** 9) if cap is None else cap

    def gain(j: int) -> float:
        now, nxt = model.wait_cost(int(counters[j]), lam[j]), model.wait_cost(int(counters[j]) + 1, lam[j])
        return math.inf if math.isinf(now) else now - nxt

    heap = [(-gain(j), j) for j in range(len(lam)) if lam[j] > 0 and counters[j] < top[j]]
    heapq.heapify(heap)
    for _ in range(extra):
        if not heap or heap[0][0] >= 0:
            break
        _, j = heapq.heappop(heap)
        counters[j] += 1
        if counters[j] < top[j]:
            heapq.heappush(heap, (-gain(j), j))
    return counters


# --------------------------------------------------------------------------- #
# Erlang B: the recursion with cut-offs                                        #
# --------------------------------------------------------------------------- #

def test_erlang_b_is_the_plain_recursion_for_small_loads() -> None:
    rng = np.random.default_rng(7)
    for _ in range(400):
        load, c = float(rng.uniform(0, 144)), int(rng.integers(0, 600))
        assert erlang_b(load, c) == plain_erlang_b(load, c)          # bit for bit: the same operations


@pytest.mark.parametrize(("load", "c"), [(200.0, 150), (300.0, 320), (900.0, 950), (1600.0, 1700)])
def test_erlang_b_with_a_skipped_start_equals_the_exact_value(load: float, c: int) -> None:
    exact = float(factorial_erlang_b(Fraction(load), c))
    assert erlang_b(load, c) == pytest.approx(exact, rel=1e-12)
    assert plain_erlang_b(load, c) == pytest.approx(exact, rel=1e-12)


def test_erlang_b_work_is_bounded_whatever_the_counters() -> None:
    with no_hang(10):
        assert erlang_b(5.0, 10 ** 12) == 0.0 == erlang_b(1e-9, 10 ** 15)   # underflowed: the recursion stays 0
        big = erlang_b(1e8, 10 ** 8 + 1)
    # Poisson pmf / cdf, an independent formula (scipy's log-pmf loses digits at this size)
    expected = stats.poisson.pmf(10 ** 8 + 1, 1e8) / stats.poisson.cdf(10 ** 8 + 1, 1e8)
    assert big == pytest.approx(expected, rel=1e-6)


def test_queues_from_walks_the_same_queues_as_queue() -> None:
    for lam, first in ((4.0, 1), (40.0, 14), (330.0, 100), (0.0, 0)):
        walk = queues_from(first, lam, 20.0, 1.3)
        for c in range(first, first + 40):
            assert next(walk) == queue(c, lam, 20.0, 1.3)


# --------------------------------------------------------------------------- #
# staffing loops                                                               #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("seed", range(40))
def test_allocate_equals_the_one_at_a_time_greedy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 6))
    lam = rng.uniform(0, 80, k)
    lam[rng.random(k) < 0.2] = 0.0
    model = QueueModel(service_min=float(rng.uniform(2, 30)), cv=float(rng.choice([0.5, 1.0, 1.3])))
    start = rng.integers(0, 6, k)
    extra = int(rng.integers(0, 80))
    cap = None if seed % 2 else rng.integers(1, 30, k)
    assert allocate(lam, start, extra, model, cap).tolist() == greedy_one_at_a_time(lam, start, extra, model,
                                                                                     cap).tolist()


def test_allocate_stops_where_counters_no_longer_cut_waiting() -> None:
    lam, start = np.array([7.5, 9.375, 0.0]), np.array([1, 2, 1])
    with no_hang(10):
        got = allocate(lam, start, 10 ** 25, MODEL)
    assert got.tolist() == greedy_one_at_a_time(lam, start, 10 ** 6, MODEL).tolist()
    assert got[2] == 1                                       # no visitors: nothing added
    for j in (0, 1):   # the last counter added still cut the waiting, one more would not
        assert MODEL.wait_cost(int(got[j]), lam[j]) == 0.0 < MODEL.wait_cost(int(got[j]) - 1, lam[j])


def test_allocate_brings_unstable_offices_to_stable_at_once() -> None:
    lam = np.array([1e9, 3.0])        # a billion visitors an hour: stable at 333,333,334 counters
    stable = min_stable_counters(1e9, 20.0)
    with no_hang(10):
        assert allocate(lam, np.array([0, 1]), stable + 1, MODEL).tolist() == [stable, 2]
    assert allocate(lam, np.array([0, 1]), 5, MODEL).tolist() == [5, 1]   # the unstable office first


@pytest.mark.parametrize("seed", range(20))
def test_fewest_equals_the_linear_search(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    model = QueueModel(service_min=float(rng.uniform(2, 30)), cv=float(rng.choice([0.5, 1.0, 1.3])),
                       limit_min=float(rng.uniform(1, 30)), share_within=float(rng.uniform(0.5, 0.999)),
                       mean_wait_max_min=float(rng.uniform(0.01, 10)))
    for rate in rng.uniform(0, 600, 5):
        linear = next(c for c in range(1, 10 ** 6) if model.meets(c, rate))
        assert model.fewest(rate) == linear
        assert model.fewest(rate, linear - 1) is None


def test_fewest_is_bounded_by_the_cap() -> None:
    tiny = QueueModel(service_min=20.0, mean_wait_max_min=1e-300)   # met only where the wait underflows
    with no_hang(10):
        got = fewest_meeting(np.array([29_000.0, 1e12, 5.0]), tiny).tolist()
        assert MODEL.fewest(1e12) is None                             # needs 3e11 counters: beyond every office
    assert got[:2] == [-1, -1]                                        # beyond MAX_COUNTERS_PER_OFFICE
    assert got[2] == next(c for c in range(1, 1000) if tiny.meets(c, 5.0))   # the wait reaches 0.0 after ~200


def test_open_weighs_no_more_counters_than_all_visitors_need() -> None:
    cost = np.array([[2.0, 9.0], [8.0, 1.0]])
    pop, existing, today = np.array([1000.0, 800.0]), np.array([True, False]), np.array([1, 0])
    model = QueueModel(service_min=20.0, mean_wait_max_min=10.0)
    with no_hang(60):
        wide = open_and_staff(cost, pop, 0.002, existing, today, model, JointLimits(p=1, max_counters=10_000))
    narrow = open_and_staff(cost, pop, 0.002, existing, today, model, JointLimits(p=1))
    assert wide.travel == pytest.approx(narrow.travel) and wide.counters.tolist() == narrow.counters.tolist()
    # site 0 could get both clients, site 1 only the second: no office needs more than they bring
    most = open_counters(np.array([pop.sum(), pop[1]]) * 0.002, np.array([1, 1]), model, 10_000)
    assert most.tolist() == [model.fewest(float(pop.sum()) * 0.002), model.fewest(float(pop[1]) * 0.002)]


def test_open_too_large_is_an_error_before_any_work() -> None:
    model = QueueModel(service_min=20.0, mean_wait_max_min=10.0)
    with no_hang(10), pytest.raises(AllocatorError, match="decision open would weigh up to") as err:
        open_counters(np.array([60_000.0, 1.0]), np.array([1, 1]), model, None)
    assert err.value.field == "counters.decision" and "max_per_office" in (err.value.fix or "")
    assert open_counters(np.array([60.0 * MAX_OPEN_COUNTERS / 20.0 - 50.0]), np.array([1]),
                         model, None).tolist()[0] <= MAX_OPEN_COUNTERS


def test_today_counters_beyond_an_office_are_named() -> None:
    sites = pd.DataFrame({"id": ["a", "b"], "status": ["existing", "new"], "count": [1, 1],
                          "counters_today": [float(MAX_COUNTERS_PER_OFFICE + 1), 1e30]})
    spec = CountersSpec(visits_per_person_day=0.01, opening_hours=8, service_min=20, today="desks")
    with pytest.raises(AllocatorError, match="from 0 to 10,000") as err:
        today_counters(sites, spec, "services[0].")
    assert err.value.field == "services[0].counters.today" and "'a'" in str(err.value)


# --------------------------------------------------------------------------- #
# the schema's bounds                                                          #
# --------------------------------------------------------------------------- #

BASE = {"visits_per_person_day": 0.01, "opening_hours": 8, "service_min": 20}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"staff": MAX_STAFF + 1}, "staff", "less than or equal to 1000000"),
    ({"today": MAX_COUNTERS_PER_OFFICE + 1}, "today", "less than or equal to 10000"),
    ({"max_per_office": MAX_COUNTERS_PER_OFFICE + 1}, "max_per_office", "less than or equal to 10000"),
    ({"visits_per_person_day": 10.5}, "visits_per_person_day", "less than or equal to 10"),
    ({"opening_hours": 0.5}, "opening_hours", "greater than or equal to 1"),
    ({"opening_hours": 24.5}, "opening_hours", "less than or equal to 24"),
    ({"peak_factor": 25}, "peak_factor", "less than or equal to 24"),
    ({"peak_factor": 9}, None, "busiest hour brings at most the whole day's visitors"),
    ({"visits_per_person_day": None, "visits_per_person_year": 500, "opening_days_per_year": 20}, None,
     "25 visits per resident per opening day"),
])
def test_counters_values_without_planning_meaning_are_refused(change: dict, field: str | None, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        CountersSpec.model_validate({**BASE, **change})
    first = err.value.errors()[0]
    assert words in first["msg"], first
    if field is not None:
        assert first["loc"][0] == field


@pytest.mark.parametrize(("field", "reason"), [
    ("staff", "beyond any network of offices"), ("today", "at most 10,000"),
    ("max_per_office", "far above any service hall"), ("visits_per_person_day", "unit slip"),
    ("opening_hours", "busiest hour in steady state"), ("peak_factor", "at most the whole day's visitors")])
def test_each_bound_says_why_in_its_description(field: str, reason: str) -> None:
    assert reason in (CountersSpec.model_fields[field].description or "")


def test_the_edge_values_are_still_accepted() -> None:
    spec = CountersSpec.model_validate({**BASE, "opening_hours": 1, "peak_factor": 1, "visits_per_person_day": 10,
                                        "today": MAX_COUNTERS_PER_OFFICE, "max_per_office": MAX_COUNTERS_PER_OFFICE})
    assert spec.visits_per_person_hour == 10.0
    assert CountersSpec.model_validate({**BASE, "opening_hours": 24, "peak_factor": 24}).peak_factor == 24
