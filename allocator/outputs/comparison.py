"""Scenarios side by side: ``comparison.csv`` and ``comparison.html`` (``--compare``).

The figures are :func:`allocator.evaluate.comparison.compare`'s: every
scenario's services evaluated again on the union of all targets and the first
district grouping, so plans that answer different questions are compared on
the same yardsticks. This module only writes them, into ``compare/`` with a
manifest.json, under the contract of every output folder (atomic, locked, only
replacing a folder allocator wrote: :mod:`allocator.outputs.files`).

``comparison.html`` is made to choose from: per service, one or two computed
sentences stating the trade-off, links to each plan's map and report, the
targets first, then one table with "before" once and each plan's value after
(the better one highlighted), the new sites the plans share, the sites serving
very few people, and a chart placing the plans on two axes (share within T
against the longest trip). The markup is ``templates/comparison.html``.
"""

from __future__ import annotations

import functools
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from allocator.evaluate.comparison import Comparison, PlanFigures, ServiceComparison, best_columns, compare
from allocator.evaluate.costs import spending
from allocator.evaluate.result import RunResult
from allocator.outputs.csv_cells import write_csv
from allocator.outputs.files import write_folder
from allocator.outputs.labels import (
    OVERALL_KEYS,
    REACH_KEYS,
    SHOWN_KEYS,
    cjk_font,
    fmt_metric,
    metric_name,
    reach_note,
    target_text,
    translate,
)
from allocator.outputs.manifest import comparison_manifest, write_manifest
from allocator.outputs.page import Status, footer_lines, html_page, target_status
from allocator.outputs.report import appendix_section, objective_words, people_of, png_data
from allocator.outputs.templates import render
from allocator.scenario.money import money

#: what ``compare/`` held before it had a manifest.json: such a folder is still replaced
WRITTEN_BEFORE_MARKER = frozenset({"comparison.csv", "comparison.html"})


@dataclass(frozen=True)
class Cell:
    """One value of the comparison tables: its text, a target's status, whether it is the better one."""

    text: str
    status: Status | None = None
    best: bool = False


@dataclass(frozen=True)
class Row:
    """A row of the comparison tables: its label, the value before (once) and each plan's value after."""

    label: str
    before: Cell
    cells: list[Cell]


def _csv_row(service: ServiceComparison, names: list[str], metric: str, when: str,
             value: Callable[[PlanFigures], object]) -> dict:
    """One row of comparison.csv: ``value`` of each run's plan (None where a run has no such service)."""
    return {"service": service.name, "metric": metric, "when": when,
            **{name: None if p is None else value(p) for p, name in zip(service.columns, names)}}


def _overall_value(p: PlanFigures, key: str, when: str) -> object:
    return p.overall(when).get(key)


def _target_value(p: PlanFigures, i: int, what: str) -> object:
    return p.equity["targets"][i][what]


def comparison_frame(comparison: Comparison) -> pd.DataFrame:
    """comparison.csv: one row per service, metric and before/after; one column per scenario."""
    names = [r.info.name for r in comparison.runs]
    rows = []
    for service in comparison.services:
        rows.append(_csv_row(service, names, "new_sites", "after", lambda p: p.new_sites))
        rows.append(_csv_row(service, names, "objective", "", lambda p: p.result.service.objective))
        rows.append(_csv_row(service, names, "cost_first_year", "after", lambda p: _spent(p).first_year))
        rows.append(_csv_row(service, names, "cost_per_person_reached", "after",
                             lambda p: _spent(p).per_person_reached))
        rows += [_csv_row(service, names, key, when, functools.partial(_overall_value, key=key, when=when))
                 for key in OVERALL_KEYS for when in ("before", "after")]
        first = service.plans[0]
        for i, target in enumerate(first.equity["targets"]):
            text = target_text(target, "en", first.result.service.threshold_min)
            rows += [_csv_row(service, names, f"target: {text}", what, functools.partial(_target_value, i=i, what=what))
                     for what in ("after", "met_after")]
    return pd.DataFrame(rows, columns=["service", "metric", "when", *names])



def _spent(p: PlanFigures):
    """What a compared plan spends, in its scenario's currency (:mod:`allocator.evaluate.costs`)."""
    return spending(p.result, p.run.info.currency)


