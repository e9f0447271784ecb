"""allocator.evaluate.comparison: plans measured on the same targets, the better value, the trade-off."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import numpy as np
import pandas as pd
import pytest

from allocator.evaluate.access import access_metrics
from allocator.evaluate.comparison import Lead, best_columns, compare
from allocator.evaluate.result import RunResult
from allocator.scenario.schema import TargetSpec
from allocator.solve.kolm_pollak import ede, kappa

POPULATION = np.array([100.0, 200.0, 300.0, 400.0])
BEFORE = np.array([5.0, 20.0, 30.0, np.inf])


def _run(name: str, after: list[float], new_ids: list[str], targets: list[TargetSpec]) -> RunResult:
    """A run of one 'clinics' service on four demand locations (threshold 15 min), with ``new_ids`` built."""
    times = np.array(after)
    demand = pd.DataFrame({"population": POPULATION, "time_before": np.where(np.isinf(BEFORE), np.nan, BEFORE),
                           "time_after": np.where(np.isinf(times), np.nan, times)})
    ids = ["e1", *new_ids]
    facilities = pd.DataFrame({"id": ids, "place": [f"place {i}" for i in ids],
                               "status": ["existing"] + ["new"] * len(new_ids),
                               "assigned_population": [500.0, 300.0, 20.0][:len(ids)]})
    service = SimpleNamespace(name="clinics", threshold_min=15.0, targets=[], objective="max_coverage")
    k = kappa(BEFORE, POPULATION)
    s = SimpleNamespace(service=service, demand=demand, facilities=facilities, ede_kappa=k,
                        before=access_metrics(BEFORE, POPULATION, 15.0, k), after=access_metrics(times, POPULATION, 15.0, k))
    info = SimpleNamespace(name=name, title=name, assign_districts=None, targets=targets)
    return cast(RunResult, SimpleNamespace(info=info, services=[s]))   # what compare reads


def test_plans_are_measured_on_every_runs_targets() -> None:
    a = _run("a", [5.0, 10.0, 30.0, np.inf], ["n1", "n2"], [TargetSpec.model_validate({"metric": "within_share", "min": 0.5})])
    b = _run("b", [5.0, 10.0, 12.0, 40.0], ["n2", "n3"], [TargetSpec.model_validate({"metric": "max_min", "max": 35})])
    comparison = compare([a, b])
    [service] = comparison.services
    assert service.name == "clinics" and [p.run for p in service.plans] == [a, b]
    for plan in service.plans:   # both targets, in first-seen order, for both plans
        assert [t["metric"] for t in plan.equity["targets"]] == ["within_share", "max_min"]
    within = [p.equity["targets"][0]["after"] for p in service.plans]
    assert within == pytest.approx([300 / 1000, 600 / 1000])
    # a's longest trip of those who reach a site is 30, but 400 people cannot reach one: missed (issue 22)
    assert [p.equity["targets"][1]["met_after"] for p in service.plans] == [False, False]
    assert [p.equity["targets"][1]["unreachable_after"] for p in service.plans] == [400.0, 0.0]
    assert [p.new_sites for p in service.plans] == [2, 2]
    assert service.shared_places == ["place n2"]
    # b brings 300 more people within 15 min; a's longest trip (30) is shorter than b's (40)
    assert service.tradeoff is not None
    assert service.tradeoff.more_within == Lead(1, 0, pytest.approx(600.0), pytest.approx(300.0),
                                                pytest.approx(300.0))
    # the longest trips 30 vs 40 minutes concern the 400 people whose trip under b is over 30 minutes (by hand)
    assert service.tradeoff.shorter_trip == Lead(0, 1, 30.0, 40.0, 400.0)
    # each plan's EDE with the one kappa of the service (from the shared before); a's (21.4) is below b's (26.3)
    # only because a's 400 unreachable people do not count in it: what the pages say beside every such figure
    k = kappa(BEFORE, POPULATION)
    edes = [p.result.after["ede_min"] for p in service.plans]
    assert edes == pytest.approx([ede(np.array([5.0, 10.0, 30.0, np.inf]), POPULATION, k),
                                  ede(np.array([5.0, 10.0, 12.0, 40.0]), POPULATION, k)])
    assert edes == pytest.approx([21.384, 26.321], abs=1e-3)
    # over the 600 people who reach a site in both plans (a's 400 cannot)
    assert service.tradeoff.lower_ede == Lead(0, 1, pytest.approx(edes[0]), pytest.approx(edes[1]), 600.0)
    # small loads: new sites under a quarter of the median open site's people
    assert list(service.plans[0].small["id"]) == ["n2"] and service.plans[0].small_limit == pytest.approx(75.0)


def test_a_run_without_the_service_has_no_column() -> None:
    a = _run("a", [5.0, 10.0, 30.0, np.inf], ["n1"], [])
    other = _run("b", [5.0, 10.0, 30.0, np.inf], ["n1"], [])
    other.services[0].service.name = "schools"
    comparison = compare([a, other])
    assert [s.name for s in comparison.services] == ["clinics", "schools"]
    assert comparison.services[0].columns[1] is None and comparison.services[1].columns[0] is None
    assert comparison.services[0].tradeoff is None and comparison.services[0].shared_places is None


def test_best_columns() -> None:
    assert best_columns("within_share", [0.5, 0.7, 0.7]) == {1, 2}      # more is better
    assert best_columns("max_min", [30.0, 40.0, None]) == {0}           # less is better
    assert best_columns("gini", [0.2, 0.2]) == set() and best_columns("gini", [0.2, None]) == set()
