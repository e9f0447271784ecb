"""The report: ``report.html`` (a decision brief), ``districts.csv`` and ``targets.csv``.

``report.html`` is one self-contained page that a review board can decide
from. Its first screen is the decision: per service, the sites to build (and
to close or upgrade), ranked by what each adds, what the plan buys and what
it leaves (the people still underserved and where), the targets met and
missed and the trade-offs. Then the details (tables and figures: Lorenz
curves, the travel-time distribution, the share within T per district), the
caveats (every note of the run), the method, the data and an appendix of
terms. Every string that comes from data is escaped with :func:`html.escape`;
the page prints cleanly to A4.

The page is the list :data:`SECTIONS` of small functions ``(result, lang) ->
HTML``; another output adds its section with one line there (e.g. a staffing
table or a sweep figure from its own module).

Languages: English (``en``) and Simplified Chinese (``zh``), from the scenario
field ``language`` or ``--lang``. Chinese figure labels use a Simplified
Chinese font chosen by name (:func:`allocator.outputs.labels.cjk_font`).
The numbers are the same as the ``equity`` block of ``summary.json``
(see :mod:`allocator.evaluate.equity` for the definitions).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import re
from collections.abc import Callable
from pathlib import Path

import h3
import numpy as np
import pandas as pd

from allocator.inputs.place_names import district_labels
from allocator.inputs.sites import SiteStatus
from allocator.outputs.labels import (
    SHARES,
    SHOWN_KEYS,
    amount,
    cjk_font,
    fmt_metric,
    metric_name,
    people_name,
    target_text,
    translate,
    what_name,
)
from allocator.outputs.page import footer_lines, html_page, html_table, status_html
from allocator.outputs.staffing import report_section as staffing_section
from allocator.outputs.sweep import sweep_section

e = html.escape

#: a new site serving fewer people than this share of the median open site's is flagged as a small load
SMALL_LOAD_SHARE = 0.25
#: how many places the brief names where people stay underserved
WHERE_COUNT = 3


# --- facts of one service -----------------------------------------------------------------------

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


def small_loads(s) -> pd.DataFrame:
    """New sites whose people served are under SMALL_LOAD_SHARE of the median open site's."""
    fac = s.facilities
    open_rows = fac[fac["status"] != SiteStatus.CLOSED]
    if not len(open_rows):
        return open_rows
    limit = SMALL_LOAD_SHARE * float(np.nanmedian(open_rows["assigned_population"].to_numpy(float)))
    new = fac[fac["status"] == SiteStatus.NEW]
    return new[new["assigned_population"].to_numpy(float) < limit].assign(limit=limit)


def small_limit(s) -> float:
    """The small-load limit of a service (people), as :func:`small_loads` uses it."""
    open_rows = s.facilities[s.facilities["status"] != SiteStatus.CLOSED]
    return SMALL_LOAD_SHARE * float(np.nanmedian(open_rows["assigned_population"].to_numpy(float))) \
        if len(open_rows) else 0.0


def underserved_places(s, streets, count: int = WHERE_COUNT) -> list[tuple[str, float]]:
    """Where the people still beyond T live: the districts (else H3 resolution-7 areas) holding most of them."""
    demand = s.demand
    after = demand["time_after"].to_numpy(float)
    pop = demand["population"].to_numpy(float)
    left = (np.isnan(after) | (after > s.service.threshold_min)) & (pop > 0)
    if not left.any():
        return []
    if "district_name" in demand:
        names = demand["district_name"].astype(str)
    else:
        keys = pd.Series([h3.latlng_to_cell(lat, lon, 7) for lon, lat in zip(demand["lon"], demand["lat"])],
                         index=demand.index)
        names = district_labels(demand, keys, keys, streets)
    by = pd.Series(pop[left], index=names[left].to_numpy()).groupby(level=0).sum().sort_values(ascending=False)
    return [(str(k), float(v)) for k, v in by.head(count).items()]


