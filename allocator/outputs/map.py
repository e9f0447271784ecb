"""The equity map: where people are underserved, before and after the plan.

For every service (clinics, schools, ...) :func:`render_map` draws:

- the demand cells shaded by travel time *after* the plan, *before* it, or the
  *change* after − before: one shading of one service at a time (the radio
  buttons of the layer control, grouped by service, and "no shading"); times
  on a sequential scale, green (0 min) through yellow (the threshold T) to red
  (2T and more), unreachable cells grey; the change on a diverging scale, blue
  (faster) through white to red (slower), newly reachable cells dark blue;
- "underserved after" (shown for the first service) and "underserved before":
  outlines of the *populated* cells beyond T or unreachable, thicker and darker
  where more people live (empty cells are never outlined), and "where the
  underserved people are": a circle per cell, its area proportional to the
  people beyond T after the plan. Choosing another service's shading moves
  these layers and the legend to that service;
- "catchments" (hidden): the cells each open facility serves after the plan;
- "districts" (hidden, only with districts): shaded by the share within T after;
- the facilities, each service with its own colour and its own symbol for new
  sites (circles: existing; star, diamond, triangle, square: new; grey cross:
  closed). A popup gives the place's name (or its streets), id, coordinates,
  district, service, status and the people it serves.

The cells are drawn in the browser from one compact copy of the data
(:mod:`allocator.outputs.map_cells`, canvas renderer, built when first shown),
so a two-service map stays light and loads without long tasks. A collapsible
title box counts people (not area), a legend per service explains colours and
symbols, the layer control collapses (and collapses when a popup opens; popups
pan clear of the title box), with a scale bar, a full-screen button and the
attribution. The markup is in ``templates/map/`` (autoescaped: every string
from data is escaped; plain-text tooltips are set as text in the page). The file is
self-contained: Leaflet's JavaScript and CSS are inlined from the
``django-js-lib-leaflet`` wheel (Leaflet 1.9.4), so with ``tiles=False`` it
renders with no network at all. Words come from :data:`allocator.outputs.labels.MAP`
(English, Chinese).

Beside ``map.html`` a second file, ``map_compare.html``, shows before and
after side by side in two synchronised Leaflet maps (plain Leaflet and a few
lines of inline JavaScript; folium's ``DualMap`` needs a CDN).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from markupsafe import Markup

from allocator.inputs.sites import SiteStatus
from allocator.outputs.compare_map import compare_page
from allocator.outputs.labels import map_text
from allocator.outputs.map_cells import (
    CELLS_JS,
    CellLayer,
    EmptyLayer,
    LazyGeoJson,
    RawHtml,
    Script,
    cell_data,
    cell_geometry,
    json_element,
    page_of,
    payload,
)
from allocator.outputs.map_style import (
    CARTO,
    CARTO_POSITRON,
    CATCHMENT,
    CLOSED_SYMBOL,
    DECIMALS,
    DISTRICT_STOPS,
    EXISTING,
    EXISTING_SYMBOLS,
    LEAFLET_URLS,
    PEOPLE,
    RAMP,
    UNDERSERVED,
    UNDERSERVED_BEFORE,
    UNREACHABLE,
    ServiceLayer,
    count,
    in_degrees,
    layer_name,
    leaflet_assets,
    legend_html,
    map_credit,
    pct,
    service_style,
    shades,
)
from allocator.outputs.site_names import site_at, site_place
from allocator.outputs.stable_ids import stable_ids
from allocator.outputs.staffing import add_map_layer as add_counters_layer
from allocator.outputs.staffing import counter_cells
from allocator.outputs.templates import render
from allocator.solve.run_info import ATTRIBUTION

__all__ = ["ServiceLayer", "render_map", "COMPARE_SUFFIX"]

COMPARE_SUFFIX = "_compare"
#: the report written beside every map (:func:`allocator.outputs.files.write_outputs`), linked from its title box
REPORT_FILE = "report.html"
_UNDERSERVED_PANE = "underserved"
_FACILITY_PANE = "facilities"  # above the underserved outlines, below Leaflet's marker pane (600)


def render_map(
    title: str,
    services: list[ServiceLayer],
    path: Path,
    *,
    tiles: bool = True,
    description: str = "",
    inline_assets: bool = True,
    compare: bool = True,
    lang: str = "en",
) -> Path:
    """Write the equity map for ``services`` to ``path`` (an HTML file) and return it.

    ``tiles=False`` draws no basemap at all. ``inline_assets=False`` links
    Leaflet from its CDN instead of inlining it (smaller file, needs network).
    ``compare`` also writes the side-by-side before/after page beside it
    (``map.html`` -> ``map_compare.html``), linked from the title box.
    ``lang``: the words of the map (``en``, ``zh``). The title box links the report written beside the map
    (:data:`REPORT_FILE`), each service's name to its decision section there.
    """
    path = Path(path)
    fmap = folium.Map(tiles=None, control_scale=True, attribution_control=False)
    _use_leaflet_assets(fmap, inline_assets)
    if tiles:   # always under everything; the radio buttons choose a shading, not a basemap
        folium.TileLayer(
            CARTO_POSITRON, name="basemap (CARTO positron)", attr=f"{ATTRIBUTION} {CARTO}", subdomains="abcd",
            max_zoom=20, overlay=True, control=False,
        ).add_to(fmap)

    # Underserved outlines and people sit above every demand fill and let the mouse through to the cell beneath.
    folium.map.CustomPane(_UNDERSERVED_PANE, z_index=450, pointer_events=False).add_to(fmap)
    folium.map.CustomPane(_FACILITY_PANE, z_index=460, pointer_events=True).add_to(fmap)
    fmap.add_child(Script(CELLS_JS), name="cells_js")
    bounds: list[np.ndarray] = []
    prepared = []
    groups = []
    geometries: dict[bytes, str] = {}
    for i, service in enumerate(services):
        demand = _prepare_demand(service.demand)
        prepared.append(demand)
        if len(demand):
            bounds.append(demand.total_bounds)
        groups.append(_add_service(fmap, service, demand, i, lang, geometries))
    EmptyLayer(map_text(lang, "none"), show=False).add_to(fmap)
    heads = alternative_heads(services)
    for i, service in enumerate(services):   # of alternative plans, only the first is drawn at first
        groups[i].own = _add_facilities(fmap, service, i, lang, show=heads[i] in (-1, i),
                                        shape=heads[i] if heads[i] >= 0 else i)   # alternatives: one shape
        groups[i].alt = heads[i]
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(fmap)
    extent = None
    if bounds:
        b = np.vstack(bounds)
        extent = [[float(b[:, 1].min()), float(b[:, 0].min())], [float(b[:, 3].max()), float(b[:, 2].max())]]
        fmap.fit_bounds(extent)

    compare_path = path.with_name(f"{path.stem}{COMPARE_SUFFIX}{path.suffix}") if compare else None
    root = page_of(fmap)
    root.header.add_child(RawHtml(render("map/head.html", title=title)), name="page_title")
    root.html.add_child(RawHtml(_title_box(title, description, services, compare_path, lang, heads)),
                        name="title_box")
    root.html.add_child(RawHtml(legend_html(services, lang, heads)), name="legend")
    root.html.add_child(RawHtml(_footer(tiles)), name="attribution")
    fmap.add_child(Script(_FULLSCREEN_JS % {"map": fmap.get_name(), "title": payload(map_text(lang, "full"))}),
                   name="fullscreen")
    fmap.add_child(Script(_SWITCH_JS % {"map": fmap.get_name(), "control": control.get_name(),
                                        "groups": _groups_js(groups), "extent": payload(extent)}), name="switch")

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stable_ids(fmap.get_root().render()), encoding="utf-8")   # folium.Map.save, stable ids
    if compare_path is not None:
        compare_path.write_text(stable_ids(compare_page(title, services, prepared, tiles, inline_assets, path.name,
                                                        lang)), encoding="utf-8")
    return path


@dataclass
class _Group:
    """One service's layers on the map, for the script that switches between services."""

    shadings: list[str]
    follow: list[str]     # underserved after, people: they move to the service whose shading is chosen
    legend: str
    own: list[str] = field(default_factory=list)   # its facilities and counters: shown with its shading (alternatives)
    keys: dict[str, list[str]] = field(default_factory=dict)   # its legend's rows (data-layer) -> their layers
    alt: int = -1         # the first plan of its alternatives (-1: none); their facilities are drawn one at a time


