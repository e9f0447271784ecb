"""A scenario's demand layer: its file read (:func:`allocator.inputs.layers.read_layer`), then spread over
residential buildings when the layer asks (:mod:`allocator.inputs.dasymetric`).

Run notes (the raster's total, the spreading) are in the frame's ``attrs["notes"]``.
"""

from __future__ import annotations

import geopandas as gpd

from allocator.inputs.dasymetric import spread_over_buildings
from allocator.inputs.layers import read_layer
from allocator.inputs.osm_features import osm_file, read_features
from allocator.scenario.loader import LoadedScenario


def read_demand(scenario: LoadedScenario, index: int) -> gpd.GeoDataFrame:
    """Demand layer ``index`` of ``scenario`` as layer columns (``value``: people)."""
    layer = scenario.spec.demand[index]
    field = f"demand[{index}]"
    frame = read_layer(scenario.resolve_path(str(layer.source), f"{field}.source"), layer,
                       value_column=layer.population, field=field, resolve=scenario.resolve_path)
    notes = list(frame.attrs.get("notes", []))
    if layer.dasymetric is not None:
        path = osm_file(scenario, layer.dasymetric.osm, f"{field}.dasymetric.osm")
        buildings = read_features(path, {"building": layer.dasymetric.buildings}, f"{field}.dasymetric",
                                  scenario.spec.language)
        frame, spread = spread_over_buildings(frame, buildings)
        notes.append(spread.note(field))
    frame.attrs["notes"] = notes
    return frame
