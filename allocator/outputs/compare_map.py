"""The side-by-side page beside map.html: before | after, two Leaflet maps kept in step."""

from __future__ import annotations

import html
import json
import math

import geopandas as gpd
import shapely

from allocator.outputs.labels import map_text
from allocator.outputs.map import (  # the map's shading, colours, symbols, legend and assets: both pages look alike
    CARTO,
    CARTO_POSITRON,
    CLOSED,
    DECIMALS,
    LEAFLET_URLS,
    UNDERSERVED,
    ServiceLayer,
    count,
    fmt_min,
    leaflet_inline,
    legend_html,
    pct,
    service_style,
    shades,
)
from allocator.solve.run_info import ATTRIBUTION


def compare_page(title: str, services: list[ServiceLayer], demands: list[gpd.GeoDataFrame], tiles: bool,
                  inline_assets: bool, main_name: str, lang: str = "en") -> str:
    """Before | after side by side: two Leaflet maps kept in step, one copy of the data, no other library."""
    data = []
    tip = map_text(lang, "tip")
    for k, (service, demand) in enumerate(zip(services, demands)):
        threshold = float(service.threshold_min)
        time_colour, _ = shades(threshold)
        before = demand["time_before"].astype(float).to_numpy()
        after = demand["time_after"].astype(float).to_numpy()
        features = []
        for g, i, p, b, a in zip(demand.geometry.to_numpy(), demand["id"].astype(str), demand["population"].astype(float),
                                 before, after):
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {
                "b": time_colour(b), "a": time_colour(a), "p": round(float(p)),
                "ub": bool(p > 0 and (math.isnan(b) or b > threshold)), "ua": bool(p > 0 and (math.isnan(a) or a > threshold)),
                "tip": html.escape(f"{service.name} — {tip['cell']} {i}{tip['colon']}{p:,.0f} {tip['people']}; "
                                   f"{tip['before']} {fmt_min(b)}, {tip['after']} {fmt_min(a)}"),
            }})
        fac = service.facilities.to_crs(4326) if service.facilities.crs is not None else service.facilities
        places = fac["place"].astype(str) if "place" in fac else fac["name"].astype(str)
        sites = [{"lat": round(g.y, DECIMALS), "lon": round(g.x, DECIMALS), "s": str(st),
                  "tip": html.escape(f"{n} ({map_text(lang, str(st))})")}
                 for g, n, st in zip(fac.geometry, places, fac["status"].astype(str))]
        h = service.headline
        existing, new_colour, glyph, size = service_style(k)
        t = service.threshold_min
        data.append({
            "name": html.escape(service.name), "cells": {"type": "FeatureCollection", "features": features}, "sites": sites,
            "maxPop": float(demand["population"].max()) if len(demand) else 1.0,
            "style": {"existing": existing, "new": new_colour, "glyph": glyph, "size": size, "closed": CLOSED},
            "before": html.escape(map_text(lang, "within_short", t=t, s=pct(h.get("within_before")),
                                           n=count(h.get("underserved_before")))),
            "after": html.escape(map_text(lang, "within_short", t=t, s=pct(h.get("within_after")),
                                          n=count(h.get("underserved_after")))),
        })
    if inline_assets:
        css, js = leaflet_inline()
        assets = f"<style>{css}</style><script>{js}</script>"
    else:
        assets = f"<link rel='stylesheet' href='{LEAFLET_URLS['css']}'><script src='{LEAFLET_URLS['js']}'></script>"
    payload = json.dumps({"services": data, "tiles": CARTO_POSITRON if tiles else None,
                          "colours": {"underserved": UNDERSERVED},
                          "words": {"before": map_text(lang, "ubefore"), "after": map_text(lang, "uafter")}},
                         separators=(",", ":")).replace("</", "<\\/")
    credit = html.escape(f"{ATTRIBUTION} {CARTO}" if tiles else ATTRIBUTION)
    options = "".join(f"<option value='{i}'>{d['name']}</option>" for i, d in enumerate(data))
    return _COMPARE_HTML % {
        "title": html.escape(title), "assets": assets, "payload": payload, "credit": credit,
        "main": html.escape(main_name), "options": options, "select": "" if len(data) > 1 else "display:none",
        "legend": legend_html(services, lang), "back": html.escape(map_text(lang, "back")),
    }


_COMPARE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s — before | after</title>%(assets)s
<style>
html, body {margin:0;height:100%%;font:13px/1.35 sans-serif}
#bar {height:34px;display:flex;align-items:center;gap:12px;padding:0 10px;background:#fff;border-bottom:1px solid #ccc}
#maps {position:absolute;top:35px;bottom:0;left:0;right:0;display:flex}
#maps > div {flex:1;position:relative}
#before {border-right:2px solid #333}
.label {position:absolute;top:8px;left:50px;z-index:1000;background:#fff;padding:4px 8px;border-radius:4px;
        box-shadow:0 1px 4px rgba(0,0,0,.35);font:14px/1.35 sans-serif}
