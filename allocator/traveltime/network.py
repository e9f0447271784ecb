"""Road networks: load OpenStreetMap roads for one travel mode, with travel times.

:func:`load_network` turns a road source into an osmnx-compatible
``networkx.MultiDiGraph`` (graph attribute ``crs="EPSG:4326"``; nodes keyed by
OSM id with ``x``/``y`` = lon/lat; edges with ``osmid``, ``highway``,
``oneway``, ``length`` in metres, ``name``/``maxspeed`` when tagged, and
``travel_time`` in seconds) plus a :class:`NetworkReport` saying what was read,
dropped and assumed.

Sources
-------
``.osm.pbf``/``.pbf``, ``.osm``, ``.osm.bz2``, ``.xml``
    Read with pyosmium.  osmnx cannot read PBF, and ``osmnx.graph_from_xml``
    keeps every way regardless of travel mode, so both formats go through the
    same reader and the same mode filter below.  Way references to nodes
    missing from the file (extracts clipped at their edge) are dropped and the
    way is split there.  Ways without a ``highway`` tag (fences, runways,
    railways, buildings) are not roads: they are skipped and counted.
``.graphml``
    A graph saved by osmnx (``osmnx.save_graphml``), taken as already built for
    the mode: no filter is applied and its oneway edges are kept as they are.
``dict``
    An online osmnx query, which needs internet: ``{"place": "Porto Alegre,
    Brazil"}``, ``{"bbox": [west, south, east, north]}`` or ``{"point": [lat,
    lon], "dist": metres}``.  The Overpass query uses the same mode filter.

Mode filters (:data:`MODE_RULES`, modelled on osmnx's ``network_type`` filters)
------------------------------------------------------------------------------
A way is kept when it has a ``highway`` tag, its ``highway`` value is allowed
and none of its tags has an excluded value.  Every mode excludes ``area=yes``,
``access=private|no`` and ``service=private``.

drive
    ``highway`` in motorway, trunk, primary, secondary, tertiary, unclassified,
    residential, living_street, service, road and the ``_link`` variants;
    excluding ``motor_vehicle``/``motorcar`` = no|private and
    ``service`` = parking|parking_aisle|driveway|emergency_access.
walk
    any ``highway`` except motorway, trunk (and their links), construction,
    proposed, planned, abandoned, razed, platform, raceway, bus_guideway,
    rest_area, services, no; excluding ``foot=no|private`` and roads whose
    sidewalks are mapped as separate ways (``sidewalk*=separate``, as osmnx).
bike
    any ``highway`` except motorway (and links), footway, steps, corridor,
    elevator, escalator, construction, proposed, planned, abandoned, razed,
    platform, raceway, bus_guideway, rest_area, services, no; excluding
    ``bicycle=no|private``.

Oneway streets follow osmnx's rules: walk is two-way everywhere; for drive and
bike ``oneway=yes|true|1`` keeps the way's direction, ``oneway=-1|reverse``
reverses it, and ``junction=roundabout`` is oneway.

Speeds (:func:`edge_speed_kph`)
-------------------------------
walk is 4.8 km/h and bike 15 km/h on every edge.  drive uses the edge's
``maxspeed`` when it parses (``"60"``, ``"30 mph"``, ``"50;60"`` and lists
give the mean), else the default for its ``highway`` type in
:data:`DRIVE_DEFAULT_KPH` (a ``_link`` takes its parent's speed; an unknown
type gets :data:`DRIVE_FALLBACK_KPH`); those edges are counted in
:attr:`NetworkReport.edges_default_speed`.  ``travel_time`` is
``length / speed`` on each OSM segment, floored at :data:`MIN_TRAVEL_TIME_S`
so that two nodes at the same position are not joined for free.

Preparation
-----------
Travel times are computed on the raw segments, then the topology is simplified
with ``osmnx.simplify_graph`` (summing ``length`` and ``travel_time``, so both
are preserved exactly) and only the largest strongly connected component is
kept: every node can reach every other one, so no travel time is infinite for
want of a way back.  A ``.graphml`` file is prepared the same way (its travel
times recomputed from ``length`` for the mode; simplified unless its
``simplified`` graph attribute says it is).

A graph given in Python (:func:`prepare_graph`) is the user's own: it is
never changed and never simplified (simplifying removes nodes the user's
points may lie on).  When every edge has a finite ``travel_time`` (seconds)
those times are kept (the user's own speeds; a time below
:data:`MIN_TRAVEL_TIME_S` is raised to it); otherwise every edge gets the
mode's time from its ``length`` (:func:`add_travel_times`), on a copy.  Then
its largest strongly connected component is kept, as for a file.  With ``cache_dir`` the prepared graph is cached as verified JSON (:mod:`.cache`), keyed by
the source's sha256, the mode and :data:`~allocator.traveltime.network_report.RULES_VERSION` (bump it whenever
a rule in this module changes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx
import osmium
import osmnx as ox
from osmnx._errors import InsufficientResponseError
from tqdm import tqdm

from allocator.errors import AllocatorError
from allocator.files import checked_file
from allocator.inputs.osm_features import scan
from allocator.scenario.catalog import sha256_file
from allocator.traveltime import cache
from allocator.traveltime.network_report import NetworkReport

MODES = ("walk", "bike", "drive")
#: how errors and reports name a graph given in Python (:func:`prepare_graph`)
GIVEN_GRAPH = "networkx graph"

WALK_SPEED_KPH = 4.8
BIKE_SPEED_KPH = 15.0
#: drive speed by ``highway`` type when ``maxspeed`` is missing or unusable.
DRIVE_DEFAULT_KPH: Mapping[str, float] = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
}
#: drive speed for a ``highway`` type not in :data:`DRIVE_DEFAULT_KPH`.
DRIVE_FALLBACK_KPH = 30.0
MIN_TRAVEL_TIME_S = 0.01
#: the longest edge accepted, metres (no road segment is 1,000 km; a larger length is a data error)
MAX_EDGE_LENGTH_M = 1e6

_MPH_TO_KPH = 1.609344
_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse"})
_REVERSED_VALUES = frozenset({"-1", "reverse"})
_PBF_SUFFIXES = (".osm.pbf", ".pbf")
_XML_SUFFIXES = (".osm", ".osm.bz2", ".xml")
_GRAPHML_SUFFIXES = (".graphml",)
_ONLINE_KEYS = ("place", "bbox", "point")
_NOT_IN_USE = frozenset({"abandoned", "construction", "no", "planned", "proposed", "razed"})
_NOT_A_WAY = frozenset({"bus_guideway", "platform", "raceway", "rest_area", "services"})


@dataclass(frozen=True)
class ModeRule:
    """Which OSM ways a travel mode may use, and whether it may ignore oneway.

    ``highways`` lists the allowed ``highway`` values (``None``: any value not
    excluded); ``excluded`` maps a tag to the values that remove a way.
    """

    highways: frozenset[str] | None
    excluded: Mapping[str, frozenset[str]]
    bidirectional: bool

    def accepts(self, tags: Mapping[str, str]) -> bool:
        """Whether a way with these tags belongs to this mode's network."""
        highway = tags.get("highway")
        if highway is None or (self.highways is not None and highway not in self.highways):
            return False
        return not any(tags.get(key) in values for key, values in self.excluded.items())

    def overpass_filter(self) -> str:
        """The same rule as an Overpass QL way filter, for online osmnx queries."""
        parts = ['["highway"]']
        if self.highways is not None:
            parts.append(f'["highway"~"^({"|".join(sorted(self.highways))})$"]')
        parts += [f'["{key}"!~"^({"|".join(sorted(values))})$"]' for key, values in self.excluded.items()]
        return "".join(parts)


