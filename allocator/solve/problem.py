"""What the solve stage is given: one :class:`ServiceProblem` per service, together a :class:`RunProblem`.

:func:`allocator.pipeline.prepare` builds them from a scenario (layers, sites,
travel times); :mod:`allocator.api` builds them from arrays or GeoDataFrames.
Nothing here reads files or solves, so a sweep can solve many variants of one
prepared run and a worker process can run one stage.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from allocator.inputs.place_names import StreetIndex
from allocator.inputs.sites import SiteStatus
from allocator.scenario.schema import Service
from allocator.solve.kernels import nearest_open, split_times
from allocator.solve.run_info import RunInfo
from allocator.solve.solution import Solution
from allocator.traveltime.network import NetworkReport
from allocator.traveltime.table import MatrixReport


@dataclass(frozen=True)
class ServiceProblem:
    """One service's inputs to the model: demand, sites (existing then candidates) and travel times."""

    index: int
    service: Service
    field: str                # where the service is in the scenario, for messages ("services[0]")
    demand: gpd.GeoDataFrame  # with district, district_name when the scenario has districts
    sites: pd.DataFrame       # id, name, count, lon, lat, status (SiteStatus.EXISTING | NEW), ...
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
        """The existing sites, as a mask over the site columns."""
        return self.sites["status"].eq(SiteStatus.EXISTING).to_numpy()

    def without_sites(self, ids: Collection[str]) -> ServiceProblem:
        """This problem with the candidate sites ``ids`` taken out, so no plan can open them (a ValueError
        for an id that is not a candidate: existing sites stay, closing them is a rule of the plan model)."""
        site_ids = self.sites["id"].astype(str)
        unknown = set(map(str, ids)) - set(site_ids[~self.existing])
        if unknown:
            raise ValueError(f"not candidate sites: {sorted(unknown)[:5]}")
        keep = ~site_ids.isin(set(map(str, ids))).to_numpy() | self.existing
        return replace(self, sites=self.sites[keep].reset_index(drop=True), cost=self.cost[:, keep],
                       model_cost=self.model_cost[:, keep])

    def served_after(self, solution: Solution) -> tuple[np.ndarray, np.ndarray]:
        """Who serves each demand location after the plan, and in how many exact minutes (-1 / inf: none).

        The nearest open site, or with capacities the model's own (split) assignment.
        """
        if solution.shares is not None:
            assert solution.assignment is not None
            return solution.assignment, split_times(solution.shares, self.cost)
        return nearest_open(self.cost, solution.open_mask(len(self.sites)))


@dataclass(frozen=True)
class RunProblem:
    """A run ready to solve: every service's demand, sites and travel times, and what the run is."""

    info: RunInfo
    network: NetworkReport | MatrixReport   # where the travel times came from
    services: list[ServiceProblem]
    timings: dict[str, float] = field(default_factory=dict)   # layers_s, network_s or matrix_s
    streets: StreetIndex | None = None   # the road network's named streets (None: a matrix run or no names)
