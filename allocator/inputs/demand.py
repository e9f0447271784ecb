"""A demand layer: its file read (:func:`allocator.inputs.layer_file.read_layer_file`), then spread over
residential buildings when the layer asks (:mod:`allocator.inputs.dasymetric`).

Run notes (the raster's total, the spreading) are in the frame's ``attrs["notes"]``.
"""

from __future__ import annotations

import geopandas as gpd

from allocator.inputs.dasymetric import spread_over_buildings
from allocator.inputs.layer_file import read_layer_file
from allocator.inputs.osm_features import read_features
from allocator.scenario.paths import LayerFiles
from allocator.scenario.schema import DemandLayer


def read_demand(layer: DemandLayer, files: LayerFiles, field: str, language: str = "en") -> gpd.GeoDataFrame:
    """The demand ``layer`` read from its resolved ``files``, as layer columns (``value``: people).

    ``field`` names the layer in error messages (``demand[0]``); ``language``
    chooses the buildings' names (``name:<language>``).
    """
    frame = read_layer_file(files.source, layer, field=field, value_column=layer.population, zones=files.zones)
    notes = list(frame.attrs.get("notes", []))
    if layer.dasymetric is not None:
        if files.buildings is None:
            raise ValueError(f"{field}.dasymetric needs its OpenStreetMap file resolved (LayerFiles.buildings)")
        buildings = read_features(files.buildings, {"building": layer.dasymetric.buildings}, f"{field}.dasymetric",
                                  language)
        frame, spread = spread_over_buildings(frame, buildings)
        notes.append(spread.note(field))
    frame.attrs["notes"] = notes
    return frame
