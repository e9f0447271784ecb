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
import itertools
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from markupsafe import Markup, escape

from allocator.evaluate.comparison import Comparison, PlanFigures, ServiceComparison, best_columns, compare
from allocator.evaluate.costs import spending
from allocator.evaluate.result import RunResult
from allocator.outputs.compare_map import pair_page
from allocator.outputs.csv_cells import write_csv
from allocator.outputs.files import write_folder
from allocator.outputs.labels import (
    OVERALL_KEYS,
    REACH_KEYS,
    SHOWN_KEYS,
    cjk_font,
    count,
    fmt_metric,
    metric_name,
    name,
    names,
    priced,
    reach_note,
    target_text,
    translate,
)
from allocator.outputs.manifest import comparison_manifest, write_manifest
from allocator.outputs.map_style import ServiceLayer
from allocator.outputs.page import Status, footer_lines, html_page, target_status
from allocator.outputs.report import appendix_section, objective_words, people_of, png_data
from allocator.outputs.stable_ids import stable_ids
from allocator.outputs.summary import headline
from allocator.outputs.templates import render

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
    plans count in one currency); with a phased plan among them, the rows say that its figures are every phase
    built plus one year of running, and the people reached once every phase is built."""
    rows = []
    one_currency = len({p.run.info.currency for p in plans}) == 1
    phased = "_phased" if any(p.result.solution.phases is not None for p in plans) else ""
    for key, value in (("cost_first_year" + phased, lambda p: _spent(p).first_year),
                       ("cost_per_person" + phased, lambda p: _spent(p).per_person_reached)):
        values = [value(p) for p in plans]
        known = [v for v in values if v is not None]
        rows.append(Row(translate(lang, key), Cell(""),
                        [Cell("–" if v is None else priced(lang, v, p.run.info.currency),
                              best=one_currency and v is not None and len(known) > 1 and v == min(known))
                         for v, p in zip(values, plans, strict=True)]))
    return rows


def _links(results: list[RunResult], folder: Path, lang: str) -> list[dict]:
    """Each plan's label and title (once, here), and its folder relative to the comparison folder."""
    out = []
    for r, label in zip(results, plan_labels(results), strict=True):
        target = folder.parent / r.info.name
        target = target if target.is_dir() else r.info.output_dir
        out.append({"name": translate(lang, "c_plan", label=name(label), title=r.info.title),
                    "folder": Path(os.path.relpath(target, folder)).as_posix()})
    return out


def plan_labels(results: list[RunResult]) -> list[str]:
    """Each run's short plan label (``label:``, else from its name), made distinct with a number when two agree."""
    labels = [r.info.label or r.info.name for r in results]
    return [f"{x} ({labels[:i].count(x) + 1})" if labels.count(x) > 1 else x for i, x in enumerate(labels)]


def tradeoff_sentences(service: ServiceComparison, lang: str, labels: list[str]) -> list[str]:
    """One sentence: who brings more people within T, who has the shorter longest trip, the lower EDE, each with
    the people it concerns (``labels``: the plans' labels, in :attr:`ServiceComparison.plans` order)."""
    L = functools.partial(translate, lang)
    plans, trade = service.plans, service.tradeoff
    if trade is None:
        return []
    s0 = plans[0].result
    t = s0.service.threshold_min
    label = [name(x) for x in labels]
    people = people_of(plans[0].run, s0, lang)
    parts = []
    if (cover := trade.more_within) is not None:
        parts.append(L("c_sentence_cover", a=label[cover.better], b=label[cover.worse], d=count(cover.people),
                       people=people, t=t))
    if (short := trade.shorter_trip) is not None:
        parts.append(L("c_sentence_long", a=label[short.better], b=label[short.worse], x=short.value_better,
                       y=short.value_worse, n=count(short.people), people=people))
    if (low := trade.lower_ede) is not None:
        parts.append(L("c_sentence_ede", a=label[low.better], b=label[low.worse], x=low.value_better,
                       y=low.value_worse, n=count(low.people), people=people))
    if not parts:
        return [L("c_tie", a=label[0], b=label[1], t=t)]
    return [Markup(escape(L("c_sep"))).join(parts) + L("c_full_stop")]


