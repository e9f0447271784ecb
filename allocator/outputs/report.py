"""The equity report: ``report.html``, ``districts.csv`` and ``targets.csv``.

``report.html`` is one self-contained page: a plain-language summary first
(what changed, who gains, which targets are met), then tables, then figures
(matplotlib, Agg backend, embedded as base64 PNG): Lorenz curves of travel
time, the population-weighted travel-time distribution, and the share within
the threshold per district, each before and after. Every string that comes
from data is escaped with :func:`html.escape`.

Languages: English (``en``) and Simplified Chinese (``zh``), from the scenario
field ``language`` or ``--lang``. Figure labels are in Chinese only when a CJK
font is installed (``fc-list :lang=zh``); otherwise they stay in English and
the report footer says so (the Debian package ``fonts-noto-cjk`` provides one).

The numbers are the same as the ``equity`` block of ``summary.json``
(see :mod:`allocator.evaluate.equity` for the definitions).
"""

from __future__ import annotations

import base64
import functools
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.outputs.labels import (
    OVERALL_KEYS,
    SHARES,
    amount,
    cjk_font,
    fmt_metric,
    metric_name,
    target_text,
    translate,
)
from allocator.outputs.page import footer_lines, html_page, html_table, status_html
from allocator.outputs.staffing import report_section as staffing_section
from allocator.outputs.sweep import sweep_section

e = html.escape

# --- summary sentences --------------------------------------------------------------------------

def summary_sentences(s, lang: str = "en") -> list[str]:
    """Plain-language sentences for one service result (what changed, who gains, targets)."""
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    b, a = ({**s.before, **s.equity["overall"]["before"]}, {**s.after, **s.equity["overall"]["after"]})
    new = int((s.facilities["status"] == "new").sum())
    out = [L("s_change", n=new, kind=s.service.kind, objective=s.service.objective, t=t,
             b=fmt_metric("within_share", b["within_share"]), a=fmt_metric("within_share", a["within_share"]),
             d=(a["within"] or 0) - (b["within"] or 0))]
    if s.solution.budget_used is not None:   # the plan model: closures, upgrades, spending
        fac = s.facilities
        closed, upgraded = int((fac["status"] == "closed").sum()), int(fac["upgraded"].astype(bool).sum())
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
        verb = L("falls") if a["gini"] < b["gini"] - 5e-4 else L("rises") if a["gini"] > b["gini"] + 5e-4 else L("stays")
        districts = s.equity.get("districts")
        if districts and a["theil"]:
            out.append(L("s_gini", verb=verb, b=b["gini"], a=a["gini"], share=a["theil_between"] / a["theil"]))
        else:
            out.append(L("s_gini_nodist", verb=verb, b=b["gini"], a=a["gini"]))
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
            names = ", ".join(f"{r.district_name} (+{100 * r.gain:.0f} {L('pp')})" for r in top.itertuples())
            out.append(L("s_gains", n=gainers, list=names))
        else:
            out.append(L("s_gains_nodist", n=gainers, m=0.0))
    else:
        finite = gain & np.isfinite(before)
        saved = float(np.average(before[finite] - after[finite], weights=pop[finite])) if pop[finite].sum() > 0 else 0.0
        out.append(L("s_gains_nodist", n=gainers, m=saved))
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

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figures(s, lang: str = "en") -> list[tuple[str, str]]:
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
        out.append((translate(lang, "lorenz_title"), _png(fig)))

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
        ax.set(xlabel=L("hist_x"), ylabel=L("hist_y"), title=L("hist_title"))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.legend(frameon=False)
        out.append((translate(lang, "hist_title"), _png(fig)))

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
            ax.set_yticks(y, [str(n)[:28] for n in table["district_name"]], fontsize=8)
            ax.set(xlim=(0, 100), xlabel="%", title=L("bars_title", t=t))
            ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.0 / (len(table) + 4)), ncol=2)
            out.append((translate(lang, "bars_title", t=t), _png(fig)))
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


