"""One layer file into point locations, whatever its format: a GeoTIFF population raster
(:mod:`allocator.inputs.raster`), else a table or vector file (:mod:`allocator.inputs.layers`)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from allocator.files import checked_file
from allocator.inputs.layers import read_layer
from allocator.inputs.raster import read_raster_layer
from allocator.scenario.schema import RASTER_SUFFIXES, LayerSpec


def read_layer_file(path: Path, spec: LayerSpec, *, field: str, value_column: str | None = None,
                    nan_value_is_zero: bool = False, extra_columns: dict[str, str] | None = None,
                    labels: dict[str, str] | None = None, zones: Path | None = None) -> gpd.GeoDataFrame:
    """The layer ``spec`` read from ``path`` (resolved): a raster (``zones``: its zone polygons' file, resolved)
    or a table or vector file (the other options, see :func:`allocator.inputs.layers.read_layer`)."""
    if path.suffix.lower() in RASTER_SUFFIXES:
        checked_file(path, field=f"{field}.source")   # read_layer checks the other files itself
        return read_raster_layer(path, spec, field, zones)
    return read_layer(path, spec, value_column=value_column, field=field, nan_value_is_zero=nan_value_is_zero,
                      extra_columns=extra_columns, labels=labels)
