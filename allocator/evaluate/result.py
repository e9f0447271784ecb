"""What evaluation gives: one :class:`ServiceResult` per service, together a :class:`RunResult`.

:func:`allocator.pipeline.evaluate` (one service:
:func:`allocator.evaluate.service.evaluate_service`) builds them from a
solved :class:`~allocator.solve.problem.RunProblem`; :mod:`allocator.outputs`
writes them, computing nothing of its own.  A sweep adds every point
(:class:`SweepResult`, made by :mod:`allocator.scale.sweep`).  The results
are frozen: a stage that wants another one builds a new result.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator.evaluate.access import AccessMetrics
from allocator.evaluate.brief import BriefFacts, RelativeShift, brief_facts, relative_shift
from allocator.evaluate.contributions import site_contributions
from allocator.evaluate.objective import RoundingEffect
from allocator.evaluate.robustness import RobustnessResult
from allocator.inputs.place_names import StreetIndex
from allocator.inputs.sites import SiteStatus
from allocator.scenario.schema import Service
from allocator.solve.kolm_pollak import DEFAULT_EPSILON
from allocator.solve.run_info import RunInfo
from allocator.solve.solution import Solution
from allocator.traveltime.network import NetworkReport
from allocator.traveltime.table import MatrixReport


@dataclass(frozen=True)
class Staffing:
    """The counters of one service: per office (rows of the facilities table) and overall, before and after."""

    offices: pd.DataFrame            # counters_before/after, visitors_per_h_*, utilisation_*, mean_wait_min_*,
                                     # share_over_limit_* (NaN: no counter then)
    metrics: dict[str, dict]         # "before"/"after": allocator.evaluate.waits.WAIT_METRICS and unstable_offices
    decision: str
    goal: str
    limit_min: float
    spent: float | None              # add / open: cost of the added counters (and, for open, the new offices)
    staff: int                       # counters in place after


@dataclass(frozen=True)
class ServiceResult:
    """What one service's model chose and what it changes."""

    service: Service
    demand: gpd.GeoDataFrame       # id, name, population, time_before, time_after (NaN: none reachable), lon, lat,
                                   # geometry, assigned_facility (row of `facilities` serving it after, -1: none),
                                   # access_2sfca_before/after, access_e2sfca_before/after; with districts:
                                   # district, district_name; with counters: wait_before, wait_after
    facilities: gpd.GeoDataFrame   # id, name, status (SiteStatus), count, lon, lat, geometry, upgraded,
                                   # assigned_population, mean_time_min (of the people it serves after; NaN: nobody),
                                   # place, district; with counters: allocator.evaluate.waits.OFFICE_COLUMNS
    solution: Solution             # with solver.round_s: solved on the rounded times; objective as reported
    cost: np.ndarray               # exact minutes, demand rows x `site_columns` columns (inf: unreachable)
    site_columns: pd.DataFrame     # every site the model could open, in cost-column order (existing, then
                                   # candidates): id, name, count, lon, lat, status (SiteStatus.EXISTING | NEW)
    before: AccessMetrics          # on the exact times, before the plan
    after: AccessMetrics           # and after it
    notes: list[str]
    matrix_shape: tuple[int, int]
    matrix_seconds: float
    equity: dict = field(default_factory=dict)   # allocator.evaluate.equity.service_equity
    rounding: RoundingEffect | None = None   # with solver.round_s > 0: the objective rounded and exact
    staffing: Staffing | None = None         # with a counters section: allocator.evaluate.waits.staffing
    streets: StreetIndex | None = None       # the road network's named streets (labels of places in ``brief``)
    ede_epsilon: float = DEFAULT_EPSILON     # the service's Kolm-Pollak inequality aversion
    ede_kappa: float = 0.0                   # its kappa (allocator.solve.kolm_pollak.service_kappa; 0: the EDE is
                                             # the mean), the one of before, after, every district and compared plan

    @property
    def locations(self) -> gpd.GeoDataFrame:
        """Each demand location with its times before and after and the site serving it (``demand``)."""
        return self.demand

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The sites after the plan: id, name, status (:class:`SiteStatus`), people served, ... (``facilities``)."""
        return self.facilities

    def overall(self, when: str) -> dict:
        """Every overall metric ``when`` (before, after): the access metrics and the equity block's."""
        return {**getattr(self, when), **self.equity["overall"][when]}

    @functools.cached_property
    def contributions(self) -> pd.Series:
        """People each new site alone brings within the threshold, by row of ``facilities`` (new sites only).

        Computed on first use (:func:`allocator.evaluate.contributions.site_contributions`).
        """
        fac = self.facilities
        rows = fac.index[fac["status"] == SiteStatus.NEW]
        opened = self.solution.open_mask(len(self.site_columns))
        shown = opened | self.site_columns["status"].eq(SiteStatus.EXISTING).to_numpy()
        columns = np.flatnonzero(shown)[rows.to_numpy()]   # facilities list the shown sites in site order
        values = site_contributions(self.cost, self.demand["population"].to_numpy(float), opened, columns,
                                    self.service.threshold_min) if len(rows) else np.zeros(0)
        return pd.Series(values, index=rows, dtype=float)

    @functools.cached_property
    def brief(self) -> BriefFacts:
        """What the decision brief states: where people stay beyond T, who gains, the longest trip.

        Computed on first use (:func:`allocator.evaluate.brief.brief_facts`).
        """
        return brief_facts(self, self.streets)

    @functools.cached_property
    def relative(self) -> RelativeShift | None:
        """Gini or Theil moving against the mean and the EDE (:func:`allocator.evaluate.brief.relative_shift`)."""
        return relative_shift(self)


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced, ready to be written by :mod:`allocator.outputs.files`."""

    info: RunInfo
    network: NetworkReport | MatrixReport   # where the travel times came from
    services: list[ServiceResult]
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict = field(default_factory=dict)   # solver name and the options in force (for manifest.json)
    sweep: SweepResult | None = None             # with a ``sweep:`` section: every point (this run is the chosen one)
    robustness: RobustnessResult | None = None   # with a ``robustness:`` section: the variants of its plan
    streets: StreetIndex | None = None   # the road network's named streets (labels of places)

    @property
    def only(self) -> ServiceResult:
        """The run's one service (an error when it has several: use ``services``)."""
        if len(self.services) != 1:
            raise ValueError(f"the run has {len(self.services)} services: pick one from result.services")
        return self.services[0]

    @property
    def locations(self) -> gpd.GeoDataFrame:
        """The demand locations of a single-service run (:attr:`ServiceResult.locations`)."""
        return self.only.locations

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The sites after the plan of a single-service run (:attr:`ServiceResult.sites`)."""
        return self.only.sites

    @property
    def before(self) -> AccessMetrics:
        """The access before the plan of a single-service run."""
        return self.only.before

    @property
    def after(self) -> AccessMetrics:
        """The access after the plan of a single-service run."""
        return self.only.after

    @property
    def shared_budget_used(self) -> float | None:
        """What the services sharing the scenario's ``shared_budget`` spend together (None without one)."""
        if self.info.shared_budget is None:
            return None
        return sum(s.solution.budget_used or 0.0 for s in self.services)


#: the status of a sweep point whose task failed (its reason is in the table's ``error`` column)
FAILED = "failed"


@dataclass(frozen=True)
class SweepResult:
    """Every point of a sweep (:mod:`allocator.scale.sweep`); the run it belongs to is the chosen point."""

    service: str
    parameter: str                  # p | budget | threshold_min
    table: pd.DataFrame             # one row per point (allocator.outputs.sweep.COLUMNS), in increasing value
    chosen: float                   # the value whose full outputs the run holds
    knee: float | None              # the last point before an extra site brings less than min_gain (None: no ok point)
    min_gain: float                 # share of the population
    notes: list[str] = field(default_factory=list)
    nested: bool = False            # every point keeps the previous point's sites (one phased plan)

    @property
    def solved(self) -> pd.DataFrame:
        """The points that did not fail."""
        return self.table[self.table["status"] != FAILED]
