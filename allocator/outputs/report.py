"""The report: ``report.html`` (a decision brief), ``districts.csv`` and ``targets.csv``.

``report.html`` is one self-contained page that a review board can decide
from. Its first screen is the decision: per service, the sites to build (and
to close or upgrade), ranked by what each adds, what the plan buys and what
it leaves (the people still underserved and where), the targets met and
missed and the trade-offs. Then the details (tables and figures: Lorenz
curves, the travel-time distribution, the share within T per district), the
caveats (every note of the run), the method, the data and an appendix of
terms. The markup is in ``templates/report/`` (autoescaped, so every string
that comes from data is escaped); the page prints cleanly to A4.

The page is the list :data:`SECTIONS` of small functions ``(result, lang) ->
Markup``; another output adds its section with one line there (e.g. a staffing
table or a sweep figure from its own module).

Languages: English (``en``) and Simplified Chinese (``zh``), from the scenario
field ``language`` or ``--lang``. Chinese figure labels use a Simplified
Chinese font chosen by name (:func:`allocator.outputs.labels.cjk_font`).
The numbers are the same as the ``equity`` block of ``summary.json``
(see :mod:`allocator.evaluate.equity` for the definitions).
"""

from __future__ import annotations

import base64
import datetime
import functools
import io
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from allocator.evaluate.loads import small_limit, small_loads
from allocator.inputs.place_names import cell_size_m
from allocator.inputs.sites import SiteStatus
from allocator.outputs.csv_cells import write_csv
from allocator.outputs.how_sure import footer_line, how_sure_section, how_sure_strip, spending_section
from allocator.outputs.labels import (
    REACH_KEYS,
    SHARES,
    SHOWN_KEYS,
    amount,
    cjk_font,
    count,
    fmt_metric,
    metric_name,
    name,
    names,
    people_name,
    reach_note,
    status_words,
    target_text,
    translate,
    what_name,
)
from allocator.outputs.notes import told
from allocator.outputs.overview import overview_svg
from allocator.outputs.page import footer_lines, html_page, target_status
from allocator.outputs.phases import phases_section
from allocator.outputs.site_names import site_at
from allocator.outputs.staffing import report_section as staffing_section
from allocator.outputs.sweep import sweep_section
from allocator.outputs.templates import render
from allocator.scenario.schema import NetworkSpec, alternatives
from allocator.traveltime.transit_source import transit_settings

# --- facts of one service -----------------------------------------------------------------------

def sites_word(s, lang: str) -> str:
    """What a service's sites are called in a sentence: its name ("clinics") or its kind's word; "sites" for a
    service with a ``title`` (the title heads its section; a key like units_more_desks is never shown)."""
    if s.service.title is not None and lang == "en":
        return translate(lang, "sites_word")
    return what_name(lang, s.service.kind, s.service.title or s.service.name)


def people_of(result, s, lang: str) -> str:
    """The population a service counts, by its demand layers' names ("residents", "children")."""
    weights = s.service.demand_weights
    layers = [name for name in result.info.demand_layers if weights is None or weights.get(name, 0) > 0]
    return people_name(lang, layers)


def new_site_table(s) -> pd.DataFrame:
    """The new sites, ranked by the people each alone brings within T (the loss if it alone were dropped)."""
    fac = s.facilities
    rows = fac[fac["status"] == SiteStatus.NEW].copy()
    if not len(rows):
        return rows.assign(newly=pd.Series(dtype=float))
    rows["newly"] = s.contributions   # allocator.evaluate.result.ServiceResult.contributions
    return rows.sort_values(["newly", "assigned_population"], ascending=False)


def site_ranks(s) -> pd.Series:
    """Per facility, its rank among the new sites as the report lists them (1 = most people newly within T; the
    map's numbers and sites.csv's ``rank``), empty for the others."""
    ranks = pd.Series(pd.NA, index=s.facilities.index, dtype="Int64")
    ranks.loc[new_site_table(s).index] = range(1, int((s.facilities["status"] == SiteStatus.NEW).sum()) + 1)
    return ranks


def of_reach(s, lang: str) -> str:
    """" (of the 811,711 who can reach a site)" when someone cannot, before or after (else "")."""
    total = s.after.population
    return reach_note(lang, [total - s.before.unreachable, total - s.after.unreachable], total)


