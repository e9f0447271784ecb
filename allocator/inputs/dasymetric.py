"""Dasymetric mapping: a coarse population layer spread over the residential buildings inside each zone.

Each demand location with an area (an H3 cell, a polygon, a raster pixel or
zone) is a *zone*. A building belongs to the zone holding its location point
(its footprint centroid, :func:`allocator.inputs.layers.locate`; the first such
zone when zones overlap). A zone's people are shared among its buildings in
proportion to their footprint area (m², in the buildings' UTM zone); buildings
mapped as a single node have no footprint and get none. A zone with no
building footprint, or a location without an area, keeps its people where it
was. The last building of each zone gets the zone's people less the others',
so every zone's total is kept (to floating-point rounding, 1e-12 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from allocator.inputs.crs import shapes_metric_crs
from allocator.inputs.layers import COLUMNS


@dataclass(frozen=True)
class Spread:
    """What spreading did, for the run note."""

    people: float
    zones: int
    zones_spread: int
    buildings: int

    def note(self, field: str) -> str:
        kept = self.zones - self.zones_spread
        return (f"{field}: {self.people:,.0f} people of {self.zones_spread:,} of {self.zones:,} zones spread over "
                f"{self.buildings:,} residential buildings by footprint area"
                + (f"; {kept:,} zones without a building footprint kept their people at their centre" if kept else ""))


def spread_over_buildings(zones: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, Spread]:
    """The demand rows of ``zones`` (layer columns) moved onto ``buildings`` (layer columns) as the module says.

    A building row's id is ``<zone id>/<building id>`` and its name the zone's.
    """
    zones = zones.reset_index(drop=True)
    area = buildings.geometry.to_crs(shapes_metric_crs(buildings.geometry)).area.to_numpy()
    area = np.where(buildings.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy(), area, 0.0)
    houses = buildings.assign(_area=area)[area > 0].reset_index(drop=True)
    has_area = zones.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy() & (zones["value"] > 0).to_numpy()
    tree = shapely.STRtree(zones.geometry.to_numpy())
    house_index, zone_index = tree.query(shapely.points(houses["lon"], houses["lat"]), predicate="intersects")
    pairs = pd.DataFrame({"house": house_index, "zone": zone_index})
    pairs = pairs[has_area[pairs["zone"].to_numpy()]].sort_values(["house", "zone"]).drop_duplicates("house")
    pairs["area"] = houses["_area"].to_numpy()[pairs["house"].to_numpy()]
    pairs = pairs.sort_values(["zone", "area", "house"]).reset_index(drop=True)
    zone_area = pairs.groupby("zone")["area"].transform("sum").to_numpy()
    zone_people = zones["value"].to_numpy()[pairs["zone"].to_numpy()]
    share = zone_people * pairs["area"].to_numpy() / zone_area
    last = ~pairs["zone"].duplicated(keep="last").to_numpy()   # the largest building of each zone
    others = pd.Series(np.where(last, 0.0, share)).groupby(pairs["zone"].to_numpy()).transform("sum").to_numpy()
    share[last] = zone_people[last] - others[last]
    house_rows = houses.iloc[pairs["house"].to_numpy()].reset_index(drop=True)
    zone_rows = zones.iloc[pairs["zone"].to_numpy()].reset_index(drop=True)
    spread = gpd.GeoDataFrame({"id": zone_rows["id"].astype(str) + "/" + house_rows["id"].astype(str),
                               "value": share, "name": zone_rows["name"].to_numpy(),
                               "lon": house_rows["lon"].to_numpy(), "lat": house_rows["lat"].to_numpy()},
                              geometry=house_rows.geometry.to_numpy(), crs="EPSG:4326")
    spread_zones = np.zeros(len(zones), dtype=bool)
    spread_zones[pairs["zone"].unique()] = True
    kept = zones[~spread_zones]
    frame = gpd.GeoDataFrame(pd.concat([kept[COLUMNS], spread[COLUMNS]], ignore_index=True),
                             geometry="geometry", crs="EPSG:4326")
    summary = Spread(people=float(zones["value"][spread_zones].sum()), zones=int(has_area.sum()),
                     zones_spread=int(spread_zones.sum()), buildings=len(spread))
    return frame, summary