def _verb(lang: str, b: float, a: float) -> tuple[str, str]:
    """("falls", "from 0.331 to 0.284") or ("stays", "at 0.312")."""
    L = functools.partial(translate, lang)
    if abs(a - b) < 5e-4:
        return L("stays"), L("stays_at", a=a)
    return (L("falls") if a < b else L("rises")), L("moves", b=b, a=a)


# --- summary sentences --------------------------------------------------------------------------

def summary_sentences(s, lang: str = "en", people: str | None = None) -> list[str]:
    """Plain-language sentences for one service result (what changed, who gains, targets)."""
    L = functools.partial(translate, lang)
    people = people or translate(lang, "people_default")
    t = s.service.threshold_min
    b, a = ({**s.before, **s.equity["overall"]["before"]}, {**s.after, **s.equity["overall"]["after"]})
    new = int((s.facilities["status"] == SiteStatus.NEW).sum())
    out = [L("s_change", n=new, what=what_name(lang, s.service.kind, s.service.name), people=people, t=t,
             b=fmt_metric("within_share", b["within_share"]), a=fmt_metric("within_share", a["within_share"]),
             d=(a["within"] or 0) - (b["within"] or 0))]
    if s.solution.budget_used is not None:   # the plan model: closures, upgrades, spending
        fac = s.facilities
        closed, upgraded = int((fac["status"] == SiteStatus.CLOSED).sum()), int(fac["upgraded"].astype(bool).sum())
        changes = ([L("s_closes", n=closed)] if closed else []) + ([L("s_upgrades", n=upgraded)] if upgraded else [])
        spend = {"spent": amount(s.solution.budget_used),
                 "limit": L("s_limit", b=amount(s.service.budget)) if s.service.budget is not None else ""}
        out.append(L("s_plan", changes=L("and").join(changes), **spend) if changes else L("s_spend", **spend))
    if s.rounding is not None:
        out.append(L("s_rounding", r=s.rounding.round_s, status=s.solution.status,
                     rounded=amount(s.rounding.objective_rounded), exact=amount(s.rounding.objective_exact)))
    if None not in (b["mean_min"], a["mean_min"], b["max_min"], a["max_min"]):
        out.append(L("s_trips", b=b["mean_min"], a=a["mean_min"], mb=b["max_min"], ma=a["max_min"]))
    if b["gini"] is not None and a["gini"] is not None:
        verb, g = _verb(lang, b["gini"], a["gini"])
        districts = s.equity.get("districts")
        if districts and a["theil"]:
            out.append(L("s_gini", verb=verb, g=g, share=a["theil_between"] / a["theil"]))
        else:
            out.append(L("s_gini_nodist", verb=verb, g=g))
    demand = s.demand
    before = demand["time_before"].fillna(np.inf).to_numpy(float)
    after = demand["time_after"].fillna(np.inf).to_numpy(float)
    gain = after < before - 1e-9
    pop = demand["population"].to_numpy(float)
    gainers = float(pop[gain].sum())
    districts = s.equity.get("districts")
    if districts:
        table = pd.DataFrame(districts)
        table["gain"] = table["within_share_after"].fillna(0) - table["within_share_before"].fillna(0)
        top = table[table["gain"] > 1e-9].sort_values("gain", ascending=False).head(3)
        if len(top):
            names = L("and").join(f"{r.district_name} (+{100 * r.gain:.0f} {L('pp')})" for r in top.itertuples())
            out.append(L("s_gains", n=gainers, people=people, list=names))
        else:
            out.append(L("s_gains_nodist", n=gainers, people=people, m=0.0))
    else:
        finite = gain & np.isfinite(before)
        saved = float(np.average(before[finite] - after[finite], weights=pop[finite])) if pop[finite].sum() > 0 else 0.0
        out.append(L("s_gains_nodist", n=gainers, people=people, m=saved))
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
    """A matplotlib figure as base64 PNG text (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
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
    rc = {"font.family": [font, "sans-serif"]} if font else {}
    out = []
    with plt.rc_context(rc):
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
        bins = np.linspace(0, top, 40)
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

def _ul(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>"


def _site_rows(rows: pd.DataFrame, t: float, with_newly: bool) -> list[list[str]]:
    out = []
    for rank, r in enumerate(rows.itertuples(), start=1):
        trip = "–" if r.mean_time_min is None or math.isnan(float(r.mean_time_min)) else f"{float(r.mean_time_min):.1f}"
        cells = [str(rank), f"<b>{e(str(r.place))}</b><br><small>{e(str(r.id))} · {float(r.lat):.5f}, "
                 f"{float(r.lon):.5f}</small>", e(str(getattr(r, "district", "") or ""))]
        cells += [f"{float(r.newly):,.0f}"] if with_newly else []
        cells += [f"{float(r.assigned_population):,.0f}", trip]
        out.append(cells)
    return out


def decision_brief(result, s, lang: str) -> str:
    """One service's decision: the sites, what the plan buys and leaves, targets, trade-offs."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    people = people_of(result, s, lang)
    what = what_name(lang, s.service.kind, s.service.name)
    ranked = new_site_table(s)
    fac = s.facilities
    closed = fac[fac["status"] == SiteStatus.CLOSED]
    upgraded = fac[fac["upgraded"].astype(bool)] if "upgraded" in fac else fac.iloc[0:0]
    heads = [L("build", n=len(ranked), what=what)] if len(ranked) else [L("no_change", what=what)]
    heads += [L("close", n=len(closed))] if len(closed) else []
    heads += [L("upgrade", n=len(upgraded))] if len(upgraded) else []
    b, a = s.before, s.after
    gain = (a["within"] or 0) - (b["within"] or 0)
    lead = L("lead", gain=gain, people=people, t=t, b=fmt_metric("within_share", b["within_share"]),
             a=fmt_metric("within_share", a["within_share"]), total=a["population"], left=a["underserved"])
    parts = [f"<section class='decision'><h2>{e(L('and').join(heads))}</h2><p class='lead'>{e(lead)}</p>"]
    headers = [L("rank"), f"{L('place')} ({L('id')} · {L('at')})", L("district"), L("newly", t=t), L("served"),
               L("trip")]
    if len(ranked):
        parts.append(html_table(headers, _site_rows(ranked, t, True), raw_cells=True, cls="sites")
                     + f"<p class='note'>{e(L('newly_note', t=t))}</p>")
    short = [h for i, h in enumerate(headers) if i != 3]
    for label, rows in ((L("closed_sites"), closed), (L("upgraded_sites"), upgraded)):
        if len(rows):
            parts.append(f"<h3>{e(label)}</h3>" + html_table(short, _site_rows(rows, t, False), raw_cells=True,
                                                             cls="sites"))
    ov = {"before": {**b, **s.equity["overall"]["before"]}, "after": {**a, **s.equity["overall"]["after"]}}
    buys = [L("b_within", gain=gain, people=people, t=t, b=fmt_metric("within_share", b["within_share"]),
              a=fmt_metric("within_share", a["within_share"]))]
    if None not in (b["mean_min"], a["mean_min"], b["max_min"], a["max_min"]):
        buys.append(L("b_trips", mb=b["mean_min"], ma=a["mean_min"], xb=b["max_min"], xa=a["max_min"]))
    if ov["before"].get("gini") is not None and ov["after"].get("gini") is not None:
        verb, g = _verb(lang, ov["before"]["gini"], ov["after"]["gini"])
        buys.append(L("b_gini", verb=verb, g=g))
    where = underserved_places(s, result.streets)
    if a["underserved"] > 0:
        leaves = [L("l_left", left=a["underserved"], people=people, t=t,
                    share=fmt_metric("within_share", a["underserved_share"]), total=a["population"])]
        if a["unreachable"] > 0 and result.info.max_snap_m is not None:
            leaves.append(L("l_unreach", n=a["unreachable"], m=result.info.max_snap_m))
        if where:
            leaves.append(L("l_where", list=L("and").join(f"{name} ({people_n:,.0f})" for name, people_n in where)))
    else:
        leaves = [L("l_none", t=t)]
    parts.append("<div class='cols'>"
                 f"<div><h3>{e(L('buys'))}</h3>{_ul([e(x) for x in buys])}</div>"
                 f"<div><h3>{e(L('leaves'))}</h3>{_ul([e(x) for x in leaves])}</div></div>")
    targets = s.equity.get("targets") or []
    if targets:
        met = sum(bool(x["met_after"]) for x in targets)
        items = [f"{status_html(lang, x['met_after'])} {e(target_text(x, lang, t))}{e(L('colon'))}"
                 f"{e(_target_value(x, lang))}" for x in targets]
        parts.append(f"<h3>{e(L('targets_state', k=met, n=len(targets)))}</h3>{_ul(items)}")
    else:
        parts.append(f"<p>{e(L('no_targets_set'))}</p>")
    parts.append(staffing_section(s, lang))   # counters and waiting (allocator.outputs.staffing; empty without)
    trade = tradeoffs(result, s, ranked, lang)
    if trade:
        parts.append(f"<h3>{e(L('tradeoffs'))}</h3>{_ul([e(x) for x in trade])}")
    parts.append("</section>")
    return "\n".join(parts)


