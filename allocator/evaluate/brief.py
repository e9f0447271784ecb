"""The facts the decision brief states about a plan: who gains, who is still beyond T and where, the longest trip.

:func:`brief_facts` computes them from one
:class:`~allocator.evaluate.result.ServiceResult`;
:attr:`ServiceResult.brief <allocator.evaluate.result.ServiceResult.brief>`
computes them on first use, so the points of a sweep never pay for them.
The report (:mod:`allocator.outputs.report`) only puts them into words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h3
import numpy as np
import pandas as pd

from allocator.inputs.place_names import StreetIndex, coordinates, district_labels

if TYPE_CHECKING:
    from allocator.evaluate.result import ServiceResult

#: how many places the brief names where people stay underserved
WHERE_COUNT = 3
#: how many districts the brief names among those whose share within T grows most
TOP_DISTRICTS = 3
#: a Gini or Theil change smaller than this is no move (the report prints them to 3 decimals)
RELATIVE_TIE = 5e-4
#: a mean or EDE change smaller than this (minutes) is no move
MINUTES_TIE = 0.005
#: the H3 resolution of the areas that name where people stay underserved when the run has no districts
WHERE_H3_RESOLUTION = 7


@dataclass(frozen=True)
class Underserved:
    """A place where people are still beyond T after the plan (NaN time counts as beyond)."""

    place: str       # district name, else the label of an H3 resolution-7 area
    people: float


@dataclass(frozen=True)
class DistrictGain:
    """A district whose share within T grows with the plan."""

    name: str
    gain: float      # share within T after minus before (a fraction; a missing share counts as 0)


@dataclass(frozen=True)
class Gains:
    """Who the plan brings closer to a site."""

    people: float                              # people whose time after is shorter than before
    minutes_saved: float                       # their mean minutes saved, weighted by people (those with a time
                                               # before only; 0.0: nobody)
    top_districts: tuple[DistrictGain, ...]    # the districts gaining most, biggest first (empty: no districts
                                               # or none gains)


@dataclass(frozen=True)
class LongestTrip:
    """The longest trip after the plan among populated locations that reach a site."""

    minutes: float
    where: str       # the location's district name, else "lat, lon" (5 decimals)


@dataclass(frozen=True)
class RelativeShift:
    """Relative inequality (Gini, Theil) moving against the absolute picture (the mean and the EDE)."""

    measures: tuple[str, ...]   # "gini", "theil": those that moved the other way (empty: only in districts)
    rises: bool                 # True: they rise while the mean and EDE fall; False: the reverse
    nobody_slower: bool         # nobody's trip after is longer than before (losing a site counts as longer)
    districts: tuple[str, ...] = ()   # the districts whose Gini rises while their mean and EDE fall


@dataclass(frozen=True)
class BriefFacts:
    """What the decision brief says about one service's plan."""

    underserved: tuple[Underserved, ...]   # the places holding most people beyond T, most first (empty: nobody)
    gains: Gains
    longest: LongestTrip | None            # None: no populated location reaches a site


def brief_facts(s: ServiceResult, streets: StreetIndex | None = None) -> BriefFacts:
    """The brief's facts of one service result; ``streets`` label H3 areas when the run has no districts."""
    return BriefFacts(underserved=underserved_places(s, streets), gains=gains(s), longest=longest_trip(s))


def relative_shift(s: ServiceResult) -> RelativeShift | None:
    """Gini or Theil moving against the mean and the EDE, when both of those move the same way, city-wide or in
    a district (the Gini; else None; :attr:`ServiceResult.relative <allocator.evaluate.result.ServiceResult.relative>`).

    A relative measure compares each trip with the mean: when short trips shorten more than long ones it rises
    although everyone gains, and the report says so rather than let it read as "worse".
    """
    b, a = s.overall("before"), s.overall("after")
    up = _against(b, a, ("gini", "theil"), rises=True)
    down = () if up else _against(b, a, ("gini", "theil"), rises=False)
    keys = ("mean_min", "ede_min", "gini")
    districts = tuple(str(d["district_name"]) for d in s.equity.get("districts") or []
                      if _against({k: d.get(f"{k}_before") for k in keys}, {k: d.get(f"{k}_after") for k in keys},
                                  ("gini",), rises=True))
    if not (up or down or districts):
        return None
    demand = s.demand
    before = demand["time_before"].fillna(np.inf).to_numpy(float)
    after = demand["time_after"].fillna(np.inf).to_numpy(float)
    slower = (demand["population"].to_numpy(float) > 0) & (after > before + 1e-9)
    return RelativeShift(up or down, rises=not down, nobody_slower=not slower.any(), districts=districts)


