"""The counters of a service in the outputs: sites.csv columns, summary.json, the report section, the map layer.

Everything reads ``ServiceResult.staffing`` (:mod:`allocator.evaluate.waits`);
a service without a ``counters`` section gets nothing. The markup is in
``templates/staffing.html`` and ``templates/map/counters_legend.html`` (autoescaped);
an office's tooltip is plain text set in the page (:class:`allocator.outputs.map_cells.TextTooltip`).
"""

from __future__ import annotations

import functools
import math
import zlib

import branca.colormap as cm
import folium
import pandas as pd
from markupsafe import Markup

from allocator.evaluate.result import ServiceResult
from allocator.evaluate.waits import OFFICE_COLUMNS, WAIT_METRICS
from allocator.inputs.sites import SiteStatus
from allocator.outputs.labels import map_text, translate
from allocator.outputs.map_cells import RawHtml, TextTooltip, page_of
from allocator.outputs.map_style import layer_name
from allocator.outputs.templates import render

_WAIT_RAMP = ("#fcfbfd", "#9e9ac8", "#3f007d")   # white -> purple -> dark purple: 0 -> limit -> 2 x limit min


def office_columns(sites: pd.DataFrame) -> list[str]:
    """The counters columns present in a sites table (none without a counters service), rounded in place."""
    present = [c for c in OFFICE_COLUMNS if c in sites]
    for c in present:
        sites[c] = sites[c].replace([math.inf], math.nan).round(0 if c.startswith("counters") else 3)
    return present


def summary_block(s: ServiceResult) -> dict:
    """summary.json's ``counters`` key of one service (nothing without a counters section)."""
    st = s.staffing
    if st is None:
        return {}
    fac = s.facilities
    offices = [{"id": r.id, "name": r.name, "status": r.status, **{c: getattr(r, c) for c in OFFICE_COLUMNS}}
               for r in fac.itertuples()]
    return {"counters": {"decision": st.decision, "goal": st.goal, "wait_limit_min": st.limit_min,
                         "counters_before": int(st.offices["counters_before"].sum()), "counters_after": st.staff,
                         "spent": st.spent, "moves": moves(s), "before": st.metrics["before"],
                         "after": st.metrics["after"], "offices": offices}}


def _label(row) -> str:
    """An office as a person recognises it: its place label (:func:`allocator.inputs.place_names.name_sites`)."""
    return str(row["place"])


def moves(s: ServiceResult, lang: str = "en") -> list[str]:
    """The staffing change in words, one line per office that gains or loses counters.

    "move 3 counters to B (from A 2, C 1)", "add 2 counters at D (new office)", "remove 1 counter at E":
    counters taken from offices that lose them go to the offices gaining most first; what is left
    over is added (decision add) or removed (fewer staff).
    """
    L = functools.partial(translate, lang)
    st = s.staffing
    assert st is not None
    fac = s.facilities.reset_index(drop=True)
    delta = (st.offices["counters_after"] - st.offices["counters_before"]).to_numpy()
    givers = [[j, -int(d)] for j, d in enumerate(delta) if d < 0]
    out = []
    for j, d in sorted(((j, int(d)) for j, d in enumerate(delta) if d > 0), key=lambda x: -x[1]):
        left, sources = d, []
        while left and givers:
            giver = givers[0]
            n = min(left, giver[1])
            sources.append(L("c_source", place=_label(fac.loc[giver[0]]), n=n))   # "Via 5 (1)": not a house number
            giver[1] -= n
            left -= n
            if giver[1] == 0:
                givers.pop(0)
        office = _label(fac.loc[j]) + (L("c_new_office") if fac.loc[j, "status"] == SiteStatus.NEW else "")
        if sources:
            out.append(L("c_move", n=_counters(d - left, lang), to=office, sources=L("c_list").join(sources)))
        if left:
            out.append(L("c_add", n=_counters(left, lang), at=office))
    out += [L("c_remove", n=_counters(n, lang), at=_label(fac.loc[j])) for j, n in givers]
    return out


def _counters(n: int, lang: str = "en") -> str:
    return translate(lang, "c_counter" if n == 1 else "c_counters", n=n)