def _cost_rows(plans: list[PlanFigures], lang: str) -> list[Row]:
    """The first-year cost and the cost per person newly within T of each plan (the lower one marked when the
    plans count in one currency)."""
    rows = []
    one_currency = len({p.run.info.currency for p in plans}) == 1
    for key, value in (("cost_first_year", lambda p: _spent(p).first_year),
                       ("cost_per_person", lambda p: _spent(p).per_person_reached)):
        values = [value(p) for p in plans]
        known = [v for v in values if v is not None]
        rows.append(Row(translate(lang, key), Cell(""),
                        [Cell("–" if v is None else money(v, p.run.info.currency),
                              best=one_currency and v is not None and len(known) > 1 and v == min(known))
                         for v, p in zip(values, plans, strict=True)]))
    return rows


def _links(results: list[RunResult], folder: Path) -> list[dict]:
    """Each plan's name and folder, relative to the comparison folder."""
    out = []
    for r in results:
        target = folder.parent / r.info.name
        target = target if target.is_dir() else r.info.output_dir
        out.append({"name": r.info.title, "folder": Path(os.path.relpath(target, folder)).as_posix()})
    return out


def tradeoff_sentences(service: ServiceComparison, lang: str) -> list[str]:
    """One sentence: who brings more people within T, who has the shorter longest trip, the lower EDE."""
    L = functools.partial(translate, lang)
    plans, trade = service.plans, service.tradeoff
    if trade is None:
        return []
    s0 = plans[0].result
    t = s0.service.threshold_min
    name = [p.run.info.title for p in plans]
    parts = []
    if trade.more_within is not None:
        cover, fewer, gain = trade.more_within
        parts.append(L("c_sentence_cover", a=name[cover], b=name[fewer], d=gain, people=people_of(plans[0].run, s0, lang),
                       t=t))
    if trade.shorter_trip is not None:
        short, long, x, y = trade.shorter_trip
        parts.append(L("c_sentence_long", a=name[short], b=name[long], x=x, y=y))
    if trade.lower_ede is not None:
        low, high, x, y = trade.lower_ede
        parts.append(L("c_sentence_ede", a=name[low], b=name[high], x=x, y=y))
    if not parts:
        return [L("c_tie", a=name[0], b=name[1], t=t)]
    return [("; " if lang == "en" else "；").join(parts) + ("." if lang == "en" else "。")]


def _site_notes(service: ServiceComparison, lang: str) -> list[str]:
    """The new sites every plan shares, and each plan's sites serving very few people."""
    L = functools.partial(translate, lang)
    out = []
    if service.shared_places is not None:
        places = service.shared_places
        out.append(L("c_shared", list=L("and").join(places)) if places else L("c_shared_none"))
    for p in service.plans:
        if len(p.small):
            listed = L("and").join(f"{place} ({n:,.0f})" for place, n in zip(p.small["place"], p.small["assigned_population"]))
            out.append(f"{p.run.info.title}{L('colon')}" + L("c_small", limit=p.small_limit, list=listed))
    return out


def plans_chart(plans: list[PlanFigures], lang: str) -> str:
    """The plans (and before) on two axes: longest trip (x) against share within T (y); base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font() if lang == "zh" else None
    flang = "zh" if font else "en"
    L = functools.partial(translate, flang)
    t = plans[0].result.service.threshold_min
    with plt.rc_context({"font.family": [font, "sans-serif"]} if font else {}):
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        b = plans[0].result.before
        points = [(L("before"), b["max_min"], b["within_share"], "#9e9e9e")]
        points += [(p.run.info.title, p.result.after["max_min"], p.result.after["within_share"], colour)
                   for p, colour in zip(plans, ("#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#00838f"))]
        for label, x, y, colour in points:
            if x is None or y is None:
                continue
            ax.scatter([x], [100 * y], s=70, color=colour, zorder=3)
            ax.annotate(textwrap.fill(label, 30), (x, 100 * y), textcoords="offset points", xytext=(6, 6), fontsize=8)
        ax.set(xlabel=L("c_x"), ylabel=L("c_y", t=t), title=L("c_chart", t=t))
        ax.grid(alpha=0.3)
        ax.margins(0.25)
        return png_data(fig)


def _target_rows(plans: list[PlanFigures], lang: str) -> list[Row]:
    """Each target: its words, the value before (with its status) and each plan's after."""
    t = plans[0].result.service.threshold_min
    rows = []
    for i, target in enumerate(plans[0].equity["targets"]):
        values = [p.equity["targets"][i]["after"] for p in plans]
        best = best_columns(target["metric"], values)
        cells = [Cell(_fmt(target["metric"], v, lang), target_status(lang, p.equity["targets"][i]["met_after"]), k in best)
                 for k, (v, p) in enumerate(zip(values, plans))]
        before = Cell(_fmt(target["metric"], target["before"], lang), target_status(lang, target["met_before"]))
        rows.append(Row(target_text(target, lang, t), before, cells))
    return rows


