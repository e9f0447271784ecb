"""A service's sites: its existing facilities and its candidate sites, read from their layers."""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.layers import location_keys, read_layer
from allocator.inputs.osm_features import osm_file, read_features
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.schema import LayerSpec, Service


class SiteStatus(StrEnum):
    """A site's part in a plan; equal to its string, so tables and JSON show the plain word."""

    EXISTING = "existing"   # a facility in place today (and kept)
    NEW = "new"             # a candidate the plan opens (before solving: any candidate)
    CLOSED = "closed"       # an existing facility the plan closes


def existing_sites(scenario: LoadedScenario, service: Service, field: str) -> pd.DataFrame:
    """Existing facilities (rows with a positive count), or an empty table."""
    columns = ["id", "name", "count", "lon", "lat"]
    if service.existing is None:
        return pd.DataFrame(columns=columns)
    spec = service.existing
    values = {"saving": spec.saving, "capacity": spec.capacity, "upgrade_capacity": spec.upgrade_capacity,
              "upgrade_cost": spec.upgrade_cost, "counters_today": service.counters.today if service.counters else None}
    frame = _site_layer(scenario, spec, f"{field}.existing", value_column=spec.count, nan_value_is_zero=True,
                        extra_columns=_columns_of(values))
    frame = frame[frame["value"] > 0].rename(columns={"value": "count"})
    frame["count"] = frame["count"].round().astype(int)
    return pd.DataFrame(_with_values(frame, values)[columns + [k for k, v in values.items() if v is not None]])


def candidate_sites(scenario: LoadedScenario, service: Service, field: str, existing: pd.DataFrame) -> pd.DataFrame:
    """Candidate sites, without those at an existing facility's location when asked."""
    spec = service.candidates
    values = {"open_cost": spec.cost, "capacity": spec.capacity}
    frame = _site_layer(scenario, spec, f"{field}.candidates", value_column=None, extra_columns=_columns_of(values),
                        labels={"open_cost": "cost"})
    frame = _with_values(frame, values)
    if spec.exclude_existing and len(existing):
        taken = set(location_keys(existing))
        frame = frame[[key not in taken for key in location_keys(frame)]]
    if frame.empty:
        raise AllocatorError("no candidate sites left", file=scenario.path, field=f"{field}.candidates",
                             fix="every candidate is at an existing facility; add candidates or set "
                                 "exclude_existing: false")
    return pd.DataFrame(frame[["id", "name", "lon", "lat"] + [k for k, v in values.items() if v is not None]])


def _site_layer(scenario: LoadedScenario, spec: LayerSpec, field: str, **options) -> pd.DataFrame:
    """A site layer's rows: OpenStreetMap features (``osm`` + ``tags``, named in the report's language) or its file."""
    if spec.osm is not None and spec.tags is not None:
        return read_features(osm_file(scenario, spec.osm, f"{field}.osm"), spec.tags, field, scenario.spec.language)
    return read_layer(scenario.resolve_path(str(spec.source), f"{field}.source"), spec, field=field,
                      resolve=scenario.resolve_path, **options)


def _columns_of(values: dict[str, float | str | None]) -> dict[str, str]:
    """The per-site values given as column names (the others are numbers for every site)."""
    return {name: v for name, v in values.items() if isinstance(v, str)}


def _with_values(frame: pd.DataFrame, values: dict[str, float | str | None]) -> pd.DataFrame:
    """Fill the per-site values given as one number for every site."""
    for name, v in values.items():
        if v is not None and not isinstance(v, str):
            frame[name] = float(v)
    return frame


def check_site_ids_unique(sites: pd.DataFrame, scenario: LoadedScenario, field: str) -> None:
    """A matrix tells sites apart by id: one id may not name two places (existing and candidate)."""
    places = sites.assign(location=location_keys(sites)).drop_duplicates(["id", "location"])
    clash = places["id"][places["id"].duplicated()]
    if len(clash):
        raise AllocatorError(
            f"site id {clash.iloc[0]!r} names two different places ({len(clash)} such ids): "
            f"existing facilities and candidates share ids",
            file=scenario.path, field=f"{field}.candidates.id",
            fix="with a matrix, sites are matched by id: give existing facilities and candidates distinct ids "
                "(their 'id' columns; without one, ids are row numbers)")
