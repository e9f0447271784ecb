"""The objective registry: every objective a scenario can name, in one table.

An :class:`Objective` says which model solves it, in which sense, whether it
takes the plan rules (budgets, closures, capacities, ...) and a threshold, and
how its value is measured (:func:`objective_value`, the one evaluation every
caller uses).  Adding an objective is one module with its solver plus one
entry in :data:`OBJECTIVES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from allocator.solve import models
from allocator.solve.kernels import objective_of
from allocator.solve.solution import Solution


@dataclass(frozen=True)
class SolveOptions:
    """What every solver takes besides the data: HiGHS's time limit (s), relative gap and threads."""

    time_limit: float | None = None
    gap_rel: float | None = None
    threads: int | None = None

    def as_kwargs(self) -> dict[str, float | int | None]:
        return {"time_limit": self.time_limit, "gap_rel": self.gap_rel, "threads": self.threads}


@dataclass(frozen=True)
class Problem:
    """One service's model: travel minutes (demand x sites), people per row, the sites already open,
    how many new sites and the threshold of the coverage objectives (minutes)."""

    cost: np.ndarray
    weight: np.ndarray
    fixed: np.ndarray
    p: int | None
    threshold: float


Solver = Callable[[Problem, SolveOptions], Solution]


@dataclass(frozen=True)
class Objective:
    """One objective a scenario can name.

    ``model`` is the model that solves it (``min_underserved`` is solved as
    ``max_coverage``, then reported as the people left out); ``plan_model``
    the plan model's family when the objective takes plan rules (None: it
    takes only ``p`` and kept existing sites).
    """

    name: str
    sense: Literal["min", "max"]
    model: str
    solver: Solver
    plan_model: str | None
    uses_threshold: bool
    unit: str

    @property
    def plan_rules(self) -> bool:
        """True when budgets, closures, capacities, max_time_min and district floors apply."""
        return self.plan_model is not None

    def reported(self, model_value: float, weight: np.ndarray) -> float:
        """The value to report from the value of the model that solved it."""
        if self.name == "min_underserved":
            return float(np.asarray(weight, dtype=float).sum()) - model_value
        return model_value


def _p(problem: Problem) -> int:
    return 0 if problem.p is None else problem.p


def _p_median(problem: Problem, options: SolveOptions) -> Solution:
    return models.solve_p_median(problem.cost, problem.weight, _p(problem), problem.fixed, **options.as_kwargs())


def _max_coverage(problem: Problem, options: SolveOptions) -> Solution:
    return models.solve_max_coverage(problem.cost, problem.weight, _p(problem), problem.threshold, problem.fixed,
                                     **options.as_kwargs())


def _set_cover(problem: Problem, options: SolveOptions) -> Solution:
    return models.solve_set_cover(problem.cost, problem.weight, problem.threshold, problem.fixed,
                                  **options.as_kwargs())


def _center(problem: Problem, options: SolveOptions, weighted: bool) -> Solution:
    return models.solve_p_center(problem.cost, problem.weight, _p(problem), problem.fixed, weighted=weighted,
                                 time_limit=options.time_limit, gap_rel=options.gap_rel, threads=options.threads)


def _p_center(problem: Problem, options: SolveOptions) -> Solution:
    return _center(problem, options, weighted=False)


def _weighted_p_center(problem: Problem, options: SolveOptions) -> Solution:
    return _center(problem, options, weighted=True)


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective("p_median", "min", "p_median", _p_median, "p_median", False, "person-minutes"),
    Objective("max_coverage", "max", "max_coverage", _max_coverage, "max_coverage", True, "people"),
    Objective("min_underserved", "min", "max_coverage", _max_coverage, "max_coverage", True, "people"),
    Objective("set_cover", "min", "set_cover", _set_cover, "set_cover", True, "sites"),
    Objective("p_center", "min", "p_center", _p_center, None, False, "minutes"),
    Objective("weighted_p_center", "min", "weighted_p_center", _weighted_p_center, None, False, "person-minutes"),
)}


def objective(name: str) -> Objective:
    """The registry entry of ``name`` (the scenario schema has already checked it exists)."""
    return OBJECTIVES[name]


def objective_value(name: str, cost: np.ndarray, solution: Solution, weight: np.ndarray,
                    threshold: float) -> float:
    """The objective ``name`` of ``solution``'s sites (and split assignment, with capacities) on the times ``cost``.

    Over the locations with people that reach some site; ``min_underserved``
    is everyone minus the people within ``threshold``.  A set cover's value
    (sites, or a plan's net cost) holds no travel time and is returned as is.
    """
    if name == "set_cover":
        return solution.objective
    return objective_of(name, cost, weight, solution.open_sites, threshold, shares=solution.shares)
