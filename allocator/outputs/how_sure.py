"""The spending box and the "How sure" box of report.html's first screen, and their summary.json blocks.

Spending (:mod:`allocator.evaluate.costs`) is written with the scenario's
currency ("BRL 1,200,000"), or in "units" without one. "How sure" gathers
what a reader needs to weigh the plan: the population data's year (the
catalog's ``year``, else "not stated"), the grid cell size when the demand is
a grid (H3 cells or raster pixels), the travel speed and mode, the variants
of the robustness check with the sites chosen in every one, the range of the
share within the threshold and the best plan without each site, the software
version and the run date. The run date is the day the outputs are written;
summary.json keeps it under ``timings`` (the one block that differs between
two runs of one scenario).
"""

from __future__ import annotations

import datetime
import functools

import numpy as np
from markupsafe import Markup

from allocator import __version__
from allocator.evaluate.costs import spending
from allocator.evaluate.result import RunResult, ServiceResult
from allocator.evaluate.robustness import RobustnessResult
from allocator.inputs.place_names import cell_size_m as hexagon_width_m
from allocator.outputs.labels import fmt_metric, priced, translate
from allocator.outputs.templates import render
from allocator.scenario.money import money
from allocator.scenario.schema import RASTER_SUFFIXES


def run_date() -> str:
    """Today in UTC, ISO 8601 (the day the outputs are written)."""
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def data_year(result: RunResult) -> str | None:
    """The first demand layer's year as its catalog entry states it (None: not stated)."""
    years = [d.year for d in result.info.sources if d.role.startswith("demand: ") and d.year]
    return years[0] if years else None


def is_grid(result: RunResult) -> bool:
    """True when the first demand layer is a grid: H3 cells, or a raster's pixels or H3 cells."""
    layer = result.info.resolved.get("demand", [{}])[0]
    if str(layer.get("source") or "").lower().endswith(RASTER_SUFFIXES):
        return (layer.get("raster") or {}).get("aggregate", "pixel") in ("pixel", "h3")
    return layer.get("h3") is not None


def cell_size_m(s: ServiceResult) -> float | None:
    """The size of the demand cells in metres (None: no cell shapes): H3 cells by their width across flats, as the
    site labels give it (:func:`allocator.inputs.place_names.cell_size_m`), other cells by the side of a square of
    their median area."""
    widths = [w for w in map(hexagon_width_m, s.demand["id"].astype(str).head(500)) if w is not None]
    if widths:
        return float(np.median(widths))
    shapes = s.demand.geometry
    shapes = shapes[shapes.notna() & shapes.geom_type.isin(["Polygon", "MultiPolygon"])]
    if shapes.empty:
        return None
    areas = shapes.to_crs(shapes.estimate_utm_crs()).area.to_numpy(float)
    return float(np.sqrt(np.median(areas)))


def how_sure(result: RunResult) -> dict:
    """summary.json's ``how_sure`` block (the run date is under ``timings.run_date``)."""
    info = result.info
    first = result.services[0]
    r = result.robustness
    return {"data_year": data_year(result), "cell_size_m": cell_size_m(first) if is_grid(result) else None,
            "mode": info.mode, "speed_kph": info.speed_kph or None, "travel_times": info.travel_times,
            "variants_tried": len(r.variants) + 1 if r else None,
            "stable_sites": r.stable if r else None, "chosen_sites": len(r.baseline.sites) if r else None,
            "within_share_range": list(r.share_range) if r and r.share_range else None,
            "software_version": __version__}


def how_sure_strip(result: RunResult, lang: str) -> Markup:
    """One line under the title, on the first screen: the "How sure" facts in short, linking to the box."""
    L = functools.partial(translate, lang)
    facts = how_sure(result)
    parts = [L("hs_s_year", y=facts["data_year"] or L("hs_no_year"))]
    if facts["cell_size_m"] is not None:
        parts.append(L("hs_s_cells", m=facts["cell_size_m"]))
    if result.info.mode is not None:
        parts.append(L(f"speed_{result.info.mode}", v=result.info.speed_kph))
    r = result.robustness
    parts.append(L("hs_s_stable", k=len(r.stable), total=len(r.baseline.sites), n=len(r.solved)) if r is not None
                 else L("hs_s_no_variants"))
    parts.append(L("hs_software", v=__version__, date=run_date()))
    return render("report/how_sure_strip.html", title=L("hs_title"), parts=parts, more=L("hs_s_more"))


def spending_block(result: RunResult, s: ServiceResult) -> dict:
    """summary.json's ``spending`` block of one service."""
    return spending(s, result.info.currency).as_dict()


def _money(value: float | None, result: RunResult, lang: str) -> str:
    return translate(lang, "sp_not_stated") if value is None else priced(lang, value, result.info.currency)


def talks_money(result: RunResult) -> bool:
    """True when the scenario names a currency or a cost of its sites (the report then shows the spending)."""
    return result.info.currency is not None or any(
        s.service.candidates.cost is not None or s.service.candidates.running_cost is not None
        for s in result.services)


