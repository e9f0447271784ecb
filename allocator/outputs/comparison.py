"""Scenarios side by side: ``comparison.csv`` and ``comparison.html`` (``--compare``).

Every scenario's services are evaluated again on the union of all targets and
the first district grouping, so plans that answer different questions are
compared on the same yardsticks.

``comparison.html`` is made to choose from: per service, one or two computed
sentences stating the trade-off, links to each plan's map and report, the
targets first, then one table with "before" once and each plan's value after
(the better one highlighted), the new sites the plans share, the sites serving
very few people, and a chart placing the plans on two axes (share within T
against the longest trip).
"""

from __future__ import annotations

import functools
import os
import textwrap
from html import escape as e
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.evaluate import equity
from allocator.inputs.sites import SiteStatus
from allocator.outputs.labels import OVERALL_KEYS, SHOWN_KEYS, cjk_font, fmt_metric, metric_name, target_text, translate
from allocator.outputs.page import footer_lines, html_page, status_html
from allocator.outputs.report import appendix_section, objective_words, people_of, png_data, small_limit, small_loads

#: metrics where more is better (every other shown metric: less is better)
HIGHER_IS_BETTER = {"within_share", "access_2sfca_mean", "access_e2sfca_mean"}


def _comparable(results) -> list:
    """Every run's services re-evaluated on the union of all targets and the first district grouping.

    So scenarios that differ only in their question are compared on the same
    yardsticks; a scenario without districts borrows the first one's.
    """
    assign = next((r.info.assign_districts for r in results if r.info.assign_districts is not None), None)
    targets = {}
    for r in results:
        for t in [*r.info.targets, *(t for s in r.services for t in s.service.targets)]:
            targets[t.model_dump_json()] = t
    out = []
    for r in results:
        blocks = {}
        for s in r.services:
            demand = s.demand.copy()
            if "district" not in demand and assign is not None:
                demand["district"], demand["district_name"] = assign(demand)
            block = equity.service_equity(demand, s.service.threshold_min, list(targets.values()),
                                          {"before": s.before, "after": s.after})
            blocks[s.service.name] = (s, block)
        out.append((r, blocks))
    return out


def comparison_frame(results, evaluated: list | None = None) -> pd.DataFrame:
    """comparison.csv: one row per service, metric and before/after; one column per scenario.

    ``evaluated``: :func:`_comparable` of ``results`` when the caller has it already.
    """
    evaluated = evaluated if evaluated is not None else _comparable(results)
    names = [r.info.name for r in results]
    services = list(dict.fromkeys(name for _, blocks in evaluated for name in blocks))
    rows = []
    for service in services:
        row = {"service": service, "metric": "new_sites", "when": "after"}
        for (_r, blocks), name in zip(evaluated, names):
            row[name] = int((blocks[service][0].facilities["status"] == SiteStatus.NEW).sum()) if service in blocks else None
        rows.append(row)
        row = {"service": service, "metric": "objective", "when": ""}
        for (_r, blocks), name in zip(evaluated, names):
            row[name] = blocks[service][0].service.objective if service in blocks else None
        rows.append(row)
        for key in OVERALL_KEYS:
            for when in ("before", "after"):
                row = {"service": service, "metric": key, "when": when}
                for (_r, blocks), name in zip(evaluated, names):
                    row[name] = _overall(*blocks[service], when).get(key) if service in blocks else None
                rows.append(row)
        first = next(blocks[service] for _, blocks in evaluated if service in blocks)
        for i, target in enumerate(first[1]["targets"]):
            text = target_text(target, "en", first[0].service.threshold_min)
            for what in ("after", "met_after"):
                row = {"service": service, "metric": f"target: {text}", "when": what}
                for (_r, blocks), name in zip(evaluated, names):
                    row[name] = blocks[service][1]["targets"][i][what] if service in blocks else None
                rows.append(row)
    return pd.DataFrame(rows, columns=["service", "metric", "when", *names])


def _overall(s, block: dict, when: str) -> dict:
    """Every overall metric of a service ``when``: its access metrics and its equity block's."""
    return {**getattr(s, when), **block["overall"][when]}



def _plan_name(r) -> str:
    return r.info.title