def _fmt(value, share: bool = False, lang: str = "en") -> str:
    """A wait or share; "unstable" for an infinite wait, "–" for none (no counter, or no value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return translate(lang, "c_unstable_word")
    return f"{value:.1%}" if share else f"{value:.1f}"


#: the report lists this many staffing changes (the largest first); the rest are in its collapsed table and sites.csv
SHOWN_MOVES = 3


def report_section(s: ServiceResult, lang: str = "en") -> Markup:
    """The report's staffing section: the totals and the largest changes in words, waits before/after overall, and
    every changed office in a collapsed table (printed pages leave it out; all of it is in sites.csv)."""
    st = s.staffing
    if st is None:
        return Markup()
    L = functools.partial(translate, lang)
    b, a = st.metrics["before"], st.metrics["after"]
    limit = st.limit_min
    spent = "" if st.spent is None else L("c_spent_open" if st.decision == "open" else "c_spent", v=st.spent)
    how = {"reassign": "c_reassign", "add": "c_add_how", "open": "c_open"}[st.decision]
    changes = moves(s, lang) or [L("c_no_change")]
    lines = [L("c_decision", how=L(how), goal=L(f"c_{st.goal}"),
               b=int(st.offices["counters_before"].sum()), a=st.staff, spent=spent),
             *(m[0].upper() + m[1:] + L("c_end") for m in changes[:SHOWN_MOVES])]
    if len(changes) > SHOWN_MOVES:
        lines.append(L("c_more", k=len(changes) - SHOWN_MOVES))
    if b["unstable_offices"] or a["unstable_offices"]:
        lines.append(L("c_unstable", b=b["unstable_offices"], a=a["unstable_offices"]))
    names = {k: L(k) for k in WAIT_METRICS} | {"wait_within_share": L("c_wait_within", t=limit)}
    overall = [[names[k], _fmt(b[k], k.endswith("share"), lang), _fmt(a[k], k.endswith("share"), lang)]
               for k in WAIT_METRICS]
    fac = s.facilities
    changed = fac[(fac["counters_before"] != fac["counters_after"]) | (fac["status"] != SiteStatus.EXISTING)]
    shown = changed if len(changed) else fac
    shown = shown.sort_values("visitors_per_h_after", ascending=False)
    rows = [[_label(r), L(f"c_status_{r['status']}"), f"{r['counters_before']:.0f} → {r['counters_after']:.0f}",
             f"{r['visitors_per_h_before']:.1f} → {r['visitors_per_h_after']:.1f}",
             f"{_fmt(r['utilisation_before'], True, lang)} → {_fmt(r['utilisation_after'], True, lang)}",
             f"{_fmt(r['mean_wait_min_before'], lang=lang)} → {_fmt(r['mean_wait_min_after'], lang=lang)}",
             f"{_fmt(r['share_over_limit_before'], True, lang)} → {_fmt(r['share_over_limit_after'], True, lang)}"]
            for _, r in shown.iterrows()]
    queue = L("c_queue_ac") if s.service.counters and s.service.counters.service_cv != 1 else L("c_queue")
    return render("staffing.html", title=L("c_title"), lines=lines,
                  overall_headers=[L("c_wait"), L("before"), L("after")], overall=overall,
                  offices_title=L("c_offices_all_changed" if len(changed) else "c_offices_all", n=len(rows), q=queue),
                  offices=rows,
                  office_headers=[L("c_office"), L("c_status"), L("c_counters_h"), L("c_visitors"), L("c_util"),
                                  L("c_mean_wait"), L("c_over", t=limit)])


def wait_colour(wait: float, limit: float) -> str:
    """White (no wait) -> purple (the limit) -> dark purple (twice the limit or more, unstable); grey (NaN): no counter."""
    if math.isnan(wait):
        return "#7f7f7f"
    return cm.LinearColormap(_WAIT_RAMP, vmin=0, vmax=2 * limit)(min(wait, 2 * limit))


def counter_cells(row: dict, lang: str = "en") -> list[tuple[str, str]]:
    """An office's popup rows: counters before → after, visitors per hour after, mean wait before → after."""
    M = functools.partial(map_text, lang)  # noqa: N806 - the pages' short name for their words
    return [(M("p_counters"), f"{row['counters_before']:.0f} → {row['counters_after']:.0f}"),
            (M("p_visitors"), f"{row['visitors_per_h_after']:.1f}"),
            (M("p_wait"), f"{_fmt(row['mean_wait_min_before'], lang=lang)} → {_fmt(row['mean_wait_min_after'], lang=lang)}"
                          f" {M('min')}")]


def add_map_layer(fmap: folium.Map, name: str, facilities: pd.DataFrame, lang: str = "en",
                  show: bool = True) -> str | None:
    """Offices sized by their counters after the plan and coloured by the mean wait (a layer of its own, named
    by the service's ``name`` on the map, as its tooltips are); its layer's name, None without counters."""
    if "counters_after" not in facilities or not len(facilities):
        return None
    pane = f"counters_{zlib.crc32(name.encode())}"   # a name on the map may hold any character
    folium.map.CustomPane(pane, z_index=470, pointer_events=True).add_to(fmap)   # above the facility markers
    group = folium.FeatureGroup(name=layer_name(name, map_text(lang, "counters_layer")), show=show).add_to(fmap)
    for _, r in facilities.iterrows():
        if r["counters_after"] <= 0 and r["counters_before"] <= 0:
            continue
        limit = float(r["wait_limit_min"])
        wait = float(r["mean_wait_min_after"]) if r["counters_after"] > 0 else math.nan
        tip = map_text(
            lang, "counters_tip", place=_label(r), b=f"{r['counters_before']:.0f}", a=f"{r['counters_after']:.0f}",
            v=f"{r['visitors_per_h_after']:.1f}", wb=_fmt(r["mean_wait_min_before"], lang=lang),
            wa=_fmt(r["mean_wait_min_after"], lang=lang))
        marker = folium.CircleMarker(location=[float(r["lat"]), float(r["lon"])],
                                     radius=4 + 3 * math.sqrt(max(float(r["counters_after"]), 0.0)),
                                     color="#222222", weight=1, fill=True, fill_color=wait_colour(wait, limit),
                                     fill_opacity=0.9)
        marker.add_child(TextTooltip(f"{name} — {tip}"))   # which plan: alternatives are never drawn together
        marker.options["pane"] = pane   # folium drops a ``pane`` argument
        marker.add_to(group)
    page_of(fmap).html.add_child(RawHtml(_legend(float(facilities["wait_limit_min"].iloc[0]), lang)),
                                   name="counters_legend")   # one per map (the last service's limit)
    return group.get_name()


def _legend(limit: float, lang: str) -> Markup:
    """A small fixed legend (plain HTML: branca's own legend needs d3 from the internet)."""
    M = functools.partial(map_text, lang)  # noqa: N806 - the pages' short name for their words
    return render("map/counters_legend.html", ramp=", ".join(_WAIT_RAMP), offices=M("offices"),
                  colon=M("tip")["colon"], legend=M("counters_legend"), limit=f"{limit:g} {M('min')}",
                  high=M("counters_high", v=2 * limit))