def ede_sentence(result, s, lang: str) -> str | None:
    """"Equally-distributed equivalent walk: 9.6 → 8.1 minutes", with what it means (None: nobody reaches a site)."""
    b, a = s.before["ede_min"], s.after["ede_min"]
    if b is None or a is None:
        return None
    mode = result.info.mode
    trip = translate(lang, f"ede_{mode}" if mode in ("walk", "bike", "drive") else "ede_trip")
    return translate(lang, "b_ede", trip=trip, b=b, a=a, of=of_reach(s, lang), e=s.ede_epsilon)


def relative_sentences(s, lang: str) -> list[str]:
    """The sentences saying Gini or Theil moved against the mean and the EDE, city-wide and in districts."""
    shift = s.relative
    if shift is None:
        return []
    out = []
    if shift.measures:
        which = translate(lang, "and").join(translate(lang, "gini_short" if k == "gini" else "theil_short")
                                            for k in shift.measures)
        nobody = translate(lang, "nobody_slower") if shift.nobody_slower else ""
        out.append(translate(lang, "b_relative_up" if shift.rises else "b_relative_down", which=which, nobody=nobody))
    if shift.districts:
        out.append(translate(lang, "b_relative_districts", list=names(lang, map(name, shift.districts))))
    return out


def gini_change(lang: str, b: float, a: float) -> str:
    """How a Gini moves, as one phrase of ``lang``: "falls from 0.331 to 0.284", "stays at 0.312"."""
    if abs(a - b) < 5e-4:
        return translate(lang, "g_stays", a=a)
    return translate(lang, "g_falls" if a < b else "g_rises", b=b, a=a)


# --- summary sentences --------------------------------------------------------------------------

def summary_sentences(s, lang: str = "en", people: str | None = None, currency: str | None = None) -> list[str]:
    """Plain-language sentences for one service result (what changed, who gains, targets); amounts in
    ``currency`` when the scenario names one."""
    L = functools.partial(translate, lang)
    people = people or translate(lang, "people_default")
    t = s.service.threshold_min
    b, a = s.overall("before"), s.overall("after")
    new = int((s.facilities["status"] == SiteStatus.NEW).sum())
    out = [L("s_change", n=new, what=sites_word(s, lang), people=people, t=t,
             b=fmt_metric("within_share", b["within_share"]), a=fmt_metric("within_share", a["within_share"]),
             d=(a["within"] or 0) - (b["within"] or 0))]
    if s.solution.budget_used is not None:   # the plan model: closures, upgrades, spending
        fac = s.facilities
        closed, upgraded = int((fac["status"] == SiteStatus.CLOSED).sum()), int(fac["upgraded"].astype(bool).sum())
        changes = ([L("s_closes", n=closed)] if closed else []) + ([L("s_upgrades", n=upgraded)] if upgraded else [])
        spend = {"spent": amount(s.solution.budget_used, currency),
                 "limit": L("s_limit", b=amount(s.service.budget, currency)) if s.service.budget is not None else ""}
        out.append(L("s_plan", changes=L("and").join(changes), **spend) if changes else L("s_spend", **spend))
    if s.rounding is not None:
        out.append(L("s_rounding", r=s.rounding.round_s, status=s.solution.status,
                     rounded=amount(s.rounding.objective_rounded), exact=amount(s.rounding.objective_exact)))
    if None not in (b["mean_min"], a["mean_min"], b["max_min"], a["max_min"]):
        out.append(L("s_trips", b=b["mean_min"], a=a["mean_min"], mb=b["max_min"], ma=a["max_min"],
                     of=of_reach(s, lang)))
    if b["gini"] is not None and a["gini"] is not None:
        g = gini_change(lang, b["gini"], a["gini"])
        districts = s.equity.get("districts")
        if districts and a["theil"]:
            out.append(L("s_gini", g=g, share=a["theil_between"] / a["theil"], of=of_reach(s, lang)))
        else:
            out.append(L("s_gini_nodist", g=g, of=of_reach(s, lang)))
    gains = s.brief.gains   # allocator.evaluate.result.ServiceResult.brief
    if s.equity.get("districts"):
        if gains.top_districts:
            listed = names(lang, [name(d.name) + f" (+{100 * d.gain:.0f} {L('pp')})" for d in gains.top_districts])
            out.append(L("s_gains", n=gains.people, people=people, list=listed))
        else:   # districts, none gaining: the sentence says 0.0 minutes, as it always has
            out.append(L("s_gains_nodist", n=gains.people, people=people, m=0.0))
    else:
        out.append(L("s_gains_nodist", n=gains.people, people=people, m=gains.minutes_saved))
    targets = s.equity.get("targets") or []
    if targets:
        met = [x for x in targets if x["met_after"]]
        out.append(L("s_targets", k=len(met), n=len(targets)))
        missed = [target_text(x, lang, t) for x in targets if not x["met_after"]]
        if missed:
            out.append(L("s_missed", list="; ".join(missed)))
    else:
        out.append(L("s_no_targets"))
    return out