def _links(results, folder: Path, lang: str) -> str:
    """Each plan's map and report, relative to the comparison folder."""
    L = functools.partial(translate, lang)
    items = []
    for r in results:
        target = folder.parent / r.info.name
        target = target if target.is_dir() else r.info.output_dir
        rel = Path(os.path.relpath(target, folder)).as_posix()
        items.append(f"<li>{e(_plan_name(r))}{e(L('colon'))}<a class='map-link' href='{e(rel)}/map.html'>"
                     f"{e(L('c_map'))}</a> · <a class='report-link' href='{e(rel)}/report.html'>{e(L('c_report'))}</a></li>")
    return f"<ul class='links'>{''.join(items)}</ul>"


def _best(key: str, values: list) -> set[int]:
    """Which columns hold the better value of ``key`` (none when all are equal or missing)."""
    nums = [v if isinstance(v, (int, float)) and v is not None and np.isfinite(v) else None for v in values]
    present = [v for v in nums if v is not None]
    if len(present) < 2 or max(present) - min(present) < 1e-9:
        return set()
    best = max(present) if key in HIGHER_IS_BETTER else min(present)
    return {i for i, v in enumerate(nums) if v is not None and abs(v - best) < 1e-9}


def _cells(values: list[str], best: set[int]) -> str:
    return "".join(f"<td class='best'>{v}</td>" if i in best else f"<td>{v}</td>" for i, v in enumerate(values))


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f"<table class='compare'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def tradeoff_sentences(plans: list, lang: str) -> list[str]:
    """One or two sentences: who brings more people within T, who has the shorter longest trip."""
    L = functools.partial(translate, lang)
    if len(plans) < 2:
        return []
    r0, s0 = plans[0]
    t = s0.service.threshold_min
    people = people_of(r0, s0, lang)
    within = [s.after["within"] or 0.0 for _, s in plans]
    longest = [s.after["max_min"] if s.after["max_min"] is not None else np.inf for _, s in plans]
    cover, far = int(np.argmax(within)), int(np.argmin(longest))
    other_c = int(np.argmin(within))
    other_f = int(np.argmax(longest))
    name = [_plan_name(r) for r, _ in plans]
    parts = []
    if within[cover] - within[other_c] > 0.5:
        parts.append(L("c_sentence_cover", a=name[cover], b=name[other_c], d=within[cover] - within[other_c],
                       people=people, t=t))
    if longest[other_f] - longest[far] > 0.05:
        parts.append(L("c_sentence_long", a=name[far], b=name[other_f], x=longest[far], y=longest[other_f]))
    if not parts:
        return [L("c_tie", a=name[0], b=name[1], t=t)]
    return [("; " if lang == "en" else "；").join(parts) + ("." if lang == "en" else "。")]


def _site_notes(plans: list, lang: str) -> list[str]:
    """The new sites every plan shares, and each plan's sites serving very few people."""
    L = functools.partial(translate, lang)
    out = []
    new = [s.facilities[s.facilities["status"] == SiteStatus.NEW] for _, s in plans]
    if len(plans) > 1:
        common = set.intersection(*(set(f["id"].astype(str)) for f in new))
        places = [p for i, p in zip(new[0]["id"].astype(str), new[0]["place"]) if i in common]
        out.append(L("c_shared", list=L("and").join(map(str, places))) if places else L("c_shared_none"))
    for r, s in plans:
        small = small_loads(s)
        if len(small):
            listed = L("and").join(f"{p} ({n:,.0f})" for p, n in zip(small["place"], small["assigned_population"]))
            out.append(f"{_plan_name(r)}{L('colon')}" + L("c_small", limit=small_limit(s), list=listed))
    return out


