"""Solving a prepared run: every service's model, then each service's staffing decision.

Services that share a budget are solved together (:mod:`allocator.solve.plan`);
the others one by one, each with the model its objective and rules call for.
A service with a ``counters`` section then gets its staffing decision
(:func:`allocator.solve.staffing.decide_counters`).  Model errors name the
scenario field at fault.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from allocator.errors import AllocatorError
from allocator.inputs.districts import OUTSIDE_KEY
from allocator.scenario.schema import SolverSpec
from allocator.solve import checks
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.kolm_pollak import service_epsilon
from allocator.solve.objectives import ModelInput, SolveOptions, objective
from allocator.solve.plan.model import Floor, PlanService, Sites, solve_plan
from allocator.solve.plan.phases import solve_phased
from allocator.solve.problem import RunProblem, ServiceProblem
from allocator.solve.run_info import RunInfo
from allocator.solve.solution import Solution
from allocator.solve.staffing import decide_counters, open_solution


def solve_run(prepared: RunProblem, solver: SolverSpec) -> list[Solution]:
    """One solution per service of ``prepared``, with its counters decided when it has a ``counters`` section.

    ``solver.time_limit_s`` bounds all of it, model building included: one :class:`Deadline` from here on.
    """
    solutions = _solve_all(prepared.info, prepared.services, solver, Deadline(solver.time_limit_s))
    return [_with_counters(prep, solution, prepared.info)
            for prep, solution in zip(prepared.services, solutions, strict=True)]


def _with_counters(prep: ServiceProblem, solution: Solution, info: RunInfo) -> Solution:
    """The solution with its counters decided (the solution itself without a ``counters`` section)."""
    if prep.service.counters is None:
        return solution
    try:
        return replace(solution, counters=decide_counters(prep, solution))
    except AllocatorError as exc:
        raise exc.with_file(info.path) from None


def _solve_all(info: RunInfo, prepared: list[ServiceProblem], solver: SolverSpec,
               deadline: Deadline) -> list[Solution]:
    """Solve every service within ``deadline``: together when they share a budget, else one by one."""
    options = {"time_limit": deadline, "gap_rel": solver.gap_rel, "threads": solver.threads}
    shared = info.shared_budget
    if shared is not None:
        try:
            return solve_plan([plan_service(prep) for prep in prepared], shared_budget=shared, **options)
        except OutOfTimeError as exc:
            raise exc.with_file(info.path) from None
        except AllocatorError as exc:
            at = [prep.field for prep in prepared if prep.service.name == getattr(exc, "service", None)]
            if at:   # one service's rule is at fault
                exc.field = f"{at[0]}.{_plan_field(exc.field)}" if exc.field else at[0]
            else:
                exc.field = f"shared_budget ({_plan_field(exc.field)})" if exc.field else "shared_budget"
            raise exc.with_file(info.path) from None
    return [_solve(prep, options, info) for prep in prepared]


#: allocator.solve.plan.model' names for what the scenario calls otherwise
_PLAN_FIELDS = {"open_cost": "candidates.cost", "saving": "existing.saving", "max_time": "max_time_min",
                "upgrade_capacity": "existing.upgrade_capacity", "upgrade_cost": "existing.upgrade_cost",
                "floors": "district_floor", "threshold": "threshold_min"}


def _plan_field(name: str) -> str:
    return _PLAN_FIELDS.get(name, name)


def plan_service(prep: ServiceProblem) -> PlanService:
    """The plan-model view of a prepared service (allocator.solve.plan.model)."""
    service, sites = prep.service, prep.sites
    existing = prep.existing
    closable = existing & bool(service.existing and service.existing.closable)

    def column(name: str, default: float) -> np.ndarray | None:
        return sites[name].fillna(default).to_numpy(float) if name in sites else None

    capacity = column("capacity", math.inf)
    floors = []
    if service.district_floor is not None:
        names = prep.demand["district_name"]
        for key, part in prep.demand.groupby("district", sort=True):
            if key == OUTSIDE_KEY:   # the people outside every district polygon are no district
                continue
            mask = prep.demand.index.isin(part.index)
            name = names[part.index[0]]
            floors.append(Floor(mask, service.district_floor, f"district {key}" + (f" ({name})" if name != key else "")))
    plan_model = objective(service.objective).plan_model
    assert plan_model is not None, f"{service.objective} has no plan model"
    return PlanService(
        name=service.name, objective=plan_model, cost=prep.model_cost, weight=prep.population,
        sites=Sites(kept=existing & ~closable, closable=closable, open_cost=column("open_cost", 1.0),
                    saving=column("saving", 0.0), capacity=capacity,
                    upgrade_capacity=column("upgrade_capacity", 0.0), upgrade_cost=column("upgrade_cost", 0.0)),
        threshold=service.threshold_min, p=service.p, relocate=service.relocate, budget=service.budget,
        max_time=service.max_time_min, floors=floors, priority=service.priority, epsilon=service_epsilon(service))


def _solve(prep: ServiceProblem, options: dict[str, Any], info: RunInfo) -> Solution:
    """Call the model the service asks for, attributing model errors to its fields."""
    service = prep.service
    try:
        if service.counters is not None and service.counters.decision == "open":
            return open_solution(prep, checks.options(**options))
        if service.phases is not None:
            return solve_phased(plan_service(prep), service.phases, service.carry_over, **options)
        if service.uses_plan_rules:
            return solve_plan([plan_service(prep)], **options)[0]
        problem = ModelInput(prep.model_cost, prep.population, prep.existing, service.p, service.threshold_min,
                             service_epsilon(service))
        return objective(service.objective).solve(problem, SolveOptions(**options))
    except OutOfTimeError as exc:
        raise exc.with_file(info.path) from None
    except AllocatorError as exc:
        exc.field = f"{prep.field}.{_plan_field(exc.field)}" if exc.field else prep.field
        raise exc.with_file(info.path) from None
