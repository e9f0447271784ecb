"""Fewest people underserved: maximal coverage read the other way, reported as the people beyond the threshold."""

from __future__ import annotations

import numpy as np

from allocator.solve.objectives.max_coverage import MaxCoverage


class MinUnderserved(MaxCoverage):
    """Open ``p`` new sites leaving the fewest people beyond ``threshold_min``.

    Solved as :class:`MaxCoverage` (its model and plan model); the value is
    everyone minus the people covered.
    """

    name = "min_underserved"
    sense = "min"
    plan_model = "max_coverage"

    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        covered = super().evaluate(cost, weight, open_sites, threshold, shares=shares, rows=rows)
        return self.reported(covered, weight)

    def reported(self, model_value: float, weight: np.ndarray) -> float:
        """Everyone minus the people the coverage model covered."""
        return float(np.asarray(weight, dtype=float).sum()) - model_value


MIN_UNDERSERVED = MinUnderserved()
