"""The side-by-side page beside map.html: before | after, two Leaflet maps kept in step.

The page is ``templates/map/compare.html``; the data reach it as JSON and are shown as text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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

#: on which side of the page a site shows, by its status: before the plan (left), after it (right)
SIDES = {"existing": ["before", "after"], "new": ["after"], "closed": ["before"]}


def compare_page(title: str, services: list[ServiceLayer], demands: list[gpd.GeoDataFrame], tiles: bool,
                  inline_assets: bool, main_name: str, lang: str = "en") -> str:
    """Before | after side by side: two Leaflet maps kept in step, one copy of the data, no other library."""
    data = []
    for k, (service, demand) in enumerate(zip(services, demands)):
        h, t = service.headline, service.threshold_min
        sites = [{**site, "sides": SIDES[site["s"]]} for site in _sites(service, lang)]
        data.append(_service_data(k, service, demand, sites, lang,
                                  map_text(lang, "within_short", t=t, s=pct(h.get("within_before")),
                                           n=count(h.get("underserved_before"))),
                                  map_text(lang, "within_short", t=t, s=pct(h.get("within_after")),
                                           n=count(h.get("underserved_after")))))
    words = {"before": map_text(lang, "ubefore"), "after": map_text(lang, "uafter")}
    heading = Heading(title, map_text(lang, "compare_title", title=title), main_name, map_text(lang, "back"), lang)
    return _page(heading, services, data, words, tiles, inline_assets)


def pair_page(title: str, plans: tuple[ServiceLayer, ServiceLayer], labels: tuple[str, str], tiles: bool,
              main_name: str, lang: str = "en") -> str:
    """Two plans of one service side by side (the comparison's pairs): left the first plan after, right the
    second, each with its open sites; ``labels``: the plans' short labels; ``main_name``: the comparison page."""
    left, right = plans
    demand = left.demand.to_crs(4326) if left.demand.crs is not None else left.demand
    demand = demand.assign(time_before=left.demand["time_after"].to_numpy(),
                           time_after=right.demand["time_after"].to_numpy())
    sites = [{**site, "sides": [side]} for plan, side in ((left, "before"), (right, "after"))
             for site in _sites(plan, lang) if site["s"] != "closed"]
    t = left.threshold_min
    both = ServiceLayer(left.name, left.kind, t, demand, left.facilities, left.headline, title=left.title)
    texts = [map_text(lang, "within_short", t=t, s=pct(p.headline.get("within_after")),
                      n=count(p.headline.get("underserved_after"))) for p in plans]
    data = [_service_data(0, both, demand, sites, lang, *texts)]
    words = {"before": labels[0], "after": labels[1]}
    return _page(Heading(title, title, main_name, map_text(lang, "back_compare"), lang), [both], data, words, tiles,
                 True)


def _sites(service: ServiceLayer, lang: str) -> list[dict]:
    """A service's facilities for the page: position, status and tooltip."""
    fac = in_degrees(service.facilities)
    places = fac["place"].astype(str) if "place" in fac else fac["name"].astype(str)
    return [{"lat": round(g.y, DECIMALS), "lon": round(g.x, DECIMALS), "s": str(st),
             "tip": f"{n} ({map_text(lang, str(st))})"}
            for g, n, st in zip(fac.geometry, places, fac["status"].astype(str))]


def _service_data(k: int, service: ServiceLayer, demand: gpd.GeoDataFrame, sites: list[dict], lang: str,
                  before: str, after: str) -> dict:
    """One service's data for the page: its cells shaded by ``time_before`` (left) and ``time_after`` (right),
    its ``sites`` (each with the sides it shows on) and the words under each map."""
    tip = map_text(lang, "tip")
    threshold = float(service.threshold_min)
    time_colour, _ = shades(threshold)
    b_times = demand["time_before"].astype(float).to_numpy()
    a_times = demand["time_after"].astype(float).to_numpy()
    features = []
    for g, i, p, b, a in zip(demand.geometry.to_numpy(), demand["id"].astype(str), demand["population"].astype(float),
                             b_times, a_times):
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {
            "b": time_colour(b), "a": time_colour(a), "p": round(float(p)),
            "ub": bool(p > 0 and (math.isnan(b) or b > threshold)), "ua": bool(p > 0 and (math.isnan(a) or a > threshold)),
            "tip": f"{service.shown} — {tip['cell']} {i}{tip['colon']}{p:,.0f} {tip['people']}; "
                   f"{tip['before']} {fmt_min(b, tip)}, {tip['after']} {fmt_min(a, tip)}",
        }})
    existing, new_colour, glyph, size = service_style(k)
    return {"name": service.shown, "cells": {"type": "FeatureCollection", "features": features}, "sites": sites,
            "maxPop": float(demand["population"].max()) if len(demand) else 1.0,
            "style": {"existing": existing, "new": new_colour, "glyph": glyph, "size": size, "closed": CLOSED},
            "before": before, "after": after}


@dataclass(frozen=True)
class Heading:
    """A side-by-side page's title (its bar), browser title, the page its link goes back to (and its words), and
    language."""

    title: str
    page_title: str
    back_to: str
    back: str            # the link's words
    lang: str


def _page(heading: Heading, services: list[ServiceLayer], data: list[dict], words: dict, tiles: bool,
          inline_assets: bool) -> str:
    """The side-by-side page (``templates/map/compare.html``) around ``data`` (``words``: under each map)."""
    data_js = payload({"services": data, "tiles": CARTO_POSITRON if tiles else None,
                       "colours": {"underserved": UNDERSERVED}, "words": words})
    return render("map/compare.html", title=heading.title, page_title=heading.page_title,
                  assets=leaflet_assets(inline_assets), data=Markup(data_js), credit=map_credit(tiles),
                  main=heading.back_to, services=data, legend=legend_html(services, heading.lang),
                  back=heading.back)
