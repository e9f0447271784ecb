"""The side-by-side page beside map.html: before | after, two Leaflet maps kept in step.

The page is ``templates/map/compare.html``; the data reach it as JSON and are shown as text.
"""

from __future__ import annotations

import math

import geopandas as gpd
import shapely
from markupsafe import Markup

from allocator.outputs.labels import map_text
from allocator.outputs.map_cells import payload
from allocator.outputs.map_style import (  # the map's shading, colours, symbols, legend, assets: both pages alike
    CARTO_POSITRON,
    CLOSED,
    DECIMALS,
    UNDERSERVED,
    ServiceLayer,
    count,
    fmt_min,
    in_degrees,
    leaflet_assets,
    legend_html,
    map_credit,
    pct,
    service_style,
    shades,
)
from allocator.outputs.templates import render


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
                "tip": f"{service.shown} — {tip['cell']} {i}{tip['colon']}{p:,.0f} {tip['people']}; "
                       f"{tip['before']} {fmt_min(b, tip)}, {tip['after']} {fmt_min(a, tip)}",
            }})
        fac = in_degrees(service.facilities)
        places = fac["place"].astype(str) if "place" in fac else fac["name"].astype(str)
        sites = [{"lat": round(g.y, DECIMALS), "lon": round(g.x, DECIMALS), "s": str(st),
                  "tip": f"{n} ({map_text(lang, str(st))})"}
                 for g, n, st in zip(fac.geometry, places, fac["status"].astype(str))]
        h = service.headline
        existing, new_colour, glyph, size = service_style(k)
        t = service.threshold_min
        data.append({
            "name": service.shown, "cells": {"type": "FeatureCollection", "features": features}, "sites": sites,
            "maxPop": float(demand["population"].max()) if len(demand) else 1.0,
            "style": {"existing": existing, "new": new_colour, "glyph": glyph, "size": size, "closed": CLOSED},
            "before": map_text(lang, "within_short", t=t, s=pct(h.get("within_before")),
                               n=count(h.get("underserved_before"))),
            "after": map_text(lang, "within_short", t=t, s=pct(h.get("within_after")), n=count(h.get("underserved_after"))),
        })
    data_js = payload({"services": data, "tiles": CARTO_POSITRON if tiles else None,
                       "colours": {"underserved": UNDERSERVED},
                       "words": {"before": map_text(lang, "ubefore"), "after": map_text(lang, "uafter")}})
    return render("map/compare.html", title=title, page_title=map_text(lang, "compare_title", title=title), assets=leaflet_assets(inline_assets), data=Markup(data_js),
                  credit=map_credit(tiles), main=main_name, services=data,
                  legend=legend_html(services, lang), back=map_text(lang, "back"))