def _groups_js(groups: list[_Group]) -> str:
    return "[" + ",".join(f"{{shadings:[{','.join(g.shadings)}],follow:[{','.join(g.follow)}],"
                          f"own:[{','.join(g.own)}],alt:{g.alt},legend:{payload(g.legend)},"
                          f"keys:{{{','.join(f'{payload(k)}:[{chr(44).join(v)}]' for k, v in g.keys.items())}}}}}"
                          for g in groups) + "]"


def alternative_heads(services: list[ServiceLayer]) -> list[int]:
    """Per service, the index of the first plan of its group of alternatives (itself for the first), -1 for none."""
    index = {s.name: i for i, s in enumerate(services)}
    heads = [index.get(s.alternative_to, -1) if s.alternative_to else -1 for s in services]
    return [i if i in heads else h for i, h in enumerate(heads)]


# One service at a time: choosing a service's shading (or its plan's radio button in the title box) moves the
# underserved layers and the legend to it, and of alternative plans draws only its facilities;
# a popup collapses the layer control so it never hides the popup.
_SWITCH_JS = """
(function (map, control, groups) {
  function serviceOf(layer) {
    for (var k = 0; k < groups.length; k++) if (groups[k].shadings.indexOf(layer) >= 0) return k;
    return -1;
  }
  map.on('baselayerchange', function (e) {
    var k = serviceOf(e.layer);
    if (k < 0) return;
    setTimeout(function () { follow(k); }, 0);   // after the control's own click, so its boxes update
  });
  function follow(k) {
    var radio = document.getElementById('allocator-plan-' + k);
    if (radio) radio.checked = true;
    groups.forEach(function (g, j) {
      if (groups[k].alt < 0 || g.alt !== groups[k].alt) return;
      g.own.forEach(function (layer) {
        if (j === k && !map.hasLayer(layer)) map.addLayer(layer);
        if (j !== k && map.hasLayer(layer)) map.removeLayer(layer);
      });
      var keys = document.getElementById('allocator-keys-' + j);
      if (keys) keys.style.display = j === k ? '' : 'none';
    });
    groups.forEach(function (g, j) {
      var box = document.getElementById(g.legend);
      if (box) box.style.display = j === k ? '' : 'none';
      if (j === k) return;
      g.follow.forEach(function (layer, n) {
        if (map.hasLayer(layer)) { map.removeLayer(layer); map.addLayer(groups[k].follow[n]); }
      });
    });
  }
  document.querySelectorAll('input.allocator-plan').forEach(function (input) {
    input.addEventListener('change', function () {
      var k = +input.value;
      groups.forEach(function (g) {
        g.shadings.forEach(function (layer) { if (map.hasLayer(layer)) map.removeLayer(layer); });
      });
      map.addLayer(groups[k].shadings[0]);
      follow(k);
    });
  });
  // the legend lists only what is drawn: a row whose layers are all off is hidden
  function keys() {
    groups.forEach(function (g) {
      var box = document.getElementById(g.legend);
      if (!box) return;
      Object.keys(g.keys).forEach(function (key) {
        var on = g.keys[key].some(function (layer) { return map.hasLayer(layer); });
        box.querySelectorAll('[data-layer="' + key + '"]').forEach(function (row) { row.style.display = on ? '' : 'none'; });
      });
    });
  }
  map.on('overlayadd overlayremove baselayerchange', function () { setTimeout(keys, 0); });
  keys();
  map.on('popupopen', function () { control.collapse(); });
  // the title box (left) and the legend (right) never cover data: the first view fits the data between them
  var extent = %(extent)s, title = document.getElementById('allocator-title'),
      legend = document.getElementById('allocator-legend');
  if (extent && title && legend) {
    var left = title.getBoundingClientRect().right + 8, right = legend.getBoundingClientRect().width + 18;
    if (left + right < 0.7 * map.getSize().x)
      map.fitBounds(extent, {paddingTopLeft: [left, 10], paddingBottomRight: [right, 10], animate: false});
  }
})(%(map)s, %(control)s, %(groups)s);
"""

