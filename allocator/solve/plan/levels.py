"""Radius levels of an uncapacitated p-median plan service, and where each location's rows stop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.solve import bounds as mb
from allocator.solve.deadline import Deadline
from allocator.solve.radius import level_at, radius_levels

#: levels per location in a plan's first p-median model (see Levels)
PLAN_FIRST_LEVELS = 4
#: most swaps of the interchange that sets a plan's first caps (a heuristic: it only sizes the model)
_PLAN_SWAPS = 50


@dataclass
class Levels:
    """Radius levels of an uncapacitated p-median service and where each location's rows stop.

    Like :func:`allocator.solve.models.solve_p_median`, a plan keeps only each
    location's first ``t`` levels (the model then charges ``min(cost,
    D^{t+1})``, a relaxation: every other rule is unchanged).  The first model
    has ``PLAN_FIRST_LEVELS`` levels per location; after each solve every
    location's cap grows to its second-nearest open site, and a location
    served beyond its cap to 1.5 x its cost.  When no location is served
    beyond its cap the relaxed value is the true value, so the plan is optimal.
    """

    Ca: np.ndarray          # locations (rows with people) x site variables
    fa: np.ndarray          # cost to the nearest kept site (inf: none)
    levels: list
    members: list
    K: np.ndarray
    t: np.ndarray

    @classmethod
    def first(cls, Ca: np.ndarray, fa: np.ndarray, W: np.ndarray, n_open: int,
              deadline: Deadline | None = None) -> Levels:
        """Levels of every location, cut after ``PLAN_FIRST_LEVELS`` and, when
        ``n_open`` > 0, grown as if a rule-free heuristic plan with ``n_open``
        sites (greedy adding + interchange, which stops at ``deadline``) were the first solution."""
        levels, members, K = radius_levels(Ca, fa)
        lv = cls(Ca, fa, levels, members, K, np.minimum(PLAN_FIRST_LEVELS, K - 1))
        if 0 < n_open < Ca.shape[1]:
            P, fpen = mb.penalised(Ca, fa)
            lv.extend(mb.interchange(P, W, fpen, mb.greedy(P, W, fpen, n_open), max_swaps=_PLAN_SWAPS,
                                      deadline=deadline))
        return lv

    def extend(self, open_pos: np.ndarray) -> bool:
        """Grow the caps from a solution (site-variable positions open); True if it was not exact."""
        # the kept sites twice: with one open site or none, "second nearest" is the nearest kept one
        near = np.partition(np.column_stack([self.Ca[:, open_pos], self.fa, self.fa]), 1, axis=1)
        cost, second = near[:, 0], near[:, 1]
        cap = np.array([D[t] for D, t in zip(self.levels, self.t, strict=True)])
        viol = (self.t < self.K - 1) & (cost > cap)
        target = np.where(viol, np.maximum(second, cost * 1.5), second)
        self.t = np.maximum(self.t, level_at(self.levels, self.K, target))
        return bool(viol.any())

