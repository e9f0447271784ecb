"""Districts from OpenStreetMap: the administrative boundaries of one ``admin_level``, as named polygons.

Every relation (or named closed way) tagged ``boundary=administrative`` with
the asked ``admin_level`` is assembled into a (multi)polygon by osmium's area
handler. Boundaries the extract cuts (a neighbouring country's
municipalities, whose outer ways are missing) cannot be closed and are left
out; so are unnamed closed ways carrying the same tags, which are pieces of a
relation's outline mapped twice. ``admin_level`` 8 is a municipality in most
countries (see the OSM wiki's table per country), 4 a state or region, 2 a
country.

:func:`read_places` reads the named parts of a city (suburbs, quarters,
neighbourhoods, areas or nodes) that name districts built from a grid
(:meth:`allocator.inputs.place_names.StreetIndex.place`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import geopandas as gpd
import osmium
import shapely

from allocator.errors import AllocatorError
from allocator.inputs.osm_features import area_geometry, display_name, scan


def read_districts(path: Path, admin_level: int, field: str, language: str = "en") -> gpd.GeoDataFrame:
    """Columns ``id`` (``relation/<id>`` or ``way/<id>``), ``name`` and ``geometry`` (EPSG:4326).

    ``name`` is ``name:<language>``, else ``name``, else the id. No boundary at
    that level is an error listing the levels the file has.
    """
    processor = (osmium.FileProcessor(str(path))
                 .with_areas(osmium.filter.TagFilter(("boundary", "administrative")))
                 .with_filter(osmium.filter.EntityFilter(osmium.osm.AREA | osmium.osm.RELATION))
                 .with_filter(osmium.filter.TagFilter(("boundary", "administrative"))))
    factory = osmium.geom.WKBFactory()
    tagged: Counter[str] = Counter()   # relations per admin_level, assembled or not
    rows = []
    for obj in scan(path, processor):
        level = obj.tags.get("admin_level", "")
        if isinstance(obj, osmium.osm.Relation):
            tagged[level] += 1
            continue
        if level != str(admin_level) or (obj.from_way() and "name" not in obj.tags):
            continue   # an unnamed closed way tagged as a boundary is a piece of a relation's outline
        geometry = area_geometry(obj, factory)
        if geometry is None or geometry.is_empty:
            continue
        osm_id = f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
        tags = {tag.k: tag.v for tag in obj.tags}
        rows.append({"id": osm_id, "name": display_name(tags, language, osm_id), "geometry": geometry})
    if not rows:
        cut = tagged[str(admin_level)]
        levels = sorted(tagged.items(), key=_level_order)
        found = ", ".join(f"{level or 'none'} ({n})" for level, n in levels) or "none"
        raise AllocatorError(f"no administrative boundary of admin_level {admin_level} could be assembled"
                             + (f": the extract cuts all {cut} of them (their outer ways are missing)" if cut else ""),
                             file=path, field=f"{field}.admin_level",
                             fix=f"use an extract that holds the whole boundaries; admin_level of the boundary "
                                 f"relations in this file: {found}")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _level_order(item: tuple[str, int]) -> tuple[int, str]:
    """admin_level values in numeric order (``"2"`` before ``"10"``), odd values last."""
    return (int(item[0]) if item[0].isdigit() else 99, item[0])


#: The OpenStreetMap ``place`` values that name a part of a city (the wiki's order, larger first).
PLACE_KINDS = ("suburb", "quarter", "neighbourhood")
#: ``admin_level`` values below a municipality that name a part of a city (districts, sub-districts).
CITY_PART_LEVELS = ("9", "10", "11")
_OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".xml")


def read_places(path: Path, language: str = "en") -> gpd.GeoDataFrame:
    """The named parts of a city in an OSM file: ``place`` = suburb, quarter or neighbourhood (areas and nodes)
    and administrative areas of ``admin_level`` 9 to 11. Columns ``name`` and ``geometry`` (EPSG:4326; points for
    nodes); none found is an empty frame. Boundaries the extract cuts cannot be assembled and are left out."""
    def wanted(tags: osmium.osm.TagList) -> bool:
        return (tags.get("place") in PLACE_KINDS
                or (tags.get("boundary") == "administrative" and tags.get("admin_level") in CITY_PART_LEVELS))

    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_areas(osmium.filter.KeyFilter("place", "boundary"))
                 .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.AREA))
                 .with_filter(osmium.filter.KeyFilter("place", "boundary")))
    factory = osmium.geom.WKBFactory()
    rows = []
    for obj in scan(path, processor):
        if not wanted(obj.tags) or "name" not in obj.tags:
            continue
        tags = {tag.k: tag.v for tag in obj.tags}
        if isinstance(obj, osmium.osm.Node):
            geometry = shapely.Point(obj.location.lon, obj.location.lat)
        else:
            geometry = area_geometry(obj, factory)
        if geometry is not None and not geometry.is_empty:
            rows.append({"name": display_name(tags, language, ""), "geometry": geometry})
    return gpd.GeoDataFrame(rows, columns=["name", "geometry"], geometry="geometry", crs="EPSG:4326")


def osm_places(file: Path | None, language: str = "en") -> gpd.GeoDataFrame | None:
    """:func:`read_places` of a road network's file, None when the network has no OSM file (a graphml file, a
    query, a graph given in Python) or the file names no part of the city."""
    if file is None or not str(file).lower().endswith(_OSM_SUFFIXES):
        return None
    places = read_places(Path(file), language)
    return places if len(places) else None
