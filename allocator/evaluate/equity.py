"""Equity: how evenly access is shared, by district and overall, and whether targets are met.

All measures are population-weighted and computed on travel times in minutes
to the nearest open facility, over the *reachable* population (as the mean
and quantiles of :mod:`allocator.evaluate.access`; the unreachable population is
reported there separately). Higher travel time is worse, so a Gini or Theil
index of 0 means everyone travels the same time.

Definitions (``x_i`` travel time of location ``i``, ``w_i`` its population,
``W = sum w_i``, ``mu = sum w_i x_i / W``):

- **Gini** ``G = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mu)``, computed from
  the Lorenz curve (locations sorted by time, cumulative population share
  ``p`` against cumulative share of person-minutes ``L``):
  ``G = 1 - sum_k (p_k - p_{k-1}) (L_k + L_{k-1})``, which equals the double
  sum exactly for weighted data.
- **Theil T** ``T = (1/W) sum_i w_i (x_i/mu) ln(x_i/mu)``, split over districts
  ``g`` (population ``W_g``, mean ``mu_g``, time share ``s_g = W_g mu_g / (W mu)``)
  into ``T_between = sum_g s_g ln(mu_g/mu)`` and ``T_within = sum_g s_g T_g``;
  ``T = T_between + T_within`` exactly (Theil 1967; Shorrocks 1980). Without
  districts the split is not defined: both parts are None.
- **p90/median ratio**: weighted 90th percentile over the weighted median
  (both as in :func:`allocator.evaluate.access.weighted_quantile`: the smallest real
  travel time reached by at least that share of people).
- **worst-decile ratio**: mean travel time of the worst-served 10 % of the
  reachable population (the longest trips; the location on the 10 % boundary
  counts with just the population needed to make up 10 %) over the weighted
  median.
- **2SFCA** (two-step floating catchment area, Luo & Wang 2003): with
  catchment ``T`` minutes and facility capacity ``S_j`` (the facility
  ``count``), step 1 ``R_j = S_j / sum_{i: d_ij <= T} w_i``; step 2
  ``A_i = sum_{j: d_ij <= T} R_j``. **E2SFCA** (enhanced 2SFCA, Luo & Qi 2009)
  weighs both sums by travel-time zones: ``[0, T/3]`` weight 1.00,
  ``(T/3, 2T/3]`` 0.68, ``(2T/3, T]`` 0.22 (the Gaussian-derived step weights
  of Luo & Qi). Scores are reported as facilities per 10,000 residents.
  Their population-weighted *mean* is the supply per resident whenever every
  facility has someone in its catchment (``sum_i w_i A_i = sum_j S_j``), so
  it is the same for 2SFCA and E2SFCA; their *spread* (``access_*_gini``, the
  Gini of the scores over residents) is what tells plans apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.evaluate.access import AccessMetrics, access_metrics, weighted_quantile
from allocator.inputs.districts import OUTSIDE_KEY

PER = 10_000.0  # accessibility scores: facilities per 10,000 residents
E2SFCA_WEIGHTS = (1.0, 0.68, 0.22)
ACCESS_KEYS = ("within_share", "underserved_share", "unreachable", "mean_min", "median_min", "p90_min", "max_min",
               "ede_min")


# --- inequality ---------------------------------------------------------------------------------

def _finite_weighted(values, weights) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    keep = np.isfinite(values) & (weights > 0)
    return values[keep], weights[keep]


def lorenz(values, weights) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (population share, share of person-minutes), both from 0 to 1."""
    x, w = _finite_weighted(values, weights)
    if w.sum() <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    p = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    total = float((w * x).sum())
    share = np.concatenate([[0.0], np.cumsum(w * x) / total]) if total > 0 else p.copy()
    return p, share


def gini(values, weights) -> float | None:
    """Population-weighted Gini coefficient of ``values`` (see the module docstring)."""
    x, w = _finite_weighted(values, weights)
    if w.sum() <= 0:
        return None
    p, share = lorenz(x, w)
    return float(1.0 - np.sum(np.diff(p) * (share[1:] + share[:-1])))


def _theil_part(x: np.ndarray, w: np.ndarray, mu: float) -> float:
    ratio = x / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(ratio > 0, ratio * np.log(np.where(ratio > 0, ratio, 1.0)), 0.0)
    return float(np.sum(w * terms) / w.sum())


