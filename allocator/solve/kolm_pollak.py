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

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from allocator.scenario.schema import Service
from allocator.solve.kernels import nearest_time

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


def service_epsilon(service: Service) -> float:
    """The service's inequality aversion (its EDE's and, with objective kolm_pollak, its plan's):
    the scenario's ``epsilon``, else :data:`DEFAULT_EPSILON`."""
    return DEFAULT_EPSILON if service.epsilon is None else service.epsilon


def service_kappa(cost: np.ndarray, weight: np.ndarray, existing: np.ndarray, epsilon: float) -> float:
    """The one ``kappa`` of a service: from its BEFORE distribution (each person's minutes to the nearest
    existing site, ``existing`` a mask of the columns of ``cost``) with ``epsilon``; when nobody reaches an
    existing site (or there is none), from the minutes to the nearest of all sites (docs/formulations/kolm-pollak.md)."""
    c = np.asarray(cost, dtype=float)
    w = np.asarray(weight, dtype=float)
    before = nearest_time(c, np.asarray(existing, dtype=bool))
    if not (np.isfinite(before) & (w > 0)).any():
        before = nearest_time(c, np.ones(c.shape[1], dtype=bool))
    return kappa(before, w, epsilon)


#: the largest ratio between the transformed costs of one model HiGHS is trusted to rank exactly
MAX_SPREAD = 1e9


@dataclass(frozen=True)
class ProxyCost:
    """The p-median cost whose people-weighted sum ranks plans by their EDE for one ``kappa``, well scaled.

    ``cost = exp(-kappa * (minutes - shift))`` (the minutes themselves when ``kappa`` is 0, where the EDE is
    the mean); ``shift`` is the shortest minutes that matter, so the smallest cost is 1.
    """

    kappa: float
    shift: float
    cost: np.ndarray

    def ede(self, total: float, people: float) -> float:
        """The EDE (minutes) of a plan whose people-weighted sum of ``cost`` over ``people`` is ``total``."""
        if self.kappa == 0:
            return total / people
        return self.shift - math.log(total / people) / self.kappa


def plan_limit(cost: np.ndarray, weight: np.ndarray, plan: np.ndarray, kappa_: float) -> np.ndarray:
    """Per location, the minutes no EDE-optimal plan serves it beyond, given the feasible plan ``plan`` (a mask of
    open columns): its proxy sum bounds the optimum's, hence every term (docs/formulations/kolm-pollak.md,
    scaling).  inf where no bound applies (nobody there, unreachable, ``kappa_`` 0 or ``plan`` infeasible)."""
    c = np.asarray(cost, dtype=float)
    w = np.asarray(weight, dtype=float)
    rows = (w > 0) & np.isfinite(c).any(axis=1)
    limit = np.full(c.shape[0], np.inf)
    if kappa_ == 0 or not rows.any():
        return limit
    nearest = nearest_time(c[rows], np.ones(c.shape[1], dtype=bool))
    shift, wr = float(nearest.min()), w[rows]
    with np.errstate(over="ignore"):
        floor = np.exp(-kappa_ * (nearest - shift))
        slack = float(np.sum(wr * np.exp(-kappa_ * (nearest_time(c[rows], plan) - shift)))) - float(np.sum(wr * floor))
    limit[rows] = shift - np.log(floor + max(slack, 0.0) / wr) / kappa_
    return limit


def proxy_cost(cost: np.ndarray, weight: np.ndarray, kept: np.ndarray, kappa_: float, clip: bool,
               limit: np.ndarray | None = None) -> ProxyCost:
    """The :class:`ProxyCost` of the minutes ``cost`` (sites ``kept`` always open) for ``kappa_``.

    With ``clip`` (a model that serves everyone from the nearest open site) a minute beyond the nearest kept
    site is cut to it: nobody uses it, and the spread it would add is not the model's.  A ``limit`` (per
    location, :func:`plan_limit`) cuts the minutes beyond it the same way.  Raises ValueError when the costs
    that matter, after those cuts, span more than :data:`MAX_SPREAD` (HiGHS would no longer rank them exactly).
    """
    c = np.asarray(cost, dtype=float)
    if clip:
        c = np.minimum(c, nearest_time(c, np.asarray(kept, dtype=bool))[:, None])
    if limit is not None:
        c = np.minimum(c, limit[:, None])
    used = c[np.asarray(weight, dtype=float) > 0]
    used = used[np.isfinite(used)]
    if kappa_ == 0 or not used.size:
        return ProxyCost(0.0, 0.0, c)
    shift, spread = float(used.min()), -kappa_ * float(used.max() - used.min())
    if spread > math.log(MAX_SPREAD):
        raise ValueError(f"exp(-kappa x minutes) spans a ratio of e^{spread:.0f} over these travel times "
                         f"({used.min():g} to {used.max():g} min, kappa {kappa_:.3g}), beyond "
                         f"{MAX_SPREAD:.0e}: the solver could not rank plans exactly")
    return ProxyCost(kappa_, shift, transformed_cost(c - shift, kappa_))
