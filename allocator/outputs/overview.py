"""The report's overview map: the demand cells by travel time after the plan and the numbered new sites.

Drawn with matplotlib from the run's own data (no web tiles), as an SVG inlined
in ``report.html`` (a ``data:`` image: it prints, works offline and cannot
carry markup from data into the page). The cells are shaded as on
``map.html`` (:func:`allocator.outputs.map_style.shades`); each new site is
its service's symbol with its rank in the report beside it, the same number as
on ``map.html`` and in ``sites.csv``'s ``rank``. Each number's text element
has the id ``rank-<n>`` so a test can find it.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd
import shapely

from allocator.inputs.sites import SiteStatus
from allocator.outputs.labels import cjk_font, translate
from allocator.outputs.map_style import EXISTING, UNREACHABLE, service_style, shades
from allocator.solve.run_info import ATTRIBUTION

#: the overview's size in inches (about 16 x 11 cm)
SIZE_IN = (6.3, 4.4)


def overview_svg(s, ranks: pd.Series, index: int, lang: str) -> str:
    """Base64 SVG of one service's overview (``ranks``: :func:`allocator.outputs.report.site_ranks`, ``index``:
    the service's place on the map, for its symbol colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    demand, fac = s.demand, s.facilities
    time_colour, _ = shades(float(s.service.threshold_min))
    colours = [time_colour(float(t)) for t in demand["time_after"].to_numpy(float)]
    lat0 = float(np.nanmean(demand["lat"].to_numpy(float))) if len(demand) else 0.0
    font = cjk_font() if lang == "zh" else None
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "allocator", "font.family": [font, "sans-serif"] if font else ["sans-serif"]}):
        fig, ax = plt.subplots(figsize=SIZE_IN)
        geoms = demand.geometry.to_numpy() if "geometry" in demand else np.array([])
        polygons = [g for g in geoms if g is not None and g.geom_type == "Polygon"]
        if len(polygons) == len(demand) and len(demand):
            cells = PolyCollection([np.asarray(shapely.get_coordinates(g.exterior)) for g in polygons],
                                   facecolors=colours, edgecolors="none", alpha=0.8)
            cells.set_rasterized(True)   # thousands of cells: one embedded image, the numbers stay text
            ax.add_collection(cells)
        else:
            ax.scatter(demand["lon"], demand["lat"], c=colours, s=6, linewidths=0, rasterized=True)
        status = fac["status"].astype(str)
        kept = fac[status == SiteStatus.EXISTING]
        ax.scatter(kept["lon"], kept["lat"], s=10, c=service_style(index)[0] if index else EXISTING,
                   marker=_EXISTING_MARKERS[index % len(_EXISTING_MARKERS)],
                   edgecolors="white", linewidths=0.5, zorder=3)
        closed = fac[status == SiteStatus.CLOSED]
        ax.scatter(closed["lon"], closed["lat"], s=30, marker="x", c=UNREACHABLE, zorder=3)
        new = fac[status == SiteStatus.NEW]
        ax.scatter(new["lon"], new["lat"], s=160, marker=_MARKERS[index % len(_MARKERS)], c=service_style(index)[1],
                   edgecolors="white", linewidths=0.8, zorder=4)
        for i, r in new.iterrows():
            rank = ranks.get(i)
            if rank is None or pd.isna(rank):
                continue
            label = ax.annotate(f"{int(rank)}", (float(r["lon"]), float(r["lat"])), xytext=(7, 5),
                                textcoords="offset points", fontsize=10, fontweight="bold", color="#1f2933",
                                zorder=5, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#1f2933",
                                                "lw": 0.6})
            label.set_gid(f"rank-{int(rank)}")
        ax.autoscale()
        ax.set_aspect(1 / max(math.cos(math.radians(lat0)), 0.1))
        ax.set_axis_off()
        ax.set_title(translate(lang, "overview_title", t=s.service.threshold_min), fontsize=10)
        fig.text(0.99, 0.01, ATTRIBUTION, ha="right", va="bottom", fontsize=7, color="#52606d")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight", dpi=110,
                    metadata={"Date": None})   # no timestamp: identical runs write identical pages
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


#: matplotlib markers of the new sites, one per service in the map's order (star, diamond, triangle, square)
_MARKERS = ("*", "D", "^", "s")
#: matplotlib markers of the existing sites per service, as on the map (circle, square, triangle, diamond)
_EXISTING_MARKERS = ("o", "s", "^", "D")