def theil(values, weights, groups=None) -> dict[str, float | None]:
    """Theil T index and its between/within split over ``groups`` (see the module docstring; no ``groups``:
    the split is None)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    split = groups is not None
    groups = np.zeros(len(values), dtype=int) if groups is None else np.asarray(groups, dtype=object)
    keep = np.isfinite(values) & (weights > 0)
    x, w, g = values[keep], weights[keep], groups[keep]
    if w.sum() <= 0 or (w * x).sum() <= 0:
        return {"total": None, "between": None, "within": None}
    mu = float(np.average(x, weights=w))
    total = _theil_part(x, w, mu)
    between = within = 0.0
    for key in pd.unique(g):
        m = g == key
        wg, xg = w[m], x[m]
        mu_g = float(np.average(xg, weights=wg))
        share = wg.sum() * mu_g / (w.sum() * mu)
        if mu_g > 0:
            between += share * np.log(mu_g / mu)
            within += share * _theil_part(xg, wg, mu_g)
    if not split:
        return {"total": total, "between": None, "within": None}
    return {"total": total, "between": float(between), "within": float(within)}


def tail_ratios(values, weights) -> dict[str, float | None]:
    """``p90_median_ratio`` and ``worst_decile_ratio`` (see the module docstring)."""
    x, w = _finite_weighted(values, weights)
    if w.sum() <= 0:
        return {"p90_median_ratio": None, "worst_decile_ratio": None, "worst_decile_mean_min": None}
    median = weighted_quantile(x, w, 0.5)
    p90 = weighted_quantile(x, w, 0.9)
    order = np.argsort(-x, kind="stable")          # longest trips first
    xs, ws = x[order], w[order]
    need = 0.1 * w.sum()
    before = np.concatenate([[0.0], np.cumsum(ws)[:-1]])
    take = np.clip(need - before, 0.0, ws)          # population of each location inside the worst 10 %
    worst_mean = float(np.sum(take * xs) / take.sum())
    return {
        "p90_median_ratio": p90 / median if median > 0 else None,
        "worst_decile_ratio": worst_mean / median if median > 0 else None,
        "worst_decile_mean_min": worst_mean,
    }


# --- accessibility ------------------------------------------------------------------------------

def _zone_weights(cost: np.ndarray, threshold: float, zones: tuple[float, ...]) -> np.ndarray:
    """Weight of each demand-site pair: 0 beyond the catchment, else the weight of its time zone."""
    cost = np.asarray(cost, dtype=float)
    n = len(zones)
    with np.errstate(invalid="ignore"):
        zone = np.ceil(cost / threshold * n).astype(float)
    zone = np.where(np.isfinite(cost) & (cost <= threshold), np.clip(zone, 1, n), 0).astype(int)
    table = np.concatenate([[0.0], np.asarray(zones, dtype=float)])
    return table[zone]


def floating_catchment(cost, supply, population, threshold: float,
                       zones: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """2SFCA (``zones=(1,)``) or E2SFCA (``zones=E2SFCA_WEIGHTS``) score of each demand location.

    ``cost`` is demand x facility minutes (``inf``: no path), ``supply`` each
    facility's capacity, ``population`` each demand location's population.
    Returns facilities per 10,000 residents (0 where no facility is in reach).
    """
    supply = np.asarray(supply, dtype=float)
    population = np.asarray(population, dtype=float)
    if np.size(cost) == 0:
        return np.zeros(len(population))
    weight = _zone_weights(cost, threshold, zones)
    served = population @ weight                        # weighted population in each facility's catchment
    ratio = np.divide(supply, served, out=np.zeros_like(supply), where=served > 0)
    return weight @ ratio * PER


def two_sfca(cost, supply, population, threshold: float) -> np.ndarray:
    """Luo & Wang (2003) two-step floating catchment area scores (facilities per 10,000)."""
    return floating_catchment(cost, supply, population, threshold, (1.0,))


def e2sfca(cost, supply, population, threshold: float) -> np.ndarray:
    """Luo & Qi (2009) enhanced 2SFCA with zone weights 1, 0.68, 0.22 (facilities per 10,000)."""
    return floating_catchment(cost, supply, population, threshold, E2SFCA_WEIGHTS)


# --- per district and targets -------------------------------------------------------------------

def inequality(times, population, groups=None) -> dict[str, float | None]:
    """Gini, Theil (total, between, within) and the tail ratios of one set of travel times."""
    t = theil(times, population, groups)
    return {"gini": gini(times, population), "theil": t["total"], "theil_between": t["between"],
            "theil_within": t["within"], **tail_ratios(times, population)}


def _weighted_mean(values, weights) -> float | None:
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    return float(np.average(values, weights=weights)) if weights.sum() > 0 else None


def snapshot(demand: pd.DataFrame, when: str, groups=None) -> dict:
    """The inequality and accessibility (2SFCA) metrics, for ``when`` in ("before", "after").

    The access metrics (:func:`allocator.evaluate.access.access_metrics`) are
    not repeated here: they are the service's ``before``/``after``.
    """
    pop = demand["population"].to_numpy(float)
    times = demand[f"time_{when}"].to_numpy(float)
    out = dict(inequality(times, pop, groups))
    for kind in ("2sfca", "e2sfca"):
        column = f"access_{kind}_{when}"
        if column in demand:
            out[f"access_{kind}_mean"] = _weighted_mean(demand[column], pop)
            out[f"access_{kind}_gini"] = gini(demand[column], pop)
    return out


def access_of(demand: pd.DataFrame, when: str, threshold: float, kappa_: float | None = None) -> AccessMetrics:
    """The access metrics of ``demand``'s ``time_<when>`` column (NaN: no facility reachable), the EDE with
    the service's ``kappa_``."""
    times = demand[f"time_{when}"].to_numpy(float)
    return access_metrics(np.nan_to_num(times, nan=np.inf), demand["population"].to_numpy(float), threshold, kappa_)