# --- figures ------------------------------------------------------------------------------------

def png_data(fig) -> str:
    """A matplotlib figure as base64 PNG text (the figure is closed).

    Every text is drawn as it is, whatever the page's language: names from data (district names, plan titles)
    with ``$`` would otherwise be read as mathtext, drawn changed or failing the run (``$\\frac$``); Chinese
    names fall back to the CJK font; a glyph no font has (a tab in a name) is a box, not a warning on stderr.
    """
    import warnings

    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    fallback = cjk_font()
    for text in fig.findobj(Text):
        text.set_parse_math(False)
        if fallback is not None and fallback not in text.get_fontfamily():
            text.set_fontfamily([*text.get_fontfamily(), fallback])
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figures(s, lang: str = "en", people: str | None = None) -> list[tuple[str, str]]:
    """(title, base64 PNG) of the Lorenz curves, the time distribution and the district bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font() if lang == "zh" else None
    flang = "zh" if font else "en"
    L = functools.partial(translate, flang)
    t = s.service.threshold_min
    colours = {"before": "#9e9e9e", "after": "#1565c0"}
    out = []
    with plt.rc_context({"font.family": [font, "sans-serif"]} if font else None):
        fig, ax = plt.subplots(figsize=(5.2, 4.2))
        ax.plot([0, 1], [0, 1], color="#444", lw=0.8, ls=":", label=L("equality"))
        for when in ("before", "after"):
            curve = s.equity["lorenz"][when]
            g = s.equity["overall"][when]["gini"]
            ax.plot(curve["population_share"], curve["time_share"], color=colours[when], lw=2,
                    label=f"{L(when)} (Gini {g:.3f})" if g is not None else L(when))
        ax.set(xlabel=L("lorenz_x"), ylabel=L("lorenz_y"), xlim=(0, 1), ylim=(0, 1), title=L("lorenz_title"))
        ax.legend(loc="upper left", frameon=False)
        out.append((translate(lang, "lorenz_title"), png_data(fig)))

        fig, ax = plt.subplots(figsize=(6.2, 4.2))
        pop = s.demand["population"].to_numpy(float)
        finite = [s.demand[f"time_{w}"].to_numpy(float) for w in ("before", "after")]
        top = max([np.nanmax(x) for x in finite if np.isfinite(x).any()] + [t]) * 1.02
        bins = np.linspace(0, top, 40).tolist()
        for when, times in zip(("before", "after"), finite):
            ok = np.isfinite(times)
            ax.hist(times[ok], bins=bins, weights=pop[ok], histtype="stepfilled" if when == "before" else "step",
                    color=colours[when], alpha=0.55 if when == "before" else 1.0, lw=2, label=L(when))
        ax.axvline(t, color="#c62828", ls="--", lw=1.2, label=L("threshold", t=t))
        ax.set(xlabel=L("hist_x"), ylabel=people if people and flang == lang else L("hist_y"), title=L("hist_title"))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.legend(frameon=False)
        out.append((translate(lang, "hist_title"), png_data(fig)))

        districts = s.equity.get("districts")
        if districts:
            table = pd.DataFrame(districts)
            table = table[table["population"] > 0].sort_values("within_share_after")
            y = np.arange(len(table))
            fig, ax = plt.subplots(figsize=(6.2, max(2.5, 0.32 * len(table) + 1.2)))
            ax.barh(y - 0.2, table["within_share_before"].fillna(0) * 100, height=0.4, color=colours["before"],
                    label=L("before"))
            ax.barh(y + 0.2, table["within_share_after"].fillna(0) * 100, height=0.4, color=colours["after"],
                    label=L("after"))
            ax.set_yticks(y, [str(n)[:34] for n in table["district_name"]], fontsize=8)
            ax.set(xlim=(0, 100), xlabel="%", title=L("bars_title", t=t))
            ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.0 / (len(table) + 4)), ncol=2)
            out.append((translate(lang, "bars_title", t=t), png_data(fig)))
    return out


# --- tables -------------------------------------------------------------------------------------

def districts_frame(result) -> pd.DataFrame:
    """districts.csv: one row per service and district."""
    parts = [pd.DataFrame(s.equity["districts"]).assign(service=s.service.name)
             for s in result.services if s.equity.get("districts")]
    if not parts:
        return pd.DataFrame(columns=["service", "district", "district_name", "locations", "population"])
    frame = pd.concat(parts, ignore_index=True)
    return frame[["service", *[c for c in frame.columns if c != "service"]]]


def targets_frame(result) -> pd.DataFrame:
    """targets.csv: one row per service and target."""
    rows = [{"service": s.service.name, **x} for s in result.services for x in s.equity.get("targets") or []]
    columns = ["service", "metric", "bound", "limit", "per_district", "label", "before", "met_before",
               "worst_district_before", "after", "met_after", "worst_district_after"]
    return pd.DataFrame(rows, columns=columns)


def missed_targets(result) -> list[str]:
    """Targets not met after the change, as "service: target" lines (for --strict)."""
    return [f"{s.service.name}: {target_text(x, 'en', s.service.threshold_min)} "
            f"(after: {fmt_metric(x['metric'], x['after'])})"
            for s in result.services for x in s.equity.get("targets") or [] if not x["met_after"]]



# --- the decision brief -------------------------------------------------------------------------

def _site_rows(rows: pd.DataFrame, with_newly: bool, lang: str) -> list[dict]:
    """The sites table's rows: rank, place, id and where, district, [people newly within T], served, trip."""
    out = []
    for rank, r in enumerate(rows.to_dict("records"), start=1):
        mean = r["mean_time_min"]
        trip = "–" if mean is None or math.isnan(float(mean)) else f"{float(mean):.1f}"
        out.append({"rank": str(rank), "place": str(r["place"]), "id": str(r["id"]),
                    "at": site_at(r), "district": str(r.get("district", "") or ""),
                    "newly": f"{float(r['newly']):,.0f}" if with_newly else None,
                    "served": f"{float(r['assigned_population']):,.0f}", "trip": trip})
    return out