# A full-screen button of our own: folium.plugins.Fullscreen loads its script from a CDN (breaks offline).
# The whole page goes full screen, so the title box and legend stay visible.
_FULLSCREEN_JS = """
(function (map) {
  var Full = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var bar = L.DomUtil.create('div', 'leaflet-bar allocator-fullscreen');
      var a = L.DomUtil.create('a', '', bar);
      a.href = '#'; a.title = %(title)s; a.setAttribute('role', 'button');
      a.innerHTML = '<svg width="16" height="16" viewBox="0 0 16 16" style="margin-top:7px" fill="none" '
        + 'stroke="#333" stroke-width="2"><path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5"/></svg>';
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.on(a, 'click', function (e) {
        L.DomEvent.preventDefault(e);
        if (document.fullscreenElement) { document.exitFullscreen(); }
        else if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen(); }
      });
      return bar;
    }
  });
  new Full().addTo(map);
})(%(map)s);
"""


def _use_leaflet_assets(fmap: folium.Map, inline: bool) -> None:
    """Load only Leaflet (the map needs no jQuery, Bootstrap or icon fonts), inlined or from the CDN."""
    fmap.default_css = [] if inline else [("leaflet_css", LEAFLET_URLS["css"])]
    fmap.default_js = [] if inline else [("leaflet", LEAFLET_URLS["js"])]
    if not inline:
        return
    page_of(fmap).header.add_child(RawHtml(leaflet_assets(inline=True)), name="leaflet")