def _target_value(x: dict, lang: str) -> str:
    """A target's value after the plan, with its unit (and the worst district for a per-district target)."""
    value = fmt_metric(x["metric"], x["after"])
    value = translate(lang, "t_min", v=value) if x["metric"].endswith("_min") else value
    worst = x.get("worst_district_after")
    return f"{value} ({translate(lang, 'worst', d=worst)})" if worst else value


def tradeoffs(result, s, ranked: pd.DataFrame, lang: str) -> list[str]:
    """Computed sentences on what the plan gives up: small loads, diminishing returns, the longest trip, spending."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    out = []
    small = small_loads(s)
    if len(small):
        names = L("and").join(f"{p} ({n:,.0f})" for p, n in zip(small["place"], small["assigned_population"]))
        out.append(L("t_small", k=len(small), n=len(ranked), limit=small_limit(s), list=names))
    if len(ranked) > 1:
        out.append(L("t_diminish", top=float(ranked["newly"].max()), low=float(ranked["newly"].min()), t=t))
    after = s.demand["time_after"].to_numpy(float)
    pop = s.demand["population"].to_numpy(float)
    reach = np.isfinite(after) & (pop > 0)
    if reach.any():
        i = int(np.flatnonzero(reach)[np.argmax(after[reach])])
        row = s.demand.iloc[i]
        where = str(row["district_name"]) if "district_name" in s.demand else f"{row['lat']:.5f}, {row['lon']:.5f}"
        out.append(L("t_longest", x=after[i], where=where))
    if s.solution.budget_used is not None:
        out.append(L("t_budget", spent=amount(s.solution.budget_used),
                     limit=L("s_limit", b=amount(s.service.budget)) if s.service.budget is not None else ""))
    return out


def decision_section(result, lang: str) -> str:
    """The first screen: each service's decision brief."""
    return "\n".join(decision_brief(result, s, lang) for s in result.services)


