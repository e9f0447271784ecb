"""Rounded travel times: the option ``solver.round_s``.

Rounding every travel time to a multiple of ``round_s`` seconds makes many
times equal, so the exact models have fewer distinct levels to prove and
solve faster.  The model is then exact for the *rounded* matrix only: the
pipeline solves on :func:`round_times` of the matrix and measures the chosen
plan on the exact times (:mod:`allocator.evaluate.objective`).
"""

from __future__ import annotations

import numpy as np

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
