"""One solved service measured (allocator.evaluate.service): notes kept in order, inputs left as they are."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

import allocator as al
from allocator.evaluate.service import evaluate_service


def test_the_notes_of_the_problem_then_the_exclusions_then_the_solver() -> None:
    times = np.array([[3.0, 12.0], [14.0, 4.0], [np.inf, np.inf]])
    problem = al.Problem.from_cost_matrix(times, [10.0, 20.0, 5.0])
    plan = al.solve(problem, objective="max_coverage", p=1, threshold_min=10)
    service = replace(problem.services[0], service=plan.services[0], notes=["2 sites are far from the roads"])
    demand, sites = service.demand.copy(), service.sites.copy()
    result = evaluate_service(service, plan.solution)
    assert result.notes[0] == "2 sites are far from the roads"
    assert result.notes[1].startswith("1 demand location(s) (5 people) have no site within 10 min")
    assert result.notes[2:] == list(dict.fromkeys(plan.solution.notes))
    assert service.demand.equals(demand) and service.sites.equals(sites), "the inputs are left as they are"
