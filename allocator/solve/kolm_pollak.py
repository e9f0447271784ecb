"""The Kolm-Pollak equally-distributed equivalent (EDE) of travel times, a burden ("bad").

For people ``i`` with weights ``w_i`` and minutes ``z_i``, the EDE is the time
that, if everyone had it, would be as good as the unequal times they have:

    EDE = -(1/kappa) * ln( sum_i w_i exp(-kappa z_i) / sum_i w_i ),    kappa = alpha * epsilon

with ``epsilon < 0`` the aversion to inequality (for a burden) and
``alpha = sum_i w_i z_i / sum_i w_i z_i**2`` the scaling that makes
``epsilon`` free of the unit of ``z`` (Horton, Logan, Murrell, Skipper &
Speakman, arXiv 2401.15452; see docs/metrics.md).  It is never below the mean,
falls whenever someone's time falls and nobody's rises, and equals the mean
when everyone's time is the same.

``kappa`` is an argument, not recomputed from each distribution: two plans
(before and after, or plans side by side) are ranked with one ``kappa``.
Only people with a finite time count (the unreachable are counted apart).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from allocator.solve.kernels import nearest_open

#: the inequality aversion for travel time unless a scenario says otherwise (Horton et al. use -1 throughout)
DEFAULT_EPSILON = -1.0


def _finite(times: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(times, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(z) & (w > 0)
    return z[keep], w[keep]


def kappa(times: np.ndarray, weights: np.ndarray, epsilon: float = DEFAULT_EPSILON) -> float:
    """``alpha * epsilon`` for the distribution ``times`` (people ``weights``); 0.0 when nobody has a positive
    finite time (the EDE is then the mean)."""
    if not epsilon < 0:
        raise ValueError(f"epsilon must be negative for a burden such as travel time, got {epsilon}")
    z, w = _finite(times, weights)
    second = float(np.sum(w * z * z))
    return float(np.sum(w * z)) / second * epsilon if second > 0 else 0.0


def ede(times: np.ndarray, weights: np.ndarray, kappa_: float) -> float:
    """The Kolm-Pollak EDE of ``times`` (people ``weights``) for ``kappa_`` (see the module docstring);
    NaN when nobody has a finite time.  ``kappa_ = 0`` gives the mean (the limit of the formula)."""
    z, w = _finite(times, weights)
    if not w.size:
        return float("nan")
    if kappa_ == 0:
        return float(np.sum(w * z) / np.sum(w))
    return float(-(logsumexp(-kappa_ * z, b=w) - np.log(np.sum(w))) / kappa_)


def transformed_cost(cost: np.ndarray, kappa_: float) -> np.ndarray:
    """``exp(-kappa * minutes)``, the cost whose people-weighted sum a p-median minimises to minimise the EDE
    (the EDE is increasing in that sum for a fixed ``kappa``); unreachable stays inf."""
    with np.errstate(over="ignore"):
        return np.exp(-kappa_ * np.asarray(cost, dtype=float))


def service_kappa(cost: np.ndarray, weight: np.ndarray, existing: np.ndarray, epsilon: float) -> float:
    """A service's ``kappa``, fixed once from its distribution before the plan (see docs/metrics.md).

    The times are each person's minutes to the nearest existing site (the ``existing`` columns of ``cost``);
    when nobody reaches one (no existing sites), to the nearest of all sites.  The same ``kappa`` then
    measures before, after, every district and every plan compared with the same before.
    """
    w = np.asarray(weight, dtype=float)
    times = nearest_open(cost, existing)[1]
    if not (np.isfinite(times) & (w > 0)).any():
        times = nearest_open(cost, np.ones(np.shape(cost)[1], dtype=bool))[1]
    return kappa(times, w, epsilon)
