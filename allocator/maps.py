"""The equity map: where people are underserved, before and after the plan.

For every service (clinics, schools, ...) :func:`render_map` draws

- the demand cells (H3 hexagons or points) shaded by travel time *after* the
  plan, green (0 min) through yellow (the threshold T) to red (2T and more),
  with unreachable cells in grey;
- an "underserved (> T min)" layer, shown by default, outlining in dashed red
  every cell whose travel time after the plan exceeds T or is unreachable;
- the same shading for travel time *before* the plan, hidden by default, so
  the two can be compared from the layer control;
- the facilities: existing ones as small blue-grey circles, new ones as large
  green stars, each with a popup giving name, type, status and count.

A title box gives the headline figures (share of population within T and
underserved population, before -> after), a legend explains the colours, and
every string that comes from data is HTML-escaped. The file is self-contained:
Leaflet's JavaScript and CSS are inlined from the ``django-js-lib-leaflet``
wheel (Leaflet 1.9.4, no dependencies), so with ``tiles=False`` the map renders
with no network at all.
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
from branca.element import Element

from allocator import ATTRIBUTION

__all__ = ["ServiceLayer", "render_map"]

# Colours: sequential green -> yellow -> red for 0 -> T -> 2T minutes.
_RAMP = ("#1a9850", "#fee08b", "#d73027")
_UNREACHABLE = "#7f7f7f"
_UNDERSERVED = "#67001f"
_EXISTING = "#4a6fa5"
_NEW = "#1b9e3e"
_DECIMALS = 5
_UNDERSERVED_PANE = "underserved"
_LEGEND_CAPTION = "travel time after, minutes"
_CARTO = "© CARTO"
# Named by URL: xyzservices >= 2025 marks CartoDB as keyed and warns, the public basemap needs none.
_CARTO_POSITRON = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png"
_LEAFLET_URLS = {
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
) -> Path:
    """Write the equity map for ``services`` to ``path`` (an HTML file) and return it.

    ``tiles=False`` draws no basemap at all. ``inline_assets=False`` links
    Leaflet from its CDN instead of inlining it (smaller file, needs network).
    """
    path = Path(path)
    fmap = folium.Map(tiles=None, control_scale=True, attribution_control=False)
    _use_leaflet_assets(fmap, inline_assets)
    if tiles:
        folium.TileLayer(
            _CARTO_POSITRON, name="basemap (CARTO positron)", attr=f"{ATTRIBUTION} {_CARTO}", subdomains="abcd", max_zoom=20
        ).add_to(fmap)

    # Underserved outlines sit above every demand fill, even a "before" layer switched on later,
    # and let the mouse through to the cell beneath (whose tooltip tells the times).
    folium.map.CustomPane(_UNDERSERVED_PANE, z_index=450, pointer_events=False).add_to(fmap)
    bounds: list[np.ndarray] = []
    for service in services:
        demand = _prepare_demand(service.demand)
        if len(demand):
            bounds.append(demand.total_bounds)
        _add_service(fmap, service, demand)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if bounds:
        b = np.vstack(bounds)
        fmap.fit_bounds([[b[:, 1].min(), b[:, 0].min()], [b[:, 3].max(), b[:, 2].max()]])

    root = fmap.get_root()
    root.header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="page_title")
    root.html.add_child(Element(_title_box(title, description, services)), name="title_box")
    root.html.add_child(Element(_legend(services)), name="legend")
    root.html.add_child(Element(_footer(tiles)), name="attribution")

    path.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(path))
    return path


def _use_leaflet_assets(fmap: folium.Map, inline: bool) -> None:
    """Load only Leaflet (the map needs no jQuery, Bootstrap or icon fonts), inlined or from the CDN."""
    fmap.default_css = [] if inline else [("leaflet_css", _LEAFLET_URLS["css"])]
    fmap.default_js = [] if inline else [("leaflet", _LEAFLET_URLS["js"])]
    if not inline:
        return
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
    header = fmap.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet")


def _prepare_demand(demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Demand in EPSG:4326 with coordinates rounded to 5 decimals (about 1 m)."""
    out = demand.to_crs(4326) if demand.crs is not None else demand.copy()
    out = out[out.geometry.notna() & ~out.geometry.is_empty].copy()
    out["geometry"] = shapely.set_precision(out.geometry.values, 10.0**-_DECIMALS)
    return out


