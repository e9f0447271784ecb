"""Small numpy kernels every model shares."""

from __future__ import annotations

import numpy as np


def nearest_open(cost: np.ndarray, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site per client and its cost.

    ``open_sites`` is an array of site indices (or a bool mask).  Returns
    ``(site, minutes)``: ``site`` is -1 and ``minutes`` inf where no open site
    is reachable.  Ties go to the lowest site index.
    """
    c = np.asarray(cost, dtype=float)
    o = np.asarray(open_sites)
    if o.dtype == bool:
        o = np.flatnonzero(o)
    o = np.sort(o.astype(np.int64))
    n = c.shape[0]
    if o.size == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    sub = c[:, o]
    k = np.argmin(sub, axis=1)
    best = sub[np.arange(n), k]
    site = o[k]
    site = np.where(np.isfinite(best), site, -1)
    return site.astype(np.int64), best


def nearest_time(cost: np.ndarray, open_sites: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Per client, the minutes to its nearest open site: ``min(fallback, min over open columns)``.

    ``open_sites`` is a bool mask or an array of column positions; ``fallback``
    (e.g. the time to the nearest fixed site, which is not a column of
    ``cost``) is the value where no open column is nearer, inf when None.
    The same floats as :func:`nearest_open`'s minutes, without the argmin.
    """
    o = np.asarray(open_sites)
    if o.size == 0 or (o.dtype == bool and not o.any()):
        near = np.full(cost.shape[0], np.inf)
        return near if fallback is None else np.asarray(fallback, dtype=float).copy()
    near = cost[:, o].min(axis=1)
    return near if fallback is None else np.minimum(fallback, near)


def split_minutes(shares: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per location, the sum over sites of the share of its people a site serves x its minutes."""
    return (shares * np.where(np.isfinite(cost), cost, 0)).sum(axis=1)


def split_times(shares: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Minutes per location under a split assignment: the mean over its served shares (inf: nobody serves it)."""
    served = shares.sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(served > 1e-9, split_minutes(shares, cost) / np.maximum(served, 1e-12), np.inf)


def served_rows(cost: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Bool mask of the locations an objective counts by default: with people, reaching some site."""
    return (np.asarray(weight, dtype=float) > 0) & np.isfinite(cost).any(axis=1)


def person_minutes(cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, shares: np.ndarray | None = None,
                   rows: np.ndarray | None = None) -> float:
    """People x minutes to the nearest open site, over ``rows`` (default :func:`served_rows`).

    With ``shares`` (capacities) each location's split assignment counts instead of the nearest site.
    """
    w = np.asarray(weight, dtype=float)
    if shares is not None:
        return float(w @ split_minutes(shares, cost))
    rows = served_rows(cost, w) if rows is None else rows
    return float(w[rows] @ nearest_time(cost[rows], open_sites))


def people_within(cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float,
                  shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
    """People within ``threshold`` minutes of an open site, over ``rows`` (default :func:`served_rows`;
    a coverage model may pass every location with people, those reaching no site add 0).

    With ``shares`` (capacities) the people whose assigned shares are within the threshold.
    """
    w = np.asarray(weight, dtype=float)
    if shares is not None:
        return float(w @ (shares * (cost <= threshold)).sum(axis=1))
    rows = served_rows(cost, w) if rows is None else rows
    return float(w[rows] @ (nearest_time(cost[rows], open_sites) <= threshold))


def longest_time(cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, weighted: bool,
                 rows: np.ndarray | None = None) -> float:
    """The longest time to the nearest open site (``weighted``: people x minutes) over ``rows``
    (default :func:`served_rows`); 0 with no such location."""
    w = np.asarray(weight, dtype=float)
    rows = served_rows(cost, w) if rows is None else rows
    times = nearest_time(cost[rows], open_sites)
    return float((w[rows] * times).max(initial=0.0)) if weighted else float(times.max(initial=0.0))