def _prepare_demand(demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Demand in EPSG:4326 with coordinates rounded to 5 decimals (about 1 m).

    A shape smaller than the rounding (an H3 cell of resolution 15 is under a metre across) would round to
    nothing: it keeps its exact coordinates.
    """
    out = demand.to_crs(4326) if demand.crs is not None else demand.copy()
    out = out[out.geometry.notna() & ~out.geometry.is_empty].copy()
    exact = out.geometry.to_numpy()
    rounded = shapely.set_precision(exact, 10.0**-DECIMALS)
    out["geometry"] = np.where(shapely.is_empty(rounded), exact, rounded)
    return out


def _add_service(fmap: folium.Map, service: ServiceLayer, demand: gpd.GeoDataFrame, index: int, lang: str,
                 geometries: dict[bytes, str]) -> _Group:
    """One service's cells (three shadings, underserved outlines, people), catchments and districts."""
    name = service.shown
    threshold = float(service.threshold_min)
    time_colour, change_colour = shades(threshold)
    before = demand["time_before"].astype(float).to_numpy()
    after = demand["time_after"].astype(float).to_numpy()
    fills = {"after": [time_colour(t) for t in after], "before": [time_colour(t) for t in before],
             "change": [change_colour(b, a) for b, a in zip(before, after)]}
    data = f"allocatorData{index}"
    key = b"".join(shapely.to_wkb(demand.geometry.to_numpy())) if len(demand) else b""
    geo = geometries.get(key)
    if geo is None:   # services on the same cells share one copy of the geometry
        geo = geometries[key] = f"allocatorGeo{len(geometries)}"
        page_of(fmap).html.add_child(RawHtml(json_element(geo, cell_geometry(demand))), name=geo)
    page_of(fmap).html.add_child(RawHtml(json_element(data, cell_data(name, demand, threshold, fills, lang))),
                                   name=data)
    shadings = []
    for which in ("after", "before", "change"):
        layer = CellLayer(layer_name(name, map_text(lang, which)), data, geo,
                          {"kind": "fill", "which": which}, overlay=False, show=index == 0 and which == "after")
        layer.add_to(fmap)
        shadings.append(layer.get_name())
    follow = []
    keys = {"time": shadings[:2], "change": shadings[2:]}   # legend rows -> the layers they explain
    for kind, when, colour, dash, show in (("under", "after", UNDERSERVED, "4 3", True),
                                           ("people", "after", PEOPLE, None, False),
                                           ("under", "before", UNDERSERVED_BEFORE, "1 3", False)):
        text = map_text(lang, "people_layer") if kind == "people" else map_text(lang, f"under_{when}", t=threshold)
        layer = CellLayer(layer_name(name, text), data, geo,
                          {"kind": kind, "when": when, "colour": colour, "dash": dash},
                          overlay=True, show=show and index == 0)
        layer.add_to(fmap)
        keys[f"{kind}_{when}"] = [layer.get_name()]
        if when == "after":
            follow.append(layer.get_name())
    geoms = demand.geometry.to_numpy()
    points = bool(len(geoms)) and all(g.geom_type == "Point" for g in geoms)
    facilities = _facilities_4326(service)
    keys["catchments"] = [_add_catchments(fmap, name, demand, facilities, points, lang)]
    if "district" in demand.columns:
        keys["districts"] = [_add_districts(fmap, name, demand, threshold, points, lang)]
    return _Group(shadings, follow, f"allocator-legend-{index}", keys=keys)


def _facilities_4326(service: ServiceLayer) -> gpd.GeoDataFrame:
    return in_degrees(service.facilities).reset_index(drop=True)


def _add_facilities(fmap: folium.Map, service: ServiceLayer, index: int, lang: str, show: bool = True,
                    shape: int = 0) -> list[str]:
    """One service's facilities by status: existing in its colour and the ``shape``-th existing shape, new its
    symbol (numbered by rank); closed: grey cross. Returns the names of its layers (facilities, counters)."""
    facilities = _facilities_4326(service)
    status = facilities["status"].astype(str) if len(facilities) else facilities.get("status")
    names = []
    for kind in SiteStatus:
        rows = facilities[status == kind] if len(facilities) else facilities
        if kind == "closed" and not len(rows):
            continue  # this layer appears only when a plan closes facilities
        records = rows.drop(columns=rows.geometry.name).to_dict("records")
        props: dict[str, list] = {"tip": [facility_popup(r, service.shown, lang) for r in records]}
        if kind == "new" and "rank" in rows:
            props["html"] = [_symbol_marker(kind, index, r.get("rank"))["html"] for r in records]
        marker = _existing_marker(index, shape) if kind == "existing" else _symbol_marker(kind, index)
        layer = _lazy(layer_name(service.shown, map_text(lang, kind)), list(rows.geometry.values), props, {},
                      marker=marker, show=show)
        layer.add_to(fmap)
        names.append(layer.get_name())
    counters = add_counters_layer(fmap, service.shown, facilities, lang, show)   # offices sized by counters
    return names + ([counters] if counters else [])


def _add_catchments(fmap: folium.Map, name: str, demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                    points: bool, lang: str = "en") -> str:
    """Hidden layer: the cells each facility serves after the plan, dissolved per facility (tooltips: plain text);
    returns its name."""
    group = layer_name(name, map_text(lang, "catchments"))
    if "assigned_facility" not in demand.columns or not len(demand) or not len(facilities):
        empty = _lazy(group, [], {}, {})
        empty.add_to(fmap)
        return empty.get_name()
    assigned = demand["assigned_facility"].to_numpy()
    shapes, tips = [], []
    pop = facilities["assigned_population"] if "assigned_population" in facilities.columns else None
    for site in np.unique(assigned[assigned >= 0]):
        if site >= len(facilities):
            continue
        cells = demand.geometry.to_numpy()[assigned == site]
        shapes.append(_dissolve(cells, points))
        place = facilities["place"].iloc[site] if "place" in facilities else facilities["name"].iloc[site]
        who = f"{place} ({map_text(lang, str(facilities['status'].iloc[site]))})"
        people = f": {float(pop.iloc[site]):,.0f} {map_text(lang, 'tip')['people']}" if pop is not None else ""
        tips.append(map_text(lang, "catchment_of", who=who) + people)
    layer = _lazy(group, shapes, {"tip": tips}, {"fill": True, "fillOpacity": 0.0, "color": CATCHMENT, "weight": 1.5,
                                                 "opacity": 0.9})
    layer.add_to(fmap)
    return layer.get_name()


def _add_districts(fmap: folium.Map, name: str, demand: gpd.GeoDataFrame, threshold: float, points: bool,
                   lang: str = "en") -> str:
    """Hidden layer: cells dissolved by ``district``, shaded by the share within T after the plan (tooltips: text);
    returns its name."""
    group = layer_name(name, map_text(lang, "districts"))
    ramp = cm.LinearColormap(RAMP[::-1], index=list(DISTRICT_STOPS), vmin=DISTRICT_STOPS[0], vmax=1)
    district = demand["district"]
    shapes, tips, fills = [], [], []
    for key in district.dropna().unique():
        rows = demand[district == key]
        pop = rows["population"].astype(float).to_numpy()
        total = pop.sum()
        share = {when: (pop[rows[f"time_{when}"].astype(float).to_numpy() <= threshold].sum() / total if total else math.nan)
                 for when in ("before", "after")}
        shapes.append(_dissolve(rows.geometry.to_numpy(), points))
        fills.append(UNREACHABLE if math.isnan(share["after"]) else ramp(max(round(share["after"], 2), DISTRICT_STOPS[0])))
        label = rows["district_name"].iloc[0] if "district_name" in rows else key
        tips.append(map_text(lang, "district_tip", d=label, n=total, t=threshold, b=_share(share["before"]),
                             a=_share(share["after"])))
    layer = _lazy(group, shapes, {"tip": tips, "c": fills}, {"fillOpacity": 0.55, "color": "#222222", "weight": 2,
                                                             "opacity": 1})
    layer.add_to(fmap)
    return layer.get_name()


def _lazy(name: str, shapes: list, props: dict[str, list], style: dict, marker: dict | None = None,
          show: bool = False) -> LazyGeoJson:
    """An overlay of ``shapes`` (5 decimals) with per-feature ``props``, built when first switched on."""
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(shapely.set_precision(g, 10.0**-DECIMALS)),
                 "properties": {k: v[i] for k, v in props.items()}} for i, g in enumerate(shapes)]
    return LazyGeoJson(name, {"type": "FeatureCollection", "features": features}, style, marker=marker, show=show)


