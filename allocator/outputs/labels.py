"""Words and numbers of the pages: label tables (English, Chinese), metric names and number formats.

Shared by the report, the comparison and the console.
"""

from __future__ import annotations

import functools
import subprocess

import numpy as np


def amount(value: float) -> str:
    """Money: 12, 11.5, 1,250.25."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


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


def translate(lang: str, key: str, **kw) -> str:
    text = LABELS.get(lang, LABELS["en"]).get(key) or LABELS["en"].get(key, key)
    return text.format(**kw) if kw else text


def fmt_metric(key: str, value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if key in SHARES:
        return f"{value:.1%}"
    if key.endswith("_min"):
        return f"{value:.1f}"
    if key in ("population", "locations"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def metric_name(lang: str, key: str, t: float) -> str:
    return translate(lang, key, t=t) if key in SHARES else translate(lang, key)


def target_text(x: dict, lang: str, t: float) -> str:
    """A target as words: its label, or e.g. "Gini of travel time <= 0.25"."""
    if x.get("label"):
        return x["label"]
    sign = "≥" if x["bound"] == "min" else "≤"
    text = f"{metric_name(lang, x['metric'], t)} {sign} {fmt_metric(x['metric'], x['limit'])}"
    return text + (" " + translate(lang, "per_district") if x["per_district"] else "")
