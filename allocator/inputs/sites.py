"""A service's sites: its existing facilities and its candidate sites, read from their layers.

Each reader takes the service's spec, the layer's file resolved by the
scenario stage (:meth:`allocator.scenario.loader.LoadedScenario.layer_files`;
the ``osm:`` file for OpenStreetMap features), the service's
:class:`~allocator.scenario.paths.Origin` for error messages and the language
of OpenStreetMap names.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.layer_file import read_layer_file
from allocator.inputs.layers import location_keys
from allocator.inputs.osm_features import read_features
from allocator.scenario.paths import Origin
from allocator.scenario.schema import LayerSpec, Service


class SiteStatus(StrEnum):
    """A site's part in a plan; equal to its string, so tables and JSON show the plain word."""

    EXISTING = "existing"   # a facility in place today (and kept)
    NEW = "new"             # a candidate the plan opens (before solving: any candidate)
    CLOSED = "closed"       # an existing facility the plan closes


def existing_sites(service: Service, path: Path | None, origin: Origin, language: str = "en") -> pd.DataFrame:
    """Existing facilities of ``service`` read from ``path`` (rows with a positive count), or an empty table.

    ``path`` is the existing layer's file (``None`` when the service has no ``existing``).
    """
    columns = ["id", "name", "count", "lon", "lat"]
    if service.existing is None:
        return pd.DataFrame(columns=columns)
    if path is None:
        raise ValueError(f"{origin.field}.existing needs its file resolved")
    spec = service.existing
    values = {"saving": spec.saving, "capacity": spec.capacity, "upgrade_capacity": spec.upgrade_capacity,
              "upgrade_cost": spec.upgrade_cost, "counters_today": service.counters.today if service.counters else None}
    frame = _site_layer(spec, path, origin.at("existing").field, language, value_column=spec.count,
                        nan_value_is_zero=True, extra_columns=_columns_of(values),
                        labels={"counters_today": origin.at("counters.today").field})
    frame = frame[frame["value"] > 0].rename(columns={"value": "count"})
    frame["count"] = frame["count"].round().astype(int)
    return pd.DataFrame(_with_values(frame, values)[columns + [k for k, v in values.items() if v is not None]])


def candidate_sites(service: Service, path: Path, origin: Origin, existing: pd.DataFrame,
                    language: str = "en") -> pd.DataFrame:
    """Candidate sites of ``service`` read from ``path``, without those at an ``existing`` facility's location
    when asked."""
    spec = service.candidates
    values = {"open_cost": spec.cost, "capacity": spec.capacity, "running_cost": spec.running_cost}
    frame = _site_layer(spec, path, origin.at("candidates").field, language, value_column=None,
                        extra_columns=_columns_of(values), labels={"open_cost": origin.at("candidates.cost").field,
                                                                   "running_cost": origin.at("candidates.running_cost").field})
    frame = _with_values(frame, values)
    if spec.exclude_existing and len(existing):
        taken = set(location_keys(existing))
        frame = frame[[key not in taken for key in location_keys(frame)]]
    if frame.empty:
        raise AllocatorError("no candidate sites left", file=origin.scenario, field=origin.at("candidates").field,
                             fix="every candidate is at an existing facility; add candidates or set "
                                 "exclude_existing: false")
    return pd.DataFrame(frame[["id", "name", "lon", "lat"] + [k for k, v in values.items() if v is not None]])


def _site_layer(spec: LayerSpec, path: Path, field: str, language: str, **options: Any) -> pd.DataFrame:
    """A site layer's rows: OpenStreetMap features (``osm`` + ``tags``, named in ``language``) or its file."""
    if spec.osm is not None and spec.tags is not None:
        return read_features(path, spec.tags, field, language)
    return read_layer_file(path, spec, field=field, **options)


def _columns_of(values: dict[str, float | str | None]) -> dict[str, str]:
    """The per-site values given as column names (the others are numbers for every site)."""
    return {name: v for name, v in values.items() if isinstance(v, str)}


def _with_values(frame: pd.DataFrame, values: dict[str, float | str | None]) -> pd.DataFrame:
    """Fill the per-site values given as one number for every site."""
    for name, v in values.items():
        if v is not None and not isinstance(v, str):
            frame[name] = float(v)
    return frame


def check_site_ids_unique(sites: pd.DataFrame, origin: Origin) -> None:
    """A matrix tells sites apart by id: one id may not name two places (existing and candidate).

    ``origin`` is the service's (``services[0]``).
    """
    places = sites.assign(location=pd.Series(location_keys(sites), index=sites.index, dtype=object))
    places = places.drop_duplicates(["id", "location"])
    clash = places["id"][places["id"].duplicated()]
    if len(clash):
        raise AllocatorError(
            f"site id {clash.iloc[0]!r} names two different places ({len(clash)} such ids): "
            f"existing facilities and candidates share ids",
            file=origin.scenario, field=origin.at("candidates.id").field,
            fix="with a matrix, sites are matched by id: give existing facilities and candidates distinct ids "
                "(their 'id' columns; without one, ids are row numbers)")