def _share(value: float) -> str:
    return "?" if math.isnan(value) else f"{value:.0%}"


def _dissolve(cells: np.ndarray, points: bool) -> Any:
    """One outline for a set of cells (the convex hull for point demand), on the 5-decimal grid."""
    if points:
        merged = shapely.convex_hull(shapely.union_all(cells))
        return merged.buffer(0.0005) if merged.geom_type != "Polygon" else merged
    return shapely.union_all(cells, grid_size=10.0**-DECIMALS)


def _existing_marker(index: int = 0, shape: int = 0) -> dict:
    """An existing facility of the ``index``-th service in its colour: shape 0 a circle marker in the facilities
    pane (above any shading), the others a symbol (:data:`EXISTING_SYMBOLS`)."""
    colour = service_style(index)[0] if index else EXISTING
    if shape:
        glyph = EXISTING_SYMBOLS[shape % len(EXISTING_SYMBOLS)]
        return {"html": render("map/symbol.html", size=14, colour=colour, glyph=glyph, rank=""), "size": 14,
                "className": f"allocator-existing allocator-service-{index}"}
    return {"radius": 6, "color": "#ffffff", "weight": 1.5, "fill": True, "fillColor": colour, "fillOpacity": 0.95,
            "pane": _FACILITY_PANE}


