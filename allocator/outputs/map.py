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
attribution. Every string from data is HTML-escaped. The file is
self-contained: Leaflet's JavaScript and CSS are inlined from the
``django-js-lib-leaflet`` wheel (Leaflet 1.9.4), so with ``tiles=False`` it
renders with no network at all. Words come from :data:`allocator.outputs.labels.MAP`
(English, Chinese).

Beside ``map.html`` a second file, ``map_compare.html``, shows before and
after side by side in two synchronised Leaflet maps (plain Leaflet and a few
lines of inline JavaScript; folium's ``DualMap`` needs a CDN).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element

from allocator.inputs.sites import SiteStatus
from allocator.outputs.labels import map_text
from allocator.outputs.map_cells import (
    CELLS_JS,
    CellLayer,
    EmptyLayer,
    LazyGeoJson,
    Script,
    cell_data,
    cell_geometry,
    json_element,
)
from allocator.outputs.stable_ids import stable_ids
from allocator.outputs.staffing import add_map_layer as add_counters_layer
from allocator.solve.run_info import ATTRIBUTION

__all__ = ["ServiceLayer", "render_map", "COMPARE_SUFFIX"]

# Colours: sequential green -> yellow -> red for 0 -> T -> 2T minutes.
_RAMP = ("#1a9850", "#fee08b", "#d73027")
# Diverging blue -> white -> red for -T -> 0 -> +T minutes of change (after - before).
_CHANGE_RAMP = ("#2166ac", "#f7f7f7", "#b2182b")
_NEWLY_REACHABLE = "#053061"
_UNREACHABLE = "#7f7f7f"
UNDERSERVED = "#67001f"
_UNDERSERVED_BEFORE = "#000000"
_CATCHMENT = "#3f3f3f"
EXISTING = "#4a6fa5"
NEW = "#1b9e3e"
CLOSED = "#555555"
# each service of a map: existing-facility colour, new-site colour and symbol (the first: a one-service map's)
_SERVICE_STYLES = (
    (EXISTING, NEW, "&#9733;", 30),          # blue circles, green stars
    ("#7b3294", "#e66101", "&#9670;", 26),   # purple circles, orange diamonds
    ("#a6611a", "#d01c8b", "&#9650;", 24),   # brown circles, magenta triangles
    ("#008837", "#5e3c99", "&#9632;", 24),   # green circles, violet squares
)
_DISTRICT_STOPS = (0.5, 0.8, 1.0)  # share within T: red at 50 % and below, yellow at 80 %, green at 100 %
_STATUSES = ("existing", "new", "closed")
_CLOSED_SYMBOL = ("&#10006;", CLOSED, 20)
_PEOPLE = "#b2182b"   # the circles of underserved people
COMPARE_SUFFIX = "_compare"
DECIMALS = 5
_UNDERSERVED_PANE = "underserved"
_FACILITY_PANE = "facilities"  # above the underserved outlines, below Leaflet's marker pane (600)
CARTO = "© CARTO"
# Named by URL: xyzservices >= 2025 marks CartoDB as keyed and warns, the public basemap needs none.
CARTO_POSITRON = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png"
LEAFLET_URLS = {
    "js": "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js",
    "css": "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css",
}


@dataclass
class ServiceLayer:
    """One service's demand, facilities and headline figures, ready to map."""

    name: str
    kind: str
    threshold_min: float
    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    headline: dict


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
    ``lang``: the words of the map (``en``, ``zh``).
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
    for i, service in enumerate(services):
        _add_facilities(fmap, service, i, lang)
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(fmap)
    if bounds:
        b = np.vstack(bounds)
        fmap.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])

    compare_path = path.with_name(f"{path.stem}{COMPARE_SUFFIX}{path.suffix}") if compare else None
    root = fmap.get_root()
    root.header.add_child(Element(f"<title>{html.escape(title)}</title><style>{_CSS}</style>"), name="page_title")
    root.html.add_child(Element(_title_box(title, description, services, compare_path, lang)), name="title_box")
    root.html.add_child(Element(legend_html(services, lang)), name="legend")
    root.html.add_child(Element(_footer(tiles)), name="attribution")
    fmap.add_child(Script(_FULLSCREEN_JS % {"map": fmap.get_name(), "title": json.dumps(map_text(lang, "full"))}),
                   name="fullscreen")
    fmap.add_child(Script(_SWITCH_JS % {"map": fmap.get_name(), "control": control.get_name(),
                                        "groups": _groups_js(groups)}), name="switch")

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stable_ids(fmap.get_root().render()), encoding="utf-8")   # folium.Map.save, stable ids
    if compare_path is not None:
        from allocator.outputs.compare_map import (
            compare_page,  # it uses this module's shading
        )

        compare_path.write_text(stable_ids(compare_page(title, services, prepared, tiles, inline_assets, path.name,
                                                        lang)), encoding="utf-8")
    return path


