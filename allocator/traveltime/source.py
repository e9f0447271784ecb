"""What a travel-time source is: one :class:`TravelTimeSource` per run.

A source gives each service its door-to-door minutes (demand rows x site
columns, ``inf``: unreachable) and notes on what it could not reach.  The road
network (:class:`allocator.traveltime.network_source.NetworkSource`) and a
matrix file (:class:`allocator.traveltime.matrix_source.MatrixSource`) are the
two today; another mode of travel is one more module with a class like these
and one line in :func:`allocator.traveltime.open_source.open_source`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from allocator.inputs.place_names import StreetIndex
from allocator.scenario.schema import Service
from allocator.traveltime.network_report import NetworkReport
from allocator.traveltime.table import MatrixReport


@dataclass
class ServiceTimes:
    """One service's travel times and what the source says about them."""

    cost: np.ndarray    # minutes, demand x sites (inf: unreachable)
    notes: list[str]    # which demand locations and sites have no travel times, and why


class TravelTimeSource(Protocol):
    """Travel times of a scenario, read once and asked per service."""

    @property
    def report(self) -> NetworkReport | MatrixReport:
        """Where the times came from (summary.json's ``network`` or ``matrix``)."""
        ...

    @property
    def timing_key(self) -> str:
        """Its key in the run's timings ("network_s", "matrix_s")."""
        ...

    @property
    def streets(self) -> StreetIndex | None:
        """The named streets of the road network, to label sites and districts (``None`` without one)."""
        ...

    def service_times(self, service: Service, field: str, demand: pd.DataFrame,
                      sites: pd.DataFrame) -> ServiceTimes:
        """Door-to-door minutes from each demand location to each site (``sites`` has a ``status`` column)."""
        ...


def reachability_notes(demand: pd.DataFrame, demand_lost: np.ndarray, sites: pd.DataFrame,
                       site_lost: np.ndarray, reason: str) -> list[str]:
    """Say which demand locations and sites have no travel times, and why (``reason``)."""
    notes = []
    lost = demand_lost & (demand["population"].to_numpy() > 0)
    if lost.any():
        ids = ", ".join(demand["id"][lost].astype(str).head(5))
        notes.append(f"{int(lost.sum())} demand locations ({demand['population'][lost].sum():,.0f} people) are "
                     f"{reason}: counted as underserved (e.g. {ids})")
    for status in ("existing", "new"):
        mask = site_lost & sites["status"].eq(status).to_numpy()
        if mask.any():
            what = "existing facilities serve nobody" if status == "existing" else "candidate sites were left out"
            ids = ", ".join(sites["id"][mask].astype(str).head(5))
            notes.append(f"{int(mask.sum())} {what}: {reason} (e.g. {ids})")
    return notes
