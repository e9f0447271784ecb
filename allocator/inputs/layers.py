"""Demand and facility layers: read a table or vector file into point locations.

Every layer becomes a GeoDataFrame in EPSG:4326 with the columns

``id`` (str, unique), ``value`` (float: population, or facility count),
``name`` (str), ``lon`` and ``lat`` (the point snapped to the road network) and
``geometry`` (what the map draws: the H3 cell or input polygon, or the point).

Supported inputs:

- CSV with an H3 column (cell polygons rebuilt from the id, the point is the
  cell centre) or with lon/lat columns in WGS84;
- vector files GeoPackage, GeoJSON, Shapefile, FlatGeobuf (points or polygons;
  a polygon is located at its centroid, or at a point inside it when the
  centroid falls outside). The layer must declare its CRS;
- GeoTIFF population rasters (:mod:`allocator.inputs.raster`; a file of any
  of these formats is read by :func:`allocator.inputs.layer_file.read_layer_file`).

Several demand layers combine into one demand per location: values are
multiplied by the layer weights and summed where locations coincide (the same
coordinates to 1e-7 degrees, about 1 cm).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from shapely.geometry import Point, Polygon

from allocator.errors import AllocatorError
from allocator.files import checked_file
from allocator.inputs.crs import check_lonlat, shapes_metric_crs, wgs84_shapes
from allocator.inputs.csvfile import CSV_OPTIONS, reading_csv
from allocator.scenario.schema import LayerSpec

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".zip"}
COLUMNS = ["id", "value", "name", "lon", "lat", "geometry"]
#: the largest population, count, cost or capacity a layer may give (larger is a data error, and breaks the solver)
MAX_VALUE = 1e12
LOCATION_DIGITS = 7   # two points are at the same location when lon and lat agree to 1e-7 degrees (about 1 cm)


def read_layer(path: Path, spec: LayerSpec, *, value_column: str | None, field: str,
               nan_value_is_zero: bool = False, extra_columns: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """Read one table or vector layer file into point locations (see the module docstring).

    ``value_column`` is the population or facility-count column (``None`` gives
    every row value 1). ``field`` names the scenario field for error messages.
    With ``nan_value_is_zero`` empty cells count as 0 (facility counts);
    otherwise they are an error (population).  ``extra_columns`` maps output
    names to more numeric columns to read the same way (e.g. capacities);
    ``labels`` gives the scenario field of an output name (default ``field.name``), for messages.
    A GeoTIFF is read by :func:`allocator.inputs.layer_file.read_layer_file`.
    """
    checked_file(path, field=f"{field}.source")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".zip" else path.suffix.lower()
    if suffix == ".csv":
        table, located = _read_csv(path, spec, field)
        notes: list[str] = []
    elif path.suffix.lower() in VECTOR_SUFFIXES:
        table, located, notes = _read_vector(path, spec, field)
    else:
        raise AllocatorError(
            f"unsupported file format '{path.suffix}'", file=path, field=f"{field}.source",
            fix="use a CSV (with h3 or lon/lat columns), GeoPackage, GeoJSON, Shapefile or FlatGeobuf",
        )
    if table.empty:
        raise AllocatorError("the layer has no rows", file=path, field=f"{field}.source", fix="check the file")
    frame = gpd.GeoDataFrame(
        {
            "id": _ids(table, spec.id, path, field),
            "value": _values(table, value_column, path, field, nan_value_is_zero),
            "name": _column(table, spec.name_column, path, f"{field}.name_column").astype(str)
            if spec.name_column else "",
            "lon": located["lon"].to_numpy(float),
            "lat": located["lat"].to_numpy(float),
        },
        geometry=located["geometry"].to_numpy(),
        crs="EPSG:4326",
    )
    for name, column in (extra_columns or {}).items():
        frame[name] = _values(table, column, path, field, False, label=(labels or {}).get(name, f"{field}.{name}"))
    bad = ~(np.isfinite(frame["lon"]) & np.isfinite(frame["lat"]))
    if bad.any():
        raise AllocatorError(
            f"{int(bad.sum())} rows have no valid location (first id: {frame['id'][bad].iloc[0]})",
            file=path, field=field, fix="fill in or remove those rows",
        )
    frame.attrs["notes"] = notes   # repaired shapes (allocator.inputs.crs.wgs84_shapes)
    return frame


def combine_layers(layers: list[tuple[gpd.GeoDataFrame, float]]) -> gpd.GeoDataFrame:
    """Combine weighted demand layers into one demand per location.

    Each layer's ``value`` is multiplied by its weight; rows at the same
    coordinates (to 1e-7 degrees) are summed and keep the first row's id,
    name and geometry; an id another layer already used gets a ``~n`` suffix
    (ids are otherwise kept as given). Order follows first appearance, so results are stable.
    """
    weighted = []
    for frame, weight in layers:
        part = frame.copy()
        part["value"] = part["value"] * weight
        weighted.append(part)
    allrows = pd.concat(weighted, ignore_index=True)
    key = location_keys(allrows)
    allrows["_key"] = pd.factorize(pd.Series(key, dtype=object))[0]
    first = allrows.drop_duplicates("_key").set_index("_key")
    first["value"] = allrows.groupby("_key")["value"].sum()
    if not (first["value"] <= MAX_VALUE).all():
        raise AllocatorError(
            f"the weighted demand of a location exceeds {MAX_VALUE:g} (at most {first['value'].max():g})",
            field="demand[].weight / services[].demand_weights",
            fix="check the layers' weights: weight x population must stay a count of people")
    if first["id"].duplicated().any():
        first["id"] = _unique_ids(first["id"].tolist())
    return gpd.GeoDataFrame(first.reset_index(drop=True)[COLUMNS], geometry="geometry", crs="EPSG:4326")


def _unique_ids(ids: list[str]) -> list[str]:
    """``ids`` with each repeat given the first free ``~n`` suffix: the first of an id keeps it, and no new id
    equals another (a layer may already hold ``a~1``)."""
    taken, seen, out = set(ids), set(), []
    for i in ids:
        if i in seen:
            i = next(f"{i}~{n}" for n in itertools.count(1) if f"{i}~{n}" not in taken)
            taken.add(i)
        seen.add(i)
        out.append(i)
    return out


def _read_csv(path: Path, spec: LayerSpec, field: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with reading_csv(path, f"{field}.source"):
        table = pd.read_csv(path, dtype={c: str for c in (spec.id, spec.h3) if c}, **CSV_OPTIONS)
    if spec.h3:
        cells = _column(table, spec.h3, path, f"{field}.h3").astype(str).str.strip()
        invalid = ~cells.map(_is_cell).astype(bool)
        if invalid.any():
            raise AllocatorError(
                f"{int(invalid.sum())} values are not valid H3 cells (first: {cells[invalid].iloc[0]!r})",
                file=path, field=f"{field}.h3", fix="the h3 column must hold H3 indexes such as 89a901291abffff",
            )
        centres = [h3.cell_to_latlng(c) for c in cells]
        located = pd.DataFrame({
            "lat": [c[0] for c in centres],
            "lon": [c[1] for c in centres],
            "geometry": [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells],
        })
    elif spec.lon and spec.lat:
        lon = pd.to_numeric(_column(table, spec.lon, path, f"{field}.lon"), errors="coerce")
        lat = pd.to_numeric(_column(table, spec.lat, path, f"{field}.lat"), errors="coerce")
        check_lonlat(lon.to_numpy(float), lat.to_numpy(float), file=path, field=f"{field}.lon/lat")
        located = pd.DataFrame({"lon": lon, "lat": lat,
                                "geometry": [Point(x, y) for x, y in zip(lon, lat)]})
    else:
        raise AllocatorError("a CSV layer needs an 'h3' column or 'lon' and 'lat' columns",
                             file=path, field=field, fix=f"add h3: <column> or lon:/lat: to {field}")
    return table, located


def _read_vector(path: Path, spec: LayerSpec, field: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    try:
        frame = gpd.read_file(path, layer=spec.layer) if spec.layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise AllocatorError(f"cannot read the layer ({exc})", file=path, field=f"{field}.source",
                             fix="check the file and, for a GeoPackage, the 'layer' name") from None
    frame, notes = wgs84_shapes(frame, file=path, field=f"{field}.source")
    return pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True), locate(frame.geometry), notes


def locate(geometry: gpd.GeoSeries) -> pd.DataFrame:
    """``lon``, ``lat`` and ``geometry`` of each shape: its centroid, or a point inside a polygon whose centroid is not.

    Centroids are taken in the shapes' metric CRS (:func:`allocator.inputs.crs.shapes_metric_crs`: their UTM
    zone), so they are true area centroids.
    """
    geometry = geometry.to_crs("EPSG:4326")
    projected = geometry.to_crs(shapes_metric_crs(geometry))
    points = projected.centroid
    outside = ~projected.contains(points) & projected.geom_type.isin(["Polygon", "MultiPolygon"])
    points[outside] = projected[outside].representative_point()
    points = points.to_crs("EPSG:4326")
    return pd.DataFrame({"lon": points.x.to_numpy(), "lat": points.y.to_numpy(), "geometry": geometry.to_numpy()})


def _is_cell(text: str) -> bool:
    """Whether ``text`` is an H3 index (h3 raises OverflowError for numbers beyond 64 bits or negative)."""
    try:
        return bool(h3.is_valid_cell(text))
    except OverflowError:
        return False


def _column(table: pd.DataFrame, name: str, path: Path, field: str) -> pd.Series:
    if name not in table.columns:
        raise AllocatorError(f"column '{name}' not found", file=path, field=field,
                             fix="columns are: " + ", ".join(map(str, table.columns)))
    return table[name].reset_index(drop=True)


def _ids(table: pd.DataFrame, column: str | None, path: Path, field: str) -> pd.Series:
    ids = (_column(table, column, path, f"{field}.id").astype(str) if column
           else pd.Series(np.arange(len(table))).astype(str))
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise AllocatorError(f"{len(duplicated)} duplicate ids (first: {duplicated.iloc[0]!r})",
                             file=path, field=f"{field}.id", fix="ids must be unique within a layer")
    return ids


def _values(table: pd.DataFrame, column: str | None, path: Path, field: str, nan_is_zero: bool,
            label: str | None = None) -> np.ndarray:
    """The numbers of ``column``: finite, >= 0 and at most :data:`MAX_VALUE`; errors name the first bad line."""
    if column is None:
        return np.ones(len(table))
    sub = label or f"{field}.{'count' if nan_is_zero else 'population'}"
    raw = _column(table, column, path, sub)
    values = pd.to_numeric(raw, errors="coerce")

    def fail(mask: np.ndarray, problem: str, fix: str) -> None:
        rows = np.flatnonzero(mask)
        if rows.size:
            more = f" ({rows.size:,} rows like this)" if rows.size > 1 else ""
            raise AllocatorError(f"column '{column}' {problem} (first: {raw.iloc[rows[0]]!r}){more}", file=path,
                                 line=int(rows[0]) + 2 if path.suffix.lower() == ".csv" else None, field=sub, fix=fix)

    fail((values.isna() & raw.notna()).to_numpy(), "has non-numeric values", "use numbers only")
    if not nan_is_zero:
        fail(values.isna().to_numpy(), "has empty values",
             "fill them in (0 if nobody lives there)" if label is None
             else f"give every row a number in '{column}', or one number for every site instead of a column")
    numbers = values.fillna(0.0).to_numpy(float)
    fail(numbers < 0, "has negative values", "populations, counts, costs and capacities must be >= 0")
    fail(~(numbers <= MAX_VALUE), f"has values that are infinite or above {MAX_VALUE:g}",
         "give finite numbers in the column's unit (people, facilities, money)")
    return numbers


def location_keys(frame: pd.DataFrame) -> list[tuple[float, float]]:
    """The (lon, lat) of each row rounded to LOCATION_DIGITS: what tells one location from another."""
    return list(zip(frame["lon"].round(LOCATION_DIGITS), frame["lat"].round(LOCATION_DIGITS), strict=True))