def _colormap(threshold: float) -> cm.LinearColormap:
    """Green at 0, yellow at T, red at 2T minutes (values beyond are capped)."""
    return cm.LinearColormap(_RAMP, index=[0, threshold, 2 * threshold], vmin=0, vmax=2 * threshold, caption=_LEGEND_CAPTION)


def _fmt_min(value: float) -> str:
    return "unreachable" if value is None or math.isnan(value) else f"{value:.1f} min"


def _add_service(fmap: folium.Map, service: ServiceLayer, demand: gpd.GeoDataFrame) -> None:
    """Add the demand (after, before, underserved) and facility layers of one service."""
    name = html.escape(service.name)
    threshold = float(service.threshold_min)
    cmap = _colormap(threshold)
    before = demand["time_before"].astype(float).to_numpy()
    after = demand["time_after"].astype(float).to_numpy()
    population = demand["population"].astype(float).to_numpy()
    ids = demand["id"].astype(str).to_numpy()
    tips = [
        html.escape(f"cell {i}: {p:,.0f} people; before {_fmt_min(b)}, after {_fmt_min(a)}")
        for i, p, b, a in zip(ids, population, before, after)
    ]
    geoms = demand.geometry.to_numpy()
    points = bool(len(geoms)) and all(g.geom_type == "Point" for g in geoms)

    step = threshold / 20  # 41 shades keep folium's per-style lookup small

    def colour(t: float) -> str:
        return _UNREACHABLE if math.isnan(t) else cmap(min(round(t / step) * step, 2 * threshold))

    for label, times, show in (("after", after, True), ("before", before, False)):
        group = folium.FeatureGroup(name=f"{name} — travel time {label}", show=show).add_to(fmap)
        if not len(geoms):
            continue
        fills = [colour(t) for t in times]
        _geojson(geoms, {"tip": tips, "c": fills}, points, lambda f: {
            "fillColor": f["properties"]["c"], "fillOpacity": 0.65, "color": f["properties"]["c"], "weight": 0.5, "opacity": 0.9,
        }).add_to(group)

    underserved = np.isnan(after) | (after > threshold)
    group = folium.FeatureGroup(name=f"{name} — underserved (&gt; {threshold:g} min)", show=True).add_to(fmap)
    if underserved.any():
        _geojson(geoms[underserved], {}, points, lambda f: {
            "fill": False, "color": _UNDERSERVED, "weight": 2.5, "dashArray": "4 3", "opacity": 1,
        }, pane=_UNDERSERVED_PANE).add_to(group)

    facilities = service.facilities.to_crs(4326) if service.facilities.crs is not None else service.facilities
    for status, marker in (("existing", _existing_marker()), ("new", _new_marker())):
        rows = facilities[facilities["status"].astype(str) == status]
        group = folium.FeatureGroup(name=f"{name} — {status}", show=True).add_to(fmap)
        if len(rows):
            popups = [_facility_popup(r, service.kind) for r in rows[["name", "status", "count"]].to_dict("records")]
            geoms_f = shapely.set_precision(rows.geometry.values, 10.0**-_DECIMALS)
            _geojson(np.asarray(geoms_f), {"tip": popups}, True, None, marker=marker, popup=True).add_to(group)


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
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=style,
        marker=marker or (folium.CircleMarker(radius=4, pane=pane) if points else None),
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if tip else None,
        popup=folium.GeoJsonPopup(fields=["tip"], labels=False) if tip and popup else None,
        pane=pane,
    )


def _existing_marker() -> folium.CircleMarker:
    return folium.CircleMarker(pane="markerPane", radius=6, color="#ffffff", weight=1.5, fill=True, fill_color=_EXISTING, fill_opacity=0.95)