_COMMON_EXCLUDED = {
    "area": frozenset({"yes"}),
    "access": frozenset({"private", "no"}),
    "service": frozenset({"private"}),
}
_SEPARATE_SIDEWALKS = {
    key: frozenset({"separate"}) for key in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")
}
_MAJOR_DRIVE = ("motorway", "trunk", "primary", "secondary", "tertiary")

MODE_RULES: Mapping[str, ModeRule] = {
    "drive": ModeRule(
        highways=frozenset(
            [
                *_MAJOR_DRIVE,
                *(f"{h}_link" for h in _MAJOR_DRIVE),
                *("unclassified", "residential", "living_street", "service", "road"),
            ]
        ),
        excluded={
            **_COMMON_EXCLUDED,
            "motor_vehicle": frozenset({"no", "private"}),
            "motorcar": frozenset({"no", "private"}),
            "service": frozenset({"private", "parking", "parking_aisle", "driveway", "emergency_access"}),
        },
        bidirectional=False,
    ),
    "walk": ModeRule(
        highways=None,
        excluded={
            **_COMMON_EXCLUDED,
            "highway": _NOT_IN_USE | _NOT_A_WAY | {"motorway", "motorway_link", "trunk", "trunk_link"},
            "foot": frozenset({"no", "private"}),
            **_SEPARATE_SIDEWALKS,
        },
        bidirectional=True,
    ),
    "bike": ModeRule(
        highways=None,
        excluded={
            **_COMMON_EXCLUDED,
            "highway": _NOT_IN_USE
            | _NOT_A_WAY
            | {"motorway", "motorway_link", "footway", "steps", "corridor", "elevator", "escalator"},
            "bicycle": frozenset({"no", "private"}),
        },
        bidirectional=False,
    ),
}


