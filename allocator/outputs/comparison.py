"""Scenarios side by side: ``comparison.csv`` and ``comparison.html`` (``--compare``).

Every scenario's services are evaluated again on the union of all targets and
the first district grouping, so plans that answer different questions are
compared on the same yardsticks.
"""

from __future__ import annotations

import functools
from html import escape as e
from pathlib import Path

import pandas as pd

from allocator.evaluate import equity
from allocator.inputs.districts import assign_districts
from allocator.outputs.labels import OVERALL_KEYS, fmt_metric, metric_name, target_text, translate
from allocator.outputs.page import footer_lines, html_page, html_table, status_html


def _comparable(results) -> list:
    """Every run's services re-evaluated on the union of all targets and the first district grouping.

    So scenarios that differ only in their question are compared on the same
    yardsticks; a scenario without districts borrows the first one's.
    """
    scenario_with_districts = next((r.scenario for r in results if r.scenario.spec.districts is not None), None)
    targets = {}
    for r in results:
        for t in [*r.scenario.spec.targets, *(t for s in r.services for t in s.service.targets)]:
            targets[t.model_dump_json()] = t
    out = []
    for r in results:
        blocks = {}
        for s in r.services:
            demand = s.demand.copy()
            if "district" not in demand and scenario_with_districts is not None:
                spec = scenario_with_districts.spec.districts
                demand["district"], demand["district_name"] = assign_districts(demand, spec, scenario_with_districts)
            block = equity.service_equity(demand, s.service.threshold_min, list(targets.values()),
                                          {"before": s.before, "after": s.after})
            blocks[s.service.name] = (s, block)
        out.append((r, blocks))
    return out


def comparison_frame(results) -> pd.DataFrame:
    """comparison.csv: one row per service, metric and before/after; one column per scenario."""
    evaluated = _comparable(results)
    names = [r.scenario.spec.name for r in results]
    services = list(dict.fromkeys(name for _, blocks in evaluated for name in blocks))
    rows = []
    for service in services:
        row = {"service": service, "metric": "new_sites", "when": "after"}
        for (_r, blocks), name in zip(evaluated, names):
            row[name] = int((blocks[service][0].facilities["status"] == "new").sum()) if service in blocks else None
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


def write_comparison(results, folder: Path, lang: str = "en") -> Path:
    """Write ``comparison.csv`` and ``comparison.html`` into ``folder`` (created); return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = comparison_frame(results)
    frame.to_csv(folder / "comparison.csv", index=False)
    L = functools.partial(translate, lang)
    names = [r.scenario.spec.name for r in results]
    titles = {r.scenario.spec.name: r.scenario.spec.title or r.scenario.spec.name for r in results}
    body = []
    for service, part in frame.groupby("service", sort=False):
        threshold = next(s.service.threshold_min for r in results for s in r.services if s.service.name == service)
        rows = []
        for rec in part.to_dict(orient="records"):
            metric = rec["metric"]
            if metric.startswith("target: "):
                label = metric.removeprefix("target: ")
                when = L("after") if rec["when"] == "after" else L("met")
                cells = [status_html(lang, rec[n]) if rec["when"] == "met_after" else e(str(rec[n])) if
                         not isinstance(rec[n], float) else e(f"{rec[n]:.3f}") for n in names]
            else:
                label = L("new_sites") if metric == "new_sites" else "objective" if metric == "objective" \
                    else metric_name(lang, metric, threshold)
                when = L(rec["when"]) if rec["when"] in ("before", "after") else ""
                cells = [e(fmt_metric(metric, rec[n]) if metric not in ("objective", "new_sites") else str(rec[n]))
                         for n in names]
            rows.append([e(label), e(when), *cells])
        body.append(f"<h2>{e(service)}</h2>" + html_table([L("metric"), "", *[titles[n] for n in names]], rows,
                                                       raw_cells=True))
    page = html_page(L("comparison"), " · ".join(titles[n] for n in names), "\n".join(body), lang, footer_lines(lang))
    (folder / "comparison.html").write_text(page, encoding="utf-8")
    return folder