def shared_budget_section(result, lang: str) -> str:
    """The shared budget's limit and what the services spend together (empty without a ``shared_budget``)."""
    if result.shared_budget_used is None:
        return ""
    names = ", ".join(s.service.name for s in result.services)
    text = translate(lang, "s_shared", names=names, used=amount(result.shared_budget_used),
                     b=amount(result.info.shared_budget))
    return f"<h2>{e(translate(lang, 'shared_budget'))}</h2><ul class='summary'><li>{e(text)}</li></ul>"


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


def service_section(result, s, lang: str) -> str:
    """One service's details: summary sentences, targets, overall metrics, districts, figures."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    people = people_of(result, s, lang)
    ov = {"before": {**s.before, **s.equity["overall"]["before"]}, "after": {**s.after, **s.equity["overall"]["after"]}}
    parts = [f"<h2>{e(s.service.name)}{e(L('colon'))}{e(L('details'))} <small class='sub'>"
             f"({e(L('threshold', t=t))})</small></h2>",
             f"<h3>{e(L('summary'))}</h3><ul class='summary'>"
             + "".join(f"<li>{e(x)}</li>" for x in summary_sentences(s, lang, people)) + "</ul>"]
    targets = s.equity.get("targets") or []
    if targets:
        rows = []
        for x in targets:
            cells = []
            for when in ("before", "after"):
                value = e(fmt_metric(x["metric"], x[when]))
                worst = x.get(f"worst_district_{when}")
                if worst:
                    value += f"<br><small>{e(L('worst', d=worst))}</small>"
                cells += [value, status_html(lang, x[f"met_{when}"])]
            rows.append([e(target_text(x, lang, t)), *cells])
        parts.append(f"<h3>{e(L('targets'))}</h3>" + html_table(
            [L("target"), L("before"), "", L("after"), ""], rows, raw_cells=True, cls="text"))
    rows = [[metric_name(lang, k, t), fmt_metric(k, ov["before"].get(k)), fmt_metric(k, ov["after"].get(k)),
             _change(k, ov["before"].get(k), ov["after"].get(k), lang)]
            for k in SHOWN_KEYS if _shown(k, s) and (ov["before"].get(k) is not None or ov["after"].get(k) is not None)]
    parts.append(f"<h3>{e(L('overall'))}</h3>" + html_table([L("metric"), L("before"), L("after"), L("change")], rows))
    districts = s.equity.get("districts")
    if districts:
        keys = ("within_share", "mean_min", "max_min", "gini", "access_e2sfca_mean")
        headers = [L("district"), L("population")] + [f"{metric_name(lang, k, t)}: {L('before')} → {L('after')}"
                                                     for k in keys]
        rows = [[str(d["district_name"]), fmt_metric("population", d["population"])]
                + [f"{fmt_metric(k, d.get(f'{k}_before'))} → {fmt_metric(k, d.get(f'{k}_after'))}" for k in keys]
                for d in sorted(districts, key=lambda d: -d["population"]) if d["population"] > 0]
        parts.append(f"<h3>{e(L('districts'))}</h3><div class='scroll'>" + html_table(headers, rows) + "</div>")
    figs = "".join(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{png}'></figure>"
                   for title, png in figures(s, lang, people))
    parts.append(f"<h3>{e(L('figures'))}</h3><div class='figs'>{figs}</div>")
    return "\n".join(parts)


def details_section(result, lang: str) -> str:
    return "\n".join(service_section(result, s, lang) for s in result.services)


# --- caveats, method, data, appendix ------------------------------------------------------------

#: the solvers' words for what a reader calls otherwise (a note's example ids go: they are in the tables)
_PLAIN = (
    (re.compile(r"\s*(\(e\.g\. [^)]*\)|: ids .*$)"), ""),
    (re.compile(r"^(max coverage|p-median|p-center): "), ""),
    (re.compile(r"\(weight ([\d.,e+]+)\)"), r"(\1 people)"),
    (re.compile(r"with positive weight \(total ([\d.,e+]+)\)"), r"(\1 people)"),
    (re.compile(r"\bclient\(s\)"), "demand location(s)"),
    (re.compile(r"\bclients\b"), "demand locations"),
    (re.compile(r"\bclient\b"), "demand location"),
    (re.compile(r"candidates are dominated \(their coverage set lies inside another's\) and were dropped"),
     "candidate sites could never do better than another candidate (every person they reach in time another "
     "reaches too) and were set aside"),
    (re.compile(r"\b1 existing facilities serve\b"), "1 existing facility serves"),
)
#: notes on how the solver worked, not on the data: the method section lists them
_SOLVER_NOTE = re.compile(r"^(max coverage|p-median|p-center|exact level generation|time limit|stopped at)")


def plain_note(note: str) -> str:
    """A run note in a reader's words: no example ids, no solver vocabulary, starting with a capital."""
    text = note
    for pattern, repl in _PLAIN:
        text = pattern.sub(repl, text)
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def caveats_section(result, lang: str) -> str:
    """Every note of the run on its data and reach, per service, in plain words."""
    L = functools.partial(translate, lang)
    items = [f"<b>{e(s.service.name)}</b>{e(L('colon'))}{e(plain_note(n))}" for s in result.services for n in s.notes
             if not _SOLVER_NOTE.match(n)]
    return f"<h2>{e(L('caveats'))}</h2>" + (_ul(items) if items else f"<p>{e(L('no_caveats'))}</p>")