def district_table(demand: pd.DataFrame, threshold: float, kappa_: float | None = None) -> pd.DataFrame:
    """One row per district: population and before/after metrics (needs a ``district`` column); the EDE with
    the service's ``kappa_``, the same in every district."""
    rows = []
    names = demand["district_name"] if "district_name" in demand else demand["district"]
    for key, part in demand.groupby("district", sort=True):
        row: dict[str, Any] = {"district": key, "district_name": str(names[part.index[0]]),
               "locations": len(part), "population": float(part["population"].sum())}
        for when in ("before", "after"):
            snap = {**access_of(part, when, threshold, kappa_), **snapshot(part, when)}
            for k in (*ACCESS_KEYS, "gini", "access_2sfca_mean", "access_e2sfca_mean"):
                row[f"{k}_{when}"] = snap.get(k)
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate_targets(targets, overall: dict[str, dict], districts: pd.DataFrame | None) -> list[dict]:
    """Each target with its before/after value and whether it is met.

    ``overall`` is {"before": metrics, "after": metrics}, every metric a target can name. A per-district
    target takes the worst district (the lowest value for a ``min`` target,
    the highest for a ``max`` target) over districts with people (the people
    outside every district polygon are no district); it is met when that
    district meets it.  A ``max_min`` target with ``count_unreachable`` (the
    default) is missed wherever someone cannot reach a site: that person's trip
    has no end, whatever the longest trip of the others (a district with such
    people is the worst district).
    """
    out = []
    for t in targets:
        bound = "min" if t.min is not None else "max"
        limit = t.min if t.min is not None else t.max
        row = {"metric": t.metric, "bound": bound, "limit": limit, "per_district": t.per_district,
               "label": t.label}
        for when in ("before", "after"):
            worst = None
            endless = t.metric == "max_min" and t.count_unreachable
            unreachable = 0.0
            if t.per_district:
                column = f"{t.metric}_{when}"
                if districts is None or column not in districts:
                    value = None
                else:
                    real = (districts["population"] > 0) & (districts["district"] != OUTSIDE_KEY)
                    vals = districts.loc[real, ["district_name", column, f"unreachable_{when}"]]
                    cut_off = endless & (vals[f"unreachable_{when}"] > 0)
                    vals, cut_off = vals[vals[column].notna() | cut_off], cut_off[vals[column].notna() | cut_off]
                    if vals.empty:
                        value = None
                    else:
                        rank = vals[column].where(~cut_off, np.inf)
                        idx = rank.idxmin() if bound == "min" else rank.idxmax()
                        value, worst = vals.at[idx, column], vals.at[idx, "district_name"]
                        value = None if pd.isna(value) else float(value)
                        unreachable = float(vals.at[idx, f"unreachable_{when}"])
            else:
                value = overall[when].get(t.metric)
                unreachable = float(overall[when].get("unreachable") or 0.0)
            row[when] = value
            row[f"worst_district_{when}"] = worst
            row[f"unreachable_{when}"] = unreachable if endless else None
            if endless and unreachable > 0:
                row[f"met_{when}"] = False
            else:
                row[f"met_{when}"] = None if value is None else bool(value >= limit if bound == "min" else value <= limit)
        out.append(row)
    return out


def service_equity(demand: pd.DataFrame, threshold: float, targets,
                   access: Mapping[str, Mapping[str, Any]] | None = None, kappa_: float | None = None,
                   lorenz_points: int = 101) -> dict:
    """The "equity" block of one service: overall inequality, districts, targets, Lorenz curves.

    ``access`` is {"before": access metrics, "after": access metrics} as the
    service already has them (computed from ``demand`` when not given); the
    block's ``overall`` holds only the other metrics, the targets see both.
    ``kappa_`` is the service's Kolm-Pollak kappa (the districts' EDE; None: no EDE).
    """
    groups = demand["district"].to_numpy(object) if "district" in demand else None
    overall = {when: snapshot(demand, when, groups) for when in ("before", "after")}
    if access is None:
        access = {when: access_of(demand, when, threshold, kappa_) for when in ("before", "after")}
    every = {when: {**access[when], **overall[when]} for when in ("before", "after")}
    districts = district_table(demand, threshold, kappa_) if groups is not None else None
    curves = {}
    for when in ("before", "after"):
        p, share = lorenz(demand[f"time_{when}"], demand["population"])
        grid = np.linspace(0, 1, lorenz_points)
        curves[when] = {"population_share": grid.round(4).tolist(),
                        "time_share": np.interp(grid, p, share).round(5).tolist()}
    return {
        "overall": overall,
        "districts": None if districts is None else districts.to_dict(orient="records"),
        "targets": evaluate_targets(targets, every, districts),
        "lorenz": curves,
    }