def _glyph(status: str, index: int) -> tuple[str, str, int]:
    """(symbol, colour, size) of a new or closed site of the ``index``-th service."""
    if status == SiteStatus.CLOSED:
        return CLOSED_SYMBOL
    _, colour, glyph, size = service_style(index)
    return glyph, colour, size


def _symbol_marker(status: str, index: int = 0, rank: Any = None) -> dict:
    """A text symbol with a white halo: the service's new-site symbol (with its ``rank`` in the report beside it,
    when ranked), or a grey cross (closed)."""
    glyph, colour, size = _glyph(status, index)
    number = "" if rank is None or pd.isna(rank) else f"{int(rank)}"
    div = render("map/symbol.html", size=size, colour=colour, glyph=glyph, rank=number)
    return {"html": div, "size": size, "className": f"allocator-{status} allocator-service-{index}"}


def facility_popup(row: dict[str, Any], service: str, lang: str = "en") -> Markup:
    """The popup HTML of one facility (``templates/map/popup.html``): its place, id, coordinates, district, service, status, count, people, time."""
    M = functools.partial(map_text, lang)  # noqa: N806 - the pages' short name for their words

    place = site_place(lang, str(row.get("place") or row["name"] or row.get("id", "")), str(row.get("id", "")))
    cells = [(M("p_id"), row.get("id", ""))]
    if "lat" in row:
        cells.append((M("p_at"), site_at(row)))
    if row.get("district"):
        cells.append((M("p_district"), row["district"]))
    cells += [(M("p_service"), service), (M("p_status"), M(str(row["status"])))]
    rank = row.get("rank")
    if rank is not None and not pd.isna(rank):
        cells.append((M("p_rank"), M("p_rank_of", r=int(rank))))
    cells += counter_cells(row, lang) if "counters_after" in row else [(M("p_count"), row["count"])]
    if row.get("year") is not None and row["year"] is not pd.NA:   # a phased plan: the year a new site is built
        cells.append((M("p_year"), str(int(row["year"]))))
    if "assigned_population" in row:
        cells.append((M("p_people"), count(row["assigned_population"])))
    if "mean_time_min" in row:
        t = row["mean_time_min"]
        cells.append((M("p_trip"), "—" if t is None or math.isnan(float(t)) else f"{float(t):.1f} {M('min')}"))
    cap = row.get("capacity")
    upgraded = row.get("upgraded") in (True, np.True_)
    if cap is not None and math.isfinite(float(cap)):   # capacitated plans: the capacity after the plan
        cells.append((M("p_capacity"), f"{float(cap):,.0f}" + (f" ({M('p_upgraded')})" if upgraded else "")))
    elif upgraded:
        cells.append((M("p_upgraded"), M("yes")))
    return render("map/popup.html", place=str(place), cells=[(str(k), str(v)) for k, v in cells])


