"""The equity map: where people are underserved, before and after the plan.

For every service (clinics, schools, ...) :func:`render_map` draws, each as a
layer of the layer control:

- the demand cells (H3 hexagons or points) shaded by travel time *after* the
  plan (shown), *before* it (hidden), or the *change* after − before (hidden):
  times on a sequential scale, green (0 min) through yellow (the threshold T)
  to red (2T and more), unreachable cells grey; the change on a diverging
  scale, blue (faster) through white (unchanged) to red (slower), with cells
  that became reachable in dark blue;
- "underserved after" (shown) and "underserved before" (hidden): outlines of
  every cell beyond T or unreachable, in a pane above every fill so they mark
  the underserved in whichever shading is on;
- "catchments" (hidden): the cells each open facility serves after the plan
  (nearest open facility), dissolved into one outline per facility;
- "districts" (hidden, only when the demand has a ``district`` column): the
  cells dissolved by district, shaded by the population share within T after;
- the facilities by status, told apart by symbol and colour: existing (circle),
  new (green star), closed (grey cross; a relocation is a closure plus a new
  site); with several services the existing circles take one colour per
  service. Each popup gives name, type, status, count and, when the pipeline
  computed them, the population assigned to the facility and its mean travel
  time.

A title box gives the headline figures (share of population within T and
underserved population, before -> after), a legend explains colours and units
(listing only the facility statuses the map shows),
a scale bar, a full-screen button and the attribution are on the map, and
every string that comes from data is HTML-escaped. The file is self-contained:
Leaflet's JavaScript and CSS are inlined from the ``django-js-lib-leaflet``
wheel (Leaflet 1.9.4, no dependencies), so with ``tiles=False`` the map renders
with no network at all. The full-screen button is a few lines of our own
JavaScript (folium's ``Fullscreen`` plugin loads its script from a CDN).

Beside ``map.html`` a second file, ``map_compare.html``, shows before and
after side by side in two synchronised Leaflet maps (folium's ``DualMap`` needs
Leaflet.Sync from a CDN, so it would break offline; the compare page is plain
Leaflet plus ~20 lines of inline JavaScript and shares one copy of the data).
"""

from __future__ import annotations

import base64
import html
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
from branca.element import Element, MacroElement
from jinja2 import Template

from allocator import ATTRIBUTION

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
# existing-facility colours, one per service of a map (the first, a one-service map's, is EXISTING)
_SERVICE_COLOURS = (EXISTING, "#7b3294", "#a6611a", "#008837", "#c51b7d", "#01665e")
_DISTRICT_STOPS = (0.5, 0.8, 1.0)  # share within T: red at 50 % and below, yellow at 80 %, green at 100 %
_STATUSES = ("existing", "new", "closed")
_SYMBOLS = {"new": ("&#9733;", NEW, 30), "closed": ("&#10006;", CLOSED, 20)}
COMPARE_SUFFIX = "_compare"
DECIMALS = 5
_UNDERSERVED_PANE = "underserved"
_FACILITY_PANE = "facilities"  # above the underserved outlines, below Leaflet's marker pane (600)
_LEGEND_CAPTION = "travel time after (or before), minutes"
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
) -> Path:
    """Write the equity map for ``services`` to ``path`` (an HTML file) and return it.

    ``tiles=False`` draws no basemap at all. ``inline_assets=False`` links
    Leaflet from its CDN instead of inlining it (smaller file, needs network).
    ``compare`` also writes the side-by-side before/after page beside it
    (``map.html`` -> ``map_compare.html``), linked from the title box.
    """
    path = Path(path)
    fmap = folium.Map(tiles=None, control_scale=True, attribution_control=False)
    _use_leaflet_assets(fmap, inline_assets)
    if tiles:
        folium.TileLayer(
            CARTO_POSITRON, name="basemap (CARTO positron)", attr=f"{ATTRIBUTION} {CARTO}", subdomains="abcd", max_zoom=20
        ).add_to(fmap)

    # Underserved outlines sit above every demand fill, even a "before" layer switched on later,
    # and let the mouse through to the cell beneath (whose tooltip tells the times).
    folium.map.CustomPane(_UNDERSERVED_PANE, z_index=450, pointer_events=False).add_to(fmap)
    folium.map.CustomPane(_FACILITY_PANE, z_index=460, pointer_events=True).add_to(fmap)
    bounds: list[np.ndarray] = []
    prepared = []
    for i, service in enumerate(services):
        demand = _prepare_demand(service.demand)
        prepared.append(demand)
        if len(demand):
            bounds.append(demand.total_bounds)
        _add_service(fmap, service, demand, _existing_colour(i))
    folium.LayerControl(collapsed=False).add_to(fmap)
    if bounds:
        b = np.vstack(bounds)
        fmap.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])

    compare_path = path.with_name(f"{path.stem}{COMPARE_SUFFIX}{path.suffix}") if compare else None
    root = fmap.get_root()
    root.header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="page_title")
    root.html.add_child(Element(_title_box(title, description, services, compare_path)), name="title_box")
    root.html.add_child(Element(_legend(services)), name="legend")
    root.html.add_child(Element(_footer(tiles)), name="attribution")
    fmap.add_child(_Script(_FULLSCREEN_JS % {"map": fmap.get_name()}), name="fullscreen")

    path.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(path))
    if compare_path is not None:
        from allocator.outputs.compare_map import (
            compare_page,  # it uses this module's shading
        )

        compare_path.write_text(compare_page(title, services, prepared, tiles, inline_assets, path.name), encoding="utf-8")
    return path


