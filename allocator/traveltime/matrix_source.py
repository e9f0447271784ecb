"""Travel times from a precomputed matrix file (:mod:`allocator.traveltime.table`), as a travel-time source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.place_names import StreetIndex
from allocator.inputs.sites import check_site_ids_unique
from allocator.scenario.paths import Origin
from allocator.scenario.schema import MatrixSpec, Service
from allocator.traveltime.source import ServiceTimes, reachability_notes
from allocator.traveltime.table import MatrixReport, TravelTimeTable, cost_matrix, read_matrix_csv


@dataclass(frozen=True, eq=False)
class MatrixSource:
    """A precomputed travel-time matrix, read and checked once for every service (a TravelTimeSource)."""

    table: TravelTimeTable
    report: MatrixReport
    scenario: Path | None = None   # the scenario file, for error messages
    timing_key: str = "matrix_s"
    streets: StreetIndex | None = None   # a matrix has no streets to name sites by

    @classmethod
    def open(cls, spec: MatrixSpec, path: Path, origin: Origin, log: Callable[[str], None]) -> MatrixSource:
        """Read the matrix file ``path`` (resolved) as ``spec`` says; ``origin`` is the section's (``matrix``)."""
        table, report = read_matrix_csv(path, spec, field=origin.field)
        log(f"travel times from matrix {report.source}: {report.pairs:,} pairs ({report.origins:,} origins x "
            f"{report.destinations:,} destinations, {report.unreachable:,} marked unreachable) in {report.seconds:.1f}s")
        return cls(table, report, origin.scenario)

    def service_times(self, service: Service, field: str, demand: pd.DataFrame,
                      sites: pd.DataFrame) -> ServiceTimes:
        """Minutes looked up by id in the matrix file, with notes on ids it lacks and rows it ignores."""
        table = self.table
        check_site_ids_unique(sites, Origin(field, self.scenario))
        lookup = cost_matrix(table, demand["id"], sites["id"])
        name = table.path.name
        new = sites["status"].eq("new").to_numpy()
        if lookup.pairs_used == 0:
            raise AllocatorError(
                f"no row of the matrix pairs a demand id with a site id of service '{service.name}'",
                file=table.path, field="matrix.origin / matrix.destination",
                fix=f"origins must be demand ids (e.g. {_examples(demand['id'])}) and destinations site ids "
                    f"(e.g. {_examples(sites['id'])}); the matrix has origins like {_examples(table.origins)} "
                    f"and destinations like {_examples(table.destinations)}")
        if not np.isfinite(lookup.cost[:, new]).any():
            raise AllocatorError(
                f"no candidate site of service '{service.name}' has a travel time from any demand location "
                "in the matrix", file=table.path, field="matrix.destination",
                fix=f"add rows for the candidate ids (e.g. {_examples(sites['id'][new])}) "
                    f"of {field}.candidates to the matrix")
        notes = reachability_notes(demand, lookup.origin_absent, sites, lookup.site_absent,
                                   f"absent from the matrix {name}")
        ignored = len(table.minutes) - lookup.pairs_used
        if ignored:
            notes.append(f"{ignored:,} of {len(table.minutes):,} pairs in the matrix {name} name a demand or site "
                         f"id outside this service and were ignored")
        return ServiceTimes(lookup.cost, notes)


def _examples(ids: pd.Series | pd.Index, n: int = 3) -> str:
    """The first few ids, quoted, for messages."""
    first = [repr(str(i)) for i in list(ids)[:n]]
    return ", ".join(first) + (", ..." if len(ids) > n else "") if first else "none"
