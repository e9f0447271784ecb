"""What both map pages share: colours, symbols, the time shading, the legend, Leaflet's files, the formats.

:mod:`allocator.outputs.map` (``map.html``) and :mod:`allocator.outputs.compare_map`
(``map_compare.html``) look alike because both draw with these.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import branca.colormap as cm
import geopandas as gpd
from markupsafe import Markup

from allocator.outputs.labels import map_text
from allocator.outputs.templates import render
from allocator.solve.run_info import ATTRIBUTION

# Colours: sequential green -> yellow -> red for 0 -> T -> 2T minutes.
RAMP = ("#1a9850", "#fee08b", "#d73027")
# Diverging blue -> white -> red for -T -> 0 -> +T minutes of change (after - before).
CHANGE_RAMP = ("#2166ac", "#f7f7f7", "#b2182b")
NEWLY_REACHABLE = "#053061"
UNREACHABLE = "#7f7f7f"
UNDERSERVED = "#67001f"
UNDERSERVED_BEFORE = "#000000"
CATCHMENT = "#3f3f3f"
EXISTING = "#4a6fa5"
NEW = "#1b9e3e"
CLOSED = "#555555"
# each service of a map: existing-facility colour, new-site colour and symbol (the first: a one-service map's)
SERVICE_STYLES = (
    (EXISTING, NEW, Markup("&#9733;"), 30),          # blue circles, green stars
    ("#7b3294", "#e66101", Markup("&#9670;"), 26),   # purple circles, orange diamonds
    ("#a6611a", "#d01c8b", Markup("&#9650;"), 24),   # brown circles, magenta triangles
    ("#008837", "#5e3c99", Markup("&#9632;"), 24),   # green circles, violet squares
)
DISTRICT_STOPS = (0.5, 0.8, 1.0)  # share within T: red at 50 % and below, yellow at 80 %, green at 100 %
CLOSED_SYMBOL = (Markup("&#10006;"), CLOSED, 20)
EXISTING_SYMBOL = Markup("&#9679;")
#: the existing sites' shape per service (circle, square, triangle, diamond): shapes tell services apart as well as
#: colours (the first service's are circle markers, the others these symbols)
EXISTING_SYMBOLS = (EXISTING_SYMBOL, Markup("&#9632;"), Markup("&#9650;"), Markup("&#9670;"))
PEOPLE = "#b2182b"   # the circles of underserved people
DECIMALS = 5
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
    facilities: gpd.GeoDataFrame   # with ``rank`` (1 = most people newly within T) for new sites, when ranked
    headline: dict
    title: str = ""                    # the name on the map (``services[].title``; default ``name``)
    alternative_to: str | None = None  # the first plan of its group of alternatives (``services[].alternative_to``)

    @property
    def shown(self) -> str:
        """The service's name on the map: its title, else its name."""
        return self.title or self.name


def leaflet_assets(inline: bool) -> Markup:
    """Leaflet's CSS and JS for a page's head: inlined from the package, or linked from its CDN."""
    if not inline:
        return render("map/assets.html", inline=False, css_url=LEAFLET_URLS["css"], js_url=LEAFLET_URLS["js"])
    css, js = leaflet_inline()
    return render("map/assets.html", inline=True, css=css, js=js)


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


def _colormap(threshold: float) -> cm.LinearColormap:
    """Green at 0, yellow at T, red at 2T minutes (values beyond are capped)."""
    return cm.LinearColormap(RAMP, index=[0, threshold, 2 * threshold], vmin=0, vmax=2 * threshold)


def fmt_min(value: float, tip: dict[str, str]) -> str:
    """Minutes in a tooltip, in the words of ``tip`` (``labels.MAP[lang]["tip"]``)."""
    return tip["unreachable"] if value is None or math.isnan(value) else f"{value:.1f} {tip['min']}"