def _against(before: Mapping[str, Any], after: Mapping[str, Any], measures: tuple[str, ...],
             rises: bool) -> tuple[str, ...]:
    """The ``measures`` that rise (``rises``; else fall) while the mean and the EDE move the other way, beyond
    the ties (a missing figure: none)."""
    step = {}
    for k in ("mean_min", "ede_min", *measures):
        x, y = before.get(k), after.get(k)
        step[k] = y - x if x is not None and y is not None and np.isfinite(x) and np.isfinite(y) else None
    sign = 1 if rises else -1
    for k in ("mean_min", "ede_min"):
        d = step[k]
        if d is None or -sign * d <= MINUTES_TIE:
            return ()
    return tuple(k for k in measures if (d := step[k]) is not None and sign * d > RELATIVE_TIE)


def underserved_places(s: ServiceResult, streets: StreetIndex | None = None,
                       count: int = WHERE_COUNT) -> tuple[Underserved, ...]:
    """Where the people still beyond T live: the districts (else H3 resolution-7 areas) holding most of them."""
    demand = s.demand
    after = demand["time_after"].to_numpy(float)
    pop = demand["population"].to_numpy(float)
    left = (np.isnan(after) | (after > s.service.threshold_min)) & (pop > 0)
    if not left.any():
        return ()
    if "district_name" in demand:
        names = demand["district_name"].astype(str)
    else:
        located = np.isfinite(demand[["lon", "lat"]].to_numpy(float)).all(axis=1)
        if located.all():
            keys = pd.Series([h3.latlng_to_cell(lat, lon, WHERE_H3_RESOLUTION)
                              for lon, lat in zip(demand["lon"], demand["lat"])], index=demand.index)
            names = district_labels(demand, keys, keys, streets)
        else:   # a problem from a cost matrix: no coordinates, each location is named by its id
            names = demand["id"].astype(str)
    by = pd.Series(pop[left], index=names[left].to_numpy()).groupby(level=0).sum().sort_values(ascending=False)
    return tuple(Underserved(str(k), float(v)) for k, v in by.head(count).items())


def gains(s: ServiceResult, count: int = TOP_DISTRICTS) -> Gains:
    """The people whose time falls, their mean minutes saved and the districts whose share within T grows most."""
    demand = s.demand
    before = demand["time_before"].fillna(np.inf).to_numpy(float)
    after = demand["time_after"].fillna(np.inf).to_numpy(float)
    gain = after < before - 1e-9
    pop = demand["population"].to_numpy(float)
    finite = gain & np.isfinite(before)
    saved = float(np.average(before[finite] - after[finite], weights=pop[finite])) if pop[finite].sum() > 0 else 0.0
    top: tuple[DistrictGain, ...] = ()
    districts = s.equity.get("districts")
    if districts:
        table = pd.DataFrame(districts)
        table["gain"] = table["within_share_after"].fillna(0) - table["within_share_before"].fillna(0)
        best = table[table["gain"] > 1e-9].sort_values("gain", ascending=False).head(count)
        top = tuple(DistrictGain(str(name), float(g)) for name, g in zip(best["district_name"], best["gain"]))
    return Gains(people=float(pop[gain].sum()), minutes_saved=saved, top_districts=top)


def longest_trip(s: ServiceResult) -> LongestTrip | None:
    """The longest trip after the plan and where it starts (None: no populated location reaches a site)."""
    demand = s.demand
    after = demand["time_after"].to_numpy(float)
    pop = demand["population"].to_numpy(float)
    reach = np.isfinite(after) & (pop > 0)
    if not reach.any():
        return None
    i = int(np.flatnonzero(reach)[np.argmax(after[reach])])
    row = demand.iloc[i]
    if "district_name" in demand:
        where = str(row["district_name"])
    elif np.isfinite([row["lon"], row["lat"]]).all():
        where = coordinates(row["lon"], row["lat"])
    else:   # a problem from a cost matrix: no coordinates
        where = str(row["id"])
    return LongestTrip(minutes=float(after[i]), where=where)
