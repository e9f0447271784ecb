"""Words and numbers of the pages: label tables (English, Chinese), metric names and number formats.

Shared by the report, the comparison and the console.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable

import numpy as np
from markupsafe import Markup, escape

from allocator.scenario.money import money, money_number


def amount(value: float, currency: str | None = None) -> str:
    """Money: 12, 11.5, 1,250.25; with the scenario's ``currency`` as every priced figure is written
    (:func:`allocator.scenario.money.money`: BRL 1,250)."""
    return money(value, currency) if currency else f"{value:,.2f}".rstrip("0").rstrip(".")


def priced(lang: str, value: float, currency: str | None) -> str:
    """An amount on a page of ``lang``: ``BRL 1,200,000`` in the scenario's currency, else ``63 units`` (``63 单位``)."""
    return amount(value, currency) if currency else translate(lang, "units_amount", v=money_number(value))


def count(value: float) -> str:
    """People and places in every sentence and caveat, one way: 1,224 (never 1224 or 1223.8)."""
    return f"{value:,.0f}"


LABELS = {
    "en": {
        "report": "Equity report", "summary": "Summary", "overall": "Access and inequality",
        "targets": "Targets", "districts": "Districts", "figures": "Figures", "metric": "Metric",
        "before": "Before", "after": "After", "change": "Change", "target": "Target", "met": "met",
        "not_met": "not met", "n_a": "not evaluated", "district": "District", "population": "Population",
        "within_share": "Share within {t:g} min", "underserved_share": "Share beyond {t:g} min",
        "mean_min": "Mean trip (min)", "median_min": "Median trip (min)", "p90_min": "90th percentile trip (min)",
        "max_min": "Longest trip (min)", "ede_min": "Equally-distributed equivalent trip (min)",
        "gini": "Gini of travel time", "theil": "Theil index (total)",
        "theil_between": "Theil: between districts", "theil_within": "Theil: within districts",
        "p90_median_ratio": "90th percentile / median", "worst_decile_ratio": "Worst-served 10 % mean / median",
        "access_2sfca_mean": "2SFCA access (per 10,000)", "access_e2sfca_mean": "E2SFCA access (per 10,000)",
        "access_2sfca_gini": "Gini of 2SFCA access", "access_e2sfca_gini": "Gini of E2SFCA access",
        "worst": "worst district: {d}", "per_district": "(every district)",
        "lorenz_title": "Lorenz curve of travel time", "lorenz_x": "Cumulative share of people (shortest trips first)",
        "lorenz_y": "Cumulative share of person-minutes", "equality": "Equality",
        "hist_title": "Travel time distribution", "hist_x": "Minutes to the nearest facility",
        "hist_y": "People", "bars_title": "Share within {t:g} min by district", "threshold": "{t:g} min",
        "s_change": "Opening {n} new {what} changes the share of {people} within "
                    "{t:g} minutes from {b} to {a} ({d:+,.0f} people).",
        "s_plan": "The plan also {changes}; it spends {spent} (opening costs + upgrades - savings of closures){limit}.",
        "s_spend": "The plan spends {spent} (opening costs + upgrades - savings of closures){limit}.",
        "s_closes": "closes {n} existing site(s)", "s_upgrades": "upgrades {n} existing site(s)", "and": " and ",
        "s_limit": " of a budget of {b}",
        "s_trips": "The mean trip goes from {b:.1f} to {a:.1f} minutes and the longest from {mb:.1f} to {ma:.1f} minutes{of}.",
        "s_gini": "Inequality of travel time (Gini) {g}{of}; "
                  "{share:.0%} of the remaining inequality (Theil) lies between districts.",
        "s_gini_nodist": "Inequality of travel time (Gini) {g}{of}.",
        "g_falls": "falls from {b:.3f} to {a:.3f}", "g_rises": "rises from {b:.3f} to {a:.3f}",
        "g_stays": "stays at {a:.3f}",
        "s_gains": "Who gains: {n:,.0f} {people} get a shorter trip; the districts gaining most are {list}.",
        "s_gains_nodist": "Who gains: {n:,.0f} {people} get a shorter trip, on average by {m:.1f} minutes.",
        "s_targets": "{k} of {n} target(s) are met after the change.", "s_missed": "Missed: {list}.",
        "s_no_targets": "No targets are set.",
        "font_note": "Figure labels are in English: no Chinese (CJK) font is installed "
                     "(install fonts-noto-cjk for Chinese figure labels).",
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
        "ede_min": "等效均等出行时间（分钟）",
        "gini": "出行时间基尼系数", "theil": "泰尔指数（总）", "theil_between": "泰尔指数：分区间",
        "theil_within": "泰尔指数：分区内", "p90_median_ratio": "第 90 百分位 / 中位数",
        "worst_decile_ratio": "最差 10% 平均 / 中位数", "access_2sfca_mean": "2SFCA 可达性（每万人）",
        "access_e2sfca_mean": "E2SFCA 可达性（每万人）",
        "access_2sfca_gini": "2SFCA 可达性基尼系数", "access_e2sfca_gini": "E2SFCA 可达性基尼系数", "worst": "最差分区：{d}", "per_district": "（每个分区）",
        "lorenz_title": "出行时间洛伦兹曲线", "lorenz_x": "人口累计比例（出行时间由短到长）",
        "lorenz_y": "人·分钟累计比例", "equality": "完全平等", "hist_title": "出行时间分布",
        "hist_x": "到最近设施的分钟数", "hist_y": "人数", "bars_title": "各分区 {t:g} 分钟内人口比例",
        "threshold": "{t:g} 分钟",
        "s_change": "新增 {n} 处{what}后，{t:g} 分钟内可达的{people}比例由 {b} 变为 {a}"
                    "（{d:+,.0f} 人）。",
        "s_plan": "该方案同时{changes}；净支出 {spent}（新建成本 + 扩容成本 - 关闭节省）{limit}。",
        "s_spend": "该方案净支出 {spent}（新建成本 + 扩容成本 - 关闭节省）{limit}。",
        "s_closes": "关闭 {n} 处现有设施", "s_upgrades": "扩容 {n} 处现有设施", "and": "、",
        "s_limit": "，预算为 {b}",
        "s_trips": "平均出行时间由 {b:.1f} 分钟变为 {a:.1f} 分钟，最长出行时间由 {mb:.1f} 分钟变为 {ma:.1f} 分钟{of}。",
        "s_gini": "出行时间的不平等（基尼系数）{g}{of}；剩余不平等（泰尔指数）中有 {share:.0%} 来自分区之间。",
        "s_gini_nodist": "出行时间的不平等（基尼系数）{g}{of}。",
        "g_falls": "由 {b:.3f} 降至 {a:.3f}", "g_rises": "由 {b:.3f} 升至 {a:.3f}", "g_stays": "保持在 {a:.3f}",
        "s_gains": "受益者：{n:,.0f} 名{people}出行时间缩短；受益最多的分区为 {list}。",
        "s_gains_nodist": "受益者：{n:,.0f} 名{people}出行时间缩短，平均缩短 {m:.1f} 分钟。",
        "s_targets": "规划后 {n} 个目标中达成 {k} 个。", "s_missed": "未达成：{list}。",
        "s_no_targets": "未设定目标。",
        "font_note": "图表标签为英文：系统未安装中文（CJK）字体（安装 fonts-noto-cjk 后可显示中文标签）。",
        "comparison": "场景比较", "scenario": "场景", "service": "服务", "new_sites": "新增设施",
        "targets_met": "规划后达成目标数", "pp": "个百分点",
        "s_rounding": "求解时出行时间按 {r:g} 秒的倍数取整（solver.round_s）：求解状态（{status}）、差距与最优性仅对取整后的"
                      "时间成立，目标值为 {rounded}；按精确时间计算，同一方案的目标值为 {exact}。本报告中的所有数字均按精确时间计算。",
        "shared_budget": "共享预算",
        "s_shared": "{names} 在同一模型中联合求解，共支出 {used}，共享预算为 {b}（新建成本 + 扩容成本 - 关闭节省）。",
    },
}
OVERALL_KEYS = ("within_share", "mean_min", "ede_min", "median_min", "p90_min", "max_min", "gini", "theil",
                "theil_between", "theil_within", "p90_median_ratio", "worst_decile_ratio",
                "access_2sfca_mean", "access_e2sfca_mean", "access_2sfca_gini", "access_e2sfca_gini")