def plans_chart(plans: list, lang: str) -> str:
    """The plans (and before) on two axes: longest trip (x) against share within T (y); base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font() if lang == "zh" else None
    flang = "zh" if font else "en"
    L = functools.partial(translate, flang)
    t = plans[0][1].service.threshold_min
    with plt.rc_context({"font.family": [font, "sans-serif"]} if font else {}):
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        b = plans[0][1].before
        points = [(L("before"), b["max_min"], b["within_share"], "#9e9e9e")]
        points += [(_plan_name(r), s.after["max_min"], s.after["within_share"], colour)
                   for (r, s), colour in zip(plans, ("#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#00838f"))]
        for label, x, y, colour in points:
            if x is None or y is None:
                continue
            ax.scatter([x], [100 * y], s=70, color=colour, zorder=3)
            ax.annotate(textwrap.fill(label, 30), (x, 100 * y), textcoords="offset points", xytext=(6, 6), fontsize=8)
        ax.set(xlabel=L("c_x"), ylabel=L("c_y", t=t), title=L("c_chart", t=t))
        ax.grid(alpha=0.3)
        ax.margins(0.25)
        return png_data(fig)


def service_comparison(service: str, evaluated: list, lang: str) -> str:
    """One service: sentences, targets, metrics (before once, better value highlighted), sites, chart."""
    L = functools.partial(translate, lang)
    plans = [(r, blocks[service][0]) for r, blocks in evaluated if service in blocks]
    blocks = [blocks[service][1] for _, blocks in evaluated if service in blocks]
    names = [_plan_name(r) for r, _ in plans]
    s0 = plans[0][1]
    t = s0.service.threshold_min
    parts = [f"<h2>{e(service)} <small class='sub'>({e(L('threshold', t=t))})</small></h2>"]
    parts += [f"<p class='lead'>{e(x)}</p>" for x in tradeoff_sentences(plans, lang)]
    first = blocks[0]["targets"]
    if first:
        rows = []
        for i, target in enumerate(first):
            values = [b["targets"][i]["after"] for b in blocks]
            cells = [f"{e(_fmt(target['metric'], v, lang))} {status_html(lang, b['targets'][i]['met_after'])}"
                     for v, b in zip(values, blocks)]
            before = f"{e(_fmt(target['metric'], target['before'], lang))} {status_html(lang, target['met_before'])}"
            rows.append(f"<tr><td>{e(target_text(target, lang, t))}</td><td>{before}</td>"
                        f"{_cells(cells, _best(target['metric'], values))}</tr>")
        parts.append(f"<h3>{e(L('c_targets'))}</h3>" + _table([L("target"), L("c_before"), *names], rows))
    has_districts = bool(blocks[0].get("districts"))
    rows = [f"<tr><td>{e(L('new_sites'))}</td><td></td>"
            + _cells([str(int((s.facilities['status'] == 'new').sum())) for _, s in plans], set()) + "</tr>",
            f"<tr><td>{e(L('c_question'))}</td><td></td>"
            + _cells([e(objective_words(r, s, lang)) for r, s in plans], set()) + "</tr>"]
    for key in SHOWN_KEYS:
        if key in ("theil_between", "theil_within") and not has_districts:
            continue
        values = [_overall(s, b, "after").get(key) for (_, s), b in zip(plans, blocks)]
        before = _overall(s0, blocks[0], "before").get(key)
        if before is None and all(v is None for v in values):
            continue
        rows.append(f"<tr><td>{e(metric_name(lang, key, t))}</td><td>{e(_fmt(key, before, lang))}</td>"
                    + _cells([e(_fmt(key, v, lang)) for v in values], _best(key, values)) + "</tr>")
    parts.append(f"<h3>{e(L('overall'))}</h3>" + _table([L("metric"), L("c_before"), *names], rows))
    notes = _site_notes(plans, lang)
    if notes:
        parts.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in notes) + "</ul>")
    parts.append(f"<figure><img class='chart' alt='{e(L('c_chart', t=t))}' "
                 f"src='data:image/png;base64,{plans_chart(plans, lang)}'></figure>")
    return "\n".join(parts)


def _fmt(key: str, value, lang: str) -> str:
    """A value with its unit: shares in %, minutes with "min"."""
    text = fmt_metric(key, value)
    return translate(lang, "t_min", v=text) if key.endswith("_min") and text != "–" else text


def write_comparison(results, folder: Path, lang: str = "en") -> Path:
    """Write ``comparison.csv`` and ``comparison.html`` into ``folder`` (created); return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    evaluated = _comparable(results)
    comparison_frame(results, evaluated).to_csv(folder / "comparison.csv", index=False)
    services = list(dict.fromkeys(name for _, blocks in evaluated for name in blocks))
    body = [_links(results, folder, lang)]
    body += [service_comparison(service, evaluated, lang) for service in services]
    body.append(appendix_section(results[0], lang))
    titles = " · ".join(_plan_name(r) for r in results)
    page = html_page(translate(lang, "comparison"), titles, "\n".join(body), lang,
                     footer_lines(lang, results[0].info.attributions))
    (folder / "comparison.html").write_text(page, encoding="utf-8")
    return folder