def _metric_rows(plans: list[PlanFigures], lang: str) -> list[Row]:
    """New sites, the question asked, then every shown metric: before once, each plan's after."""
    L = functools.partial(translate, lang)
    t = plans[0].result.service.threshold_min
    rows = [Row(L("new_sites"), Cell(""), [Cell(str(p.new_sites)) for p in plans]),
            Row(L("c_question"), Cell(""), [Cell(objective_words(p.run, p.result, lang)) for p in plans]),
            *_cost_rows(plans, lang)]
    has_districts = bool(plans[0].equity.get("districts"))
    total = plans[0].result.before.population
    of = reach_note(lang, [total - plans[0].result.before.unreachable,
                           *(total - p.result.after.unreachable for p in plans)], total)
    for key in SHOWN_KEYS:
        if key in ("theil_between", "theil_within") and not has_districts:
            continue
        values = [p.overall("after").get(key) for p in plans]
        before = plans[0].overall("before").get(key)
        if before is None and all(v is None for v in values):
            continue
        best = best_columns(key, values)
        rows.append(Row(metric_name(lang, key, t) + (of if key in REACH_KEYS else ""), Cell(_fmt(key, before, lang)),
                        [Cell(_fmt(key, v, lang), best=k in best) for k, v in enumerate(values)]))
    return rows


def service_comparison(service: ServiceComparison, lang: str) -> dict:
    """One service's block: sentences, targets, metrics (before once, better value marked), sites, chart."""
    L = functools.partial(translate, lang)
    plans = service.plans
    names = [p.run.info.title for p in plans]
    t = plans[0].result.service.threshold_min
    return {"name": service.name, "threshold": L("threshold", t=t), "sentences": tradeoff_sentences(service, lang),
            "target_headers": [L("target"), L("c_before"), *names], "targets": _target_rows(plans, lang),
            "metric_headers": [L("metric"), L("c_before"), *names], "metrics": _metric_rows(plans, lang),
            "notes": _site_notes(service, lang), "chart_title": L("c_chart", t=t), "chart": plans_chart(plans, lang)}


def _fmt(key: str, value, lang: str) -> str:
    """A value with its unit: shares in %, minutes with "min"."""
    text = fmt_metric(key, value)
    return translate(lang, "t_min", v=text) if key.endswith("_min") and text != "–" else text


def write_comparison(results: list[RunResult], folder: Path, lang: str = "en") -> Path:
    """Write ``comparison.csv`` and ``comparison.html`` into ``folder`` (with its manifest.json), replacing it
    as a run's folder is replaced (:func:`allocator.outputs.files.write_folder`); return it."""
    folder = Path(folder)
    comparison = compare(results)
    frame = comparison_frame(comparison)
    L = functools.partial(translate, lang)
    body = render("comparison.html", links=_links(results, folder), colon=L("colon"), map_word=L("c_map"),
                  report_word=L("c_report"), targets_title=L("c_targets"), overall_title=L("overall"),
                  services=[service_comparison(s, lang) for s in comparison.services],
                  appendix=appendix_section(results[0], lang))
    titles = " · ".join(r.info.title for r in results)
    page = html_page(translate(lang, "comparison"), titles, body, lang, footer_lines(lang, results[0].info.attributions))

    def write(staging: Path) -> None:
        write_csv(frame, staging / "comparison.csv")
        (staging / "comparison.html").write_text(page, encoding="utf-8")
        write_manifest(staging, comparison_manifest(results))

    return write_folder(folder, write, legacy=WRITTEN_BEFORE_MARKER)
