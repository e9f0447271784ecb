"""Weighted p-center: open ``p`` new sites minimising the largest people x minutes of any location."""

from __future__ import annotations

from allocator.solve.objectives.p_center import PCenter


class WeightedPCenter(PCenter):
    """The smallest largest person-weighted trip: the p-center on ``people x minutes``."""

    name = "weighted_p_center"
    unit = "person-minutes"
    weighted = True


WEIGHTED_P_CENTER = WeightedPCenter()