def _populated_beyond(service: ServiceLayer) -> int:
    """How many populated cells are beyond T (or unreachable) after the plan."""
    d = service.demand
    if not len(d):
        return 0
    after = d["time_after"].astype(float).to_numpy()
    pop = d["population"].astype(float).to_numpy()
    return int(((np.isnan(after) | (after > service.threshold_min)) & (pop > 0)).sum())


def _title_box(title: str, description: str, services: list[ServiceLayer], compare_path: Path | None = None,
               lang: str = "en", heads: list[int] | None = None) -> Markup:
    """Fixed top-left box (collapsible): title, description and each service's people before -> after; alternative
    plans (``heads``: :func:`alternative_heads`) with a radio button each, choosing the one drawn."""
    heads = heads or [-1] * len(services)
    M = functools.partial(map_text, lang)  # noqa: N806 - the pages' short name for their words
    rows = []
    for i, s in enumerate(services):
        h = s.headline
        t = s.threshold_min
        rows.append({"colour": service_style(i)[1], "glyph": service_style(i)[2], "name": s.shown, "t": f"{t:g}",
                     "index": i, "radio": heads[i], "checked": heads[i] == i,
                     "link": f"{REPORT_FILE}#plan-{s.name}",
                     "mode": M("mode_" + h["mode"]) if h.get("mode") in ("walk", "bike", "drive") else "",
                     "within": M("within", t=t), "within_before": pct(h.get("within_before")),
                     "within_after": pct(h.get("within_after")), "population": count(h.get("population")),
                     "underserved": M("underserved", t=t), "underserved_before": count(h.get("underserved_before")),
                     "underserved_after": count(h.get("underserved_after")), "cells": M("cells", n=_populated_beyond(s))})
    return render("map/title_box.html", title=title, description=description, services=rows,
                  compare=compare_path.name if compare_path is not None else "", report=REPORT_FILE,
                  words={"min": M("min"), "of": M("of"), "side": M("side"), "report": M("report_link")})


def _footer(tiles: bool) -> Markup:
    """Visible attribution (Leaflet's own control is off so the credit is plain text in the page)."""
    return render("map/attribution.html", credit=map_credit(tiles))