def shades(threshold: float) -> tuple[Any, Any]:
    """Colour functions for a time and for a change, both in 41 steps (keeps folium's style lookup small)."""
    cmap = _colormap(threshold)
    diverging = cm.LinearColormap(CHANGE_RAMP, index=[-threshold, 0, threshold], vmin=-threshold, vmax=threshold)
    step = threshold / 20

    def time_colour(t: float) -> str:
        return UNREACHABLE if math.isnan(t) else cmap(min(round(t / step) * step, 2 * threshold))

    def change_colour(before: float, after: float) -> str:
        if math.isnan(after):
            return UNREACHABLE  # still (or newly) unreachable
        if math.isnan(before):
            return NEWLY_REACHABLE
        d = min(max(round((after - before) / step) * step, -threshold), threshold)
        return diverging(d)

    return time_colour, change_colour


def service_style(index: int) -> tuple[str, str, str, int]:
    """The ``index``-th service's existing colour, new colour, new symbol and its size (px)."""
    return SERVICE_STYLES[index % len(SERVICE_STYLES)]


def pct(value: Any) -> str:
    return f"{float(value):.1%}" if value is not None else "?"


def count(value: Any) -> str:
    return f"{float(value):,.0f}" if value is not None else "?"


def legend_html(services: list[ServiceLayer], lang: str = "en", heads: list[int] | None = None) -> Markup:
    """Fixed bottom-right legend, one block per service (only the chosen service's is shown); of alternative plans
    (``heads``: :func:`allocator.outputs.map.alternative_heads`) only the drawn plan's symbols."""
    words = {k: map_text(lang, k) for k in ("legend_time", "legend_change", "unreachable", "newly", "legend_under",
                                             "legend_under_before", "legend_people", "legend_catch", "legend_districts")}
    colours = {"time": RAMP, "change": CHANGE_RAMP, "districts": RAMP[::-1], "unreachable": UNREACHABLE,
               "newly": NEWLY_REACHABLE, "underserved": UNDERSERVED, "underserved_before": UNDERSERVED_BEFORE,
               "people": PEOPLE, "catchment": CATCHMENT}
    blocks = [{"name": s.shown, "t": f"{float(s.threshold_min):g}", "t2": f"{2 * float(s.threshold_min):g}",
               "districts": "district" in s.demand.columns} for s in services]
    return render("map/legend.html", services=blocks, words=words, colours=colours,
                  keys=_facility_keys(services, lang, heads or [-1] * len(services)))


def _facility_keys(services: list[ServiceLayer], lang: str, heads: list[int]) -> list[dict]:
    """The legend's facility symbols per service, for the statuses on the map only.

    A greenfield map has no "existing" key and a plan without closures no
    "closed", so the legend names nothing the reader cannot find.
    """
    def has(service: ServiceLayer, status: str) -> bool:
        return bool(len(service.facilities)) and service.facilities["status"].astype(str).eq(status).any()

    rows = []
    for i, s in enumerate(services):
        existing, new_colour, glyph, _ = service_style(i)
        closed_glyph, closed_colour, _ = CLOSED_SYMBOL
        shape = heads[i] if heads[i] >= 0 else i   # alternative plans are never drawn together: one shape
        shown = (("existing", existing, 14, EXISTING_SYMBOLS[shape % len(EXISTING_SYMBOLS)]), ("new", new_colour, 15, glyph),
                 ("closed", closed_colour, 13, closed_glyph))
        keys = [{"colour": colour, "size": size, "glyph": symbol, "word": map_text(lang, status)}
                for status, colour, size, symbol in shown if has(s, status)]
        if keys:
            rows.append({"name": s.shown if len(services) > 1 else "", "symbols": keys, "index": i,
                         "hidden": heads[i] not in (-1, i)})
    return rows


def layer_name(service: str, layer: str) -> Markup:
    """A layer's name in the layer control ("clinics — travel time after"), as HTML (the control shows HTML)."""
    return render("map/layer_name.html", service=service, layer=layer)


def map_credit(tiles: bool) -> str:
    """The map's credit line: OpenStreetMap's, and CARTO's when its tiles are shown."""
    return f"{ATTRIBUTION} {CARTO}" if tiles else ATTRIBUTION


def in_degrees(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in longitude/latitude (EPSG:4326), as the map draws it (a frame without a CRS: as it is)."""
    return frame.to_crs(4326) if frame.crs is not None else frame