def _new_marker() -> folium.Marker:
    star = (
        f'<div style="font-size:30px;line-height:30px;color:{_NEW};'
        'text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #000;">&#9733;</div>'
    )
    return folium.Marker(icon=folium.DivIcon(html=star, icon_size=(30, 30), icon_anchor=(15, 15), class_name="allocator-new"))


def _facility_popup(row: dict[str, Any], kind: str) -> str:
    """Escaped HTML for one facility: name, type, status, count."""
    cells = (("name", row["name"]), ("type", kind), ("status", row["status"]), ("count", row["count"]))
    body = "".join(f"<tr><th style='text-align:left;padding-right:6px'>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in cells)
    return f"<table>{body}</table>"


def _pct(value: Any) -> str:
    return f"{float(value):.1%}" if value is not None else "?"


def _count(value: Any) -> str:
    return f"{float(value):,.0f}" if value is not None else "?"


def _title_box(title: str, description: str, services: list[ServiceLayer]) -> str:
    """Fixed top-left box: title, description and each service's before -> after headline."""
    lines = []
    for s in services:
        h = s.headline
        mode = f", {h['mode']}" if h.get("mode") else ""
        lines.append(
            f"<div style='margin-top:4px'><b>{html.escape(s.name)}</b> (T = {s.threshold_min:g} min{html.escape(mode)})<br>"
            f"population within T: {_pct(h.get('within_before'))} &rarr; <b>{_pct(h.get('within_after'))}</b>"
            f" of {_count(h.get('population'))}<br>"
            f"underserved: {_count(h.get('underserved_before'))} &rarr; <b>{_count(h.get('underserved_after'))}</b></div>"
        )
    desc = f"<div style='color:#444'>{html.escape(description)}</div>" if description else ""
    return (
        "<div id='allocator-title' style='position:fixed;top:10px;left:56px;z-index:1000;max-width:360px;"
        "background:rgba(255,255,255,0.93);padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);"
        "font:13px/1.35 sans-serif'>"
        f"<div style='font-size:16px;font-weight:bold'>{html.escape(title)}</div>{desc}{''.join(lines)}</div>"
    )


def _legend(services: list[ServiceLayer]) -> str:
    """Fixed bottom-left legend: the colour ramp per threshold, unreachable and underserved keys."""
    rows = []
    for s in services:
        t = float(s.threshold_min)
        rows.append(
            f"<div style='margin-top:4px'>{html.escape(s.name)}</div>"
            f"<div style='height:10px;width:200px;background:linear-gradient(to right,{','.join(_RAMP)})'></div>"
            "<div style='display:flex;justify-content:space-between;width:200px'>"
            f"<span>0</span><span>{t:g}</span><span>&ge;{2 * t:g}</span></div>"
        )
    return (
        "<div id='allocator-legend' style='position:fixed;bottom:60px;left:10px;z-index:1000;"
        "background:rgba(255,255,255,0.93);padding:6px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);"
        "font:12px/1.3 sans-serif'>"
        f"<b>{_LEGEND_CAPTION}</b>{''.join(rows)}"
        f"<div style='margin-top:4px'><span style='display:inline-block;width:12px;height:12px;background:{_UNREACHABLE}'></span> unreachable</div>"
        f"<div><span style='display:inline-block;width:12px;height:10px;border:2px dashed {_UNDERSERVED}'></span>"
        " underserved (&gt; T min or unreachable)</div>"
        f"<div><span style='color:{_EXISTING};font-size:14px'>&#9679;</span> existing facility &nbsp;"
        f"<span style='color:{_NEW};font-size:16px'>&#9733;</span> new facility</div></div>"
    )


def _footer(tiles: bool) -> str:
    """Visible attribution (Leaflet's own control is off so the credit is plain text in the page)."""
    credit = html.escape(f"{ATTRIBUTION} {_CARTO}" if tiles else ATTRIBUTION)
    return (
        "<div id='allocator-attribution' style='position:fixed;bottom:0;right:0;z-index:1000;"
        "background:rgba(255,255,255,0.8);padding:1px 6px;font:11px sans-serif;color:#333'>"
        f"Leaflet | {credit}</div>"
    )
