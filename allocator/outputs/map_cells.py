"""The demand cells of a map, drawn in the browser from one compact copy of the data.

folium's GeoJson layers repeat every cell's geometry and tooltip once per
layer (three shadings and two outlines per service), which made a
two-service map 4 MB and froze the page while Leaflet built every layer on
load. Here each service's cells travel once, as rounded coordinates plus
per-cell numbers and palette indices; a layer is built on a canvas renderer
only when it is first switched on, and a tooltip's text is made when the
mouse reaches its cell. Strings from data travel as JSON (``<`` escaped) and
the page sets them as text, never as HTML.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement
from jinja2 import Template
from markupsafe import Markup

from allocator.outputs.labels import map_text
from allocator.outputs.map_style import DECIMALS
from allocator.outputs.templates import render


def _rings(geom: Any) -> list:
    """A cell as Leaflet wants it: [lat, lon] of a point, or the rings of a polygon."""
    if geom.geom_type == "Point":
        return [round(geom.y, DECIMALS), round(geom.x, DECIMALS)]
    polygons = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    out = [[[round(y, DECIMALS), round(x, DECIMALS)] for x, y in np.asarray(p.exterior.coords)[:-1]] for p in polygons]
    return out[0] if len(out) == 1 else [[ring] for ring in out]


def cell_geometry(demand: gpd.GeoDataFrame) -> list:
    """Every cell's geometry in Leaflet order, 5 decimals (about 1 m)."""
    return [_rings(g) for g in demand.geometry.to_numpy()]


def _minutes(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else round(float(v), 1) for v in values]


def cell_data(name: str, demand: gpd.GeoDataFrame, threshold: float, fills: dict[str, list[str]],
              lang: str) -> dict:
    """One service's cells for :data:`CELLS_JS`: ids, people, minutes, fill colours as palette indices, words."""
    palette = sorted({c for colours in fills.values() for c in colours})
    index = {c: i for i, c in enumerate(palette)}
    pop = demand["population"].astype(float).to_numpy()
    geoms = demand.geometry.to_numpy()
    centres = [[round(c.y, DECIMALS), round(c.x, DECIMALS)] for c in (g.representative_point() for g in geoms)]
    return {
        "name": name, "t": threshold,
        "points": bool(len(geoms)) and all(g.geom_type == "Point" for g in geoms),
        "ids": [str(i) for i in demand["id"]],
        "pop": [round(float(p)) for p in pop], "maxPop": float(pop.max()) if len(pop) and pop.max() > 0 else 1.0,
        "b": _minutes(demand["time_before"].astype(float).to_numpy()),
        "a": _minutes(demand["time_after"].astype(float).to_numpy()),
        "centres": centres, "palette": palette,
        "fills": {k: [index[c] for c in v] for k, v in fills.items()},
        "text": map_text(lang, "tip"),
    }


#: characters written as JSON escapes in a script: ``<`` (``</script>`` ends the element, ``<!--`` can make it
#: swallow the page) and the line separators U+2028/U+2029 (line ends in JavaScript before ES2019)
_SCRIPT_UNSAFE = str.maketrans({"<": "\\u003c", "\u2028": "\\u2028", "\u2029": "\\u2029"})
#: a ``{`` that opens a Jinja tag (``{{``, ``{%``, ``{#``): in compact JSON only inside a string, where ``\u007b``
#: is the same character
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def payload(value: Any) -> str:
    """``value`` as JSON safe anywhere in a <script> element (a JavaScript value or a JSON data block).

    The one function that puts data into the pages' scripts: the value once parsed is the same, and no text
    from data can end the script, open a comment or break a line of it, nor open a Jinja tag: branca compiles
    the script of every folium element as a Jinja template once more, so ``{{7*7}}`` in a name became ``49``
    and ``{{ lipsum.__globals__ ... }}`` would have run Python while the map was written.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).translate(_SCRIPT_UNSAFE)
    return _JINJA_OPEN.sub(r"\\u007b", text)


class CellLayer(folium.map.Layer):
    """A layer of the layer control drawn by :data:`CELLS_JS` (``kind``: fill, under or people)."""

    _template = Template("""{% macro script(this, kwargs) %}