# --- HTML ---------------------------------------------------------------------------------------

def _change(key: str, b, a) -> str:
    if b is None or a is None:
        return "–"
    if key in SHARES:
        return f"{100 * (a - b):+.1f} pp"
    return f"{a - b:+.1f}" if key.endswith("_min") else f"{a - b:+.3f}"


def service_section(s, lang: str) -> str:
    L = functools.partial(translate, lang)
    t = s.service.threshold_min
    ov = {"before": {**s.before, **s.equity["overall"]["before"]}, "after": {**s.after, **s.equity["overall"]["after"]}}
    parts = [f"<h2>{e(s.service.name)} <small class='sub'>({e(s.service.kind)}, {e(s.service.objective)}, "
             f"T = {t:g} min)</small></h2>",
             f"<h3>{e(L('summary'))}</h3><ul class='summary'>"
             + "".join(f"<li>{e(x)}</li>" for x in summary_sentences(s, lang)) + "</ul>"]
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
            [L("target"), L("before"), "", L("after"), ""], rows, raw_cells=True))
    rows = [[metric_name(lang, k, t), fmt_metric(k, ov["before"].get(k)), fmt_metric(k, ov["after"].get(k)),
             _change(k, ov["before"].get(k), ov["after"].get(k))]
            for k in OVERALL_KEYS if ov["before"].get(k) is not None or ov["after"].get(k) is not None]
    parts.append(f"<h3>{e(L('overall'))}</h3>" + html_table([L("metric"), L("before"), L("after"), L("change")], rows))
    districts = s.equity.get("districts")
    if districts:
        keys = ("within_share", "mean_min", "max_min", "gini", "access_e2sfca_mean")
        headers = [L("district"), L("population")] + [f"{metric_name(lang, k, t)}: {L('before')} → {L('after')}"
                                                     for k in keys]
        rows = [[str(d["district_name"]), fmt_metric("population", d["population"])]
                + [f"{fmt_metric(k, d.get(f'{k}_before'))} → {fmt_metric(k, d.get(f'{k}_after'))}" for k in keys]
                for d in sorted(districts, key=lambda d: -d["population"])]
        parts.append(f"<h3>{e(L('districts'))}</h3><div class='scroll'>" + html_table(headers, rows) + "</div>")
    parts.append(staffing_section(s))   # counters and waiting (allocator.outputs.staffing; empty without)
    figs = "".join(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{png}'></figure>"
                   for title, png in figures(s, lang))
    parts.append(f"<h3>{e(L('figures'))}</h3><div class='figs'>{figs}</div>")
    return "\n".join(parts)


def shared_budget_section(result, lang: str) -> str:
    """The shared budget's limit and what the services spend together (empty without a ``shared_budget``)."""
    if result.shared_budget_used is None:
        return ""
    names = ", ".join(s.service.name for s in result.services)
    text = translate(lang, "s_shared", names=names, used=amount(result.shared_budget_used),
                  b=amount(result.scenario.spec.shared_budget))
    return f"<h2>{e(translate(lang, 'shared_budget'))}</h2><ul class='summary'><li>{e(text)}</li></ul>"


def render_report(result, lang: str | None = None) -> str:
    """The whole report.html text of one run."""
    spec = result.scenario.spec
    lang = lang or spec.language
    title = f"{translate(lang, 'report')}: {spec.title or spec.name}"
    sections = [shared_budget_section(result, lang), *(service_section(s, lang) for s in result.services)]
    sections.append(sweep_section(result, lang))
    body = "\n".join(part for part in sections if part)
    return html_page(title, spec.description or "", body, lang, footer_lines(lang))


def write_report(result, folder: Path, lang: str | None = None) -> None:
    """Write report.html, districts.csv and targets.csv into ``folder``."""
    folder = Path(folder)
    (folder / "report.html").write_text(render_report(result, lang), encoding="utf-8")
    districts_frame(result).to_csv(folder / "districts.csv", index=False)
    targets_frame(result).to_csv(folder / "targets.csv", index=False)
