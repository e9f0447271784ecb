"""Districts: the group of each demand location, from H3 parents, a demand column, polygons or OSM boundaries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.crs import wgs84_shapes
from allocator.inputs.csvfile import CSV_OPTIONS, reading_csv
from allocator.inputs.osm_districts import read_districts
from allocator.scenario.paths import Origin
from allocator.scenario.schema import DistrictSpec, LayerSpec

#: the display name of the demand outside every district polygon (its key is "outside")
OUTSIDE_NAME = "outside every district"


def assign_districts(demand: pd.DataFrame, spec: DistrictSpec, path: Path | None, origin: Origin, *,
                     demand_layer: LayerSpec | None = None, language: str = "en") -> tuple[pd.Series, pd.Series]:
    """District key and display name of each demand location, for a :class:`~allocator.scenario.schema.DistrictSpec`.

    ``path`` is the file the spec reads, resolved
    (:meth:`allocator.scenario.loader.LoadedScenario.district_file`): the
    polygons, the OpenStreetMap boundaries, or for ``column`` the file of
    ``demand_layer`` (the first demand layer); ``None`` for ``h3_parent``.
    ``origin`` is the section's (``districts``), for error messages;
    ``language`` chooses the OpenStreetMap names.

    ``h3_parent``: the H3 cell at resolution 9 containing the demand point
    (``h3.latlng_to_cell`` from the point's lat/lon; for an H3 demand grid at
    resolution 9 that is the demand cell itself, whose id is the frame's id
    only when ``id`` and ``h3`` are the same column, so the lon/lat route is
    used in every case), then its parent (``h3.cell_to_parent``).
    """
    index = demand.index
    if spec.h3_parent is not None:
        res = max(9, spec.h3_parent)
        keys = pd.Series([h3.cell_to_parent(h3.latlng_to_cell(lat, lon, res), spec.h3_parent)
                          for lon, lat in zip(demand["lon"], demand["lat"])], index=index, dtype=str)
        return keys, keys.copy()
    if path is None:
        raise ValueError(f"{origin.field} needs its file resolved")
    if spec.column is not None:
        if demand_layer is None:
            raise ValueError(f"{origin.field}.column needs the demand layer it is a column of")
        keys = _column_keys(demand, spec.column, path, demand_layer, origin)
        return keys, keys.copy()
    if spec.osm is not None:   # named administrative boundaries (allocator.inputs.osm_districts)
        polygons = read_districts(path, int(spec.admin_level or 0), origin.field, language)
        spec = spec.model_copy(update={"id": "id", "name_column": "name"})
    else:
        try:
            polygons = gpd.read_file(path, layer=spec.layer)
        except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
            raise AllocatorError(f"cannot read the district polygons ({exc})", file=origin.scenario,
                                 field=origin.at("source").field, fix="give a GeoPackage, GeoJSON, Shapefile or "
                                 "FlatGeobuf of polygons (and, for a GeoPackage, its 'layer')") from None
    return _polygon_keys(demand, polygons, spec, path, origin)


def _column_keys(demand: pd.DataFrame, column: str, path: Path, layer: LayerSpec, origin: Origin) -> pd.Series:
    """The district of each demand location from a column of its layer's file, matched by id (ids are opaque
    strings). A row without a district is an error; locations of no row (other layers) are "unknown", told in a note."""
    field = origin.at("column").field
    if path.suffix.lower() == ".csv":
        with reading_csv(path, field):
            table = pd.read_csv(path, dtype=str, **CSV_OPTIONS)
    else:   # the rows read_layer keeps (those with a shape), so row-number ids match
        frame, _ = wgs84_shapes(gpd.read_file(path, layer=layer.layer), file=path, field=field)
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
    if column not in table:
        raise AllocatorError(f"column '{column}' is not in the demand layer", file=origin.scenario,
                             field=field, fix=f"columns are: {', '.join(map(str, table.columns))}")
    values = _text(table[column])
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        rows = ", ".join(f"line {r + 2}" if path.suffix.lower() == ".csv" else f"row {r + 1}" for r in missing[:5])
        raise AllocatorError(f"{missing.size:,} rows have no district in column '{column}' ({rows}"
                             f"{', ...' if missing.size > 5 else ''})", file=path, field=field,
                             fix=f"give every row a district in '{column}' (a name or a code), or remove those rows")
    ids = table[layer.id].astype(str) if layer.id else pd.Series(range(len(table))).astype(str)
    lookup = dict(zip(ids, values, strict=True))
    keys = pd.Series([lookup.get(str(i)) for i in demand["id"]], index=demand.index, dtype=object)
    unmatched = keys.isna().to_numpy()
    if unmatched.all() and len(keys):
        raise AllocatorError(f"no demand location's id is the id of a row of {path.name}", file=path, field=field,
                             fix="districts: {column: ...} matches demand locations by the first demand layer's "
                                 "'id' column; give that layer an id column (a dasymetric layer's locations are "
                                 "buildings: use district polygons instead)")
    keys = keys.fillna("unknown").astype(str)
    keys.attrs["notes"] = [f"{field}: {_locations(demand, unmatched)} are not rows of {path.name} (they come from "
                           f"another demand layer): district 'unknown'"] if unmatched.any() else []
    return keys


def _polygon_keys(demand: pd.DataFrame, polygons: gpd.GeoDataFrame, spec: DistrictSpec, path: Path,
                  origin: Origin) -> tuple[pd.Series, pd.Series]:
    """Key and name of the polygon each demand point falls in ("outside" for none).

    No demand location in any polygon is an error (the polygons' CRS is the usual cause); some
    outside every polygon, or polygons without demand, are told in a note (``keys.attrs["notes"]``).
    """
    field = origin.at("osm" if spec.osm is not None else "source").field
    for column, name in ((spec.id, "id"), (spec.name_column, "name_column")):
        if column is not None and column not in polygons:
            raise AllocatorError(f"column '{column}' is not in the district layer", file=origin.scenario,
                                 field=origin.at(name).field,
                                 fix=f"columns are: {', '.join(map(str, polygons.columns))}")
    polygons, notes = wgs84_shapes(polygons.reset_index(drop=True), file=path, field=field)   # index: row number
    polygons["_key"] = _text(polygons[spec.id]) if spec.id else polygons.index.astype(str)
    if polygons["_key"].isna().any():
        raise AllocatorError(f"{int(polygons['_key'].isna().sum()):,} district polygons have no id in "
                             f"column '{spec.id}'", file=path, field=origin.at("id").field,
                             fix=f"give every polygon an id in '{spec.id}', or remove those polygons")
    polygons["_name"] = (_text(polygons[spec.name_column]) if spec.name_column else polygons["_key"]).fillna(
        polygons["_key"])
    points = gpd.GeoDataFrame({"_row": np.arange(len(demand))},
                              geometry=gpd.points_from_xy(demand["lon"], demand["lat"]), crs="EPSG:4326")
    joined = gpd.sjoin(points, polygons[["_key", "_name", "geometry"]], how="left", predicate="within")
    joined = joined.drop_duplicates("_row").sort_values("_row")
    outside = joined["_key"].isna().to_numpy()
    if outside.all() and len(demand):
        raise AllocatorError(
            f"no demand location falls inside any of the {len(polygons):,} district polygons", file=path, field=field,
            fix="is the district layer's CRS right? The polygons must cover the demand: open both in QGIS and check "
                "that they overlap (or set the polygons' CRS and save them again)")
    if outside.any():
        notes.append(f"{field}: {_locations(demand, outside)} fall outside every district polygon of {path.name}: "
                     f"grouped as '{OUTSIDE_NAME}'")
    empty = polygons["_name"][~polygons["_key"].isin(joined["_key"])].unique()
    if len(empty):
        notes.append(f"{field}: {len(empty):,} districts of {path.name} contain no demand location (first: "
                     f"{empty[0]}); they are left out of the district figures")
    keys = pd.Series(joined["_key"].fillna("outside").to_numpy(str), index=demand.index, dtype=str)
    names = pd.Series(joined["_name"].fillna(OUTSIDE_NAME).to_numpy(str), index=demand.index, dtype=str)
    keys.attrs["notes"] = notes
    return keys, names


def _text(values: pd.Series) -> pd.Series:
    """``values`` as stripped strings, with empty cells (blank, or read as NaN) missing."""
    text = values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v).strip())
    return text.where(text != "", None)


def _locations(demand: pd.DataFrame, rows: np.ndarray) -> str:
    """"N demand locations (P people)" for the ``rows`` (a mask) of ``demand``."""
    people = f" ({demand['population'].to_numpy(float)[rows].sum():,.0f} people)" if "population" in demand else ""
    return f"{int(rows.sum()):,} demand locations{people}"