def spending_section(result: RunResult, lang: str) -> Markup:
    """Per service: building, running a year, counters, the first year and the cost per person reached."""
    L = functools.partial(translate, lang)
    if not talks_money(result):
        return Markup("")
    blocks = []
    for s in result.services:
        sp = spending(s, result.info.currency)
        t = s.service.threshold_min
        upgrades = "upgraded" in s.facilities and bool(s.facilities["upgraded"].astype(bool).any())
        items = [L("sp_build", what=L("sp_upgrades") if upgrades else "", v=_money(sp.build, result, lang))]
        items += [L("sp_savings", v=_money(sp.savings, result, lang))] if sp.savings else []
        items += [L("sp_running", v=_money(sp.running_per_year, result, lang))] if sp.running_per_year else []
        items += [L("sp_counters", v=_money(sp.counters, result, lang))] if sp.counters else []
        phased = s.solution.phases is not None   # built over several years: the "first year" is all phases'
        items.append(L("sp_all_phases" if phased else "sp_first_year", v=_money(sp.first_year, result, lang)))
        per = sp.per_person_reached
        items.append(L("sp_per_person_phased" if phased else "sp_per_person", v=_money(per, result, lang), t=t,
                       n=sp.people_reached) if per is not None else L("sp_nobody", t=t))
        blocks.append({"service": s.service.display_title, "lines": items})
    note = result.info.resolved.get("cost_note")
    if note:
        blocks[-1]["lines"] = [*blocks[-1]["lines"], L("sp_assumed", note=note)]
    return render("report/spending.html", title=L("sp_title"), colon=L("colon"), blocks=blocks,
                  several=len(blocks) > 1)


def _variant_words(r: RobustnessResult, L) -> str:
    return L("c_list").join(L(f"v_{v.kind}", a=v.label) for v in r.variants) if r.variants else "–"


def _swap_lines(r: RobustnessResult, L) -> list[str]:
    def place(site: str) -> str:
        return r.places.get(site, site)

    return [L("hs_swap", a=place(w.removed), b=L("and").join(place(x) for x in w.added), d=100 * w.share_change,
              p=w.people_change) if w.added else
            L("hs_swap_none", a=place(w.removed), d=100 * w.share_change, p=w.people_change) for w in r.swaps]


def how_sure_section(result: RunResult, lang: str) -> Markup:
    """The "How sure" box: data year, cell size, speed, variants and stable sites, alternatives, version, date."""
    L = functools.partial(translate, lang)
    info = result.info
    facts = how_sure(result)
    items = [L("hs_year", y=facts["data_year"] or L("hs_no_year"))]
    if facts["cell_size_m"] is not None:
        items.append(L("hs_cells", m=facts["cell_size_m"]))
    if info.mode is not None:
        items.append(L("hs_travel", speed=L(f"speed_{info.mode}", v=info.speed_kph)))
    r, swaps, chosen = result.robustness, [], []
    if r is None:
        items.append(L("hs_no_variants"))
    else:
        items.append(L("hs_variants", n=len(r.variants) + 1, labels=_variant_words(r, L), k=len(r.stable),
                       total=len(r.baseline.sites)))
        if r.share_range is not None:
            s = next(x for x in result.services if x.service.name == r.service)
            lo, hi = r.share_range
            items.append(L("hs_range", t=s.service.threshold_min, lo=fmt_metric("within_share", lo),
                           hi=fmt_metric("within_share", hi)))
        failed = [v for v in (*r.variants, *r.alternatives) if v.error is not None]
        if failed:
            items.append(L("hs_failed", n=len(failed), labels=", ".join(v.label for v in failed)))
        swaps = _swap_lines(r, L)
        chosen = [L("hs_chosen", a=r.places.get(site, site), k=k, n=len(r.solved))
                  for site, k in sorted(r.times_chosen.items(), key=lambda x: -x[1])]
    items.append(L("hs_software", v=__version__, date=run_date()))
    return render("report/how_sure.html", title=L("hs_title"), items=items, swaps_title=L("hs_swaps"), swaps=swaps,
                  chosen_title=L("hs_chosen_title"), chosen=chosen)


def footer_line(lang: str) -> str:
    """The report's footer line with the software version and the run date (printed on paper too)."""
    return translate(lang, "hs_footer", v=__version__, date=run_date())


def console_lines(result: RunResult) -> list[str]:
    """What the command line prints of the spending (when the scenario talks money) and of the robustness batch."""
    lines = []
    if talks_money(result):
        for s in result.services:
            sp = spending(s, result.info.currency)
            per = sp.per_person_reached
            first = "not stated" if sp.first_year is None else money(sp.first_year, result.info.currency)
            when = "all phases built and a year of running" if s.solution.phases is not None else "first year"
            lines.append(f"{s.service.name} spending: {when} {first}"
                         + (f", {money(per, result.info.currency)} per person newly within "
                            f"{s.service.threshold_min:g} min" if per is not None else ""))
    r = result.robustness
    if r is not None:
        low_high = r.share_range
        lines.append(f"robustness ({r.service}): {len(r.stable)} of {len(r.baseline.sites)} new sites chosen in every "
                     f"one of {len(r.solved)} variants"
                     + (f"; share within the threshold {low_high[0]:.1%} to {low_high[1]:.1%}" if low_high else "")
                     + f"; {len(r.swaps)} alternatives (report.html, summary.json)")
    return lines
