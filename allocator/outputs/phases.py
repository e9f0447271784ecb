"""A phased plan in the outputs: summary.json's ``phases``, the ``year`` column of sites.csv, the report's build order.

Everything reads :func:`allocator.evaluate.phases.phase_facts`; the report's
markup is ``templates/report/phases.html`` (autoescaped), its words are in
:mod:`allocator.outputs.labels`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import geopandas as gpd
import pandas as pd
from markupsafe import Markup

from allocator.evaluate.phases import PhaseFacts, phase_facts, phase_of_sites
from allocator.evaluate.result import ServiceResult
from allocator.outputs.labels import amount, fmt_metric, translate, what_name
from allocator.outputs.templates import render
from allocator.solve.objectives import objective


def summary_block(s: ServiceResult) -> dict:
    """summary.json's ``phases`` of a service ({} when its plan was not phased)."""
    facts = phase_facts(s)
    plan = s.solution.phases
    if plan is None:
        return {}
    place = places(s)
    return {"phases": {
        "carry_over": plan.carry_over,
        "unit": objective(s.service.objective).unit,
        "weighted_value": plan.weighted,   # sum of weight x value: people-years (coverage) or person-minute-years
        "spent": sum(f.spent for f in facts),
        "build_order": [{
            "year": f.year, "weight_years": f.weight, "budget": f.budget, "spent": f.spent,
            "new_sites": [{"id": i, "name": n, "place": place[i]} for i, n in zip(f.new_ids, f.new_names, strict=True)],
            "value": f.value, "one_shot_value": f.one_shot, "price_of_phasing": f.price,
            "price_share": f.price_share, "within": f.access.within, "within_share": f.access.within_share,
            "newly_within": f.newly_within, "mean_min": f.access.mean_min,
        } for f in facts],
    }}


def places(s: ServiceResult) -> dict[str, str]:
    """Each facility's place (its name, else its streets, else its id), by site id."""
    fac = s.facilities
    words = fac["place"] if "place" in fac else fac["name"]
    return {str(i): str(w) or str(i) for i, w in zip(fac["id"], words.fillna(""), strict=True)}


def with_years(s: ServiceResult) -> gpd.GeoDataFrame:
    """The service's facilities, with the ``year`` each new site is built when the plan is phased."""
    years = phase_of_sites(s)
    if not years:
        return s.facilities
    return s.facilities.assign(year=pd.array([years.get(str(i)) for i in s.facilities["id"]], dtype="Int64"))


def phases_section(result, lang: str) -> Markup:
    """The report's build order: per phased service, what each phase builds, spends and buys, and its price."""
    return Markup("\n").join(_service(s, lang, result.info.currency) for s in result.services
                              if s.solution.phases is not None)


def _service(s: ServiceResult, lang: str, currency: str | None) -> Markup:
    """One phased service's build order; amounts in ``currency`` when the scenario names one."""
    L = functools.partial(translate, lang)   # noqa: N806 - the pages' short name for their words
    t = s.service.threshold_min
    facts = phase_facts(s)
    plan = s.solution.phases
    assert plan is not None
    what = what_name(lang, s.service.kind, s.service.name)
    place = places(s)
    lines = [L("ph_line" if k else "ph_first", year=f.year, sites="; ".join(place[i] for i in f.new_ids) or L("ph_nothing"))
             for k, f in enumerate(facts)]
    headers = [L("ph_year"), L("ph_built"), L("ph_spent"), L("newly", t=t), L("within_share", t=t),
               L("mean_min"), L("ph_value"), L("ph_one_shot"), L("ph_price")]
    rows = [[str(f.year), str(len(f.new_ids)),
             amount(f.spent, currency) + ("" if f.budget is None else f" / {amount(f.budget, currency)}"),
             f"{f.newly_within:+,.0f}", fmt_metric("within_share", f.access.within_share),
             fmt_metric("mean_min", f.access.mean_min), f"{f.value:,.0f}",
             L("ph_unknown") if f.one_shot is None else f"{f.one_shot:,.0f}", _price(f, L)] for f in facts]
    note = L("ph_note", n=len(facts), what=what, unit=L("ph_unit_" + objective(s.service.objective).unit),
             carry=L("ph_carry" if plan.carry_over else "ph_no_carry"))
    if unknown := plan.unknown_price():
        note += " " + L("ph_unknown_note", years=", ".join(map(str, unknown)))
    return render("report/phases.html", title=L("ph_title"), lines=lines, headers=headers, rows=rows, note=note)


def _price(f: PhaseFacts, L: Callable[..., str]) -> str:   # noqa: N803 - the pages' short name for their words
    """A phase's price of phasing and its share of the one-shot value, or "unknown"."""
    if f.price is None:
        return L("ph_unknown")
    return f"{f.price:,.0f} ({fmt_metric('within_share', f.price_share or 0.0)})"
