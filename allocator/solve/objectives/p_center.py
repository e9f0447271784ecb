"""p-center: open ``p`` new sites minimising the longest trip to the nearest site."""

from __future__ import annotations

import numpy as np

from allocator.solve import models
from allocator.solve.kernels import longest_time
from allocator.solve.objectives.base import ModelInput, Objective, SolveOptions
from allocator.solve.solution import Solution


class PCenter(Objective):
    """The shortest longest trip: min over site sets of the max over locations of minutes to the nearest site.

    No plan rules; with capacities the nearest site still counts (a center is
    about the worst-off location's trip).
    """

    name = "p_center"
    sense = "min"
    unit = "minutes"
    uses_threshold = False
    #: the max is over people x minutes (the weighted p-center)
    weighted = False

    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        return longest_time(cost, weight, open_sites, self.weighted, rows=rows)

    def solve(self, problem: ModelInput, options: SolveOptions) -> Solution:
        return models.solve_p_center(problem.cost, problem.weight, problem.count, problem.fixed,
                                     weighted=self.weighted, **options.as_kwargs())


P_CENTER = PCenter()