def objective_words(result, s, lang: str) -> str:
    """The question a service's model answers, in words (no model codes)."""
    return translate(lang, f"obj_{s.service.objective}", people=people_of(result, s, lang), t=s.service.threshold_min)


def method_section(result, lang: str) -> str:
    """Per service the question in words, the solver's status and gap; the travel rules and snapping limit."""
    L = functools.partial(translate, lang)
    items = []
    for s in result.services:
        sol = s.solution
        gap = L("m_exact") if sol.status == "optimal" and not sol.gap else (
            L("m_gap", g=sol.gap) if sol.gap is not None else "")
        words = L(f"status_{sol.status}")
        status = L("m_status", status=sol.status if words == f"status_{sol.status}" else words, gap=gap, s=sol.solve_seconds, d=s.matrix_shape[0],
                   k=s.matrix_shape[1])
        solver_notes = " ".join(plain_note(n) + "." for n in s.notes if _SOLVER_NOTE.match(n))
        items.append(f"<b>{e(s.service.name)}</b>{e(L('colon'))}{e(L('m_objective', words=objective_words(result, s, lang)))} "
                     f"{e(status)} {e(solver_notes)}")
    info = result.info
    if info.mode is not None:
        speed = L(f"speed_{info.mode}", v=info.speed_kph)
        items.append(e(L("m_travel", mode=L(f"mode_{info.mode}"), speed=speed, snap=info.max_snap_m)))
    if info.matrix_file is not None:
        items.append(e(L("m_matrix", file=info.matrix_file)))
    return f"<h2>{e(L('method'))}</h2>{_ul(items)}"


