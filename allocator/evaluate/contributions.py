"""What each site of a plan adds: the people it alone brings within the threshold.

A site's contribution is the loss if that site alone were dropped from the
plan: the population within T with every open site, minus the population
within T with every open site but this one (each person going to the nearest
open site, :func:`allocator.solve.kernels.nearest_open`, counted with
:func:`allocator.evaluate.access.access_metrics`). The contributions need not
add up to the plan's gain: two new sites that cover the same people each add
little alone.
"""

from __future__ import annotations

import numpy as np

from allocator.evaluate.access import access_metrics
from allocator.solve.kernels import nearest_open


def within_without(cost: np.ndarray, population: np.ndarray, open_mask: np.ndarray, site: int,
                   threshold: float) -> float:
    """People within ``threshold`` minutes of an open site when ``site`` is closed."""
    mask = np.asarray(open_mask, dtype=bool).copy()
    mask[site] = False
    return float(access_metrics(nearest_open(cost, mask)[1], population, threshold)["within"] or 0.0)


def site_contributions(cost: np.ndarray, population: np.ndarray, open_mask: np.ndarray, sites: np.ndarray,
                       threshold: float) -> np.ndarray:
    """For each index in ``sites`` (open sites, columns of ``cost``): people newly within T thanks to it alone."""
    full = float(access_metrics(nearest_open(cost, open_mask)[1], population, threshold)["within"] or 0.0)
    return np.array([full - within_without(cost, population, open_mask, int(j), threshold) for j in sites])