class _RawNetwork(NamedTuple):
    """A mode-filtered graph before preparation, with the file's way counts."""

    graph: nx.MultiDiGraph
    ways_read: int
    ways_without_highway: int


class _Source(NamedTuple):
    """A validated road source: how to describe, cache-key and read it for a mode."""

    description: str
    cache_key: str
    read: Callable[[str], _RawNetwork]


def load_network(
    source: str | Path | dict[str, Any],
    mode: str,
    *,
    cache_dir: Path | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[nx.MultiDiGraph, NetworkReport]:
    """Load the road network of ``source`` for ``mode``, with edge travel times.

    Parameters
    ----------
    source
        A ``.osm.pbf``/``.pbf``/``.osm``/``.osm.bz2``/``.xml``/``.graphml``
        file, or an online osmnx query dict (see the module docstring).
    mode
        One of :data:`MODES`.
    cache_dir
        Folder for prepared graphs; a second call with the same source bytes
        (or query), mode and rules version skips parsing.
    progress
        Show a progress bar while reading OSM ways.
    log
        Told when a cache entry fails verification and is rebuilt.

    Returns
    -------
    graph, report
        The largest strongly connected component, every edge with a finite
        positive ``travel_time`` (seconds), and what was read and dropped.

    Raises
    ------
    AllocatorError
        Unknown mode, missing or unreadable file, unsupported extension, bad
        query, no internet for an online query, no roads for this mode, nodes
        without a finite position, or a cache folder that is not a folder.
    """
    start = time.perf_counter()
    _check_mode(mode)
    folder = cache.cache_folder(Path(cache_dir)) if cache_dir is not None else None
    src = _resolve_source(source, progress)
    key = cache.CacheKey(src.cache_key, mode)
    cache_file = cache.cache_file(folder, key) if folder is not None else None
    if cache_file is not None:
        cached = cache.read_cache(cache_file, key)
        note = cached.note
        if cached.graph is not None and cached.report is not None:
            try:
                check_graph(cached.graph, str(cache_file), travel_times=True)
                # the cache is keyed by the file's content: the same roads read from another path say that path
                return cached.graph, dataclasses.replace(cached.report, source=src.description, from_cache=True,
                                                         seconds=time.perf_counter() - start)
            except AllocatorError as exc:   # verified but unusable downstream: never serve it again
                cache.discard(cache_file)
                note = f"cache file {cache_file.name} was discarded and the network rebuilt: {exc.message}"
        if note and log is not None:
            log(note)

    raw = src.read(mode)
    loaded, kept = _prepared(raw.graph, mode, src.description)
    report = graph_report(src.description, mode, loaded, kept, start, ways=(raw.ways_read, raw.ways_without_highway))
    if cache_file is not None:
        cache.write_cache(cache_file, key, kept, report)
    return kept, report


def prepare_graph(graph: nx.MultiDiGraph, mode: str) -> tuple[nx.MultiDiGraph, NetworkReport]:
    """A road graph built elsewhere (e.g. by osmnx) ready for snapping and shortest paths, and its report.

    ``graph`` needs nodes with ``x``/``y`` (lon/lat in degrees) and, unless
    every edge has a finite ``travel_time``, edges with ``length`` (metres),
    as osmnx gives them.  It is taken as already built for ``mode`` (no
    filter) and is never changed nor simplified:

    - every edge has a finite ``travel_time`` (seconds, >= 0): those times are
      kept, a user's own speeds (a time below :data:`MIN_TRAVEL_TIME_S` is
      raised to it on a copy, as :func:`load_network` floors its own);
    - otherwise every edge's time is computed from its ``length`` at the
      mode's speed (:func:`add_travel_times`, on a copy), as for a file.

    The result is the largest strongly connected component (the graph itself
    when it is strongly connected and nothing had to change).

    Raises
    ------
    AllocatorError
        Unknown mode, a node without a finite position, an edge without a
        valid length (when times are computed) or with a negative
        ``travel_time``, no edges, or no two nodes connected both ways.
    """
    start = time.perf_counter()
    _check_mode(mode)
    check_graph(graph, GIVEN_GRAPH)
    loaded = _with_travel_times(graph, mode)
    kept = _largest_component(loaded, mode, GIVEN_GRAPH)
    return kept, graph_report(GIVEN_GRAPH, mode, loaded, kept, start)


def graph_report(source: str, mode: str, loaded: nx.MultiDiGraph, kept: nx.MultiDiGraph, start: float, *,
                 ways: tuple[int, int] = (0, 0)) -> NetworkReport:
    """What a freshly prepared graph kept: ``loaded`` (with travel times) against ``kept`` (its largest
    strongly connected component); ``ways``: OSM ways read and those without a highway tag (none for a graph);
    ``start``: the perf_counter when preparing began."""
    return NetworkReport(
        source=source,
        mode=mode,
        ways_read=ways[0],
        ways_without_highway=ways[1],
        nodes_loaded=loaded.number_of_nodes(),
        edges_loaded=loaded.number_of_edges(),
        nodes_kept=kept.number_of_nodes(),
        edges_kept=kept.number_of_edges(),
        dropped_node_share=1.0 - kept.number_of_nodes() / loaded.number_of_nodes(),
        edges_default_speed=sum(1 for *_, fb in kept.edges(data="speed_fallback") if fb),
        from_cache=False,
        seconds=time.perf_counter() - start,
    )


def _with_travel_times(graph: nx.MultiDiGraph, mode: str) -> nx.MultiDiGraph:
    """``graph`` with its own travel times when every edge has a finite one, else a copy with the mode's."""
    times = [seconds for *_, seconds in graph.edges(data="travel_time")]
    if not all(_finite(seconds) for seconds in times):
        copy = graph.copy()
        try:
            add_travel_times(copy, mode)
        except AllocatorError as exc:
            raise exc.with_file(GIVEN_GRAPH) from None
        return copy
    for u, v, seconds in graph.edges(data="travel_time"):
        if seconds < 0:
            raise AllocatorError(f"edge {u}-{v} has a negative travel_time ({seconds!r})", file=GIVEN_GRAPH,
                                 field="travel_time", fix="give travel times in seconds >= 0, or drop the "
                                 "travel_time attribute to compute them from length for the mode")
    if all(seconds >= MIN_TRAVEL_TIME_S for seconds in times):
        return graph
    copy = graph.copy()
    for *_, data in copy.edges(data=True):
        data["travel_time"] = max(data["travel_time"], MIN_TRAVEL_TIME_S)
    return copy


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise AllocatorError(f"unknown travel mode {mode!r}", field="mode", fix=f"use one of {', '.join(MODES)}")


def _prepared(graph: nx.MultiDiGraph, mode: str, description: str) -> tuple[nx.MultiDiGraph, nx.MultiDiGraph]:
    """Travel times set on ``graph`` (in place), then the graph simplified and its largest strongly connected
    component: (the simplified graph, the component)."""
    _check_edges(graph, mode, description)
    try:
        add_travel_times(graph, mode)
    except AllocatorError as exc:
        raise exc.with_file(description) from None
    loaded = (
        graph
        if graph.graph.get("simplified")
        else ox.simplify_graph(graph, edge_attr_aggs={"length": sum, "travel_time": sum, "speed_fallback": any})
    )
    return loaded, _largest_component(loaded, mode, description)


def _check_edges(graph: nx.MultiDiGraph, mode: str, description: str) -> None:
    """An error when ``graph`` has no edges (no roads for ``mode``)."""
    if graph.number_of_edges() == 0:
        raise AllocatorError(
            f"no roads usable by {mode} in this source",
            file=description,
            fix="check that the source covers the study area and has highway=* ways for this mode, "
            "or choose another mode",
        )


def _largest_component(graph: nx.MultiDiGraph, mode: str, description: str) -> nx.MultiDiGraph:
    """The largest strongly connected component of ``graph``, which must have an edge."""
    _check_edges(graph, mode, description)
    kept = ox.truncate.largest_component(graph, strongly=True)
    if kept.number_of_edges() == 0:
        raise AllocatorError(
            f"the {mode} network of this source has no two places connected both ways",
            file=description,
            fix="use a larger extract or another mode",
        )
    return kept


def edge_speed_kph(mode: str, highway: str | list[str] | None, maxspeed: Any = None) -> tuple[float, bool]:
    """Speed of an edge under this module's rule, and whether it is a fallback.

    ``highway`` and ``maxspeed`` may be lists (attributes merged by osmnx's
    simplification); the result is then the mean of their speeds.  The second
    value is True when a drive speed comes from the ``highway`` table rather
    than from a usable ``maxspeed``; walk and bike speeds are never fallbacks.
    """
    if mode == "walk":
        return WALK_SPEED_KPH, False
    if mode == "bike":
        return BIKE_SPEED_KPH, False
    tagged = [kph for value in _as_list(maxspeed) for kph in _parse_maxspeed(str(value))]
    if tagged:
        return sum(tagged) / len(tagged), False
    defaults = [
        DRIVE_DEFAULT_KPH.get(str(h).removesuffix("_link"), DRIVE_FALLBACK_KPH) for h in _as_list(highway)
    ]
    return (sum(defaults) / len(defaults) if defaults else DRIVE_FALLBACK_KPH), True


def add_travel_times(graph: nx.MultiDiGraph, mode: str) -> None:
    """Set ``travel_time`` (s) and ``speed_fallback`` on every edge, in place."""
    for _, _, data in graph.edges(data=True):
        kph, fallback = edge_speed_kph(mode, data.get("highway"), data.get("maxspeed"))
        length = float(data.get("length", math.nan))
        if not math.isfinite(length) or length < 0 or length > MAX_EDGE_LENGTH_M:
            raise AllocatorError(
                f"edge {data.get('osmid')} has no valid length ({data.get('length')!r}; metres, "
                f"0 to {MAX_EDGE_LENGTH_M:,.0f})",
                field="length",
                fix="rebuild the graph with osmnx, which gives every edge a length in metres",
            )
        data["travel_time"] = max(length / (kph / 3.6), MIN_TRAVEL_TIME_S)
        data["speed_fallback"] = fallback


def _as_list(value: Any) -> list[Any]:
    """``value`` as a list: lists stay, a missing value is empty."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _parse_maxspeed(text: str) -> list[float]:
    """The km/h values in an OSM ``maxspeed`` string (``"50;60"`` gives two)."""
    speeds = []
    for part in text.split(";"):
        match = _MAXSPEED.match(part)
        if match:
            kph = float(match.group(1)) * (_MPH_TO_KPH if (match.group(2) or "").lower() == "mph" else 1.0)
            if kph > 0:
                speeds.append(kph)
    return speeds


# --- sources ---------------------------------------------------------------


def _resolve_source(source: str | Path | dict[str, Any], progress: bool) -> _Source:
    """Validate ``source`` and choose its reader."""
    if isinstance(source, dict):
        return _online_source(source)
    path = Path(source)
    name = path.name.lower()
    if name.endswith(_PBF_SUFFIXES + _XML_SUFFIXES):
        read: Callable[[str], _RawNetwork] = partial(_read_osm_file, path, progress=progress)
    elif name.endswith(_GRAPHML_SUFFIXES):
        read = lambda _mode: _read_graphml(path)  # noqa: E731 -- GraphML is taken as built for the mode
    else:
        raise AllocatorError(
            f"unsupported road network file type {path.suffix!r}",
            file=path,
            fix="give an OpenStreetMap .osm.pbf, .osm, .osm.bz2 or .xml file, or an osmnx .graphml file",
        )
    if not os.path.lexists(path):   # never raises, unlike Path.exists on a name too long for the system
        raise AllocatorError(
            "road network file not found",
            file=path,
            fix="check the path, or download an .osm.pbf extract of the area (e.g. from Geofabrik)",
        )
    return _Source(str(path), sha256_file(checked_file(path)), read)


def _read_osm_file(path: Path, mode: str, *, progress: bool) -> _RawNetwork:
    """Build the raw graph of ``mode`` from an OSM PBF or XML file with pyosmium."""
    rule = MODE_RULES[mode]
    nodes: dict[int, dict[str, float]] = {}
    edges: list[tuple[int, int, dict[str, Any]]] = []
    ways_read = ways_without_highway = 0
    # libosmium detects the format from the name, except for a bare .xml
    is_bare_xml = path.name.lower().endswith(".xml")
    osm_file = osmium.io.File(str(path), "osm") if is_bare_xml else osmium.io.File(str(path))
    processor = (
        osmium.FileProcessor(osm_file, osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    )
    for way in tqdm(scan(path, processor), desc=f"reading {path.name}", unit=" ways", disable=not progress):
        ways_read += 1
        tags = {tag.k: tag.v for tag in way.tags}
        if "highway" not in tags:
            ways_without_highway += 1
        elif rule.accepts(tags):
            located = [
                (node.ref, node.lon, node.lat) if node.location.valid() else None for node in way.nodes
            ]
            edges += _way_edges(way.id, tags, located, rule.bidirectional, nodes)
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_nodes_from(nodes.items())
    graph.add_edges_from(edges)
    if edges:
        ox.distance.add_edge_lengths(graph)
    return _RawNetwork(graph, ways_read, ways_without_highway)


def _way_edges(
    way_id: int,
    tags: Mapping[str, str],
    located: list[tuple[int, float, float] | None],
    bidirectional: bool,
    nodes: dict[int, dict[str, float]],
) -> list[tuple[int, int, dict[str, Any]]]:
    """The directed edges of one way, registering their nodes in ``nodes``.

    ``located`` holds ``(id, lon, lat)`` per node reference, ``None`` where the
    node is missing from the file: the way is split there.
    """
    oneway = not bidirectional and (
        tags.get("oneway") in _ONEWAY_VALUES or tags.get("junction") == "roundabout"
    )
    attrs: dict[str, Any] = {"osmid": way_id, "highway": tags["highway"], "oneway": oneway}
    attrs.update({key: tags[key] for key in ("name", "maxspeed") if key in tags})
    forward = not (oneway and tags.get("oneway") in _REVERSED_VALUES)
    edges = []
    for a, b in pairwise(located):
        if a is None or b is None or a[0] == b[0]:
            continue
        for node_id, lon, lat in (a, b):
            nodes[node_id] = {"x": lon, "y": lat}
        u, v = (a[0], b[0]) if forward else (b[0], a[0])
        edges.append((u, v, attrs))
        if not oneway:
            edges.append((v, u, attrs))
    return edges


def _read_graphml(path: Path) -> _RawNetwork:
    """Load a graph saved by osmnx, taken as already built for the mode.

    A GraphML graph keeps only some OSM tags, so no mode filter can be applied.
    """
    try:
        graph = ox.load_graphml(path)
    except Exception as exc:  # malformed XML or attributes surface as many types
        raise AllocatorError(
            f"cannot read GraphML: {exc}",
            file=path,
            fix="give a graph written by osmnx.save_graphml, or the OpenStreetMap file it came from",
        ) from exc
    check_graph(graph, str(path))
    return _RawNetwork(graph, 0, 0)


def check_graph(graph: nx.MultiDiGraph, file: str, *, travel_times: bool = False) -> None:
    """Every node at a finite lon/lat (``x``/``y``) and, with ``travel_times``, every edge with a finite
    positive ``travel_time``: what snapping and shortest paths rely on."""
    for node, data in graph.nodes(data=True):
        x, y = data.get("x"), data.get("y")
        if not (_finite(x) and _finite(y) and abs(x) <= 180 and abs(y) <= 90):
            raise AllocatorError(
                f"node {node} has no valid position (x={x!r}, y={y!r})", file=file, field="x/y",
                fix="every node needs x (longitude) and y (latitude) in degrees; rebuild the graph with osmnx")
    if travel_times:
        for u, v, seconds in graph.edges(data="travel_time"):
            if not (_finite(seconds) and seconds > 0):
                raise AllocatorError(f"edge {u}-{v} has no finite positive travel_time ({seconds!r})", file=file,
                                     field="travel_time", fix="rebuild it with load_network")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _online_source(query: dict[str, Any]) -> _Source:
    """Validate an online query dict and bind the osmnx call that downloads it."""
    keys = [key for key in _ONLINE_KEYS if key in query]
    extra = set(query) - {*_ONLINE_KEYS, "dist"}
    if len(keys) != 1 or extra or ("dist" in query) != (keys == ["point"]):
        raise AllocatorError(
            f"cannot understand the online network query {query!r}",
            field="network",
            fix='give exactly one of {"place": "City, Country"}, {"bbox": [west, south, east, north]} '
            'or {"point": [lat, lon], "dist": metres}',
        )
    key = keys[0]
    value = query[key]
    if key == "place":
        if not isinstance(value, str) or not value.strip():
            raise AllocatorError(
                "place must be a non-empty name",
                field="network.place",
                fix='e.g. {"place": "Porto Alegre, Brazil"}',
            )
        download: Callable[..., nx.MultiDiGraph] = partial(ox.graph_from_place, value)
    elif key == "bbox":
        west, south, east, north = _numbers(value, 4, "network.bbox", "[west, south, east, north]")
        if not (west < east and south < north):
            raise AllocatorError(
                "bbox must have west < east and south < north",
                field="network.bbox",
                fix="give [west, south, east, north] in degrees",
            )
        download = partial(ox.graph_from_bbox, (west, south, east, north))
    else:
        lat, lon = _numbers(value, 2, "network.point", "[lat, lon]")
        (dist,) = _numbers([query["dist"]], 1, "network.dist", "a distance in metres")
        if dist <= 0:
            raise AllocatorError(
                "dist must be positive", field="network.dist", fix="give a distance in metres"
            )
        download = partial(ox.graph_from_point, (lat, lon), dist=dist)
    description = f"osmnx online query {json.dumps(query, sort_keys=True)}"

    def read(mode: str) -> _RawNetwork:
        try:
            graph = download(
                network_type=mode,
                custom_filter=MODE_RULES[mode].overpass_filter(),
                simplify=False,
                retain_all=True,
            )
        except OSError as exc:  # requests' errors are OSErrors
            raise AllocatorError(
                f"the network source {query!r} needs internet, which failed: {exc}",
                field="network",
                fix="connect to the internet, or use a local .osm.pbf extract of the area instead",
            ) from exc
        except (InsufficientResponseError, TypeError, ValueError) as exc:
            raise AllocatorError(
                f"OpenStreetMap has no usable road network for {query!r}: {exc}",
                field="network",
                fix="check the place name or coordinates, or use a local .osm.pbf extract",
            ) from exc
        return _RawNetwork(graph, 0, 0)

    return _Source(description, hashlib.sha256(description.encode()).hexdigest(), read)


def _numbers(value: Any, count: int, field: str, shape: str) -> list[float]:
    """``value`` as ``count`` finite floats, else an error naming ``field``."""
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise AllocatorError(f"expected {shape}, got {value!r}", field=field, fix=f"give {shape}")
    return numbers
