"""p-median: open ``p`` new sites minimising the people x minutes to the nearest site (also with plan rules)."""

from __future__ import annotations

import numpy as np
import pulp

from allocator.solve import models
from allocator.solve.highs import add_row
from allocator.solve.kernels import nearest_time, person_minutes
from allocator.solve.objectives.base import ModelInput, Objective, SolveOptions
from allocator.solve.plan.block import Block, PlanObjective
from allocator.solve.plan.levels import Levels
from allocator.solve.radius import Groups, radius_rows
from allocator.solve.solution import Solution


class PMedian(Objective, PlanObjective):
    """The shortest average trip: min sum over locations of people x minutes to the nearest open site.

    With plan rules: chained radius rows cut to levels that grow until exact
    (:class:`allocator.solve.plan.levels.Levels`), or, with capacities, the
    split assignment of everyone to sites within ``max_time`` (else any site).
    """

    name = "p_median"
    sense = "min"
    unit = "person-minutes"
    uses_threshold = False
    takes_max_time = True
    opens_with_counters = True
    plan_model = "p_median"
    serves_everyone = True
    improves = "travel time"

    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        return person_minutes(cost, weight, open_sites, shares=shares, rows=rows)

    def solve(self, problem: ModelInput, options: SolveOptions) -> Solution:
        return models.solve_p_median(problem.cost, problem.weight, problem.count, problem.fixed,
                                     **options.as_kwargs())

    def add_rows(self, block: Block, prob: pulp.LpProblem) -> pulp.LpAffineExpression:
        return self.median_rows(block, prob, block.c)

    def median_rows(self, block: Block, prob: pulp.LpProblem, c: np.ndarray) -> pulp.LpAffineExpression:
        """The p-median rows charging people x ``c`` (minutes, or any cost increasing with them)."""
        w = block.w
        if block.service.max_time is not None:
            max_time_rows(block, prob, block.service.max_time)
        if block.capacity is not None:
            return block.assignment(prob, require=block.rows, cost=c)
        if block.levels is None:
            fa = nearest_time(c, block.kept)
            block.levels = Levels.first(c[np.ix_(block.rows, block.var)], fa[block.rows], w[block.rows],
                                        block.open_estimate(), block.deadline)
            block.deadline.check()
        lv = block.levels
        groups = Groups(w[block.rows], lv.levels, lv.members, lv.K, lv.fa)
        obj, _, const = radius_rows(prob, block.y, groups, lv.t, prefix=block.prefix)
        block.obj_const = const
        return pulp.LpAffineExpression(obj)

    def usable(self, block: Block, i: int) -> np.ndarray:
        row, max_time = block.c[i], block.service.max_time
        if max_time is not None and (row <= max_time).any():
            return np.flatnonzero(row <= max_time)
        return np.flatnonzero(np.isfinite(row))

    def still_served(self, block: Block, C: np.ndarray, best: np.ndarray, j: int, rest: np.ndarray) -> bool:
        served = np.flatnonzero(C[:, j] <= best + 1e-9)
        return bool((nearest_time(C[served], rest) <= best[served] + 1e-9).all())


def max_time_rows(block: Block, prob: pulp.LpProblem, max_time: float) -> None:
    """Everyone with some site within ``max_time`` gets one (the others are noted and not bound by it)."""
    c = block.c
    near = c <= max_time
    ok_kept = near[:, block.kept].any(axis=1) if block.kept.any() else np.zeros(c.shape[0], bool)
    some = near.any(axis=1)
    out = np.intersect1d(np.flatnonzero(~some), block.rows)
    if out.size:
        block.notes.append(f"{out.size} location(s) ({block.w[out].sum():g} people) have no site within "
                           f"max_time {max_time:g} min and are not bound by it")
    for i in np.intersect1d(np.flatnonzero(some & ~ok_kept), block.rows):
        block.deadline.check()
        add_row(prob, [(block.yof[int(j)], 1.0) for j in np.flatnonzero(near[i]) if not block.kept[j]],
                pulp.LpConstraintGE, 1, f"{block.prefix}tmax{i}")


P_MEDIAN = PMedian()
