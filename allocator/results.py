"""The plain dataclasses a run passes between its stages (:mod:`allocator.pipeline`).

:class:`PreparedRun` is what :func:`allocator.pipeline.prepare` gives (the
scenario, where the travel times came from and one :class:`PreparedService`
per service); :class:`RunResult` what :func:`allocator.pipeline.evaluate`
gives and :mod:`allocator.outputs` writes.  Nothing here reads files or
solves, so a sweep can solve many variants of one prepared run and a worker
process can run one stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator.evaluate.objective import RoundingEffect
from allocator.inputs.place_names import StreetIndex
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import Service
from allocator.solve.solution import Solution
from allocator.traveltime.network import NetworkReport
from allocator.traveltime.table import MatrixReport

if TYPE_CHECKING:
    from allocator.counters import Staffing


@dataclass
class PreparedService:
    """One service's inputs to the model: demand, sites (existing then candidates) and travel times."""

    index: int
    service: Service
    field: str                # where the service is in the scenario, for messages ("services[0]")
    demand: gpd.GeoDataFrame  # with district, district_name when the scenario has districts
    sites: pd.DataFrame
    cost: np.ndarray          # exact minutes
    round_s: float
    model_cost: np.ndarray    # what the model solves on: ``cost`` rounded to round_s (``cost`` itself at 0)
    notes: list[str]
    matrix_seconds: float
    seconds: float

    @property
    def population(self) -> np.ndarray:
        return self.demand["population"].to_numpy(float)

    @property
    def existing(self) -> np.ndarray:
        return self.sites["status"].eq("existing").to_numpy()


@dataclass
class PreparedRun:
    """A scenario ready to solve: every service's demand, sites and travel times."""

    scenario: LoadedScenario
    network: NetworkReport | MatrixReport   # where the travel times came from
    services: list[PreparedService]
    timings: dict[str, float] = field(default_factory=dict)   # layers_s, network_s or matrix_s
    streets: StreetIndex | None = None   # the road network's named streets (None: a matrix run or no names)


@dataclass
class ServiceResult:
    """What one service's model chose and what it changes."""

    service: Service
    demand: gpd.GeoDataFrame       # id, name, population, time_before, time_after (NaN: none reachable), lon, lat,
                                   # geometry, assigned_facility (row of `facilities` serving it after, -1: none)
    facilities: gpd.GeoDataFrame   # id, name, status (existing|new|closed), count, lon, lat, geometry, upgraded,
                                   # assigned_population, mean_time_min (of the people it serves after; NaN: nobody)
    solution: Solution             # with solver.round_s: solved on the rounded times
    cost: np.ndarray               # exact minutes, demand rows x `sites` columns (inf: unreachable)
    sites: pd.DataFrame            # every site the model could open, in cost-column order (existing, then candidates):
                                   # id, name, count, lon, lat, status (existing|new)
    before: dict                   # allocator.evaluate.access.access_metrics
    after: dict
    notes: list[str]
    matrix_shape: tuple[int, int]
    matrix_seconds: float
    # equity block (allocator.evaluate.equity.service_equity); demand then also has district, district_name,
    # access_2sfca_before/after, access_e2sfca_before/after
    equity: dict = field(default_factory=dict)
    rounding: RoundingEffect | None = None   # with solver.round_s > 0: the objective rounded and exact
    staffing: Staffing | None = None         # with a counters section: allocator.counters.staff


@dataclass
class RunResult:
    """Everything a run produced, ready to be written by :mod:`allocator.outputs.files`."""

    scenario: LoadedScenario
    network: NetworkReport | MatrixReport   # where the travel times came from
    services: list[ServiceResult]
    timings: dict[str, float] = field(default_factory=dict)
    solver: dict = field(default_factory=dict)   # solver name and the options in force (for manifest.json)
    sweep: SweepResult | None = None             # with a ``sweep:`` section: every point (this run is the chosen one)
    streets: StreetIndex | None = None   # the road network's named streets (labels of places)

    @property
    def shared_budget_used(self) -> float | None:
        """What the services sharing the scenario's ``shared_budget`` spend together (None without one)."""
        if self.scenario.spec.shared_budget is None:
            return None
        return sum(s.solution.budget_used or 0.0 for s in self.services)


#: the status of a sweep point whose task failed (its reason is in the table's ``error`` column)
FAILED = "failed"


@dataclass
class SweepResult:
    """Every point of a sweep (:mod:`allocator.scale.sweep`); the run it belongs to is the chosen point."""

    service: str
    parameter: str                  # p | budget | threshold_min
    table: pd.DataFrame             # one row per point (allocator.outputs.sweep.COLUMNS), in increasing value
    chosen: float                   # the value whose full outputs the run holds
    knee: float | None              # the last point before an extra site brings less than min_gain (None: no ok point)
    min_gain: float                 # share of the population
    notes: list[str] = field(default_factory=list)

    @property
    def solved(self) -> pd.DataFrame:
        """The points that did not fail."""
        return self.table[self.table["status"] != FAILED]
