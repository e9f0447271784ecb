"""The equity report: ``report.html``, ``districts.csv``, ``targets.csv`` and scenario comparisons.

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
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from allocator import ATTRIBUTION
from allocator.evaluate import equity
from allocator.inputs.districts import assign_districts
from allocator.outputs.labels import amount

# --- labels -------------------------------------------------------------------------------------

LABELS = {
    "en": {
        "report": "Equity report", "summary": "Summary", "overall": "Access and inequality",
        "targets": "Targets", "districts": "Districts", "figures": "Figures", "metric": "Metric",
        "before": "Before", "after": "After", "change": "Change", "target": "Target", "met": "met",
        "not_met": "not met", "n_a": "not evaluated", "district": "District", "population": "Population",
        "within_share": "Share within {t:g} min", "underserved_share": "Share beyond {t:g} min",
        "mean_min": "Mean trip (min)", "median_min": "Median trip (min)", "p90_min": "90th percentile trip (min)",
        "max_min": "Longest trip (min)", "gini": "Gini of travel time", "theil": "Theil index (total)",
        "theil_between": "Theil: between districts", "theil_within": "Theil: within districts",
        "p90_median_ratio": "90th percentile / median", "worst_decile_ratio": "Worst-served 10 % mean / median",
        "access_2sfca_mean": "2SFCA access (per 10,000)", "access_e2sfca_mean": "E2SFCA access (per 10,000)",
        "access_2sfca_gini": "Gini of 2SFCA access", "access_e2sfca_gini": "Gini of E2SFCA access",
        "worst": "worst district: {d}", "per_district": "(every district)",
        "lorenz_title": "Lorenz curve of travel time", "lorenz_x": "Cumulative share of residents (shortest trips first)",
        "lorenz_y": "Cumulative share of person-minutes", "equality": "Equality",
        "hist_title": "Travel time distribution", "hist_x": "Minutes to the nearest facility",
        "hist_y": "Residents", "bars_title": "Share within {t:g} min by district", "threshold": "{t:g} min",
        "s_change": "Opening {n} new {kind} site(s) ({objective}) changes the share of residents within "
                    "{t:g} minutes from {b} to {a} ({d:+,.0f} people).",
        "s_plan": "The plan also {changes}; it spends {spent} (opening costs + upgrades - savings of closures){limit}.",
        "s_spend": "The plan spends {spent} (opening costs + upgrades - savings of closures){limit}.",
        "s_closes": "closes {n} existing site(s)", "s_upgrades": "upgrades {n} existing site(s)", "and": " and ",
        "s_limit": " of a budget of {b}",
        "s_trips": "The mean trip goes from {b:.1f} to {a:.1f} minutes and the longest from {mb:.1f} to {ma:.1f} minutes.",
        "s_gini": "Inequality of travel time (Gini) {verb} from {b:.3f} to {a:.3f}; "
                  "{share:.0%} of the remaining inequality (Theil) lies between districts.",
        "s_gini_nodist": "Inequality of travel time (Gini) {verb} from {b:.3f} to {a:.3f}.",
        "falls": "falls", "rises": "rises", "stays": "stays",
        "s_gains": "Who gains: {n:,.0f} residents get a shorter trip; the districts gaining most are {list}.",
        "s_gains_nodist": "Who gains: {n:,.0f} residents get a shorter trip, on average by {m:.1f} minutes.",
        "s_targets": "{k} of {n} target(s) are met after the change.", "s_missed": "Missed: {list}.",
        "s_no_targets": "No targets are set (scenario field 'targets').",
        "font_note": "Figure labels are in English: no Chinese (CJK) font is installed "
                     "(install fonts-noto-cjk for Chinese figure labels).",
        "definitions": "Definitions: Gini and Theil over the reachable population, population-weighted; "
                       "Theil between + within = total; worst-served 10 % = mean of the longest trips of a tenth "
                       "of the residents; 2SFCA (Luo & Wang 2003) and E2SFCA (Luo & Qi 2009, zone weights 1, 0.68, "
                       "0.22) use each facility's count as its capacity.",
        "comparison": "Scenario comparison", "scenario": "Scenario", "service": "Service", "new_sites": "New sites",
        "targets_met": "Targets met after", "pp": "pp",
        "s_rounding": "Travel times were rounded to multiples of {r:g} s for the solve (solver.round_s): the "
                      "status ({status}), gap and optimality hold for the rounded times, objective {rounded}; on "
                      "the exact times the same plan gives {exact}. Every figure in this report uses the exact times.",
        "shared_budget": "Shared budget",
        "s_shared": "{names} are solved together in one model and spend {used} of their shared budget of {b} "
                    "(opening costs + upgrades - savings of closures).",
    },
    "zh": {
        "report": "公平性报告", "summary": "摘要", "overall": "可达性与不平等", "targets": "目标",
        "districts": "分区", "figures": "图表", "metric": "指标", "before": "规划前", "after": "规划后",
        "change": "变化", "target": "目标", "met": "达成", "not_met": "未达成", "n_a": "未评估",
        "district": "分区", "population": "人口",
        "within_share": "{t:g} 分钟内人口比例", "underserved_share": "超过 {t:g} 分钟人口比例",
        "mean_min": "平均出行时间（分钟）", "median_min": "出行时间中位数（分钟）",
        "p90_min": "出行时间第 90 百分位（分钟）", "max_min": "最长出行时间（分钟）",
        "gini": "出行时间基尼系数", "theil": "泰尔指数（总）", "theil_between": "泰尔指数：分区间",
        "theil_within": "泰尔指数：分区内", "p90_median_ratio": "第 90 百分位 / 中位数",
        "worst_decile_ratio": "最差 10% 平均 / 中位数", "access_2sfca_mean": "2SFCA 可达性（每万人）",
        "access_e2sfca_mean": "E2SFCA 可达性（每万人）",
        "access_2sfca_gini": "2SFCA 可达性基尼系数", "access_e2sfca_gini": "E2SFCA 可达性基尼系数", "worst": "最差分区：{d}", "per_district": "（每个分区）",
        "lorenz_title": "出行时间洛伦兹曲线", "lorenz_x": "居民累计比例（出行时间由短到长）",
        "lorenz_y": "人·分钟累计比例", "equality": "完全平等", "hist_title": "出行时间分布",
        "hist_x": "到最近设施的分钟数", "hist_y": "居民", "bars_title": "各分区 {t:g} 分钟内人口比例",
        "threshold": "{t:g} 分钟",
        "s_change": "新增 {n} 处{kind}设施（{objective}）后，{t:g} 分钟内可达的居民比例由 {b} 变为 {a}"
                    "（{d:+,.0f} 人）。",
        "s_plan": "该方案同时{changes}；净支出 {spent}（新建成本 + 扩容成本 - 关闭节省）{limit}。",
        "s_spend": "该方案净支出 {spent}（新建成本 + 扩容成本 - 关闭节省）{limit}。",
        "s_closes": "关闭 {n} 处现有设施", "s_upgrades": "扩容 {n} 处现有设施", "and": "、",
        "s_limit": "，预算为 {b}",
        "s_trips": "平均出行时间由 {b:.1f} 分钟变为 {a:.1f} 分钟，最长出行时间由 {mb:.1f} 分钟变为 {ma:.1f} 分钟。",
        "s_gini": "出行时间的不平等（基尼系数）由 {b:.3f} {verb}至 {a:.3f}；剩余不平等（泰尔指数）中有 {share:.0%} 来自分区之间。",
        "s_gini_nodist": "出行时间的不平等（基尼系数）由 {b:.3f} {verb}至 {a:.3f}。",
        "falls": "下降", "rises": "上升", "stays": "保持",
        "s_gains": "受益者：{n:,.0f} 名居民出行时间缩短；受益最多的分区为 {list}。",
        "s_gains_nodist": "受益者：{n:,.0f} 名居民出行时间缩短，平均缩短 {m:.1f} 分钟。",
        "s_targets": "规划后 {n} 个目标中达成 {k} 个。", "s_missed": "未达成：{list}。",
        "s_no_targets": "未设定目标（场景字段 targets）。",
        "font_note": "图表标签为英文：系统未安装中文（CJK）字体（安装 fonts-noto-cjk 后可显示中文标签）。",
        "definitions": "定义：基尼系数与泰尔指数按人口加权、仅计可达人口；泰尔指数分区间 + 分区内 = 总值；"
                       "最差 10% 为出行时间最长的十分之一居民的平均值；2SFCA（Luo & Wang 2003）与 E2SFCA"
                       "（Luo & Qi 2009，分带权重 1、0.68、0.22）以设施数量为供给能力。",
        "comparison": "场景比较", "scenario": "场景", "service": "服务", "new_sites": "新增设施",
        "targets_met": "规划后达成目标数", "pp": "个百分点",
        "s_rounding": "求解时出行时间按 {r:g} 秒的倍数取整（solver.round_s）：求解状态（{status}）、差距与最优性仅对取整后的"
                      "时间成立，目标值为 {rounded}；按精确时间计算，同一方案的目标值为 {exact}。本报告中的所有数字均按精确时间计算。",
        "shared_budget": "共享预算",
        "s_shared": "{names} 在同一模型中联合求解，共支出 {used}，共享预算为 {b}（新建成本 + 扩容成本 - 关闭节省）。",
    },
}
OVERALL_KEYS = ("within_share", "mean_min", "median_min", "p90_min", "max_min", "gini", "theil",
                "theil_between", "theil_within", "p90_median_ratio", "worst_decile_ratio",
                "access_2sfca_mean", "access_e2sfca_mean", "access_2sfca_gini", "access_e2sfca_gini")
SHARES = {"within_share", "underserved_share"}


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font family name for Chinese figure labels, or None when none is installed."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = [line.split(",")[0].strip() for line in out.splitlines() if line.strip()]
    return families[0] if families else None


def _label(lang: str, key: str, **kw) -> str:
    text = LABELS.get(lang, LABELS["en"]).get(key) or LABELS["en"].get(key, key)
    return text.format(**kw) if kw else text


def _fmt(key: str, value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if key in SHARES:
        return f"{value:.1%}"
    if key.endswith("_min"):
        return f"{value:.1f}"
    if key in ("population", "locations"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def _metric_name(lang: str, key: str, t: float) -> str:
    return _label(lang, key, t=t) if key in SHARES else _label(lang, key)


# --- summary sentences --------------------------------------------------------------------------

def summary_sentences(s, lang: str = "en") -> list[str]:
    """Plain-language sentences for one service result (what changed, who gains, targets)."""
    L = functools.partial(_label, lang)
    t = s.service.threshold_min
    b, a = ({**s.before, **s.equity["overall"]["before"]}, {**s.after, **s.equity["overall"]["after"]})
    new = int((s.facilities["status"] == "new").sum())
    out = [L("s_change", n=new, kind=s.service.kind, objective=s.service.objective, t=t,
             b=_fmt("within_share", b["within_share"]), a=_fmt("within_share", a["within_share"]),
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


def target_text(x: dict, lang: str, t: float) -> str:
    """A target as words: its label, or e.g. "Gini of travel time <= 0.25"."""
    if x.get("label"):
        return x["label"]
    sign = "≥" if x["bound"] == "min" else "≤"
    text = f"{_metric_name(lang, x['metric'], t)} {sign} {_fmt(x['metric'], x['limit'])}"
    return text + (" " + _label(lang, "per_district") if x["per_district"] else "")


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
    L = functools.partial(_label, flang)
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
        out.append((_label(lang, "lorenz_title"), _png(fig)))

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
        out.append((_label(lang, "hist_title"), _png(fig)))

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
            out.append((_label(lang, "bars_title", t=t), _png(fig)))
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
            f"(after: {_fmt(x['metric'], x['after'])})"
            for s in result.services for x in s.equity.get("targets") or [] if not x["met_after"]]


# --- HTML ---------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","Noto Sans",sans-serif;
max-width:1000px;margin:24px auto;padding:0 16px;color:#1f2933;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #e4e7eb;padding-bottom:.2em}
h3{margin-top:1.2em}.sub{color:#52606d;margin-top:0}
.summary{background:#f0f4f8;border-left:4px solid #1565c0;padding:10px 16px 10px 34px;border-radius:4px}
.summary li{margin:4px 0}table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 10px;text-align:right}td{white-space:nowrap}th{background:#f5f7fa}
td:first-child,th:first-child{text-align:left}.met{color:#2e7d32;font-weight:600}
.miss{color:#c62828;font-weight:600}.na{color:#7b8794}.figs{display:flex;flex-wrap:wrap;gap:12px}
.figs figure{margin:0}.figs img{max-width:100%;border:1px solid #e4e7eb}
.scroll{max-height:420px;overflow:auto}footer{margin-top:2em;color:#52606d;font-size:.85em;
border-top:1px solid #e4e7eb;padding-top:8px}
"""

