"""Location set covering: the fewest new sites (with plan rules: the least net cost) covering everyone coverable."""

from __future__ import annotations

import numpy as np
import pulp

from allocator.solve import models
from allocator.solve.highs import add_row
from allocator.solve.objectives.base import ModelInput, Objective, SolveOptions
from allocator.solve.plan.block import Block, ThresholdPlan
from allocator.solve.solution import Solution


class SetCover(Objective, ThresholdPlan):
    """Everyone who can be within ``threshold_min`` of a site is, with the fewest new sites (Toregas et al. 1971).

    It chooses how many sites itself (no ``p``).  With plan rules the least
    net cost (opening costs + upgrades - savings); the value holds no travel
    time, so it is the same on any times.
    """

    name = "set_cover"
    sense = "min"
    unit = "sites"
    uses_threshold = True
    takes_p = False
    covers_all = True
    plan_model = "set_cover"
    serves_everyone = True
    keeps_free_closures = True

    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        """The number of open sites (those already open count too: see :meth:`value_of` for the new ones)."""
        o = np.asarray(open_sites)
        return float(o.sum() if o.dtype == bool else o.size)

    def value_of(self, cost: np.ndarray, solution: Solution, weight: np.ndarray, threshold: float) -> float:
        """The new sites, or a plan's net cost (``budget_used``)."""
        return float(len(solution.new_sites)) if solution.budget_used is None else solution.budget_used

    def solve(self, problem: ModelInput, options: SolveOptions) -> Solution:
        return models.solve_set_cover(problem.cost, problem.weight, problem.threshold, problem.fixed,
                                      **options.as_kwargs())

    def add_rows(self, block: Block, prob: pulp.LpProblem) -> pulp.LpAffineExpression:
        if block.capacity is not None:
            coverable = block.coverable()
            block.note_beyond_threshold()
            block.assignment(prob, require=coverable, cost=None)
            return block.net_cost()
        covered = block.covered_by_kept()
        block.note_beyond_threshold()
        for i in block.undecided(covered):
            add_row(prob, [(block.yof[int(j)], 1.0) for j in np.flatnonzero(block.c[i] <= block.T)],
                    pulp.LpConstraintGE, 1, f"{block.prefix}cov{i}")
        return block.net_cost()

    def plan_value(self, block: Block, open_mask: np.ndarray, shares: np.ndarray | None, spent: float) -> float:
        """The net cost."""
        return spent


SET_COVER = SetCover()
