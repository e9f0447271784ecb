"""Maximal coverage: open ``p`` new sites bringing the most people within the threshold (also with plan rules)."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pulp

from allocator.solve import models
from allocator.solve.kernels import people_within
from allocator.solve.objectives.base import ModelInput, Objective, SolveOptions
from allocator.solve.plan.block import Block, ThresholdPlan
from allocator.solve.solution import Solution


class MaxCoverage(Objective, ThresholdPlan):
    """As many people as possible within ``threshold_min`` of an open site (Church & ReVelle 1974).

    With plan rules: one coverage variable per location the sites decide
    about, or, with capacities, the split assignment of people to sites
    within the threshold (people beyond it stay underserved).
    """

    name = "max_coverage"
    sense: ClassVar[Literal["min", "max"]] = "max"
    unit = "people"
    uses_threshold = True
    plan_model = "max_coverage"

    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        assert threshold is not None   # a coverage objective always has one (the schema requires it)
        return people_within(cost, weight, open_sites, threshold, shares=shares, rows=rows)

    def solve(self, problem: ModelInput, options: SolveOptions) -> Solution:
        return models.solve_max_coverage(problem.cost, problem.weight, problem.count, problem.threshold,
                                         problem.fixed, **options.as_kwargs())

    def add_rows(self, block: Block, prob: pulp.LpProblem) -> pulp.LpAffineExpression:
        w = block.w
        if block.capacity is not None:
            coverable = block.coverable()
            block.note_beyond_threshold()
            return block.assignment(prob, require=np.zeros(0, int), cost=None, among=coverable)
        covered = block.covered_by_kept()
        block.note_beyond_threshold()
        block.obj_const = float(w[block.rows][covered[block.rows]].sum())
        return pulp.LpAffineExpression([(block.cover_variable(prob, i), w[i]) for i in block.undecided(covered)])


MAX_COVERAGE = MaxCoverage()