def _site_notes(service: ServiceComparison, lang: str, labels: list[str]) -> list[str]:
    """The new sites every plan shares, and each plan's sites serving very few people (``labels``: the plans')."""
    L = functools.partial(translate, lang)
    out = []
    if service.shared_places is not None:
        places = service.shared_places
        out.append(L("c_shared", list=names(lang, map(name, places))) if places else L("c_shared_none"))
    for k, p in enumerate(service.plans):
        if len(p.small):
            listed = names(lang, [name(place) + f" ({count(n)})"
                                  for place, n in zip(p.small["place"], p.small["assigned_population"], strict=True)])
            out.append(name(labels[k]) + L("colon") + L("c_small", limit=p.small_limit, list=listed))
    return out


def plans_chart(plans: list[PlanFigures], lang: str, labels: list[str]) -> str:
    """The plans (and before) on two axes: longest trip (x) against share within T (y), each point named by its
    short label (``labels``); base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font() if lang == "zh" else None
    with plt.rc_context({"font.family": [font, "sans-serif"]} if font else {}):
        return png_data(plans_figure(plans, "zh" if font else "en", labels))


def plans_figure(plans: list[PlanFigures], lang: str, labels: list[str]):
    """:func:`plans_chart`'s figure (matplotlib), its point labels placed apart (:func:`annotate_apart`)."""
    import matplotlib.pyplot as plt

    L = functools.partial(translate, lang)
    t = plans[0].result.service.threshold_min
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    b = plans[0].result.before
    points = [(L("before"), b["max_min"], b["within_share"], "#9e9e9e")]
    points += [(label, p.result.after["max_min"], p.result.after["within_share"], colour)
               for p, label, colour in zip(plans, labels, ("#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#00838f"))]
    shown = [(label, x, 100 * y, colour) for label, x, y, colour in points if x is not None and y is not None]
    for _, x, y, colour in shown:
        ax.scatter([x], [y], s=70, color=colour, zorder=3)
    ax.set(xlabel=L("c_x"), ylabel=L("c_y", t=t), title=L("c_chart", t=t))
    ax.grid(alpha=0.3)
    ax.margins(0.25)
    annotate_apart(ax, [(label, x, y) for label, x, y, _ in shown])
    return fig


#: where a point's label may go, in points from the point: right above first, then the other corners, then farther
_LABEL_SPOTS = tuple((dx, dy, "left" if dx > 0 else "right", "bottom" if dy > 0 else "top")
                     for reach in (6, 18, 30) for dx, dy in ((6, reach), (6, -reach), (-6, reach), (-6, -reach)))


def annotate_apart(ax, points: list[tuple[str, float, float]]) -> list:
    """Label each point (label, x, y) at the first of :data:`_LABEL_SPOTS` where it overlaps no label placed
    before it and no point, inside the axes; return the labels (matplotlib texts)."""
    ax.set_xlim(ax.get_xlim())   # the limits as the margins leave them: placing labels must not move them
    ax.set_ylim(ax.get_ylim())
    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    taken = [_marker_box(ax, x, y) for _, x, y in points]
    texts = []
    for label, x, y in points:
        for dx, dy, ha, va in _LABEL_SPOTS:
            text = ax.annotate(textwrap.fill(label, 30), (x, y), textcoords="offset points", xytext=(dx, dy),
                               ha=ha, va=va, fontsize=8)
            box = text.get_window_extent(renderer)
            fits = inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
            if fits and not any(box.overlaps(other) for other in taken):
                break
            text.remove()
        else:   # nowhere free: the first spot
            dx, dy, ha, va = _LABEL_SPOTS[0]
            text = ax.annotate(textwrap.fill(label, 30), (x, y), textcoords="offset points", xytext=(dx, dy),
                               ha=ha, va=va, fontsize=8)
            box = text.get_window_extent(renderer)
        taken.append(box)
        texts.append(text)
    return texts


def _marker_box(ax, x: float, y: float):
    """The display box of a scatter point (s=70: about 8.4 points across) at (x, y)."""
    from matplotlib.transforms import Bbox

    cx, cy = ax.transData.transform((x, y))
    r = 4.2 * ax.figure.dpi / 72
    return Bbox.from_extents(cx - r, cy - r, cx + r, cy + r)


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


