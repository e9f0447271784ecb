"""The objective catalogue: every objective a scenario can name, one module each.

An objective (:class:`~allocator.solve.objectives.base.Objective`) knows its
sense, units and traits, its value on any times, its classic model and how
its value is reported; one that takes plan rules is also a
:class:`~allocator.solve.plan.block.PlanObjective` (its rows in a plan).
Adding one is a module here, one line in :data:`OBJECTIVES`, its words in
``allocator/outputs/labels.py``, then ``python tools/gen_objectives.py`` (the
scenario's list) and a section of docs/models.md; docs/architecture.md has
the steps.
"""

from __future__ import annotations

from allocator.errors import AllocatorError
from allocator.solve.objectives.base import ModelInput, Objective, SolveOptions
from allocator.solve.objectives.kolm_pollak import KOLM_POLLAK
from allocator.solve.objectives.max_coverage import MAX_COVERAGE
from allocator.solve.objectives.min_underserved import MIN_UNDERSERVED
from allocator.solve.objectives.p_center import P_CENTER
from allocator.solve.objectives.p_median import P_MEDIAN
from allocator.solve.objectives.set_cover import SET_COVER
from allocator.solve.objectives.weighted_p_center import WEIGHTED_P_CENTER
from allocator.solve.plan.block import PlanObjective

__all__ = ["OBJECTIVES", "PLAN_OBJECTIVES", "ModelInput", "Objective", "SolveOptions", "objective",
           "plan_objective"]

#: every objective, by name, in the order the scenario reference lists them
OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    P_MEDIAN, MAX_COVERAGE, MIN_UNDERSERVED, SET_COVER, P_CENTER, WEIGHTED_P_CENTER, KOLM_POLLAK,
)}

#: the objectives that are their own plan model (the others with plan rules are solved by one of these)
PLAN_OBJECTIVES: dict[str, PlanObjective] = {
    name: o for name, o in OBJECTIVES.items() if isinstance(o, PlanObjective) and o.plan_model == name}


def objective(name: str) -> Objective:
    """The catalogue entry of ``name`` (the scenario schema has already checked it exists)."""
    return OBJECTIVES[name]


def plan_objective(name: str) -> PlanObjective:
    """The plan model of the objective ``name``, or an error naming those that take plan rules."""
    if name not in PLAN_OBJECTIVES:
        names = list(PLAN_OBJECTIVES)
        raise AllocatorError(f"objective {name} cannot be combined with budgets, closures or capacities",
                             field="objective", fix=f"use {', '.join(names[:-1])} or {names[-1]}")
    return PLAN_OBJECTIVES[name]