SHARES = {"within_share", "underserved_share", "wait_within_share"}
#: the metrics over the people who can reach a site only (the unreachable are counted apart: a page says so)
REACH_KEYS = frozenset({"mean_min", "ede_min", "median_min", "p90_min", "max_min", "gini", "theil", "theil_between",
                        "theil_within", "p90_median_ratio", "worst_decile_ratio"})


#: Simplified Chinese fonts, best first, by family name (fonts-noto-cjk gives the first)
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Noto Serif CJK SC")


def _fontconfig(*args: str) -> str:
    try:
        return subprocess.run(["fc-list", *args], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The Simplified Chinese font family for figure labels (:data:`CJK_FONTS`), or None when none is installed.

    Chosen by name, never "the first CJK font" (a Japanese serif draws Chinese
    badly). matplotlib keeps its own cached font list; a font installed after
    that list was built is added to it from fontconfig's file.
    """
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in known), None)
    if found:
        return found
    for name in CJK_FONTS:   # installed, but missing from matplotlib's stale list
        files = {line.split(":")[0] for line in _fontconfig(f"{name}:style=Regular", "file").splitlines() if line}
        for path in files:
            font_manager.fontManager.addfont(path)
        if name in {f.name for f in font_manager.fontManager.ttflist}:
            return name
    return None


def translate(lang: str, key: str, **kw) -> str:
    """The words of ``key`` in ``lang`` (English where that language has none), filled in with ``kw``.

    A key no table has raises ``KeyError``: a page must not show a raw key.
    """
    text = LABELS.get(lang, LABELS["en"]).get(key) or LABELS["en"].get(key)
    if text is None:
        raise KeyError(f"no label {key!r} in allocator/outputs/labels.py (LABELS or BRIEF)")
    if any(isinstance(v, Markup) for v in kw.values()):   # a name marked by :func:`name`: the words as markup
        return Markup(escape(text)).format(**kw)
    return text.format(**kw) if kw else text


def name(text: object) -> Markup:
    """A name from the data (a place, district, site, service, data source) as it goes into a page: marked so that
    no browser translates it and a reader (or a test) can tell it from the page's own words."""
    return Markup('<span class="name" translate="no">{}</span>').format(text)


def names(lang: str, items: Iterable[str]) -> Markup:
    """Several pieces (names, or sentences holding them) joined by ``lang``'s "and" (", " or "、")."""
    return Markup(escape(translate(lang, "and"))).join(items)


def status_words(lang: str, status: str) -> str:
    """A solve's status in words of ``lang`` ("optimal", "最优"); a status no table names as it is."""
    key = f"status_{status}"
    return translate(lang, key) if key in LABELS["en"] else status


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
    value = fmt_metric(x["metric"], x["limit"])
    value = translate(lang, "t_min", v=value) if x["metric"].endswith("_min") else value
    text = f"{metric_name(lang, x['metric'], t)} {sign} {value}"
    return text + (" " + translate(lang, "per_district") if x["per_district"] else "")


# The decision brief's words (report.html's first screen, caveats, method, data, appendix) and the comparison's.
BRIEF = {
    "en": {
        "colon": ": ", "data_credit": "Data: {credits}", "status_optimal": "optimal",
        "status_time_limit": "stopped at the time limit", "status_failed": "failed", "decision": "Decision", "build": "Build these {n} new {what}", "close": "close these {n}",
        "upgrade": "upgrade these {n}", "no_change": "No new {what}: the plan keeps the {what} as they are",
        "lead": "Together they bring {gain:,.0f} more {people} within {t:g} minutes ({b} → {a} of {total:,.0f}); "
                "{left:,.0f} {people} stay beyond {t:g} minutes.",
        "rank": "Rank", "place": "Place", "id": "Id", "at": "Latitude, longitude", "newly": "Newly within {t:g} min",
        "served": "People served", "trip": "Mean trip (min)", "closed_sites": "Sites to close",
        "upgraded_sites": "Sites to upgrade", "newly_note": "“Newly within” counts the people who would fall beyond "
        "{t:g} minutes if that site alone were dropped from the plan; two sites close together each add little alone.",
        "buys": "What the plan buys", "leaves": "What it leaves",
        "b_within": "{gain:,.0f} more {people} within {t:g} minutes: {b} → {a}.",
        "b_trips": "Mean trip {mb:.1f} → {ma:.1f} min; longest trip {xb:.0f} → {xa:.0f} min{of}.",
        "b_gini": "Unevenness of travel times (Gini, see appendix) {g}{of}.",
        "b_ede": "Equally-distributed equivalent {trip}: {b:.1f} → {a:.1f} minutes{of}: the {trip} that, if everyone "
                 "had it, would be as good as the unequal {trip}s people have (Kolm-Pollak, ε = {e:g}; long trips "
                 "weigh more; see appendix).",
        "ede_walk": "walk", "ede_bike": "ride", "ede_drive": "drive", "ede_trip": "trip",
        "b_relative_up": "Relative inequality ({which}) rises although {nobody}the mean trip and the "
                         "equally-distributed equivalent fall: relative measures compare each trip with the mean, so "
                         "they rise when short trips shorten more than long ones.",
        "b_relative_down": "Relative inequality ({which}) falls although the mean trip and the equally-distributed "
                           "equivalent rise: relative measures compare each trip with the mean, not whether anyone "
                           "is better off.",
        "b_relative_districts": "In {list} the Gini of travel time rises although the mean trip and the "
                                "equally-distributed equivalent fall there: the Gini compares each trip with the "
                                "district's mean, not whether anyone is worse off.",
        "nobody_slower": "nobody travels longer and ", "gini_short": "Gini", "theil_short": "Theil",
        "r_of": " (of the {n} who can reach a site)",
        "unreach_missed": " ({n:,.0f} people cannot reach a site: missed)",
        "l_left": "{left:,.0f} {people} still beyond {t:g} minutes ({share} of {total:,.0f}).",
        "l_unreach": "{n:,.0f} of them live more than {m:g} m from any road and are counted as underserved.",
        "l_where": "Most of them: {list}.", "l_none": "Nobody is left beyond {t:g} minutes.",
        "targets_state": "Targets: {k} of {n} met", "no_targets_set": "No targets were set for this plan.",
        "tradeoffs": "Trade-offs",
        "t_small": "{k} of the {n} new sites serve fewer than {limit:,.0f} people each ({list}).",
        "t_diminish": "The best site alone brings {top:,.0f} people within {t:g} minutes, the weakest {low:,.0f}.",
        "t_longest": "The longest trip after the plan is {x:.0f} minutes ({where}){of}.",
        "t_budget": "The plan spends {spent}{limit}.",
        "details": "Details", "caveats": "Caveats", "method": "Method", "data": "Data", "appendix": "Appendix: terms",
        "no_caveats": "Nothing to report: every location and site was reached.",
        "m_objective": "Question answered: {words}.", "m_status": "Solver: {status}{gap}, in {s:.1f} s "
        "(HiGHS through PuLP); {d:,} demand locations × {k:,} sites.",
        "m_gap": ", within {g:.2%} of the best possible", "m_exact": " (proven best)",
        "m_travel": "Travel: {mode} on the road network ({speed}); a location or site farther than {snap:g} m "
                    "from a road is unreachable.",
        "m_matrix": "Travel times: read from the matrix file {file}.",
        "speed_walk": "walking at {v:g} km/h", "speed_bike": "cycling at {v:g} km/h",
        "speed_drive": "driving at each road's speed limit, else a default per road type",
        "mode_walk": "walking", "mode_bike": "cycling", "mode_drive": "driving",
        "mode_transit": "public transport and walking", "speed_transit": "walking at {v:g} km/h to and from stops",
        "m_transit": "By public transport, departing {start}–{end} on {day}: a departure every minute, each trip's "
                     "time the {p}th percentile of those departures (the median at 50), at most {k} transfers and "
                     "{w:g} minutes' walk to the first stop and from the last; walking all the way counts when faster.",
        "c_title": "Counters and waiting", "c_new_office": " (new office)", "c_list": ", ", "c_end": ".",
        "c_move": "move {n} to {to} (from {sources})", "c_add": "add {n} at {at}", "c_remove": "remove {n} at {at}",
        "c_counter": "{n} counter", "c_counters": "{n} counters", "c_no_change": "no counter changes",
        "c_decision": "{how}, {goal}: {b} counters before, {a} after{spent}.",
        "c_reassign": "Move counters between offices (the total stays the same)",
        "c_add_how": "Add counters (none is taken away)", "c_open": "Open new offices and staff them",
        "c_min_wait": "so that visitors wait least", "c_meet_target": "the fewest counters that meet the wait target",
        "c_spent": "; the added counters cost {v:,.2f}", "c_spent_open": "; the added counters and offices cost {v:,.2f}",
        "c_unstable": "Offices whose queue grows without end (utilisation ≥ 1): {b} before, {a} after.",
        "c_unstable_word": "unstable", "c_wait_within": "Visitors waiting ≤ {t:g} min",
        "c_wait": "Wait",
        "wait_mean_min": "Mean wait of visitors (min)", "wait_within_share": "Share of visitors within the wait limit",
        "wait_worst_office_min": "Worst office's mean wait (min)",
        "travel_wait_mean_min": "Mean travel + expected wait per resident (min)",
        "c_queue": "M/M/c queue in the busiest hour", "c_queue_ac": "M/M/c queue with Allen–Cunneen, in the busiest hour",
        "c_office": "Office", "c_status": "Status",
        "c_status_existing": "existing", "c_status_new": "new", "c_status_closed": "closed",
        "c_counters_h": "Counters", "c_visitors": "Visitors per hour", "c_util": "Utilisation",
        "c_mean_wait": "Mean wait (min)", "c_over": "Waiting > {t:g} min",
        "sw_title": "What each extra site buys: {what}, {param} from {lo:g} to {hi:g}",
        "sw_points": "{n} values of the {param} solved exactly on one travel-time matrix",
        "sw_failed": ", {n} failed (see sweep.csv)", "sw_chosen": "The plan above is the one for {param} = {v:g}.",
        "sw_knee": "Knee: {param} = {v:g}, the last point before one more site brings fewer than {g:g} % of the people within the threshold.",
        "sw_status": "status", "sw_within": "within the threshold", "sw_gain": "gain per extra site",
        "sw_mean": "mean trip (min)", "sw_p90": "90th percentile (min)", "sw_new": "new sites",
        "sw_p": "number of new sites", "sw_budget": "budget", "sw_threshold_min": "time threshold (min)",
        "sw_independent": "Independent plans: each point is the best plan of its size on its own, so a city cannot "
                          "simply add to the previous one: in {k} of {n} steps the next plan drops an earlier site.",
        "sw_nested": "Nested build order: each point keeps every site of the previous one (solved exactly as one "
                     "phased plan); it gives up at most {share:.2f} % of the best plan of the same size "
                     "(largest at {param} = {v:g}).",
        "sw_nested_only": "Nested build order: each point keeps every site of the previous one (solved exactly as one "
                          "phased plan).",
        "sw_price_unknown": "At {n} point(s) the best plan of the same size was not found within the time limit: "
                            "the price there is unknown.",
        "sw_target_met": "{target}: first met at {param} = {v:g}.",
        "sw_target_never": "{target}: met at no point of the sweep.",
        "d_role": "Used for", "d_data": "Data", "d_about": "About", "d_licence": "Licence", "d_credit": "Credit", "d_year": "Year", "d_no_year": "not stated",
        "obj_max_coverage": "bring as many {people} as possible within {t:g} minutes",
        "obj_min_underserved": "leave as few {people} as possible beyond {t:g} minutes",
        "obj_set_cover": "the fewest sites that bring everyone who can be reached within {t:g} minutes",
        "obj_p_median": "the shortest average trip",
        "obj_kolm_pollak": "the shortest equally-distributed equivalent trip (Kolm-Pollak)",
        "obj_p_center": "the shortest longest trip",
        "obj_weighted_p_center": "the smallest largest person-weighted trip",
        "a_gini": "Gini of travel time: 0 when everyone travels equally long, towards 1 when a few travel far "
                  "and most travel little; counted per person.",
        "a_theil": "Theil index: another measure of unevenness (0 = all equal) that splits exactly into a part "
                   "between districts and a part within them.",
        "a_2sfca": "2SFCA / E2SFCA access: facilities within reach per 10,000 people, shared with everyone else "
                   "who can reach the same facilities (E2SFCA counts nearer facilities more); a facility's count "
                   "is its size.",
        "a_pp": "Percentage points (pp): the difference of two percentages, e.g. 90 % → 95 % is +5 pp.",
        "a_tail": "90th percentile trip: nine people in ten travel at most this long.",
        "a_ede": "Equally-distributed equivalent trip (Kolm-Pollak EDE): the travel time that, if everyone had it, "
                 "would be as good as the unequal times people have. It is never below the mean, counts long trips "
                 "more (inequality aversion ε), and falls whenever someone's trip shortens and nobody's lengthens, "
                 "which Gini and Theil (relative to the mean) do not. Like them it counts only the people who can "
                 "reach a site.",
        "people_default": "people", "sites_word": "sites",
        "t_min": "{v} min",
        "c_targets": "Targets", "c_question": "Question answered", "c_before": "Before (all plans)", "c_better": "better",
        "c_sentence_cover": "{a} brings {d} more {people} within {t:g} minutes than {b}",
        "c_sentence_long": "{a} cuts the longest trip to {x:.0f} minutes against {y:.0f} with {b}, for the {n} "
                           "{people} who travel over {x:.0f} minutes with {b}",
        "c_sentence_ede": "{a} has the lowest equally-distributed equivalent trip, {x:.1f} minutes against {y:.1f} "
                          "with {b}, over the {n} {people} who can reach a site",
        "c_sep": "; ", "c_full_stop": ".", "c_plan": "{label}: {title}", "c_pairs": "Two plans side by side on two maps",
        "c_pair": "{a} | {b}",
        "c_tie": "{a} and {b} are equal on people within {t:g} minutes, on the longest trip and on the "
                 "equally-distributed equivalent trip.",
        "c_shared": "Sites both plans choose: {list}.", "c_shared_none": "The plans share no new site.",
        "c_small": "Sites serving fewer than {limit:,.0f} people: {list}.",
        "c_links": "Open", "c_map": "map", "c_report": "report", "c_chart": "Plans: share within {t:g} minutes "
        "against the longest trip", "c_x": "Longest trip (min)", "c_y": "Share within {t:g} min (%)",
        "c_site_count": "{n} sites",
    },
    "zh": {
        "colon": "：", "data_credit": "数据：{credits}", "status_optimal": "最优",
        "status_time_limit": "达到时间上限", "status_failed": "失败", "decision": "决策", "build": "新建以下 {n} 处{what}", "close": "关闭以下 {n} 处", "upgrade": "扩容以下 {n} 处",
        "no_change": "不新建{what}：方案保持现有{what}不变",
        "lead": "合计使 {t:g} 分钟内可达的{people}增加 {gain:,.0f} 人（{b} → {a}，共 {total:,.0f} 人）；"
                "仍有 {left:,.0f} 名{people}超过 {t:g} 分钟。",
        "rank": "排名", "place": "地点", "id": "编号", "at": "纬度，经度", "newly": "新增 {t:g} 分钟内人数",
        "served": "服务人数", "trip": "平均出行时间（分钟）", "closed_sites": "关闭的设施", "upgraded_sites": "扩容的设施",
        "newly_note": "“新增人数”指若仅去掉该设施，将超过 {t:g} 分钟的人数；相距很近的两处设施各自单独贡献都较小。",
        "buys": "方案带来的改善", "leaves": "方案仍未解决的问题",
        "b_within": "{t:g} 分钟内可达的{people}增加 {gain:,.0f} 人：{b} → {a}。",
        "b_trips": "平均出行时间 {mb:.1f} → {ma:.1f} 分钟；最长出行时间 {xb:.0f} → {xa:.0f} 分钟{of}。",
        "b_gini": "出行时间的不均衡程度（基尼系数，见附录）{g}{of}。",
        "b_ede": "等效均等{trip}：{b:.1f} → {a:.1f} 分钟{of}：若人人都是这一时间，与实际不均等的出行同样好"
                 "（Kolm-Pollak 指标，ε = {e:g}；长途出行权重更大；见附录）。",
        "ede_walk": "步行时间", "ede_bike": "骑行时间", "ede_drive": "驾车时间", "ede_trip": "出行时间",
        "b_relative_up": "相对不平等指标（{which}）上升，但{nobody}平均出行时间和等效均等出行时间均下降："
                         "相对指标将每次出行与平均值比较，短途出行缩短得比长途更多时它们就会上升。",
        "b_relative_down": "相对不平等指标（{which}）下降，但平均出行时间和等效均等出行时间均上升："
                           "相对指标将每次出行与平均值比较，并不反映是否有人受益。",
        "b_relative_districts": "{list}的出行时间基尼系数上升，但该处平均出行时间和等效均等出行时间均下降："
                                "基尼系数将每次出行与分区平均值比较，并不反映是否有人变差。",
        "nobody_slower": "没有人出行时间变长，且", "gini_short": "基尼系数", "theil_short": "泰尔指数",
        "r_of": "（以 {n} 名可到达设施的人计）",
        "unreach_missed": "（{n:,.0f} 人无法到达任何设施：未达成）",
        "l_left": "仍有 {left:,.0f} 名{people}超过 {t:g} 分钟（占 {total:,.0f} 人的 {share}）。",
        "l_unreach": "其中 {n:,.0f} 人居住在距道路超过 {m:g} 米处，计为未覆盖。",
        "l_where": "主要分布在：{list}。", "l_none": "所有人都在 {t:g} 分钟以内。",
        "targets_state": "目标：{n} 个中达成 {k} 个", "no_targets_set": "本方案未设定目标。",
        "tradeoffs": "权衡",
        "t_small": "{n} 处新设施中有 {k} 处各自服务不足 {limit:,.0f} 人（{list}）。",
        "t_diminish": "贡献最大的设施单独使 {top:,.0f} 人进入 {t:g} 分钟范围，最小的为 {low:,.0f} 人。",
        "t_longest": "规划后最长出行时间为 {x:.0f} 分钟（{where}）{of}。",
        "t_budget": "方案支出 {spent}{limit}。",
        "details": "详细数据", "caveats": "注意事项", "method": "方法", "data": "数据", "appendix": "附录：术语",
        "no_caveats": "无：所有地点与设施均可到达。",
        "m_objective": "回答的问题：{words}。",
        "m_status": "求解器：{status}{gap}，用时 {s:.1f} 秒（HiGHS，经 PuLP）；{d:,} 个需求点 × {k:,} 个站点。",
        "m_gap": "，与最优解相差不超过 {g:.2%}", "m_exact": "（已证明最优）",
        "m_travel": "出行方式：沿道路网{mode}（{speed}）；距道路超过 {snap:g} 米的地点或站点视为不可达。",
        "m_matrix": "出行时间：读取自矩阵文件 {file}。",
        "speed_walk": "步行速度 {v:g} 公里/小时", "speed_bike": "骑行速度 {v:g} 公里/小时",
        "speed_drive": "按道路限速行驶，无限速时按道路类型取默认值",
        "mode_walk": "步行", "mode_bike": "骑行", "mode_drive": "驾车",
        "mode_transit": "公共交通加步行", "speed_transit": "往返站点步行速度 {v:g} 公里/小时",
        "m_transit": "公共交通：{day} {start}–{end} 每分钟出发一次，每段行程取这些出发时刻的第 {p} 百分位时间（50 即中位数），"
                     "最多换乘 {k} 次，到首站和离末站步行不超过 {w:g} 分钟；全程步行更快时按步行计。",
        "c_title": "窗口与等候", "c_new_office": "（新网点）", "c_list": "、", "c_end": "。",
        "c_move": "将 {n}调至{to}（来自 {sources}）", "c_add": "在{at}增加 {n}", "c_remove": "在{at}减少 {n}",
        "c_counter": "{n} 个窗口", "c_counters": "{n} 个窗口", "c_no_change": "窗口数不变",
        "c_decision": "{how}，{goal}：调整前 {b} 个窗口，调整后 {a} 个{spent}。",
        "c_reassign": "在网点之间调配窗口（总数不变）", "c_add_how": "增加窗口（不减少任何窗口）",
        "c_open": "新开网点并配置窗口", "c_min_wait": "使办事群众等候最少", "c_meet_target": "以最少窗口达到等候目标",
        "c_spent": "；新增窗口费用 {v:,.2f}", "c_spent_open": "；新增窗口和网点费用 {v:,.2f}",
        "c_unstable": "排队无限增长的网点（利用率 ≥ 1）：调整前 {b} 个，调整后 {a} 个。",
        "c_unstable_word": "不稳定", "c_wait_within": "等候 ≤ {t:g} 分钟的办事群众",
        "c_wait": "等候",
        "wait_mean_min": "办事群众平均等候（分钟）", "wait_within_share": "等候不超过时限的办事群众占比",
        "wait_worst_office_min": "最差网点的平均等候（分钟）", "travel_wait_mean_min": "每位居民平均出行 + 预期等候（分钟）",
        "c_queue": "高峰小时 M/M/c 排队模型", "c_queue_ac": "高峰小时 M/M/c 排队模型（Allen–Cunneen 修正）",
        "c_office": "网点", "c_status": "状态",
        "c_status_existing": "现有", "c_status_new": "新建", "c_status_closed": "关闭",
        "c_counters_h": "窗口数", "c_visitors": "每小时办事人数", "c_util": "利用率",
        "c_mean_wait": "平均等候（分钟）", "c_over": "等候 > {t:g} 分钟",
        "sw_title": "每增加一处设施的收益：{what}，{param}从 {lo:g} 到 {hi:g}",
        "sw_points": "在同一出行时间矩阵上精确求解了{param}的 {n} 个取值",
        "sw_failed": "，其中 {n} 个失败（见 sweep.csv）", "sw_chosen": "上文的方案对应{param} = {v:g}。",
        "sw_knee": "拐点：{param} = {v:g}，此后每增加一处设施，阈值内人口增加不足 {g:g}%。",
        "sw_status": "状态", "sw_within": "阈值内人口占比", "sw_gain": "每处新增设施的增益",
        "sw_mean": "平均出行（分钟）", "sw_p90": "第90百分位（分钟）", "sw_new": "新增设施",
        "sw_p": "新增设施数", "sw_budget": "预算", "sw_threshold_min": "时间阈值（分钟）",
        "sw_independent": "各取值独立规划：每个点都是该规模下单独最优的方案，因此不能在上一方案上直接增建："
                          "{n} 步中有 {k} 步的下一方案舍弃了此前选定的设施。",
        "sw_nested": "嵌套建设顺序：每个点保留上一点的全部设施（作为一个分期方案精确求解）；"
                     "与同规模的单独最优方案相比，最多损失 {share:.2f}%（最大处：{param} = {v:g}）。",
        "sw_nested_only": "嵌套建设顺序：每个点保留上一点的全部设施（作为一个分期方案精确求解）。",
        "sw_price_unknown": "有 {n} 个点的同规模最优方案未能在时间上限内求得：该处代价未知。",
        "sw_target_met": "{target}：在{param} = {v:g} 时首次达成。",
        "sw_target_never": "{target}：扫描中没有任何取值达成。",
        "d_role": "用途", "d_data": "数据", "d_about": "说明", "d_licence": "许可", "d_credit": "署名", "d_year": "年份", "d_no_year": "未注明",
        "obj_max_coverage": "使尽可能多的{people}在 {t:g} 分钟内可达",
        "obj_min_underserved": "使超过 {t:g} 分钟的{people}尽可能少",
        "obj_set_cover": "用最少的设施使所有可达的人都在 {t:g} 分钟以内",
        "obj_p_median": "使平均出行时间最短", "obj_p_center": "使最长出行时间最短",
        "obj_weighted_p_center": "使按人数加权的最长出行最短",
        "obj_kolm_pollak": "使等分配等效出行时间（Kolm-Pollak）最短",
        "a_gini": "出行时间基尼系数：人人出行时间相同时为 0；少数人出行很远、多数人很近时趋近于 1；按人计算。",
        "a_theil": "泰尔指数：另一种不均衡度量（0 = 完全均衡），可精确分解为分区之间与分区之内两部分。",
        "a_2sfca": "2SFCA / E2SFCA 可达性：可到达的设施数（每万人），并与能到达同一设施的其他人分摊"
                   "（E2SFCA 对较近的设施赋予更高权重）；设施数量即其规模。",
        "a_pp": "百分点：两个百分比之差，例如 90% → 95% 为增加 5 个百分点。",
        "a_tail": "出行时间第 90 百分位：十人中有九人的出行时间不超过此值。",
        "a_ede": "等效均等出行时间（Kolm-Pollak EDE）：若人人出行时间都等于此值，与实际不均等的出行时间同样好。"
                 "它不低于平均值，对长途出行赋予更大权重（不平等厌恶参数 ε），只要有人出行缩短而无人变长就会下降，"
                 "基尼系数和泰尔指数（相对于平均值）则不一定。与它们一样，只计入能到达设施的人。",
        "people_default": "居民", "sites_word": "设施",
        "t_min": "{v} 分钟",
        "c_targets": "目标", "c_question": "回答的问题", "c_before": "规划前（各方案相同）", "c_better": "更优",
        "c_sentence_cover": "{a} 比 {b} 多使 {d} 名{people}进入 {t:g} 分钟范围",
        "c_sentence_long": "{a} 将最长出行时间缩短至 {x:.0f} 分钟（{b}：{y:.0f} 分钟），涉及在 {b} 下出行超过 {x:.0f} 分钟的 "
                           "{n} 名{people}",
        "c_sentence_ede": "{a} 的等效均等出行时间最低，为 {x:.1f} 分钟（{b}：{y:.1f} 分钟），以全部 {n} 名可到达设施的{people}计",
        "c_sep": "；", "c_full_stop": "。", "c_plan": "{label}：{title}", "c_pairs": "两个方案的地图对照",
        "c_pair": "{a} | {b}",
        "c_tie": "{a} 与 {b} 在 {t:g} 分钟内人数、最长出行时间和等效均等出行时间上相同。",
        "c_shared": "两个方案共同选择的设施：{list}。", "c_shared_none": "两个方案没有共同的新设施。",
        "c_small": "服务不足 {limit:,.0f} 人的设施：{list}。",
        "c_links": "打开", "c_map": "地图", "c_report": "报告", "c_chart": "各方案：{t:g} 分钟内人口比例与最长出行时间",
        "c_x": "最长出行时间（分钟）", "c_y": "{t:g} 分钟内人口比例（%）", "c_site_count": "{n} 处设施",
    },
}
# A run's notes (allocator.outputs.notes) and the data table's roles, as whole sentences of each language.
NOTES = {
    "en": {
        "n_far_demand": "{p} {people} live more than {m} m from the road network: they cannot reach any site and are "
                        "counted as underserved.",
        "n_far_existing_one": "1 existing site serves nobody: it is more than {m} m from the road network.",
        "n_far_existing": "{n} existing sites serve nobody: they are more than {m} m from the road network.",
        "n_far_candidates_one": "1 candidate site was left out: it is more than {m} m from the road network.",
        "n_far_candidates": "{n} candidate sites were left out: they are more than {m} m from the road network.",
        "n_no_site_within": "{p} {people} have no site within {t} minutes, whatever the plan: they stay underserved.",
        "n_unreachable": "{p} {people} cannot reach any site: they are counted as underserved.",
        "n_raster": "The population grid {file} holds {p} people in {k} populated cells.",
        "n_rounded": "Travel times were rounded to multiples of {r} s for the solve (solver.round_s): status, gap and "
                     "optimality hold for the rounded times, objective {rounded}; on the exact times the same plan "
                     "gives {exact}, and every figure uses the exact times.",
        "n_zero_weight_one": "1 location where nobody lives was left out of the model.",
        "n_zero_weight": "{n} locations where nobody lives were left out of the model.",
        "n_dominated": "{n} of {k} candidate sites could never do better than another candidate (every person they "
                       "reach in time another reaches too) and were set aside.",
        "n_bound": "A lower bound shows the plan is within {g} of the best possible; {n} of {k} candidate sites were "
                   "ruled out and {f} fixed before the exact solve.",
        "n_merged": "{n} demand locations with the same travel times were merged into {k} groups.",
        "n_probes": "The shortest longest trip was found in {n} tries over {k} possible values.",
        "n_time_limit": "The solver stopped at its time limit: the plan is within {g} of the best possible.",
        "n_price_unknown": "The price of phasing for {years} is unknown: the best plan in one go was not found "
                           "within the time limit (the phased plan stands).",
        "n_jointly": "Solved together with {n} other service(s) sharing one budget.",
        "role_demand": "demand: {name}", "role_buildings": "demand: {name} (buildings)",
        "role_existing": "{name}: existing sites", "role_candidates": "{name}: candidate sites",
        "role_network": "road network", "role_matrix": "travel times", "role_districts": "districts",
        "role_sep": "; ",
    },
    "zh": {
        "n_far_demand": "{p} 名{people}居住在距道路网超过 {m} 米处：无法到达任何设施，计为未覆盖。",
        "n_far_existing_one": "1 处现有设施距道路网超过 {m} 米，无人可到达。",
        "n_far_existing": "{n} 处现有设施距道路网超过 {m} 米，无人可到达。",
        "n_far_candidates_one": "1 处候选站点距道路网超过 {m} 米，未纳入选址。",
        "n_far_candidates": "{n} 处候选站点距道路网超过 {m} 米，未纳入选址。",
        "n_no_site_within": "{p} 名{people}在任何方案下都没有 {t} 分钟内可达的设施，仍计为未覆盖。",
        "n_unreachable": "{p} 名{people}无法到达任何设施，计为未覆盖。",
        "n_raster": "人口栅格 {file} 共有 {p} 人，分布在 {k} 个有人口的网格中。",
        "n_rounded": "求解时出行时间按 {r} 秒的倍数取整（solver.round_s）：求解状态、差距与最优性仅对取整后的时间成立，目标值为 "
                     "{rounded}；按精确时间计算，同一方案的目标值为 {exact}，所有数字均按精确时间计算。",
        "n_zero_weight_one": "1 个无人居住的地点未纳入模型。",
        "n_zero_weight": "{n} 个无人居住的地点未纳入模型。",
        "n_dominated": "{k} 处候选站点中有 {n} 处不可能优于其他候选站点（它们能及时到达的人，其他站点也都能到达），已排除。",
        "n_bound": "下界表明该方案与最优解相差不超过 {g}；精确求解前，{k} 处候选站点中排除了 {n} 处，并确定选用 {f} 处。",
        "n_merged": "出行时间完全相同的 {n} 个需求点合并为 {k} 组。",
        "n_probes": "在 {k} 个可能取值中经 {n} 次试算找到最短的最长出行时间。",
        "n_time_limit": "求解器达到时间上限：方案与最优解相差不超过 {g}。",
        "n_price_unknown": "{years} 年的分期代价未知：一次性规划最优方案未能在时间上限内求得（分期方案本身不受影响）。",
        "n_jointly": "与共享同一预算的其他 {n} 项服务联合求解。",
        "role_demand": "需求：{name}", "role_buildings": "需求：{name}（建筑物）",
        "role_existing": "{name}：现有设施", "role_candidates": "{name}：候选站点",
        "role_network": "道路网", "role_matrix": "出行时间", "role_districts": "分区",
        "role_sep": "；",
    },
}
for _table in (BRIEF, NOTES):
    for _lang, _words in _table.items():
        LABELS[_lang].update(_words)

# The spending box and the "How sure" box of report.html (allocator.outputs.how_sure), and the comparison's cost rows.
MONEY = {
    "en": {
        "sp_title": "What it costs", "sp_build": "Building the new sites{what}: {v}",
        "sp_upgrades": " (with upgrades)", "sp_savings": "Savings from closures: {v}",
        "sp_running": "Running the new sites: {v} a year", "sp_counters": "Added counters: {v}",
        "sp_first_year": "First year in all: {v}", "units_amount": "{v} units",
        "sp_all_phases": "Every phase built, plus one year of running them all: {v}",
        "sp_per_person_phased": "{v} per person newly within {t:g} minutes once every phase is built ({n:,.0f} people)",
        "sp_per_person": "{v} per person newly within {t:g} minutes ({n:,.0f} people, first-year cost)",
        "sp_nobody": "No one is newly within {t:g} minutes: no cost per person reached",
        "sp_not_stated": "not stated (no candidates.cost)",
        "sp_assumed": "Where the costs come from: {note}",
        "hs_title": "How sure", "hs_year": "Population data: {y}", "hs_no_year": "not stated",
        "hs_cells": "Demand in grid cells of about {m:,.0f} m across (each cell counts at its centre)",
        "hs_travel": "Travel: {speed}",
        "hs_variants": "Variants tried: {n} ({labels}); {k} of {total} new sites are chosen in every variant",
        "hs_no_variants": "No sensitivity check was run (add a 'robustness' section)",
        "hs_range": "Share within {t:g} minutes across the variants: {lo} to {hi}",
        "hs_swaps": "Near-optimal alternatives (the best plan without each site)",
        "hs_swap": "swap {a} for {b}: {d:+.1f} percentage points ({p:+,.0f} people)",
        "hs_swap_none": "without {a}: no other site enters ({d:+.1f} percentage points, {p:+,.0f} people)",
        "hs_failed": "{n} variant(s) failed and are left out: {labels}",
        "hs_chosen_title": "How often each new site is chosen", "hs_chosen": "{a}: in {k} of {n} variants",
        "hs_s_year": "population data {y}", "hs_s_cells": "cells of about {m:,.0f} m",
        "hs_s_stable": "{k} of {total} new sites chosen in all {n} variants", "hs_s_no_variants": "no sensitivity check",
        "hs_s_more": "details", "hs_software": "allocator {v}, run on {date}", "hs_footer": "allocator {v} · run on {date}",
        "cost_first_year": "Cost, first year", "cost_per_person": "Cost per person reached",
        "cost_first_year_phased": "Cost, first year (a phased plan: every phase built, plus one year of running)",
        "cost_per_person_phased": "Cost per person reached (a phased plan: once every phase is built)",
        "v_speed": "speed {a}", "v_threshold": "threshold {a}", "v_population": "population {a}",
    },
    "zh": {
        "sp_title": "费用", "sp_build": "新建设施{what}：{v}", "sp_upgrades": "（含扩容）",
        "sp_savings": "关闭设施节省：{v}", "sp_running": "新设施运营：每年 {v}", "sp_counters": "新增窗口：{v}",
        "sp_first_year": "首年合计：{v}", "units_amount": "{v} 单位",
        "sp_all_phases": "各期全部建成并运营一年合计：{v}",
        "sp_per_person_phased": "全部建成后 {t:g} 分钟内新增覆盖每人 {v}（{n:,.0f} 人）",
        "sp_per_person": "{t:g} 分钟内新增覆盖每人 {v}（{n:,.0f} 人，按首年费用）",
        "sp_nobody": "{t:g} 分钟内无新增覆盖人口：无法计算每人费用",
        "sp_not_stated": "未注明（无 candidates.cost）",
        "sp_assumed": "费用来源：{note}",
        "hs_title": "可信程度", "hs_year": "人口数据：{y}", "hs_no_year": "未注明",
        "hs_cells": "需求按约 {m:,.0f} 米的网格单元计算（每个单元按其中心计）",
        "hs_travel": "出行：{speed}",
        "hs_variants": "已试情形：{n} 个（{labels}）；{total} 处新设施中有 {k} 处在每个情形中均被选中",
        "hs_no_variants": "未做敏感性检验（可在情景文件中加入稳健性检验）",
        "hs_range": "各情形下 {t:g} 分钟内人口比例：{lo} 至 {hi}",
        "hs_swaps": "接近最优的替代方案（去掉每处设施后的最优方案）",
        "hs_swap": "以 {b} 替换 {a}：{d:+.1f} 个百分点（{p:+,.0f} 人）",
        "hs_swap_none": "去掉 {a}：无其他设施补入（{d:+.1f} 个百分点，{p:+,.0f} 人）",
        "hs_failed": "{n} 个情形求解失败，未计入：{labels}",
        "hs_chosen_title": "各新设施被选中的次数", "hs_chosen": "{a}：{n} 个情形中 {k} 个",
        "hs_s_year": "人口数据 {y}", "hs_s_cells": "网格约 {m:,.0f} 米",
        "hs_s_stable": "{total} 处新设施中 {k} 处在全部 {n} 个情形中均被选中", "hs_s_no_variants": "未做敏感性检验",
        "hs_s_more": "详情", "hs_software": "allocator {v}，运行日期 {date}", "hs_footer": "allocator {v} · 运行日期 {date}",
        "cost_first_year": "首年费用", "cost_per_person": "每覆盖一人费用",
        "cost_first_year_phased": "首年费用（分期方案：各期全部建成并运营一年）",
        "cost_per_person_phased": "每覆盖一人费用（分期方案：全部建成后）",
        "v_speed": "速度 {a}", "v_threshold": "阈值 {a}", "v_population": "人口 {a}",
    },
}
for _lang, _words in MONEY.items():
    LABELS[_lang].update(_words)

# The build order of a phased plan (allocator.outputs.phases).
PHASE_WORDS = {
    "en": {
        "ph_title": "Build order", "ph_first": "{year}: build {sites}", "ph_line": "{year}: add {sites}",
        "ph_nothing": "nothing", "ph_year": "Year", "ph_built": "Sites built", "ph_spent": "Spent / budget",
        "ph_value": "Phase value", "ph_one_shot": "Best in one go", "ph_price": "Price of phasing",
        "ph_unit_people": "people within the threshold", "ph_unit_person-minutes": "person-minutes of travel",
        "ph_note": "The {what} are built in {n} phases solved as one exact model: what a phase builds stays open, "
                   "and each phase counts for its years. {carry} The phase value is in {unit}; “best in one go” is "
                   "the best plan with as many new sites and the same budget so far if nothing had been built "
                   "before, and the price of phasing is what the build order gives up against it.",
        "ph_carry": "Budget a phase leaves unspent passes to the next.",
        "ph_no_carry": "Budget a phase leaves unspent is not carried over.",
        "ph_unknown": "unknown",
        "ph_unknown_note": "The best plan in one go for {years} was not found within the time limit: the price of "
                           "phasing there is unknown (the phased plan itself stands).",
    },
    "zh": {
        "ph_title": "建设顺序", "ph_first": "{year} 年：新建 {sites}", "ph_line": "{year} 年：增建 {sites}",
        "ph_nothing": "无", "ph_year": "年份", "ph_built": "新建设施数", "ph_spent": "支出 / 预算",
        "ph_value": "本期目标值", "ph_one_shot": "一次性规划最优值", "ph_price": "分期代价",
        "ph_unit_people": "阈值内人口", "ph_unit_person-minutes": "人·分钟出行时间",
        "ph_note": "{what} 分 {n} 期建设，作为一个精确模型联合求解：每期新建的设施保持开放，每期按其年数计入目标。{carry}"
                   "本期目标值的单位为{unit}；“一次性规划最优值”是在此前未建任何设施的情况下、相同新建数量与累计预算下的最优方案，"
                   "分期代价为建设顺序相对它的损失。",
        "ph_carry": "某期未用完的预算转入下一期。",
        "ph_no_carry": "某期未用完的预算不转入下一期。",
        "ph_unknown": "未知",
        "ph_unknown_note": "{years} 年的一次性规划最优方案未能在时间上限内求得：该期分期代价未知（分期方案本身不受影响）。",
    },
}
for _lang, _words in PHASE_WORDS.items():
    LABELS[_lang].update(_words)

#: facility kinds as words of each language (other kinds are shown as the service's name)
KINDS = {"zh": {"clinic": "诊所", "school": "学校", "service_counter": "服务窗口", "facility": "设施",
                "hospital": "医院", "library": "图书馆"}}
#: the demand layer names the pages know in each language (other names are shown as they are)
PEOPLE = {"zh": {"residents": "居民", "children": "儿童", "people": "人口", "demand": "居民", "elderly": "老人"}}


def what_name(lang: str, kind: str, name: str) -> str:
    """The words for a service's sites: its name in English ("clinics"), its kind's word in other languages."""
    return KINDS.get(lang, {}).get(kind, name)


def people_name(lang: str, layers: list[str]) -> str:
    """The population a service counts, named by its demand layers ("residents", "children")."""
    words = [PEOPLE.get(lang, {}).get(x, x) for x in layers] or [translate(lang, "people_default")]
    return translate(lang, "and").join(dict.fromkeys(words))


#: the overall metrics a page shows: not the city-wide 2SFCA and E2SFCA means, which are the facilities with anyone
#: within T per resident by construction and cannot tell plans apart (docs/metrics.md; they stay in the files)
SHOWN_KEYS = tuple(k for k in OVERALL_KEYS if k not in ("access_2sfca_mean", "access_e2sfca_mean"))


def reach_note(lang: str, reached: list[float], population: float) -> str:
    """" (of the 811,711 who can reach a site)" for a figure over those who reach a site, when someone cannot
    (``reached``: the people reaching one before, after or in each plan; distinct counts joined by →); else ""."""
    if all(r >= population - 0.5 for r in reached):
        return ""
    return translate(lang, "r_of", n=" → ".join(f"{r:,.0f}" for r in dict.fromkeys(round(r) for r in reached)))


# The map's words (map.html, map_compare.html): layer names, title box, legend, tooltips, popups.
MAP = {
    "en": {
        "tip": {"cell": "cell", "people": "people", "before": "before", "after": "after", "change": "change",
                "unreachable": "unreachable", "newly": "newly reachable", "min": "min", "colon": ": "},
        "after": "travel time after", "before": "travel time before", "change": "change (after − before)",
        "none": "no shading", "under_after": "underserved after (> {t:g} min)",
        "under_before": "underserved before (> {t:g} min)", "people_layer": "where the underserved people are",
        "catchments": "catchments", "districts": "districts (share within T)",
        "existing": "existing", "new": "new", "closed": "closed",
        "within": "people within {t:g} min", "underserved": "people beyond {t:g} min",
        "cells": "in {n:,} populated cells", "of": "of", "side": "before | after side by side",
        "legend_time": "travel time, minutes", "legend_change": "change after − before",
        "unreachable": "unreachable", "newly": "newly reachable",
        "legend_under": "people beyond T after (thicker: more people; empty cells not outlined)",
        "legend_under_before": "beyond T before", "legend_people": "underserved people (area ∝ people)",
        "legend_catch": "catchment of a facility (nearest after)",
        "legend_districts": "districts: share of people within T after",
        "p_id": "id", "p_at": "at", "p_district": "district", "p_service": "service", "p_status": "status",
        "p_count": "count", "p_people": "people served", "p_trip": "mean travel time", "p_capacity": "capacity",
        "p_upgraded": "upgraded", "yes": "yes", "min": "min", "full": "Full screen", "p_year": "built in",
        "catchment_of": "catchment of {who}", "district_tip": "district {d}: {n:,.0f} people; within {t:g} min "
        "{b} before, {a} after", "mode_walk": "walk", "mode_bike": "bike", "mode_drive": "drive",
        "back": "back to the full map", "back_compare": "back to the comparison", "ubefore": "before",
        "uafter": "after",
        "within_short": "within {t:g} min: {s}, beyond: {n} people",
        "compare_title": "{title} — before | after",
        "counters_layer": "counters (size) and mean wait (colour)",
        "counters_tip": "{place}: {b} → {a} counters; {v} visitors/h; mean wait {wb} → {wa} min",
        "offices": "offices", "counters_legend": "mean wait after (circle size: counters)",
        "counters_high": "≥{v:g} or unstable",
    },
    "zh": {
        "tip": {"cell": "网格", "people": "人", "before": "规划前", "after": "规划后", "change": "变化",
                "unreachable": "不可达", "newly": "新可达", "min": "分钟", "colon": "："},
        "after": "规划后出行时间", "before": "规划前出行时间", "change": "变化（规划后 − 规划前）",
        "none": "不着色", "under_after": "规划后未覆盖（> {t:g} 分钟）",
        "under_before": "规划前未覆盖（> {t:g} 分钟）", "people_layer": "未覆盖人口分布",
        "catchments": "服务范围", "districts": "分区（T 内人口比例）",
        "existing": "现有", "new": "新建", "closed": "关闭",
        "within": "{t:g} 分钟内人口", "underserved": "超过 {t:g} 分钟的人口",
        "cells": "分布在 {n:,} 个有人口的网格", "of": "共", "side": "规划前 | 规划后 对照",
        "legend_time": "出行时间（分钟）", "legend_change": "变化（规划后 − 规划前）",
        "unreachable": "不可达", "newly": "新可达",
        "legend_under": "规划后超过 T 的人口（线越粗人越多；无人网格不描边）",
        "legend_under_before": "规划前超过 T", "legend_people": "未覆盖人口（面积 ∝ 人数）",
        "legend_catch": "设施服务范围（规划后最近）", "legend_districts": "分区：规划后 T 内人口比例",
        "p_id": "编号", "p_at": "位置", "p_district": "分区", "p_service": "服务", "p_status": "状态",
        "p_count": "数量", "p_people": "服务人数", "p_trip": "平均出行时间", "p_capacity": "容量",
        "p_upgraded": "扩容", "yes": "是", "min": "分钟", "full": "全屏", "p_year": "建设年份",
        "catchment_of": "{who} 的服务范围", "district_tip": "分区 {d}：{n:,.0f} 人；{t:g} 分钟内 规划前 {b}，规划后 {a}",
        "mode_walk": "步行", "mode_bike": "骑行", "mode_drive": "驾车",
        "back": "返回完整地图", "back_compare": "返回方案比较", "ubefore": "规划前", "uafter": "规划后",
        "within_short": "{t:g} 分钟内：{s}，超过：{n} 人",
        "compare_title": "{title} — 规划前 | 规划后",
        "counters_layer": "窗口数（大小）与平均等候（颜色）",
        "counters_tip": "{place}：窗口 {b} → {a} 个；每小时 {v} 人办事；平均等候 {wb} → {wa} 分钟",
        "offices": "网点", "counters_legend": "规划后平均等候（圆圈大小：窗口数）",
        "counters_high": "≥{v:g} 或不稳定",
    },
}


def map_text(lang: str, key: str, **kw):
    """A word of the map in ``lang`` (English when missing); ``tip`` gives the tooltip words as a dict.

    A key no table has raises ``KeyError``, as in :func:`translate`: a map must not show a raw key.
    """
    text = MAP.get(lang, MAP["en"]).get(key, MAP["en"].get(key))
    if text is None:
        raise KeyError(f"no map label {key!r} in allocator/outputs/labels.py (MAP)")
    return text.format(**kw) if kw and isinstance(text, str) else text


# officials-a, round 28: names of grid-cell sites, alternatives, report <-> map links (additive block)
LABELS["en"].update({
    "cell_place": "the centre of a {m:,.0f} m cell near {place}",
})
LABELS["zh"].update({
    "cell_place": "{place}附近一个 {m:,.0f} 米网格的中心",
})
LABELS["en"].update({
    "c_source": "{place} ({n})", "c_more": "… and {k} more changes: every office is in the table below and in sites.csv.",
    "c_offices_all_changed": "Every office whose counters change ({n}, busiest first; {q})",
    "c_offices_all": "Every office ({n}, busiest first; {q})",
})
LABELS["zh"].update({
    "c_source": "{place}（{n}）", "c_more": "……另有 {k} 处调整：所有网点见下表和 sites.csv。",
    "c_offices_all_changed": "窗口数变化的全部网点（{n} 个，按繁忙程度排序；{q}）",
    "c_offices_all": "全部网点（{n} 个，按繁忙程度排序；{q}）",
})
MAP["en"].update({
    "p_rank": "rank", "p_rank_of": "{r} in the report's list", "p_counters": "counters",
    "p_visitors": "visitors per hour", "p_wait": "mean wait",
})
MAP["zh"].update({
    "p_rank": "排名", "p_rank_of": "报告列表第 {r} 位", "p_counters": "窗口数",
    "p_visitors": "每小时办事人数", "p_wait": "平均等候",
})
LABELS["en"].update({
    "sites_word": "sites", "alt_or": " or ",
    "alt_intro": "{n} alternative plans answer the same question: {list}. Choose one; each has its own section "
                 "below, and the map shows one at a time (the buttons in its title box).",
})
LABELS["zh"].update({
    "sites_word": "设施", "alt_or": "或",
    "alt_intro": "以下 {n} 个备选方案回答同一个问题：{list}。请择一；每个方案在下文各有一节，地图一次只显示一个方案（标题框中的按钮）。",
})
LABELS["en"].update({
    "alt_same": "The same {n} new sites as {first}, with the same access: see there for the sites, what they buy "
                "and leave. This plan differs in its counters and waits only.",
    "alt_same_details": "Travel and access as in {first}'s details above (the same sites); the waits are in its "
                        "decision section.",
    "districts_all": "Every district ({n}): share within T, trips and inequality before → after",
})
LABELS["zh"].update({
    "alt_same": "新建与{first}相同的 {n} 处设施，可达性相同：设施及其收益与遗留问题见该方案。本方案仅窗口与等候不同。",
    "alt_same_details": "出行与可达性同上文{first}的详细结果（设施相同）；等候见本方案的决策部分。",
    "districts_all": "全部分区（{n} 个）：T 内比例、出行时间与不平等，规划前 → 规划后",
})
LABELS["en"].update({
    "overview_title": "Travel time after the plan: green 0, yellow {t:g} min, red ≥ 2 × {t:g} min",
    "open_map": "Open the interactive map (map.html)",
    "overview_alt": "Overview map of the new sites, numbered by rank",
})
LABELS["zh"].update({
    "overview_title": "规划后出行时间：绿 0，黄 {t:g} 分钟，红 ≥ 2 × {t:g} 分钟",
    "open_map": "打开交互地图",
    "overview_alt": "新建设施概览图（按排名编号）",
})
MAP["en"].update({"report_link": "report: the decision, sites numbered as here"})
MAP["zh"].update({"report_link": "报告：决策与编号相同的新建设施"})
LABELS["en"].update({
    "overview": "Overview map",
    "cell_note": "Each site is the centre of a {m:,.0f} m grid cell near the streets named: look for a plot in that cell.",
})
LABELS["zh"].update({
    "overview": "概览图",
    "cell_note": "每处设施为所列街道附近一个 {m:,.0f} 米网格的中心：请在该网格内选址。",
})