def data_section(result, lang: str) -> str:
    """Each data source the run read: what it is used for, what it is, its licence and credit."""
    L = functools.partial(translate, lang)
    rows = [[d.role, d.name, d.description, d.year or L("d_no_year"), d.licence, d.attribution]
            for d in result.info.sources]
    return f"<h2>{e(L('data'))}</h2>" + html_table(
        [L("d_role"), L("d_data"), L("d_about"), L("d_year"), L("d_licence"), L("d_credit")], rows, cls="text")


def appendix_section(result, lang: str) -> str:
    """Gini, Theil, 2SFCA, percentage points and percentiles in plain language."""
    L = functools.partial(translate, lang)
    return f"<h2>{e(L('appendix'))}</h2>" + _ul([e(L(k)) for k in ("a_gini", "a_theil", "a_2sfca", "a_pp", "a_tail")])


#: report.html, in order: each is ``(result, lang) -> HTML`` ("" to leave it out). Another output adds its own
#: section with one line here, from its own module.
SECTIONS: list[Callable[..., str]] = [
    shared_budget_section,
    decision_section,
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
    body = "\n".join(part for part in (section(result, lang) for section in SECTIONS) if part)
    return html_page(title, info.description or "", body, lang, footer_lines(lang, info.attributions))


def write_report(result, folder: Path, lang: str | None = None) -> None:
    """Write report.html, districts.csv and targets.csv into ``folder``."""
    folder = Path(folder)
    (folder / "report.html").write_text(render_report(result, lang), encoding="utf-8")
    districts_frame(result).to_csv(folder / "districts.csv", index=False)
    targets_frame(result).to_csv(folder / "targets.csv", index=False)
