"""Access metrics for a population and its travel times to the nearest facility.

Definitions (all population-weighted; times in minutes):

- ``within``: population whose nearest facility is at most ``threshold`` away;
  ``within_share`` divides by the total population.
- ``underserved``: everyone else, *including* the ``unreachable`` population
  (locations farther than the snapping limit from any road, or with no path).
- ``mean``, ``median``, ``p90``, ``max``: over the reachable population only.
  Quantiles use the inverted weighted CDF: the smallest time t such that at
  least q of the reachable population travels t or less (no interpolation, so
  the value is a real travel time of some location).
- ``ede``: the Kolm-Pollak equally-distributed equivalent travel time
  (:func:`allocator.solve.kolm_pollak.ede`) over the reachable population, with
  the service's ``kappa`` (:func:`allocator.solve.kolm_pollak.service_kappa`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from allocator.solve.kolm_pollak import ede


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Smallest value v with sum(weights[values <= v]) >= q * sum(weights)."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1] - 1e-9 * cumulative[-1]))
    return float(values[order][min(index, len(values) - 1)])


@dataclass(frozen=True, eq=False)
class AccessMetrics(Mapping[str, float | None]):
    """One service's access indicators at one moment (before or after the plan; see the module docstring).

    Also a read-only mapping from field name to value, in field order, so it
    can be spread into a dict (``{**metrics}``), looked up by name
    (``metrics["within_share"]``) and written to JSON as it is.
    """

    population: float
    within: float
    within_share: float | None
    underserved: float
    underserved_share: float | None
    unreachable: float
    mean_min: float | None
    median_min: float | None
    p90_min: float | None
    max_min: float | None
    ede_min: float | None = None   # None: measured without a kappa (the contributions of single sites)

    def __getitem__(self, key: str) -> float | None:
        if key not in _FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELDS)

    def __len__(self) -> int:
        return len(_FIELDS)


_FIELDS = tuple(f.name for f in dataclasses.fields(AccessMetrics))


def access_metrics(times: np.ndarray, population: np.ndarray, threshold: float,
                   kappa_: float | None = None) -> AccessMetrics:
    """Before/after indicators of one service (see the module docstring).

    ``times`` holds each location's minutes to its nearest open facility, with
    ``inf`` or ``nan`` where it cannot reach one; ``kappa_`` the service's
    Kolm-Pollak kappa (None: no ``ede_min``).
    """
    times = np.asarray(times, dtype=float)
    population = np.asarray(population, dtype=float)
    total = float(population.sum())
    reachable = np.isfinite(times)
    within = float(population[reachable & (times <= threshold)].sum())
    reach_pop = population[reachable]
    has_people = reach_pop.sum() > 0
    stats = {
        "mean": float(np.average(times[reachable], weights=reach_pop)) if has_people else None,
        "median": weighted_quantile(times[reachable], reach_pop, 0.5) if has_people else None,
        "p90": weighted_quantile(times[reachable], reach_pop, 0.9) if has_people else None,
        "max": float(times[reachable][reach_pop > 0].max()) if has_people else None,
    }
    return AccessMetrics(
        population=total,
        within=within,
        within_share=within / total if total else None,
        underserved=total - within,
        underserved_share=(total - within) / total if total else None,
        unreachable=float(population[~reachable].sum()),
        mean_min=stats["mean"],
        median_min=stats["median"],
        p90_min=stats["p90"],
        max_min=stats["max"],
        ede_min=ede(times, population, kappa_) if has_people and kappa_ is not None else None,
    )