e = html.escape


def _table(headers: list[str], rows: list[list[str]], raw_cells: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw_cells`` (then the caller escaped them)."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if raw_cells else e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(lang: str, met) -> str:
    if met is None:
        return f'<span class="na">{e(_label(lang, "n_a"))}</span>'
    return f'<span class="{"met" if met else "miss"}">{e(_label(lang, "met" if met else "not_met"))}</span>'


def _change(key: str, b, a) -> str:
    if b is None or a is None:
        return "–"
    if key in SHARES:
        return f"{100 * (a - b):+.1f} pp"
    return f"{a - b:+.1f}" if key.endswith("_min") else f"{a - b:+.3f}"


def service_section(s, lang: str) -> str:
    L = functools.partial(_label, lang)
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
                value = e(_fmt(x["metric"], x[when]))
                worst = x.get(f"worst_district_{when}")
                if worst:
                    value += f"<br><small>{e(L('worst', d=worst))}</small>"
                cells += [value, _status(lang, x[f"met_{when}"])]
            rows.append([e(target_text(x, lang, t)), *cells])
        parts.append(f"<h3>{e(L('targets'))}</h3>" + _table(
            [L("target"), L("before"), "", L("after"), ""], rows, raw_cells=True))
    rows = [[_metric_name(lang, k, t), _fmt(k, ov["before"].get(k)), _fmt(k, ov["after"].get(k)),
             _change(k, ov["before"].get(k), ov["after"].get(k))]
            for k in OVERALL_KEYS if ov["before"].get(k) is not None or ov["after"].get(k) is not None]
    parts.append(f"<h3>{e(L('overall'))}</h3>" + _table([L("metric"), L("before"), L("after"), L("change")], rows))
    districts = s.equity.get("districts")
    if districts:
        keys = ("within_share", "mean_min", "max_min", "gini", "access_e2sfca_mean")
        headers = [L("district"), L("population")] + [f"{_metric_name(lang, k, t)}: {L('before')} → {L('after')}"
                                                     for k in keys]
        rows = [[str(d["district_name"]), _fmt("population", d["population"])]
                + [f"{_fmt(k, d.get(f'{k}_before'))} → {_fmt(k, d.get(f'{k}_after'))}" for k in keys]
                for d in sorted(districts, key=lambda d: -d["population"])]
        parts.append(f"<h3>{e(L('districts'))}</h3><div class='scroll'>" + _table(headers, rows) + "</div>")
    figs = "".join(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{png}'></figure>"
                   for title, png in figures(s, lang))
    parts.append(f"<h3>{e(L('figures'))}</h3><div class='figs'>{figs}</div>")
    return "\n".join(parts)


def _page(title: str, subtitle: str, body: str, lang: str, footer: list[str]) -> str:
    return (f"<!DOCTYPE html>\n<html lang='{'zh-Hans' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{e(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{e(title)}</h1><p class='sub'>{e(subtitle)}</p>\n{body}\n"
            "<footer>" + "".join(f"<p>{e(x)}</p>" for x in footer) + "</footer></body></html>\n")


def _footer(lang: str) -> list[str]:
    lines = [_label(lang, "definitions"), f"Data {ATTRIBUTION}"]
    if lang == "zh" and cjk_font() is None:
        lines.insert(0, _label(lang, "font_note"))
    return lines


def shared_budget_section(result, lang: str) -> str:
    """The shared budget's limit and what the services spend together (empty without a ``shared_budget``)."""
    if result.shared_budget_used is None:
        return ""
    names = ", ".join(s.service.name for s in result.services)
    text = _label(lang, "s_shared", names=names, used=amount(result.shared_budget_used),
                  b=amount(result.scenario.spec.shared_budget))
    return f"<h2>{e(_label(lang, 'shared_budget'))}</h2><ul class='summary'><li>{e(text)}</li></ul>"


def render_report(result, lang: str | None = None) -> str:
    """The whole report.html text of one run."""
    spec = result.scenario.spec
    lang = lang or spec.language
    title = f"{_label(lang, 'report')}: {spec.title or spec.name}"
    sections = [shared_budget_section(result, lang), *(service_section(s, lang) for s in result.services)]
    body = "\n".join(part for part in sections if part)
    return _page(title, spec.description or "", body, lang, _footer(lang))


def write_report(result, folder: Path, lang: str | None = None) -> None:
    """Write report.html, districts.csv and targets.csv into ``folder``."""
    folder = Path(folder)
    (folder / "report.html").write_text(render_report(result, lang), encoding="utf-8")
    districts_frame(result).to_csv(folder / "districts.csv", index=False)
    targets_frame(result).to_csv(folder / "targets.csv", index=False)


# --- comparison ---------------------------------------------------------------------------------

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
    L = functools.partial(_label, lang)
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
                cells = [_status(lang, rec[n]) if rec["when"] == "met_after" else e(str(rec[n])) if
                         not isinstance(rec[n], float) else e(f"{rec[n]:.3f}") for n in names]
            else:
                label = L("new_sites") if metric == "new_sites" else "objective" if metric == "objective" \
                    else _metric_name(lang, metric, threshold)
                when = L(rec["when"]) if rec["when"] in ("before", "after") else ""
                cells = [e(_fmt(metric, rec[n]) if metric not in ("objective", "new_sites") else str(rec[n]))
                         for n in names]
            rows.append([e(label), e(when), *cells])
        body.append(f"<h2>{e(service)}</h2>" + _table([L("metric"), "", *[titles[n] for n in names]], rows,
                                                       raw_cells=True))
    page = _page(L("comparison"), " · ".join(titles[n] for n in names), "\n".join(body), lang, _footer(lang))
    (folder / "comparison.html").write_text(page, encoding="utf-8")
    return folder