class _Script(MacroElement):
    """Inline JavaScript rendered after its parent map was created."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "AllocatorScript"
        self.code = code


# A full-screen button of our own: folium.plugins.Fullscreen loads its script from a CDN (breaks offline).
# The whole page goes full screen, so the title box and legend stay visible.
_FULLSCREEN_JS = """
(function (map) {
  var Full = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var bar = L.DomUtil.create('div', 'leaflet-bar allocator-fullscreen');
      var a = L.DomUtil.create('a', '', bar);
      a.href = '#'; a.title = 'Full screen'; a.setAttribute('role', 'button');
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
    return cm.LinearColormap(_RAMP, index=[0, threshold, 2 * threshold], vmin=0, vmax=2 * threshold, caption=_LEGEND_CAPTION)


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


def _fmt_change(before: float, after: float) -> str:
    if math.isnan(after):
        return "unreachable"
    if math.isnan(before):
        return "newly reachable"
    return f"{after - before:+.1f} min"


def _add_service(fmap: folium.Map, service: ServiceLayer, demand: gpd.GeoDataFrame, existing_colour: str) -> None:
    """Add the demand (after, before, change, underserved, catchments, districts) and facility layers of one service."""
    name = html.escape(service.name)
    threshold = float(service.threshold_min)
    time_colour, change_colour = shades(threshold)
    before = demand["time_before"].astype(float).to_numpy()
    after = demand["time_after"].astype(float).to_numpy()
    population = demand["population"].astype(float).to_numpy()
    ids = demand["id"].astype(str).to_numpy()
    tips = [
        html.escape(f"cell {i}: {p:,.0f} people; before {fmt_min(b)}, after {fmt_min(a)}; change {_fmt_change(b, a)}")
        for i, p, b, a in zip(ids, population, before, after)
    ]
    geoms = demand.geometry.to_numpy()
    points = bool(len(geoms)) and all(g.geom_type == "Point" for g in geoms)

    shadings = (
        ("travel time after", [time_colour(t) for t in after], True),
        ("travel time before", [time_colour(t) for t in before], False),
        ("change (after − before)", [change_colour(b, a) for b, a in zip(before, after)], False),
    )
    for label, fills, show in shadings:
        group = folium.FeatureGroup(name=f"{name} — {label}", show=show).add_to(fmap)
        if not len(geoms):
            continue
        _geojson(geoms, {"tip": tips, "c": fills}, points, lambda f: {
            "fillColor": f["properties"]["c"], "fillOpacity": 0.65, "color": f["properties"]["c"], "weight": 0.5, "opacity": 0.9,
        }).add_to(group)

    for label, times, colour, dash, show in (
        ("underserved after", after, UNDERSERVED, "4 3", True),
        ("underserved before", before, _UNDERSERVED_BEFORE, "1 3", False),
    ):
        underserved = np.isnan(times) | (times > threshold)
        group = folium.FeatureGroup(name=f"{name} — {label} (&gt; {threshold:g} min)", show=show).add_to(fmap)
        if underserved.any():
            _geojson(geoms[underserved], {}, points, lambda f, colour=colour, dash=dash: {
                "fill": False, "color": colour, "weight": 2.5, "dashArray": dash, "opacity": 1,
            }, pane=_UNDERSERVED_PANE).add_to(group)

    facilities = service.facilities.to_crs(4326) if service.facilities.crs is not None else service.facilities
    facilities = facilities.reset_index(drop=True)
    _add_catchments(fmap, name, demand, facilities, points)
    if "district" in demand.columns:
        _add_districts(fmap, name, demand, threshold, points)

    status = facilities["status"].astype(str) if len(facilities) else facilities.get("status")
    for kind in _STATUSES:
        rows = facilities[status == kind] if len(facilities) else facilities
        if kind == "closed" and not len(rows):
            continue  # this layer appears only when a plan closes facilities
        group = folium.FeatureGroup(name=f"{name} — {kind}", show=True).add_to(fmap)
        if len(rows):
            popups = [_facility_popup(r, service.kind) for r in rows.drop(columns=rows.geometry.name).to_dict("records")]
            geoms_f = shapely.set_precision(rows.geometry.values, 10.0**-DECIMALS)
            marker = _existing_marker(existing_colour) if kind == "existing" else _symbol_marker(kind)
            _geojson(np.asarray(geoms_f), {"tip": popups}, True, None, marker=marker, popup=True).add_to(group)


def _add_catchments(fmap: folium.Map, name: str, demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                    points: bool) -> None:
    """Hidden layer: the cells each facility serves after the plan, dissolved per facility."""
    group = folium.FeatureGroup(name=f"{name} — catchments", show=False).add_to(fmap)
    if "assigned_facility" not in demand.columns or not len(demand) or not len(facilities):
        return
    assigned = demand["assigned_facility"].to_numpy()
    shapes, tips = [], []
    pop = facilities["assigned_population"] if "assigned_population" in facilities.columns else None
    for site in np.unique(assigned[assigned >= 0]):
        if site >= len(facilities):
            continue
        cells = demand.geometry.to_numpy()[assigned == site]
        shapes.append(_dissolve(cells, points))
        who = f"{facilities['name'].iloc[site]} ({facilities['status'].iloc[site]})"
        people = f": {float(pop.iloc[site]):,.0f} people" if pop is not None else ""
        tips.append(html.escape(f"catchment of {who}{people}"))
    if shapes:
        _geojson(np.asarray(shapes, dtype=object), {"tip": tips}, False, lambda f: {
            "fill": True, "fillOpacity": 0.0, "color": _CATCHMENT, "weight": 1.5, "opacity": 0.9,
        }).add_to(group)


def _add_districts(fmap: folium.Map, name: str, demand: gpd.GeoDataFrame, threshold: float, points: bool) -> None:
    """Hidden layer: cells dissolved by ``district``, shaded by the population share within T after the plan."""
    group = folium.FeatureGroup(name=f"{name} — districts (share within T)", show=False).add_to(fmap)
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
        tips.append(html.escape(
            f"district {key}: {total:,.0f} people; within {threshold:g} min "
            f"{_share(share['before'])} before, {_share(share['after'])} after"))
    if shapes:
        _geojson(np.asarray(shapes, dtype=object), {"tip": tips, "c": fills}, False, lambda f: {
            "fillColor": f["properties"]["c"], "fillOpacity": 0.55, "color": "#222222", "weight": 2, "opacity": 1,
        }).add_to(group)


def _share(value: float) -> str:
    return "?" if math.isnan(value) else f"{value:.0%}"


def _dissolve(cells: np.ndarray, points: bool) -> Any:
    """One outline for a set of cells (the convex hull for point demand), on the 5-decimal grid."""
    if points:
        merged = shapely.convex_hull(shapely.union_all(cells))
        return merged.buffer(0.0005) if merged.geom_type != "Polygon" else merged
    return shapely.union_all(cells, grid_size=10.0**-DECIMALS)


def _geojson(
    geoms: np.ndarray,
    props: dict[str, list[Any]],
    points: bool,
    style: Any,
    *,
    marker: folium.Marker | folium.CircleMarker | None = None,
    popup: bool = False,
    pane: str | None = None,
) -> folium.GeoJson:
    """A lean GeoJson layer: integer feature ids, only the given properties.

    A ``tip`` property (already HTML-escaped) becomes the tooltip, and the popup too if ``popup``.
    """
    features = [
        {"type": "Feature", "id": i, "geometry": shapely.geometry.mapping(g), "properties": {k: v[i] for k, v in props.items()}}
        for i, g in enumerate(geoms)
    ]
    tip = "tip" in props
    if marker is None and points:
        marker = folium.CircleMarker(radius=4)
        if pane:
            marker.options["pane"] = pane  # folium drops it (see _existing_marker)
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=style,
        marker=marker,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if tip else None,
        popup=folium.GeoJsonPopup(fields=["tip"], labels=False) if tip and popup else None,
        pane=pane,
    )


def _existing_colour(index: int) -> str:
    """The existing facilities' colour of the map's ``index``-th service (the first: EXISTING)."""
    return _SERVICE_COLOURS[index % len(_SERVICE_COLOURS)]


def _existing_marker(colour: str = EXISTING) -> folium.CircleMarker:
    marker = folium.CircleMarker(radius=6, color="#ffffff", weight=1.5, fill=True, fill_color=colour, fill_opacity=0.95)
    # folium drops ``pane`` from a GeoJson's marker options; without it the circles sit in the overlay pane,
    # under any shading switched on later.
    marker.options["pane"] = _FACILITY_PANE
    return marker


def _symbol_marker(status: str) -> folium.Marker:
    """A text symbol with a white halo: green star (new), grey cross (closed)."""
    glyph, colour, size = _SYMBOLS[status]
    div = (
        f'<div style="font-size:{size}px;line-height:{size}px;color:{colour};text-align:center;'
        f'text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #000;">{glyph}</div>'
    )
    return folium.Marker(icon=folium.DivIcon(html=div, icon_size=(size, size), icon_anchor=(size // 2, size // 2),
                                             class_name=f"allocator-{status}"))


def _facility_popup(row: dict[str, Any], kind: str) -> str:
    """Escaped HTML for one facility: its place label, id, coordinates, district, type, status, count, people, time."""
    place = row.get("place") or row["name"]
    cells = [("id", row.get("id", "")), ("at", f"{float(row['lat']):.5f}, {float(row['lon']):.5f}" if "lat" in row else "")]
    if row.get("district"):
        cells.append(("district", row["district"]))
    cells += [("type", kind), ("status", row["status"]), ("count", row["count"])]
    if "assigned_population" in row:
        cells.append(("assigned population", count(row["assigned_population"])))
    if "mean_time_min" in row:
        t = row["mean_time_min"]
        cells.append(("mean travel time", "—" if t is None or math.isnan(float(t)) else f"{float(t):.1f} min"))
    cap = row.get("capacity")
    if cap is not None and math.isfinite(float(cap)):   # capacitated plans: the capacity after the plan
        cells.append(("capacity", f"{float(cap):,.0f}" + (" (upgraded)" if row.get("upgraded") in (True, np.True_) else "")))
    elif row.get("upgraded") in (True, np.True_):
        cells.append(("upgraded", "yes"))
    body = "".join(f"<tr><th style='text-align:left;padding-right:6px'>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in cells)
    return f"<b>{html.escape(str(place))}</b><table>{body}</table>"


def pct(value: Any) -> str:
    return f"{float(value):.1%}" if value is not None else "?"


def count(value: Any) -> str:
    return f"{float(value):,.0f}" if value is not None else "?"


def _title_box(title: str, description: str, services: list[ServiceLayer], compare_path: Path | None = None) -> str:
    """Fixed top-left box: title, description and each service's before -> after headline."""
    lines = []
    for s in services:
        h = s.headline
        mode = f", {h['mode']}" if h.get("mode") else ""
        lines.append(
            f"<div style='margin-top:4px'><b>{html.escape(s.name)}</b> (T = {s.threshold_min:g} min{html.escape(mode)})<br>"
            f"population within T: {pct(h.get('within_before'))} &rarr; <b>{pct(h.get('within_after'))}</b>"
            f" of {count(h.get('population'))}<br>"
            f"underserved: {count(h.get('underserved_before'))} &rarr; <b>{count(h.get('underserved_after'))}</b></div>"
        )
    desc = f"<div style='color:#444'>{html.escape(description)}</div>" if description else ""
    link = (
        f"<div style='margin-top:4px'><a id='allocator-compare-link' href='{html.escape(compare_path.name)}'>"
        "before | after side by side</a></div>" if compare_path is not None else ""
    )
    # Opaque: a translucent box let the hexagons beneath show through its middle.
    return (
        "<div id='allocator-title' style='position:fixed;top:10px;left:56px;z-index:1000;max-width:360px;"
        "background:#ffffff;padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);"
        "font:13px/1.35 sans-serif'>"
        f"<div style='font-size:16px;font-weight:bold'>{html.escape(title)}</div>{desc}{''.join(lines)}{link}</div>"
    )


def _swatch(style: str) -> str:
    return f"<span style='display:inline-block;width:12px;height:10px;vertical-align:middle;{style}'></span>"


def _legend(services: list[ServiceLayer]) -> str:
    """Fixed bottom-left legend: time and change ramps per threshold, underserved, catchment and facility keys."""
    rows = []
    for s in services:
        t = float(s.threshold_min)
        rows.append(
            f"<div style='margin-top:4px'>{html.escape(s.name)}</div>"
            f"<div style='height:10px;width:200px;background:linear-gradient(to right,{','.join(_RAMP)})'></div>"
            "<div style='display:flex;justify-content:space-between;width:200px'>"
            f"<span>0</span><span>{t:g} (T)</span><span>&ge;{2 * t:g}</span></div>"
            f"<div style='height:10px;width:200px;background:linear-gradient(to right,{','.join(_CHANGE_RAMP)})'></div>"
            "<div style='display:flex;justify-content:space-between;width:200px'>"
            f"<span>&le;&minus;{t:g}</span><span>change after &minus; before</span><span>+{t:g}</span></div>"
        )
    districts = ""
    if any("district" in s.demand.columns for s in services):
        districts = (
            "<div style='margin-top:4px'>districts: share of people within T after</div>"
            f"<div style='height:10px;width:200px;background:linear-gradient(to right,{','.join(_RAMP[::-1])})'></div>"
            "<div style='display:flex;justify-content:space-between;width:200px'>"
            "<span>&le;50%</span><span>80%</span><span>100%</span></div>"
        )
    return (
        "<div id='allocator-legend' style='position:fixed;bottom:22px;right:10px;z-index:1000;"
        "background:#ffffff;padding:6px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);"
        "font:12px/1.3 sans-serif'>"
        f"<b>{_LEGEND_CAPTION}</b>{''.join(rows)}"
        f"<div style='margin-top:4px'>{_swatch(f'background:{_UNREACHABLE}')} unreachable &nbsp;"
        f"{_swatch(f'background:{_NEWLY_REACHABLE}')} newly reachable</div>"
        f"<div>{_swatch(f'border:2px dashed {UNDERSERVED}')} underserved after (&gt; T min or unreachable)</div>"
        f"<div>{_swatch(f'border:2px dotted {_UNDERSERVED_BEFORE}')} underserved before</div>"
        f"<div>{_swatch(f'border:1.5px solid {_CATCHMENT}')} catchment of a facility (nearest after)</div>"
        f"{districts}{_facility_keys(services)}</div>"
    )


def _facility_keys(services: list[ServiceLayer]) -> str:
    """The legend's facility symbols, for the statuses on the map only.

    A greenfield map has no "existing" key and a plan without closures no
    "closed", so the legend names nothing the reader cannot find.
    """
    def has(service: ServiceLayer, status: str) -> bool:
        return bool(len(service.facilities)) and service.facilities["status"].astype(str).eq(status).any()

    several = len(services) > 1
    circles = "".join(
        f"<span style='color:{_existing_colour(i)};font-size:14px'>&#9679;</span>"
        f"{' ' + html.escape(s.name) if several else ''} "
        for i, s in enumerate(services) if has(s, "existing"))
    keys = [f"{circles}existing"] if circles else []
    for status in ("new", "closed"):
        glyph, colour, _ = _SYMBOLS[status]
        if any(has(s, status) for s in services):
            keys.append(f"<span style='color:{colour};font-size:15px'>{glyph}</span> {status}")
    return f"<div>{' &nbsp;'.join(keys)}</div>" if keys else ""


def _footer(tiles: bool) -> str:
    """Visible attribution (Leaflet's own control is off so the credit is plain text in the page)."""
    credit = html.escape(f"{ATTRIBUTION} {CARTO}" if tiles else ATTRIBUTION)
    return (
        "<div id='allocator-attribution' style='position:fixed;bottom:0;right:0;z-index:1000;"
        "background:rgba(255,255,255,0.8);padding:1px 6px;font:11px sans-serif;color:#333'>"
        f"Leaflet | {credit}</div>"
    )