#credit {position:fixed;bottom:0;right:0;z-index:1000;background:rgba(255,255,255,.8);padding:1px 6px;font-size:11px}
</style></head><body>
<div id="bar"><b>%(title)s</b><select id="service" style="%(select)s">%(options)s</select>
<a href="%(main)s">%(back)s</a></div>
<div id="maps"><div id="before"><div class="label" id="label-before"></div></div>
<div id="after"><div class="label" id="label-after"></div></div></div>
%(legend)s
<div id="credit">Leaflet | %(credit)s</div>
<script>
var DATA = %(payload)s;
function makeMap(id) {
  var map = L.map(id, {attributionControl: false, zoomSnap: 0.25});
  L.control.scale().addTo(map);
  if (DATA.tiles) L.tileLayer(DATA.tiles, {subdomains: 'abcd', maxZoom: 20}).addTo(map);
  map.createPane('underserved').style.zIndex = 450;
  map.getPane('underserved').style.pointerEvents = 'none';
  return map;
}
var maps = {before: makeMap('before'), after: makeMap('after')};
var syncing = false;
function follow(a, b) {
  a.on('move', function () {
    if (syncing) return;
    syncing = true; b.setView(a.getCenter(), a.getZoom(), {animate: false}); syncing = false;
  });
}
follow(maps.before, maps.after); follow(maps.after, maps.before);
var drawn = [];
function show(k) {
  drawn.forEach(function (l) { l.remove(); }); drawn = [];
  var s = DATA.services[k], C = DATA.colours;
  var extent = L.geoJSON(s.cells).getBounds();  // a map needs a view before vector layers are added
  if (extent.isValid()) maps.before.fitBounds(extent, {padding: [12, 12]}); else maps.before.setView([0, 0], 2);
  document.querySelectorAll('.allocator-legend-service').forEach(function (box, j) {
    box.style.display = j === k ? '' : 'none';
  });
  ['before', 'after'].forEach(function (when) {
    var key = when === 'before' ? 'b' : 'a', map = maps[when];
    var point = function (f, ll) { return L.circleMarker(ll, {radius: 4}); };
    var fill = L.geoJSON(s.cells, {pointToLayer: point, style: function (f) {
      var c = f.properties[key]; return {fillColor: c, color: c, fillOpacity: 0.65, weight: 0.5, opacity: 0.9};
    }}).bindTooltip(function (l) { return l.feature.properties.tip; }).addTo(map);
    var under = L.geoJSON(s.cells, {pane: 'underserved', pointToLayer: point,
      filter: function (f) { return f.properties['u' + key]; },
      style: function (f) {
        var w = Math.sqrt(f.properties.p / s.maxPop);
        return {fill: false, color: C.underserved, weight: 1 + 3 * w, dashArray: '4 3', opacity: 0.35 + 0.65 * w};
      }
    }).addTo(map);
    drawn.push(fill, under);
    s.sites.forEach(function (p) {
      if (when === 'before' && p.s === 'new') return;
      if (when === 'after' && p.s === 'closed') return;
      var st = s.style, m;
      if (p.s === 'existing') {
        m = L.circleMarker([p.lat, p.lon], {radius: 6, color: '#fff', weight: 1.5, fillColor: st.existing,
                                            fillOpacity: 0.95});
      } else {   // the main map's symbols: the service's new-site symbol, a grey cross for a closed site
        var glyph = p.s === 'new' ? st.glyph : '&#10006;', size = p.s === 'new' ? st.size : 20;
        m = L.marker([p.lat, p.lon], {icon: L.divIcon({className: 'allocator-' + p.s, iconSize: [size, size],
          iconAnchor: [size / 2, size / 2], html: '<div style="font-size:' + size + 'px;line-height:' + size
          + 'px;text-align:center;color:' + (p.s === 'new' ? st.new : st.closed)
          + ';text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #000">' + glyph + '</div>'})});
      }
      m.bindTooltip(p.tip).addTo(map);
      drawn.push(m);
    });
    document.getElementById('label-' + when).innerHTML = '<b>' + DATA.words[when] + '</b> ' + s.name + ': ' + s[when];
  });
}
document.getElementById('service').onchange = function (e) { show(+e.target.value); };
if (DATA.services.length) show(0); else { maps.before.setView([0, 0], 2); maps.after.setView([0, 0], 2); }
</script></body></html>
"""