def _buys_and_leaves(result, s, lang: str, people: str, gain: float) -> tuple[list[str], list[str]]:
    """What the plan buys (``gain`` more people within T, trips, inequality) and what it leaves (who is still
    beyond T, where)."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    b, a = s.before, s.after
    ov = {when: s.overall(when) for when in ("before", "after")}
    buys = [L("b_within", gain=gain, people=people, t=t, b=fmt_metric("within_share", b["within_share"]),
              a=fmt_metric("within_share", a["within_share"]))]
    if None not in (b["mean_min"], a["mean_min"], b["max_min"], a["max_min"]):
        buys.append(L("b_trips", mb=b["mean_min"], ma=a["mean_min"], xb=b["max_min"], xa=a["max_min"],
                      of=of_reach(s, lang)))
    buys += [x for x in (ede_sentence(result, s, lang),) if x]
    if ov["before"].get("gini") is not None and ov["after"].get("gini") is not None:
        g = gini_change(lang, ov["before"]["gini"], ov["after"]["gini"])
        buys.append(L("b_gini", g=g, of=of_reach(s, lang)))
    buys += relative_sentences(s, lang)
    where = s.brief.underserved   # allocator.evaluate.result.ServiceResult.brief
    if a["underserved"] > 0:
        leaves = [L("l_left", left=a["underserved"], people=people, t=t,
                    share=fmt_metric("within_share", a["underserved_share"]), total=a["population"])]
        if a["unreachable"] > 0 and result.info.max_snap_m is not None:
            leaves.append(L("l_unreach", n=a["unreachable"], m=result.info.max_snap_m))
        if where:
            leaves.append(L("l_where", list=names(lang, [name(u.place) + f" ({count(u.people)})" for u in where])))
    else:
        leaves = [L("l_none", t=t)]
    return buys, leaves


def same_access_as(result, s):
    """The first plan of ``s``'s alternatives when ``s`` opens, closes and upgrades the same sites with the same
    access after (its travel figures would repeat that plan's: only its counters or costs differ), else None."""
    first = next((x for x in result.services if x.service.name == s.service.alternative_to), None)
    if first is None:
        return None

    def plan(x) -> tuple:
        fac = x.facilities
        upgraded = fac["upgraded"].astype(bool) if "upgraded" in fac else pd.Series(False, index=fac.index)
        changed = fac[fac["status"] != SiteStatus.EXISTING]
        return (sorted(zip(changed["id"].astype(str), changed["status"].astype(str))),
                sorted(fac.loc[upgraded, "id"].astype(str)), x.overall("after"))

    return first if plan(first) == plan(s) else None


def decision_brief(result, s, lang: str) -> Markup:
    """One service's decision: the sites, what the plan buys and leaves, targets, trade-offs (for an alternative
    with the same sites and access as its first plan, a line saying so instead of the sites, gains and trade-offs)."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    people = people_of(result, s, lang)
    what = sites_word(s, lang)
    ranked = new_site_table(s)
    fac = s.facilities
    closed = fac[fac["status"] == SiteStatus.CLOSED]
    upgraded = fac[fac["upgraded"].astype(bool)] if "upgraded" in fac else fac.iloc[0:0]
    heads = [L("build", n=len(ranked), what=what)] if len(ranked) else [L("no_change", what=what)]
    if s.service.title is not None:
        heads[0] = f"{s.service.title}{L('colon')}{heads[0][:1].lower()}{heads[0][1:]}"
    heads += [L("close", n=len(closed))] if len(closed) else []
    heads += [L("upgrade", n=len(upgraded))] if len(upgraded) else []
    b, a = s.before, s.after
    gain = (a["within"] or 0) - (b["within"] or 0)
    lead = L("lead", gain=gain, people=people, t=t, b=fmt_metric("within_share", b["within_share"]),
             a=fmt_metric("within_share", a["within_share"]), total=a["population"], left=a["underserved"])
    with_district = bool(fac.loc[fac["status"] != SiteStatus.EXISTING, "district"].astype(str).str.strip().any()) \
        if "district" in fac else False   # no districts: no empty column
    headers = [L("rank"), f"{L('place')} ({L('id')} · {L('at')})", *([L("district")] if with_district else []),
               L("newly", t=t), L("served"), L("trip")]
    newly_header = headers[-3]
    groups = [{"label": label, "rows": _site_rows(rows, False, lang)}
              for label, rows in ((L("closed_sites"), closed), (L("upgraded_sites"), upgraded)) if len(rows)]
    buys, leaves = _buys_and_leaves(result, s, lang, people, gain)
    targets = s.equity.get("targets") or []
    words = {"newly_note": L("newly_note", t=t), "buys": L("buys"), "leaves": L("leaves"), "colon": L("colon"),
             "targets_state": L("targets_state", k=sum(bool(x["met_after"]) for x in targets), n=len(targets)),
             "no_targets_set": L("no_targets_set"), "tradeoffs": L("tradeoffs")}
    same = same_access_as(result, s)
    sizes = {cell_size_m(str(x)) for x in ranked["id"]}
    cells = L("cell_note", m=sizes.pop()) if len(sizes) == 1 and None not in sizes else ""
    words |= {"open_map": L("open_map"), "cells": cells}
    if same is not None:   # its sites, gains and trade-offs are its first plan's: said once, above
        lead = L("alt_same", n=len(ranked), first=same.service.display_title)
        ranked, groups, buys, leaves = ranked.iloc[0:0], [], [], []
    return render("report/decision.html", heading=L("and").join(heads), lead=lead, headers=headers,
                  short_headers=[h for h in headers if h != newly_header], with_district=with_district, ranked=_site_rows(ranked, True, lang),
                  groups=groups, buys=buys, leaves=leaves, words=words,
                  targets=[{"status": target_status(lang, x["met_after"]), "text": target_text(x, lang, t),
                            "value": _target_value(x, lang, of_reach(s, lang))} for x in targets],
                  staffing=staffing_section(s, lang),   # counters and waiting (allocator.outputs.staffing)
                  tradeoffs=tradeoffs(result, s, ranked, lang) if same is None else [], anchor=s.service.name)


def _target_value(x: dict, lang: str, of: str) -> str:
    """A target's value after the plan, with its unit, the people it leaves out (``of``: who can reach a site;
    a ``max_min`` target missed by those who cannot) and the worst district for a per-district target."""
    value = fmt_metric(x["metric"], x["after"])
    value = translate(lang, "t_min", v=value) if x["metric"].endswith("_min") else value
    value += _reach_words(x, "after", lang, of)
    worst = x.get("worst_district_after")
    return value + Markup(" ({})").format(translate(lang, "worst", d=name(worst))) if worst else value


def _reach_words(x: dict, when: str, lang: str, of: str) -> str:
    """What a target's value ``when`` leaves out: those who cannot reach a site (a missed ``max_min``), else ``of``
    for a metric over those who can (per-district values: their district's, not said)."""
    if x.get(f"unreachable_{when}"):
        return translate(lang, "unreach_missed", n=x[f"unreachable_{when}"])
    return of if x["metric"] in REACH_KEYS and not x["per_district"] else ""


def tradeoffs(result, s, ranked: pd.DataFrame, lang: str) -> list[str]:
    """Computed sentences on what the plan gives up: small loads, diminishing returns, the longest trip, spending."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    out = []
    limit = small_limit(s.facilities)
    small = small_loads(s.facilities, limit)
    if len(small):
        listed = names(lang, [name(p) + f" ({count(n)})"
                              for p, n in zip(small["place"], small["assigned_population"], strict=True)])
        out.append(L("t_small", k=len(small), n=len(ranked), limit=limit, list=listed))
    if len(ranked) > 1:
        out.append(L("t_diminish", top=float(ranked["newly"].max()), low=float(ranked["newly"].min()), t=t))
    longest = s.brief.longest
    if longest is not None:
        out.append(L("t_longest", x=longest.minutes, where=name(longest.where), of=of_reach(s, lang)))
    if s.solution.budget_used is not None:
        out.append(L("t_budget", spent=amount(s.solution.budget_used, result.info.currency),
                     limit=L("s_limit", b=amount(s.service.budget, result.info.currency)) if s.service.budget is not None else ""))
    return out


def decision_section(result, lang: str) -> Markup:
    """The first screen: each service's decision brief; alternative plans (``services[].alternative_to``) said to
    be alternatives before the first of them, each in its own section."""
    groups = alternatives([s.service for s in result.services])
    parts = []
    for s in result.services:
        if s.service.name in groups:
            titles = [x.service.display_title for x in result.services if x.service.name in groups[s.service.name]]
            parts.append(render("report/alternatives.html", text=translate(
                lang, "alt_intro", n=len(titles), list=translate(lang, "alt_or").join(titles))))
        parts.append(decision_brief(result, s, lang))
    return Markup("\n").join(parts) + overview_section(result, lang)


def overview_section(result, lang: str) -> Markup:
    """After the decisions: each plan's overview map (:mod:`allocator.outputs.overview`), its numbers the ranks of
    the sites tables; none for a plan without new sites or with its first plan's sites."""
    maps = [{"title": s.service.display_title, "svg": overview_svg(s, site_ranks(s), i, lang)}
            for i, s in enumerate(result.services)
            if (s.facilities["status"] == SiteStatus.NEW).any() and same_access_as(result, s) is None]
    if not maps:
        return Markup()
    return render("report/overview.html", title=translate(lang, "overview"), maps=maps,
                  alt=translate(lang, "overview_alt"), link=translate(lang, "open_map"), named=len(maps) > 1)


def shared_budget_section(result, lang: str) -> Markup:
    """The shared budget's limit and what the services spend together (empty without a ``shared_budget``)."""
    if result.shared_budget_used is None:
        return Markup()
    text = translate(lang, "s_shared", names=names(lang, [name(s.service.display_title) for s in result.services]),
                     used=amount(result.shared_budget_used, result.info.currency),
                     b=amount(result.info.shared_budget, result.info.currency))
    return render("report/shared_budget.html", title=translate(lang, "shared_budget"), text=text)


# --- details ------------------------------------------------------------------------------------

def _change(key: str, b, a, lang: str) -> str:
    if b is None or a is None:
        return "–"
    if key in SHARES:
        return f"{100 * (a - b):+.1f} {translate(lang, 'pp')}"
    return f"{a - b:+.1f}" if key.endswith("_min") else f"{a - b:+.3f}"


def _shown(key: str, s) -> bool:
    """Theil's split means nothing without districts."""
    return not (key in ("theil_between", "theil_within") and not s.equity.get("districts"))


def _target_states(x: dict, lang: str, of: str) -> list[dict]:
    """A target before and after: its value (and whom it leaves out), the worst district (per-district targets),
    met or not."""
    out = []
    for when in ("before", "after"):
        worst = x.get(f"worst_district_{when}")
        out.append({"value": fmt_metric(x["metric"], x[when]) + _reach_words(x, when, lang, of),
                    "worst": translate(lang, "worst", d=name(worst)) if worst else "",
                    "status": target_status(lang, x[f"met_{when}"])})
    return out


def _district_rows(districts: list[dict], lang: str, t: float) -> tuple[list[str], list[list]]:
    """The districts table: headers and one row per populated district, most people first (none without)."""
    if not districts:
        return [], []
    L = functools.partial(translate, lang)
    keys = ("within_share", "mean_min", "ede_min", "max_min", "gini")
    headers = [L("district"), L("population")] + [f"{metric_name(lang, k, t)}: {L('before')} → {L('after')}"
                                                 for k in keys]
    rows = [[name(d["district_name"]), fmt_metric("population", d["population"])]
            + [f"{fmt_metric(k, d.get(f'{k}_before'))} → {fmt_metric(k, d.get(f'{k}_after'))}" for k in keys]
            for d in sorted(districts, key=lambda d: -d["population"]) if d["population"] > 0]
    return headers, rows


def service_section(result, s, lang: str) -> Markup:
    """One service's details: summary sentences, targets, overall metrics, districts, figures (for an alternative
    with its first plan's sites and access, a line pointing there)."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    same = same_access_as(result, s)
    if same is not None:
        return render("report/details_same.html", name=s.service.display_title, colon=L("colon"),
                      details=L("details"), text=L("alt_same_details", first=same.service.display_title))
    people = people_of(result, s, lang)
    ov = {when: s.overall(when) for when in ("before", "after")}
    of = of_reach(s, lang)
    targets = [{"text": target_text(x, lang, t), "states": _target_states(x, lang, of)}
               for x in s.equity.get("targets") or []]
    overall = [[metric_name(lang, k, t) + (of if k in REACH_KEYS else ""), fmt_metric(k, ov["before"].get(k)),
                fmt_metric(k, ov["after"].get(k)),
                _change(k, ov["before"].get(k), ov["after"].get(k), lang)]
               for k in SHOWN_KEYS if _shown(k, s) and (ov["before"].get(k) is not None or ov["after"].get(k) is not None)]
    district_headers, districts = _district_rows(s.equity.get("districts") or [], lang, t)
    words = {k: L(k) for k in ("colon", "details", "summary", "targets", "overall", "districts", "figures")}
    return render("report/details.html", name=s.service.display_title, words={**words, "threshold": L("threshold", t=t)},
                  summary=summary_sentences(s, lang, people, result.info.currency), targets=targets,
                  target_headers=[L("target"), L("before"), "", L("after"), ""],
                  overall_headers=[L("metric"), L("before"), L("after"), L("change")], overall=overall,
                  district_headers=district_headers, districts=districts,
                  districts_title=L("districts_all", n=len(districts)),
                  figures=[{"title": title, "png": png} for title, png in figures(s, lang, people)])


def details_section(result, lang: str) -> Markup:
    """Each service's details."""
    return Markup("\n").join(service_section(result, s, lang) for s in result.services)


# --- caveats, method, data, appendix ------------------------------------------------------------

def caveats_section(result, lang: str) -> Markup:
    """Every note of the run on its data and reach, in plain words, once: with the services it concerns."""
    L = functools.partial(translate, lang)
    notes: dict[str, list[str]] = {}
    for s in result.services:
        for note in told(s.notes, lang, people_of(result, s, lang)):
            if not note.solver:
                notes.setdefault(note.text, []).append(s.service.display_title)
    items = [{"service": L("and").join(dict.fromkeys(who)), "text": text} for text, who in notes.items()]
    return render("report/caveats.html", title=L("caveats"), colon=L("colon"), items=items, empty=L("no_caveats"))


def objective_words(result, s, lang: str) -> str:
    """The question a service's model answers, in words (no model codes)."""
    return translate(lang, f"obj_{s.service.objective}", people=people_of(result, s, lang), t=s.service.threshold_min)


def method_section(result, lang: str) -> Markup:
    """Per service the question in words, the solver's status and gap; the travel rules and snapping limit."""
    L = functools.partial(translate, lang)
    items = []
    for s in result.services:
        sol = s.solution
        gap = L("m_exact") if sol.status == "optimal" and not sol.gap else (
            L("m_gap", g=sol.gap) if sol.gap is not None else "")
        status = L("m_status", status=status_words(lang, sol.status), gap=gap, s=sol.solve_seconds,
                   d=s.matrix_shape[0], k=s.matrix_shape[1])
        solver_notes = " ".join(note.text for note in told(s.notes, lang, people_of(result, s, lang)) if note.solver)
        items.append({"service": s.service.display_title,
                      "text": f"{L('m_objective', words=objective_words(result, s, lang))} {status} {solver_notes}"})
    info = result.info
    if info.mode is not None:
        speed = L(f"speed_{info.mode}", v=info.speed_kph)
        items.append({"service": "", "text": L("m_travel", mode=L(f"mode_{info.mode}"), speed=speed,
                                                 snap=info.max_snap_m)})
    if info.mode == "transit":
        items.append({"service": "", "text": L("m_transit", **transit_window(info.resolved["network"]))})
    if info.matrix_file is not None:
        items.append({"service": "", "text": L("m_matrix", file=info.matrix_file)})
    return render("report/method.html", title=L("method"), colon=L("colon"), items=items)


#: the parts of a data source's role (allocator.solve.run_info.DataSource.role, joined by "; ") and their labels
_ROLES = ((re.compile(r"^demand: (?P<name>.+) \(buildings\)$"), "role_buildings"),
          (re.compile(r"^demand: (?P<name>.+)$"), "role_demand"),
          (re.compile(r"^(?P<name>.+): existing$"), "role_existing"),
          (re.compile(r"^(?P<name>.+): candidates$"), "role_candidates"),
          (re.compile(r"^road network$"), "role_network"), (re.compile(r"^travel times$"), "role_matrix"),
          (re.compile(r"^districts$"), "role_districts"))


def data_role(role: str, lang: str) -> Markup:
    """What a data source is used for, in ``lang``, its layer and service names marked (:func:`name`); a role of no
    known form as it is."""
    parts = []
    for part in role.split("; "):
        found = next(((m, key) for pattern, key in _ROLES if (m := pattern.match(part))), None)
        parts.append(translate(lang, found[1], **{k: name(v) for k, v in found[0].groupdict().items()})
                     if found else part)
    return Markup(escape(translate(lang, "role_sep"))).join(parts)


def transit_window(network: dict) -> dict:
    """The departure window and routing settings of a ``mode: transit`` network section (as resolved)."""
    spec = NetworkSpec.model_validate(network)
    settings = transit_settings(spec)
    assert spec.departure is not None
    end = spec.departure + datetime.timedelta(minutes=settings.window_min)
    return {"start": f"{spec.departure:%H:%M}", "end": f"{end:%H:%M}", "day": f"{spec.departure:%A %Y-%m-%d}",
            "p": settings.percentile, "k": settings.max_transfers, "w": settings.max_walk_min}


def data_section(result, lang: str) -> Markup:
    """Each data source the run read: what it is used for, what it is, its licence and credit."""
    L = functools.partial(translate, lang)
    rows = [[data_role(d.role, lang), name(d.name), name(d.description), d.year or L("d_no_year"), name(d.licence),
             name(d.attribution)] for d in result.info.sources]
    return render("report/data.html", title=L("data"), rows=rows,
                  headers=[L("d_role"), L("d_data"), L("d_about"), L("d_year"), L("d_licence"), L("d_credit")])


def appendix_section(result, lang: str) -> Markup:
    """Gini, Theil, 2SFCA, percentage points and percentiles in plain language."""
    L = functools.partial(translate, lang)
    return render("report/appendix.html", title=L("appendix"),
                  items=[L(k) for k in ("a_ede", "a_gini", "a_theil", "a_2sfca", "a_pp", "a_tail")])


#: report.html, in order: each is ``(result, lang) -> Markup`` (empty to leave it out). Another output adds its own
#: section with one line here, from its own module.
SECTIONS: list[Callable[..., Markup]] = [
    how_sure_strip,       # the "How sure" facts in one line on the first screen (allocator.outputs.how_sure)
    shared_budget_section,
    phases_section,       # a phased plan: the build order, on the first screen (allocator.outputs.phases)
    decision_section,
    how_sure_section,     # data year, cell size, speed, variants, version and date (allocator.outputs.how_sure)
    spending_section,     # what the plan costs, in the scenario's currency (allocator.outputs.how_sure)
    sweep_section,        # with a sweep: what each extra site buys (allocator.outputs.sweep)
    details_section,
    caveats_section,
    method_section,
    data_section,
    appendix_section,
]


def render_report(result, lang: str | None = None) -> str:
    """The whole report.html text of one run."""
    info = result.info
    lang = lang or info.language
    title = f"{translate(lang, 'report')}{translate(lang, 'colon')}{info.title}"
    body = Markup("\n").join(part for part in (section(result, lang) for section in SECTIONS) if part)
    return html_page(title, info.description or "", body, lang,
                     [*footer_lines(lang, info.attributions), footer_line(lang)])


def write_report(result, folder: Path, lang: str | None = None) -> None:
    """Write report.html, districts.csv and targets.csv into ``folder``."""
    folder = Path(folder)
    (folder / "report.html").write_text(render_report(result, lang), encoding="utf-8")
    write_csv(districts_frame(result), folder / "districts.csv")
    write_csv(targets_frame(result), folder / "targets.csv")
