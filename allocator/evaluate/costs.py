"""What a plan costs, in the scenario's currency, and what a person newly within the threshold costs.

Building is the opening cost of every new site (``candidates.cost``) plus the
upgrades (``existing.upgrade_cost``); closures save ``existing.saving``.
Running is the yearly cost of the new sites (``candidates.running_cost``,
default 0). Counters are what the counters section spends on added counters
(with ``decision: open`` its spending less the new offices, counted under
building). The first year is building - savings + one year of running +
counters; a person reached is one more person within ``threshold_min`` after
the plan than before. Without ``candidates.cost`` a site costs 1 unit (the
schema's default), unless the scenario names a currency: then the building
cost is not stated rather than invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from allocator.evaluate.result import ServiceResult
from allocator.inputs.sites import SiteStatus


@dataclass(frozen=True)
class Spending:
    """One plan's spending (None: not stated) and the people it brings within the threshold."""

    currency: str | None     # ISO 4217 code; None: plain units
    build: float | None      # opening the new sites + upgrades
    savings: float           # closing existing sites
    running_per_year: float  # running the new sites, a year
    counters: float          # added counters
    people_reached: float    # people within threshold_min after the plan and not before

    @property
    def first_year(self) -> float | None:
        """Building - savings + one year of running + counters."""
        if self.build is None:
            return None
        return self.build - self.savings + self.running_per_year + self.counters

    @property
    def per_person_reached(self) -> float | None:
        """First-year spending per person newly within the threshold (None: nobody reached, or no cost stated)."""
        total = self.first_year
        return total / self.people_reached if total is not None and self.people_reached > 0 else None

    def as_dict(self) -> dict:
        """summary.json's ``spending`` block."""
        return {"currency": self.currency, "build": self.build, "savings": self.savings,
                "running_per_year": self.running_per_year, "counters": self.counters, "first_year": self.first_year,
                "people_reached": self.people_reached, "per_person_reached": self.per_person_reached}


def _sum(rows: pd.DataFrame, column: str) -> float:
    return float(rows[column].fillna(0.0).sum()) if column in rows else 0.0


def spending(s: ServiceResult, currency: str | None) -> Spending:
    """What the plan of ``s`` spends and reaches (costs read in ``currency``)."""
    fac = s.facilities
    new = fac[fac["status"] == SiteStatus.NEW]
    upgraded = fac[fac["upgraded"].astype(bool)] if "upgraded" in fac else fac.iloc[:0]
    opening: float | None = _sum(new, "open_cost") if "open_cost" in fac else (
        None if currency else float(len(new)))
    build = None if opening is None else opening + _sum(upgraded, "upgrade_cost")
    counters = 0.0
    decision = s.solution.counters
    if decision is not None and decision.spent is not None:
        offices = (opening or 0.0) if s.staffing is not None and s.staffing.decision == "open" else 0.0
        counters = float(decision.spent) - offices
    return Spending(currency=currency, build=build, savings=_sum(fac[fac["status"] == SiteStatus.CLOSED], "saving"),
                    running_per_year=_sum(new, "running_cost"), counters=counters,
                    people_reached=float(s.after.within - s.before.within))
