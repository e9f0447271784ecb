"""Facilities and candidate sites from OpenStreetMap: the nodes, ways and areas with the asked tags.

``{osm: FILE, tags: {amenity: [clinic, doctors, hospital]}}`` selects every
feature that has one of the listed values for one of the listed keys (pairs
are alternatives: ``{amenity: [hospital], healthcare: [clinic]}`` matches
either). Read with pyosmium:

- a node is a site at its position;
- a way is a site at its centroid: a closed way (4+ located nodes) as the
  polygon it encloses, an open one as its line; node references missing from
  the file (extracts clipped at their edge) are dropped, and a way with no
  located node is skipped;
- a multipolygon relation is assembled into its area (osmium's area
  handler) and is a site at its centroid.

Centroids are area (or length) centroids in the features' UTM zone, moved to
a point inside the shape when they fall outside it
(:func:`allocator.inputs.layers.locate`). Each site keeps its OSM id as
``id`` (``node/123``, ``way/45``, ``relation/6``, as on openstreetmap.org) and
its name from ``name:<language>`` when the report's language has one, else
``name``, else its address (``addr:street`` and ``addr:housenumber``) followed by
the matched tag value ("Mannerheimintie 5 — building"), else the tag value alone
as an unnamed feature (:func:`allocator.inputs.place_names.unnamed`): the pages
then name it by its streets ("Mannerheimintie, near Arkadiankatu — building").
The tag value is the key for ``yes`` (``building=yes``: "building").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmium
import shapely
import shapely.wkb
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from allocator.errors import AllocatorError
from allocator.inputs.layers import COLUMNS, locate
from allocator.inputs.place_names import UNNAMED, unnamed


def scan(path: Path, processor: osmium.FileProcessor) -> Iterator[Any]:
    """The objects of ``processor``, with libosmium's read errors (and coordinates out of range) as an
    :class:`AllocatorError` naming ``path``."""
    try:
        yield from processor
    except osmium.InvalidLocationError as exc:   # an XML coordinate out of range (lon -466): not a RuntimeError
        raise AllocatorError(f"a node's coordinates are out of range ({exc})", file=path,
                             fix="OpenStreetMap coordinates are WGS84 degrees (longitude -180..180, latitude -90..90): "
                                 "fix the node, or export the file again") from None
    except RuntimeError as exc:  # libosmium reports unreadable input as RuntimeError
        raise AllocatorError(f"cannot read OpenStreetMap data: {exc}", file=path,
                             fix="check that the file is a complete OSM PBF or XML file (try `osmium fileinfo`)") from None


def area_geometry(area: osmium.osm.Area, factory: osmium.geom.WKBFactory) -> BaseGeometry | None:
    """An assembled area as a valid shapely (multi)polygon, ``None`` when osmium cannot build it."""
    try:
        return shapely.make_valid(shapely.wkb.loads(factory.create_multipolygon(area), hex=True))
    except RuntimeError:   # invalid rings
        return None


def read_features(path: Path, tags: Mapping[str, list[str]], field: str, language: str = "en") -> gpd.GeoDataFrame:
    """The sites of ``path`` matching ``tags`` (see the module docstring), as a layer frame.

    Columns :data:`allocator.inputs.layers.COLUMNS` (``value`` is 1, ``geometry``
    the feature's own shape) and ``osm_id``. No match is an error that lists
    the most common values found for the asked keys.
    """
    wanted = {key: set(values) for key, values in tags.items()}
    keys = osmium.filter.KeyFilter(*wanted)
    processor = (osmium.FileProcessor(str(path)).with_locations().with_areas(keys)
                 .with_filter(osmium.filter.KeyFilter(*wanted)))
    factory = osmium.geom.WKBFactory()
    found: Counter[tuple[str, str]] = Counter()
    rows: list[dict[str, Any]] = []
    for obj in scan(path, processor):
        if isinstance(obj, osmium.osm.Area) and obj.from_way():
            continue   # closed ways are read as ways, below
        own = {tag.k: tag.v for tag in obj.tags}
        match = next(((k, own[k]) for k in wanted if own.get(k) in wanted[k]), None)
        found.update((k, own[k]) for k in wanted if k in own)
        if match is None:
            continue
        if isinstance(obj, osmium.osm.Node):
            kind, geometry = "node", Point(obj.location.lon, obj.location.lat)
        elif isinstance(obj, osmium.osm.Way):
            kind, geometry = "way", _way_geometry(obj)
        else:
            kind, geometry = "relation", area_geometry(obj, factory)
        if geometry is None or geometry.is_empty:
            continue
        osm_id = f"{kind}/{obj.orig_id() if kind == 'relation' else obj.id}"
        rows.append({"id": osm_id, "osm_id": osm_id, "value": 1.0, "name": feature_name(own, language, _label(*match)),
                     "geometry": geometry})
    if not rows:
        raise AllocatorError(f"no OpenStreetMap feature matches {_query_text(tags)}", file=path, field=f"{field}.tags",
                             fix=_found_instead(wanted, found))
    features = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    located = locate(features.geometry)
    features["lon"], features["lat"] = located["lon"].to_numpy(), located["lat"].to_numpy()
    return features[[*COLUMNS, "osm_id"]]


def display_name(tags: Mapping[str, str], language: str, fallback: str) -> str:
    """``name:<language>``, else ``name``, else ``fallback``."""
    return tags.get(f"name:{language}") or tags.get("name") or fallback


def feature_name(tags: Mapping[str, str], language: str, kind: str) -> str:
    """A matched feature's name cell: its own name, else its address with ``kind`` after it, else
    :func:`~allocator.inputs.place_names.unnamed` ``kind`` (labelled later by its streets)."""
    own = display_name(tags, language, "")
    if own:
        return own
    street = tags.get("addr:street", "").strip()
    if not street:
        return unnamed(kind)
    return f"{street} {tags.get('addr:housenumber', '').strip()}".rstrip() + f" {UNNAMED}{kind}"


def _label(key: str, value: str) -> str:
    """What an unnamed feature is called: its tag value (``pharmacy``), or its key for ``yes``."""
    return key if value == "yes" else value


def _way_geometry(way: osmium.osm.Way) -> BaseGeometry | None:
    """A way's shape from its located nodes: the polygon of a closed way, else its line (or point)."""
    coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
    if not coords:
        return None
    closed = len(way.nodes) >= 4 and way.nodes[0].ref == way.nodes[-1].ref
    if closed and len(coords) >= 4 and coords[0] == coords[-1]:
        return shapely.make_valid(Polygon(coords))
    return LineString(coords) if len(set(coords)) > 1 else Point(coords[0])


def _query_text(tags: Mapping[str, list[str]]) -> str:
    return " or ".join(f"{key}={'|'.join(values)}" for key, values in tags.items())


def _found_instead(wanted: Mapping[str, set[str]], found: Counter[tuple[str, str]]) -> str:
    """What the file has for the asked keys, most common first (or that it has none of them)."""
    parts = []
    for key in wanted:
        common = [(v, n) for (k, v), n in found.most_common() if k == key][:8]
        parts.append(f"most common {key} values here: " + ", ".join(f"{v} ({n})" for v, n in common) if common
                     else f"no feature in this file has a '{key}' tag")
    return "; ".join(parts) + " (check the spelling, or use a larger extract)"
