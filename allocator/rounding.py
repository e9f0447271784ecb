"""Rounded travel times: the option ``solver.round_s`` and what it costs.

Rounding every travel time to a multiple of ``round_s`` seconds makes many
times equal, so the exact models have fewer distinct levels to prove and
solve faster (the p-median benchmark: about 10 s exact, 5 s at 30 s).  The
model is then exact for the *rounded* matrix only.  The pipeline therefore
solves on :func:`round_times` of the matrix, re-evaluates the chosen plan on
the exact times with :func:`objective_on`, and reports both values
(:class:`RoundingEffect`); every access and equity indicator uses the exact
times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import Solution, assign
from .plans import split_minutes

#: a half written in decimal minutes (2.05 min at 2 s is 61.5 steps) can land a hair below .5 in binary
_HALF_TOLERANCE = 1e-9


def round_times(cost: np.ndarray, round_s: float) -> np.ndarray:
    """Minutes rounded half up to the nearest multiple of ``round_s`` seconds; ``cost`` itself when 0.

    Unreachable pairs (inf) stay unreachable.
    """
    if not round_s:
        return cost
    steps = np.floor(np.asarray(cost, dtype=float) * (60.0 / round_s) + 0.5 + _HALF_TOLERANCE)
    return steps * (round_s / 60.0)


def objective_on(cost: np.ndarray, solution: Solution, objective: str, weight: np.ndarray,
                 threshold: float) -> float:
    """The objective of ``solution``'s sites (and split assignment, with capacities) on the times ``cost``.

    The definitions of :mod:`allocator.models` and :mod:`allocator.plans`,
    over the locations with people that reach some site; ``min_underserved``
    is everyone minus the people within ``threshold``.  A set cover's value
    (sites, or a plan's net cost) holds no travel time and is returned as is.
    """
    if objective == "set_cover":
        return solution.objective
    w = np.asarray(weight, dtype=float)
    reach = (w > 0) & np.isfinite(cost).any(axis=1)
    times = assign(cost[reach], solution.open_sites)[1]
    if objective == "p_center":
        return float(times.max(initial=0.0))
    if objective == "weighted_p_center":
        return float((w[reach] * times).max(initial=0.0))
    if solution.shares is None:
        minutes, within = w[reach] @ times, w[reach] @ (times <= threshold)
    else:   # capacities: the model's split assignment, not the nearest site
        minutes = w @ split_minutes(solution.shares, cost)
        within = w @ (solution.shares * (cost <= threshold)).sum(axis=1)
    if objective == "p_median":
        return float(minutes)
    if objective == "max_coverage":
        return float(within)
    return float(w.sum() - within)   # min_underserved


@dataclass(frozen=True)
class RoundingEffect:
    """One service solved on rounded times: the objective proven there and the same plan's on the exact times."""

    round_s: float
    objective_rounded: float
    objective_exact: float

    def as_dict(self) -> dict:
        """summary.json's ``rounding`` block of a service."""
        return {"round_s": self.round_s, "objective_rounded": self.objective_rounded,
                "objective_exact": self.objective_exact}

    @property
    def note(self) -> str:
        """The plain statement for the notes (summary.json, console)."""
        return (f"travel times were rounded to multiples of {self.round_s:g} s for the solve (solver.round_s): "
                f"status, gap and optimality hold for the rounded times, objective {self.objective_rounded:,.2f}; "
                f"on the exact times the same plan gives {self.objective_exact:,.2f}, and every indicator "
                f"reported uses the exact times")