var {{ this.get_name() }} = allocatorCells("{{ this.data }}", "{{ this.geo }}", {{ this.options_js }});
{% endmacro %}""")

    def __init__(self, name: str, data: str, geo: str, options: dict, *, overlay: bool, show: bool) -> None:
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self._name = "AllocatorCells"
        self.data, self.geo, self.options_js = data, geo, payload(options)


class LazyGeoJson(folium.map.Layer):
    """A GeoJSON overlay built only when first switched on; ``tip`` properties (plain text) become tooltips.

    ``style`` is a Leaflet path style; a feature's ``c`` property, when present, is its fill colour.
    ``marker`` draws points as facilities: circle-marker options, or ``{html, className, size}`` of a
    symbol (a feature's ``html`` property, when present, is its own symbol: a numbered new site); their
    ``tip`` is then a popup's HTML (``templates/map/popup.html``).
    """

    _template = Template("""{% macro script(this, kwargs) %}
var {{ this.get_name() }} = allocatorLazy({{ this.data }}, {{ this.style }}, {{ this.marker }});
{% endmacro %}""")

    def __init__(self, name: str, features: dict, style: dict, *, show: bool = False,
                 marker: dict | None = None) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AllocatorLazy"
        self.data, self.style, self.marker = payload(features), payload(style), payload(marker)


class TextTooltip(MacroElement):
    """A sticky tooltip of plain text on its parent layer: the text reaches the script as JSON, the page sets it
    as text (``allocatorText`` of :data:`CELLS_JS`).

    folium's own Tooltip pastes its text into a JavaScript template literal, where a backtick or ``${`` in
    a name would run as code.
    """

    _template = Template("""{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.bindTooltip(allocatorText({{ this.text }}), {"sticky": true});
{% endmacro %}""")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "TextTooltip"
        self.text = payload(text)


class EmptyLayer(folium.map.Layer):
    """A base layer that draws nothing ("no shading")."""

    _template = Template("""{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.layerGroup();
{% endmacro %}""")

    def __init__(self, name: str, *, show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "AllocatorEmpty"


class RawHtml(Element):
    """HTML (a template's output, or JSON for the page) placed as it is.

    branca's ``Element(text)`` compiles ``text`` as a Jinja template, so ``{{`` in a name from data would run.
    """

    _template = Template("{{ this.html }}")

    def __init__(self, html: Markup | str) -> None:
        super().__init__()
        self._name = "RawHtml"
        self.html = html


def page_of(fmap: folium.Map) -> Figure:
    """The page a map is drawn in (folium's root figure), whose header and body take our elements."""
    root = fmap.get_root()
    assert isinstance(root, Figure)
    return root


class Script(MacroElement):
    """Inline JavaScript rendered in the map's script, in the order it was added."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "AllocatorScript"
        self.code = code


def json_element(element_id: str, value: Any) -> Markup:
    """A ``<script type="application/json">`` element holding ``value`` (read by :data:`CELLS_JS`)."""
    return render("map/json.html", element_id=element_id, data=Markup(payload(value)))


#: draws the cells: allocatorCells(data id, geometry id, {kind, which|when, colour, dash}) -> a lazy L.layerGroup
CELLS_JS = """
(function () {
  var renderers = {};
  function renderer(map, pane) {
    var key = map._leaflet_id + ':' + pane;
    if (!renderers[key]) renderers[key] = L.canvas({pane: pane, padding: 0.2});
    return renderers[key];
  }
  function num(x) { return Math.round(x).toLocaleString('en-US'); }
  function mins(x, T) { return x === null ? T.unreachable : x.toFixed(1) + ' ' + T.min; }
  function change(b, a, T) {
    if (a === null) return T.unreachable;
    if (b === null) return T.newly;
    var d = a - b; return (d >= 0 ? '+' : '\\u2212') + Math.abs(d).toFixed(1) + ' ' + T.min;
  }
  window.allocatorText = function (text) {   // a tooltip of plain text: data never become HTML
    var span = document.createElement('span');
    span.textContent = text;
    return span;
  };
  window.allocatorTip = function (d, i) {
    var T = d.text, box = document.createElement('span'), name = document.createElement('b');
    name.textContent = d.name;
    box.append(name, ' \\u2014 ' + T.cell + ' ' + d.ids[i] + T.colon + num(d.pop[i]) + ' ' + T.people,
      document.createElement('br'), T.before + ' ' + mins(d.b[i], T) + ', ' + T.after + ' ' + mins(d.a[i], T)
      + '; ' + T.change + ' ' + change(d.b[i], d.a[i], T));
    return box;
  };
  function beyond(d, i, when) {
    var t = when === 'before' ? d.b[i] : d.a[i];
    return d.pop[i] > 0 && (t === null || t > d.t);
  }
  var parsed = {};
  function read(id) {   // the data sit in <script type="application/json">: parsed when first needed
    if (!parsed[id]) parsed[id] = JSON.parse(document.getElementById(id).textContent);
    return parsed[id];
  }
  window.allocatorCells = function (dataId, geoId, o) {
    var group = L.layerGroup(), built = false;
    group.on('add', function (e) {
      if (built) return;
      built = true;
      var map = e.target._map || group._map;
      var fills = renderer(map, 'overlayPane'), top = renderer(map, 'underserved');
      var i = 0, d, geo;
      function slice() {   // a few hundred cells per task, so the page never freezes
        d = d || read(dataId); geo = geo || read(geoId);
        var end = Math.min(i + 300, d.pop.length);
        for (; i < end; i++) { var l = make(i); if (l) group.addLayer(l); }
        if (i < d.pop.length) setTimeout(slice, 0);
      }
      setTimeout(slice, 0);
      function make(i) {
        var g = geo[i], layer;
        if (o.kind === 'fill') {
          var c = d.palette[d.fills[o.which][i]];
          var style = {renderer: fills, fillColor: c, color: c, fillOpacity: 0.65, weight: 0.5, opacity: 0.9};
          layer = d.points ? L.circleMarker(g, L.extend({radius: 4}, style)) : L.polygon(g, style);
          layer.bindTooltip((function (k) { return function () { return allocatorTip(d, k); }; })(i), {sticky: true});
        } else if (o.kind === 'under') {
          if (!beyond(d, i, o.when)) return null;
          var w = Math.sqrt(d.pop[i] / d.maxPop);
          var line = {renderer: top, fill: false, color: o.colour, weight: 1 + 3 * w, opacity: 0.35 + 0.65 * w,
                      dashArray: o.dash, interactive: false};
          layer = d.points ? L.circleMarker(g, L.extend({radius: 5}, line)) : L.polygon(g, line);
        } else {
          if (!beyond(d, i, 'after')) return null;
          layer = L.circleMarker(d.centres[i], {renderer: top, radius: 2 + 14 * Math.sqrt(d.pop[i] / d.maxPop),
            color: '#ffffff', weight: 1, fillColor: o.colour, fillOpacity: 0.6, interactive: false});
        }
        return layer;
      }
    });
    return group;
  };
  window.allocatorLazy = function (data, style, marker) {
    var group = L.layerGroup(), built = false;
    group.on('add', function () {
      if (built) return;
      built = true;
      setTimeout(function () {   // in its own task, after the page has drawn
        L.geoJSON(data, {
          style: function (f) { return f.properties.c ? L.extend({}, style, {fillColor: f.properties.c}) : style; },
          pointToLayer: function (f, ll) {
            if (!marker) return L.circleMarker(ll, style);
            if (marker.html) return L.marker(ll, {icon: L.divIcon({html: f.properties.html || marker.html,
              className: marker.className,
              iconSize: [marker.size, marker.size], iconAnchor: [marker.size / 2, marker.size / 2]})});
            return L.circleMarker(ll, marker);
          },
          onEachFeature: function (f, l) {
            if (!f.properties.tip) return;
            if (marker) l.bindPopup(f.properties.tip, {autoPanPaddingTopLeft: [420, 10]});   // popup.html
            else l.bindTooltip(allocatorText(f.properties.tip), {sticky: true});
          }
        }).eachLayer(function (l) { group.addLayer(l); });
      }, 0);
    });
    return group;
  };
})();
"""