@dataclass
class _Group:
    """One service's layers on the map, for the script that switches between services."""

    shadings: list[str]
    follow: list[str]     # underserved after, people: they move to the service whose shading is chosen
    legend: str


def _groups_js(groups: list[_Group]) -> str:
    return "[" + ",".join(f"{{shadings:[{','.join(g.shadings)}],follow:[{','.join(g.follow)}],"
                          f"legend:{json.dumps(g.legend)}}}" for g in groups) + "]"


# One service at a time: choosing a service's shading moves the underserved layers and the legend to it;
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
    groups.forEach(function (g, j) {
      var box = document.getElementById(g.legend);
      if (box) box.style.display = j === k ? '' : 'none';
      if (j === k) return;
      g.follow.forEach(function (layer, n) {
        if (map.hasLayer(layer)) { map.removeLayer(layer); map.addLayer(groups[k].follow[n]); }
      });
    });
  }
  map.on('popupopen', function () { control.collapse(); });
})(%(map)s, %(control)s, %(groups)s);
"""

_CSS = """
#allocator-title details>summary{cursor:pointer;list-style:none}
#allocator-title details>summary::-webkit-details-marker{display:none}
#allocator-title details>summary:after{content:' \\25BE';color:#666}
#allocator-title details:not([open])>summary:after{content:' \\25B8'}
.leaflet-control-layers label{font:13px/1.3 sans-serif}
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
    css, js = leaflet_inline()
    header = fmap.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet")


