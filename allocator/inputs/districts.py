"""Districts: the group of each demand location, from H3 parents, a demand column, polygons or OSM boundaries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
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
    return _polygon_keys(demand, polygons, spec, origin)


def _column_keys(demand: pd.DataFrame, column: str, path: Path, layer: LayerSpec, origin: Origin) -> pd.Series:
    """The district of each demand location from a column of its layer's file, matched by id."""
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path, dtype=str)
    else:
        table = pd.DataFrame(gpd.read_file(path, layer=layer.layer).drop(columns="geometry"))
    if column not in table:
        raise AllocatorError(f"column '{column}' is not in the demand layer", file=origin.scenario,
                             field=origin.at("column").field, fix=f"columns are: {', '.join(map(str, table.columns))}")
    ids = table[layer.id].astype(str) if layer.id else pd.Series(range(len(table))).astype(str)
    lookup = dict(zip(ids, table[column].astype(str)))
    return pd.Series([lookup.get(str(i).split("~")[0], "unknown") for i in demand["id"]], index=demand.index,
                     dtype=str)


def _polygon_keys(demand: pd.DataFrame, polygons: gpd.GeoDataFrame, spec: DistrictSpec,
                  origin: Origin) -> tuple[pd.Series, pd.Series]:
    """Key and name of the polygon each demand point falls in ("outside" for none)."""
    if polygons.crs is None:
        raise AllocatorError("the district layer has no CRS", file=origin.scenario, field=origin.at("source").field,
                             fix="save the polygons with a coordinate reference system")
    for column, name in ((spec.id, "id"), (spec.name_column, "name_column")):
        if column is not None and column not in polygons:
            raise AllocatorError(f"column '{column}' is not in the district layer", file=origin.scenario,
                                 field=origin.at(name).field,
                                 fix=f"columns are: {', '.join(map(str, polygons.columns))}")
    polygons = polygons.to_crs("EPSG:4326").reset_index(drop=True)
    polygons["_key"] = polygons[spec.id].astype(str) if spec.id else polygons.index.astype(str)
    polygons["_name"] = polygons[spec.name_column].astype(str) if spec.name_column else polygons["_key"]
    points = gpd.GeoDataFrame({"_row": np.arange(len(demand))},
                              geometry=gpd.points_from_xy(demand["lon"], demand["lat"]), crs="EPSG:4326")
    joined = gpd.sjoin(points, polygons[["_key", "_name", "geometry"]], how="left", predicate="within")
    joined = joined.drop_duplicates("_row").sort_values("_row")
    keys = pd.Series(joined["_key"].fillna("outside").to_numpy(str), index=demand.index, dtype=str)
    names = pd.Series(joined["_name"].fillna(OUTSIDE_NAME).to_numpy(str), index=demand.index, dtype=str)
    return keys, names