def service_comparison(service: ServiceComparison, lang: str, labels: list[str]) -> dict:
    """One service's block: sentences, targets, metrics (before once, better value marked), sites, chart;
    ``labels``: every run's plan label (:func:`plan_labels`), of which the service's plans' are used."""
    L = functools.partial(translate, lang)
    plans = service.plans
    mine = [label for label, p in zip(labels, service.columns, strict=True) if p is not None]
    t = plans[0].result.service.threshold_min
    heads = [name(x) for x in mine]
    return {"name": service.name, "threshold": L("threshold", t=t),
            "sentences": tradeoff_sentences(service, lang, mine),
            "target_headers": [L("target"), L("c_before"), *heads], "targets": _target_rows(plans, lang),
            "metric_headers": [L("metric"), L("c_before"), *heads], "metrics": _metric_rows(plans, lang),
            "notes": _site_notes(service, lang, mine), "chart_title": L("c_chart", t=t),
            "chart": plans_chart(plans, lang, mine)}


def _fmt(key: str, value, lang: str) -> str:
    """A value with its unit: shares in %, minutes with "min"."""
    text = fmt_metric(key, value)
    return translate(lang, "t_min", v=text) if key.endswith("_min") and text != "–" else text


@dataclass(frozen=True)
class PairPage:
    """One pair of plans on two maps side by side: its link's words (markup: the labels are marked names) and
    the page."""

    text: str
    page: str


def pair_pages(service: ServiceComparison, labels: list[str], lang: str, *, tiles: bool) -> dict[str, PairPage]:
    """Every pair of the service's plans side by side (:func:`allocator.outputs.compare_map.pair_page`), by file
    name (``pair_<service>_<i>_<j>.html``, plans numbered as the comparison lists them)."""
    numbered = [(k + 1, p, label) for k, (p, label) in enumerate(zip(service.columns, labels, strict=True))
                if p is not None]
    out = {}
    for (i, a, label_a), (j, b, label_b) in itertools.combinations(numbered, 2):
        layers = tuple(ServiceLayer(p.result.service.name, p.result.service.kind, p.result.service.threshold_min,
                                    p.result.demand, p.result.facilities,
                                    {**headline(p.result), "mode": p.run.network.mode}) for p in (a, b))
        text = translate(lang, "c_pair", a=name(label_a), b=name(label_b))
        out[f"pair_{service.name}_{i}_{j}.html"] = PairPage(
            text, pair_page(f"{label_a} | {label_b} — {service.name}", (layers[0], layers[1]), (label_a, label_b),
                            tiles, "comparison.html", lang))
    return out


def write_comparison(results: list[RunResult], folder: Path, lang: str = "en") -> Path:
    """Write ``comparison.csv`` and ``comparison.html`` into ``folder`` (with its manifest.json), replacing it
    as a run's folder is replaced (:func:`allocator.outputs.files.write_folder`); return it."""
    folder = Path(folder)
    comparison = compare(results)
    frame = comparison_frame(comparison)
    L = functools.partial(translate, lang)
    labels = plan_labels(results)
    pairs = {s.name: pair_pages(s, labels, lang, tiles=results[0].info.tiles) for s in comparison.services}
    body = render("comparison.html", links=_links(results, folder, lang), colon=L("colon"), map_word=L("c_map"),
                  report_word=L("c_report"), targets_title=L("c_targets"), overall_title=L("overall"),
                  pairs_title=L("c_pairs"),
                  services=[{**service_comparison(s, lang, labels),
                             "pairs": [{"href": f, "text": pair.text} for f, pair in pairs[s.name].items()]}
                            for s in comparison.services],
                  appendix=appendix_section(results[0], lang))
    page = html_page(translate(lang, "comparison"), Markup(" · ").join(map(name, labels)), body, lang,
                     footer_lines(lang, results[0].info.attributions))

    def write(staging: Path) -> None:
        write_csv(frame, staging / "comparison.csv")
        (staging / "comparison.html").write_text(page, encoding="utf-8")
        for made in pairs.values():
            for file, pair in made.items():
                (staging / file).write_text(stable_ids(pair.page), encoding="utf-8")
        write_manifest(staging, comparison_manifest(results))

    return write_folder(folder, write, legacy=WRITTEN_BEFORE_MARKER)