def leaflet_inline() -> tuple[str, str]:
    """Leaflet's CSS (icons as data: URLs) and JS, ready to inline."""
    try:
        static = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "inlining Leaflet needs the 'django-js-lib-leaflet' package "
            "(pip install django-js-lib-leaflet), or call render_map(..., inline_assets=False)"
        ) from exc
    css = re.sub(
        r"url\(images/([\w-]+\.png)\)",
        lambda m: "url(data:image/png;base64,"
        + base64.b64encode((static / "images" / m.group(1)).read_bytes()).decode()
        + ")",
        (static / "leaflet.css").read_text(encoding="utf-8"),
    )
    js = (static / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    return css, js


def _prepare_demand(demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Demand in EPSG:4326 with coordinates rounded to 5 decimals (about 1 m)."""
    out = demand.to_crs(4326) if demand.crs is not None else demand.copy()
    out = out[out.geometry.notna() & ~out.geometry.is_empty].copy()
    out["geometry"] = shapely.set_precision(out.geometry.values, 10.0**-DECIMALS)
    return out


def _colormap(threshold: float) -> cm.LinearColormap:
    """Green at 0, yellow at T, red at 2T minutes (values beyond are capped)."""
    return cm.LinearColormap(_RAMP, index=[0, threshold, 2 * threshold], vmin=0, vmax=2 * threshold)


def fmt_min(value: float) -> str:
    return "unreachable" if value is None or math.isnan(value) else f"{value:.1f} min"


def shades(threshold: float) -> tuple[Any, Any]:
    """Colour functions for a time and for a change, both in 41 steps (keeps folium's style lookup small)."""
    cmap = _colormap(threshold)
    diverging = cm.LinearColormap(_CHANGE_RAMP, index=[-threshold, 0, threshold], vmin=-threshold, vmax=threshold)
    step = threshold / 20

    def time_colour(t: float) -> str:
        return _UNREACHABLE if math.isnan(t) else cmap(min(round(t / step) * step, 2 * threshold))

    def change_colour(before: float, after: float) -> str:
        if math.isnan(after):
            return _UNREACHABLE  # still (or newly) unreachable
        if math.isnan(before):
            return _NEWLY_REACHABLE
        d = min(max(round((after - before) / step) * step, -threshold), threshold)
        return diverging(d)

    return time_colour, change_colour


def _add_service(fmap: folium.Map, service: ServiceLayer, demand: gpd.GeoDataFrame, index: int, lang: str,
                 geometries: dict[bytes, str]) -> _Group:
    """One service's cells (three shadings, underserved outlines, people), catchments and districts."""
    name = service.name
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
        fmap.get_root().html.add_child(Element(json_element(geo, cell_geometry(demand))), name=geo)
    fmap.get_root().html.add_child(Element(json_element(data, cell_data(name, demand, threshold, fills, lang))),
                                   name=data)
    label = html.escape(name)
    shadings = []
    for which in ("after", "before", "change"):
        layer = CellLayer(f"{label} — {html.escape(map_text(lang, which))}", data, geo,
                          {"kind": "fill", "which": which}, overlay=False, show=index == 0 and which == "after")
        layer.add_to(fmap)
        shadings.append(layer.get_name())
    follow = []
    for kind, when, colour, dash, show in (("under", "after", UNDERSERVED, "4 3", True),
                                           ("people", "after", _PEOPLE, None, False),
                                           ("under", "before", _UNDERSERVED_BEFORE, "1 3", False)):
        text = map_text(lang, "people_layer") if kind == "people" else map_text(lang, f"under_{when}", t=threshold)
        layer = CellLayer(f"{label} — {html.escape(text)}", data, geo,
                          {"kind": kind, "when": when, "colour": colour, "dash": dash},
                          overlay=True, show=show and index == 0)
        layer.add_to(fmap)
        if when == "after":
            follow.append(layer.get_name())
    geoms = demand.geometry.to_numpy()
    points = bool(len(geoms)) and all(g.geom_type == "Point" for g in geoms)
    facilities = _facilities_4326(service)
    _add_catchments(fmap, label, demand, facilities, points, lang)
    if "district" in demand.columns:
        _add_districts(fmap, label, demand, threshold, points, lang)
    return _Group(shadings, follow, f"allocator-legend-{index}")


def _facilities_4326(service: ServiceLayer) -> gpd.GeoDataFrame:
    facilities = service.facilities.to_crs(4326) if service.facilities.crs is not None else service.facilities
    return facilities.reset_index(drop=True)


def _add_facilities(fmap: folium.Map, service: ServiceLayer, index: int, lang: str) -> None:
    """One service's facilities by status: its own circle colour (existing) and symbol (new); closed: grey cross."""
    facilities = _facilities_4326(service)
    label = html.escape(service.name)
    status = facilities["status"].astype(str) if len(facilities) else facilities.get("status")
    for kind in _STATUSES:
        rows = facilities[status == kind] if len(facilities) else facilities
        if kind == "closed" and not len(rows):
            continue  # this layer appears only when a plan closes facilities
        popups = [_facility_popup(r, service.name, lang) for r in rows.drop(columns=rows.geometry.name).to_dict("records")]
        marker = _existing_marker(service_style(index)[0]) if kind == "existing" else _symbol_marker(kind, index)
        _lazy(f"{label} — {html.escape(map_text(lang, kind))}", list(rows.geometry.values), {"tip": popups}, {},
              marker=marker, show=True).add_to(fmap)
    add_counters_layer(fmap, service.name, facilities)   # offices sized by counters, coloured by wait


def _add_catchments(fmap: folium.Map, name: str, demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                    points: bool, lang: str = "en") -> None:
    """Hidden layer: the cells each facility serves after the plan, dissolved per facility."""
    group = f"{name} — {html.escape(map_text(lang, 'catchments'))}"
    if "assigned_facility" not in demand.columns or not len(demand) or not len(facilities):
        _lazy(group, [], {}, {}).add_to(fmap)
        return
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
        tips.append(html.escape(map_text(lang, "catchment_of", who=who) + people))
    _lazy(group, shapes, {"tip": tips}, {"fill": True, "fillOpacity": 0.0, "color": _CATCHMENT, "weight": 1.5,
                                         "opacity": 0.9}).add_to(fmap)


def _add_districts(fmap: folium.Map, name: str, demand: gpd.GeoDataFrame, threshold: float, points: bool,
                   lang: str = "en") -> None:
    """Hidden layer: cells dissolved by ``district``, shaded by the population share within T after the plan."""
    group = f"{name} — {html.escape(map_text(lang, 'districts'))}"
    ramp = cm.LinearColormap(_RAMP[::-1], index=list(_DISTRICT_STOPS), vmin=_DISTRICT_STOPS[0], vmax=1)
    district = demand["district"]
    shapes, tips, fills = [], [], []
    for key in district.dropna().unique():
        rows = demand[district == key]
        pop = rows["population"].astype(float).to_numpy()
        total = pop.sum()
        share = {when: (pop[rows[f"time_{when}"].astype(float).to_numpy() <= threshold].sum() / total if total else math.nan)
                 for when in ("before", "after")}
        shapes.append(_dissolve(rows.geometry.to_numpy(), points))
        fills.append(_UNREACHABLE if math.isnan(share["after"]) else ramp(max(round(share["after"], 2), _DISTRICT_STOPS[0])))
        label = rows["district_name"].iloc[0] if "district_name" in rows else key
        tips.append(html.escape(map_text(lang, "district_tip", d=label, n=total, t=threshold,
                                         b=_share(share["before"]), a=_share(share["after"]))))
    _lazy(group, shapes, {"tip": tips, "c": fills}, {"fillOpacity": 0.55, "color": "#222222", "weight": 2,
                                                     "opacity": 1}).add_to(fmap)


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


def service_style(index: int) -> tuple[str, str, str, int]:
    """The ``index``-th service's existing colour, new colour, new symbol and its size (px)."""
    return _SERVICE_STYLES[index % len(_SERVICE_STYLES)]


def _existing_marker(colour: str = EXISTING) -> dict:
    """Circle-marker options of an existing facility, in the facilities pane (above any shading)."""
    return {"radius": 6, "color": "#ffffff", "weight": 1.5, "fill": True, "fillColor": colour, "fillOpacity": 0.95,
            "pane": _FACILITY_PANE}


def _glyph(status: str, index: int) -> tuple[str, str, int]:
    """(symbol, colour, size) of a new or closed site of the ``index``-th service."""
    if status == SiteStatus.CLOSED:
        return _CLOSED_SYMBOL
    _, colour, glyph, size = service_style(index)
    return glyph, colour, size


def _symbol_marker(status: str, index: int = 0) -> dict:
    """A text symbol with a white halo: the service's new-site symbol, or a grey cross (closed)."""
    glyph, colour, size = _glyph(status, index)
    div = (
        f'<div style="font-size:{size}px;line-height:{size}px;color:{colour};text-align:center;'
        f'text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #000;">{glyph}</div>'
    )
    return {"html": div, "size": size, "className": f"allocator-{status} allocator-service-{index}"}


def _facility_popup(row: dict[str, Any], service: str, lang: str = "en") -> str:
    """Escaped HTML for one facility: its place, id, coordinates, district, service, status, count, people, time."""
    M = functools.partial(map_text, lang)  # noqa: N806 - the pages' short name for their words

    place = row.get("place") or row["name"] or row.get("id", "")
    cells = [(M("p_id"), row.get("id", ""))]
    if "lat" in row:
        cells.append((M("p_at"), f"{float(row['lat']):.5f}, {float(row['lon']):.5f}"))
    if row.get("district"):
        cells.append((M("p_district"), row["district"]))
    cells += [(M("p_service"), service), (M("p_status"), M(str(row["status"]))), (M("p_count"), row["count"])]
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
    body = "".join(f"<tr><th style='text-align:left;padding-right:6px'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in cells)
    return f"<b>{html.escape(str(place))}</b><table>{body}</table>"


def pct(value: Any) -> str:
    return f"{float(value):.1%}" if value is not None else "?"


def count(value: Any) -> str:
    return f"{float(value):,.0f}" if value is not None else "?"


def _populated_beyond(service: ServiceLayer) -> int:
    """How many populated cells are beyond T (or unreachable) after the plan."""
    d = service.demand
    if not len(d):
        return 0
    after = d["time_after"].astype(float).to_numpy()
    pop = d["population"].astype(float).to_numpy()
    return int(((np.isnan(after) | (after > service.threshold_min)) & (pop > 0)).sum())


def _title_box(title: str, description: str, services: list[ServiceLayer], compare_path: Path | None = None,
               lang: str = "en") -> str:
    """Fixed top-left box (collapsible): title, description and each service's people before -> after."""
    def M(key: str, **kw: Any) -> str:  # noqa: N802 - the pages' short name for their words
        return html.escape(map_text(lang, key, **kw))

    lines = []
    for i, s in enumerate(services):
        h = s.headline
        mode = f", {M('mode_' + h['mode'])}" if h.get("mode") in ("walk", "bike", "drive") else ""
        t = s.threshold_min
        lines.append(
            f"<div style='margin-top:4px'><span style='color:{service_style(i)[1]};font-size:15px'>{service_style(i)[2]}</span> "
            f"<b>{html.escape(s.name)}</b> (T = {t:g} {M('min')}{mode})<br>"
            f"{M('within', t=t)}: {pct(h.get('within_before'))} &rarr; <b>{pct(h.get('within_after'))}</b>"
            f" {M('of')} {count(h.get('population'))}<br>"
            f"{M('underserved', t=t)}: {count(h.get('underserved_before'))} &rarr; "
            f"<b>{count(h.get('underserved_after'))}</b> {M('cells', n=_populated_beyond(s))}</div>"
        )
    desc = f"<div style='color:#444'>{html.escape(description)}</div>" if description else ""
    link = (
        f"<div style='margin-top:4px'><a id='allocator-compare-link' href='{html.escape(compare_path.name)}'>"
        f"{M('side')}</a></div>" if compare_path is not None else ""
    )
    # Opaque: a translucent box let the hexagons beneath show through its middle.
    return (
        "<div id='allocator-title' style='position:fixed;top:10px;left:56px;z-index:1000;max-width:340px;"
        "background:#ffffff;padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);"
        "font:13px/1.35 sans-serif'><details open>"
        f"<summary style='font-size:15px;font-weight:bold'>{html.escape(title)}</summary>"
        f"{desc}{''.join(lines)}{link}</details></div>"
    )


def _swatch(style: str) -> str:
    return f"<span style='display:inline-block;width:12px;height:10px;vertical-align:middle;{style}'></span>"


def _ramp(colours: tuple[str, ...], labels: tuple[str, str, str]) -> str:
    return (f"<div style='height:10px;width:200px;background:linear-gradient(to right,{','.join(colours)})'></div>"
            "<div style='display:flex;justify-content:space-between;width:200px'>"
            + "".join(f"<span>{x}</span>" for x in labels) + "</div>")


def legend_html(services: list[ServiceLayer], lang: str = "en") -> str:
    """Fixed bottom-right legend, one block per service (only the chosen service's is shown)."""
    def M(key: str, **kw: Any) -> str:  # noqa: N802 - the pages' short name for their words
        return html.escape(map_text(lang, key, **kw))

    blocks = []
    for i, s in enumerate(services):
        t = float(s.threshold_min)
        districts = ""
        if "district" in s.demand.columns:
            districts = f"<div style='margin-top:4px'>{M('legend_districts')}</div>" + _ramp(
                _RAMP[::-1], ("&le;50%", "80%", "100%"))
        blocks.append(
            f"<div id='allocator-legend-{i}' class='allocator-legend-service' style='{'' if i == 0 else 'display:none'}'>"
            f"<b>{html.escape(s.name)}</b> — {M('legend_time')}"
            + _ramp(_RAMP, ("0", f"{t:g} (T)", f"&ge;{2 * t:g}"))
            + f"<div style='margin-top:2px'>{M('legend_change')}</div>"
            + _ramp(_CHANGE_RAMP, (f"&le;&minus;{t:g}", "0", f"+{t:g}"))
            + f"<div style='margin-top:4px'>{_swatch(f'background:{_UNREACHABLE}')} {M('unreachable')} &nbsp;"
            f"{_swatch(f'background:{_NEWLY_REACHABLE}')} {M('newly')}</div>"
            f"<div>{_swatch(f'border:3px dashed {UNDERSERVED}')} {M('legend_under')}</div>"
            f"<div>{_swatch(f'border:2px dotted {_UNDERSERVED_BEFORE}')} {M('legend_under_before')}</div>"
            f"<div><span style='display:inline-block;width:12px;height:12px;border-radius:6px;background:{_PEOPLE};"
            f"opacity:.6;vertical-align:middle'></span> {M('legend_people')}</div>"
            f"<div>{_swatch(f'border:1.5px solid {_CATCHMENT}')} {M('legend_catch')}</div>{districts}</div>"
        )
    return (
        "<div id='allocator-legend' style='position:fixed;bottom:22px;right:10px;z-index:1000;max-width:300px;"
        "background:#ffffff;padding:6px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);"
        "font:12px/1.3 sans-serif'>"
        f"{''.join(blocks)}{_facility_keys(services, lang)}</div>"
    )


def _facility_keys(services: list[ServiceLayer], lang: str = "en") -> str:
    """The legend's facility symbols per service, for the statuses on the map only.

    A greenfield map has no "existing" key and a plan without closures no
    "closed", so the legend names nothing the reader cannot find.
    """
    def has(service: ServiceLayer, status: str) -> bool:
        return bool(len(service.facilities)) and service.facilities["status"].astype(str).eq(status).any()

    rows = []
    for i, s in enumerate(services):
        existing, new_colour, glyph, _ = service_style(i)
        keys = []
        if has(s, "existing"):
            keys.append(f"<span style='color:{existing};font-size:14px'>&#9679;</span> {html.escape(map_text(lang, 'existing'))}")
        if has(s, "new"):
            keys.append(f"<span style='color:{new_colour};font-size:15px'>{glyph}</span> {html.escape(map_text(lang, 'new'))}")
        if has(s, "closed"):
            g, colour, _ = _CLOSED_SYMBOL
            keys.append(f"<span style='color:{colour};font-size:13px'>{g}</span> {html.escape(map_text(lang, 'closed'))}")
        if keys:
            name = f"{html.escape(s.name)}: " if len(services) > 1 else ""
            rows.append(f"<div class='allocator-keys'>{name}{' &nbsp;'.join(keys)}</div>")
    return f"<div style='margin-top:4px'>{''.join(rows)}</div>" if rows else ""


def _footer(tiles: bool) -> str:
    """Visible attribution (Leaflet's own control is off so the credit is plain text in the page)."""
    credit = html.escape(f"{ATTRIBUTION} {CARTO}" if tiles else ATTRIBUTION)
    return (
        "<div id='allocator-attribution' style='position:fixed;bottom:0;right:0;z-index:1000;"
        "background:rgba(255,255,255,0.8);padding:1px 6px;font:11px sans-serif;color:#333'>"
        f"Leaflet | {credit}</div>"
    )
