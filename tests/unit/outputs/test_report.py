"""report.html, districts.csv, targets.csv, the equity block of summary.json, --strict and --compare."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from allocator.cli import EXIT_TARGET_MISSED, main
from allocator.outputs import labels, notes, report

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
BASE = {
    "name": "spo_equity",
    "title": "São Paulo <script>alert(1)</script> & co",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
    "demand": [{"name": "residents", **CELLS, "population": "population"}],
    "districts": {"h3_parent": 7},
    "targets": [
        {"metric": "within_share", "min": 0.0, "label": "trivially met <b>"},
        {"metric": "within_share", "min": 0.5, "per_district": True},
        {"metric": "gini", "max": 0.0001},          # cannot be met: --strict exits 3
    ],
    "services": [
        {"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 3,
         "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS,
         "targets": [{"metric": "max_min", "max": 1000}]},
    ],
    "output": {"tiles": False},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mirror: Path) -> tuple[Path, int]:
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    folder = tmp_path_factory.mktemp("equity")
    a = folder / "a.yaml"
    a.write_text(yaml.safe_dump(BASE, allow_unicode=True))
    other = {**BASE, "name": "spo_median", "language": "zh", "districts": None, "targets": [],
             "demand": [{**BASE["demand"][0], "name": "children", "attribution": "My <b>own</b> census"}],
             "services": [{**BASE["services"][0], "objective": "p_median", "targets": []}]}
    del other["districts"]
    b = folder / "b.yaml"
    b.write_text(yaml.safe_dump(other, allow_unicode=True))
    status = main([str(a), str(b), "--out", str(folder / "out"), "--quiet", "--strict", "--compare"])
    return folder / "out", status


@pytest.mark.slow
def test_strict_exits_3_when_a_target_is_missed(runs, capsys) -> None:
    out, status = runs
    assert status == EXIT_TARGET_MISSED == 3


@pytest.mark.slow
def test_report_is_written_and_escaped(runs) -> None:
    out, _ = runs
    page = (out / "spo_equity" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "trivially met &lt;b&gt;" in page
    assert page.count("data:image/png;base64,") == 3          # Lorenz, distribution, district bars
    order = ["Build these 3 new clinics", "Newly within 8 min", "What the plan buys", "What it leaves", "Targets: ",
             "clinics</span>: Details", "Summary", "Figures", "Caveats", "Method", "Data", "Appendix: terms"]
    assert [page.index(x) for x in order] == sorted(page.index(x) for x in order)
    zh = (out / "spo_median" / "report.html").read_text(encoding="utf-8")
    assert "公平性报告" in zh and "摘要" in zh
    if report.cjk_font() is None:
        assert "fonts-noto-cjk" in zh


@pytest.mark.slow
def test_tables_and_summary_agree(runs) -> None:
    out, _ = runs
    summary = json.loads((out / "spo_equity" / "summary.json").read_text())
    block = summary["services"][0]["equity"]
    after = block["overall"]["after"]
    assert after["theil_between"] + after["theil_within"] == pytest.approx(after["theil"])
    access = summary["services"][0]["after"]
    assert not set(after) & set(access), "summary/2: equity.overall holds only what after does not"
    assert access["within_share"] > 0
    assert "seconds" not in json.dumps(block)
    targets = pd.read_csv(out / "spo_equity" / "targets.csv")
    assert list(targets["metric"]) == ["within_share", "within_share", "gini", "max_min"]
    assert (targets["met_after"][0], targets["met_after"][2], targets["met_after"][3]) == (True, False, True)
    districts = pd.read_csv(out / "spo_equity" / "districts.csv", dtype={"district": str})
    assert districts["population"].sum() == pytest.approx(access["population"])
    worst = districts.loc[districts["population"] > 0, "within_share_after"].min()
    assert targets["after"][1] == pytest.approx(worst)
    demand = json.loads((out / "spo_equity" / "demand.geojson").read_text())
    assert "district" in demand["features"][0]["properties"]
    # without districts, Theil's split is null, not 0 and the total (issue 22)
    median = json.loads((out / "spo_median" / "summary.json").read_text())["services"][0]["equity"]["overall"]
    assert median["after"]["theil"] > 0 and median["after"]["theil_between"] is None
    assert median["after"]["theil_within"] is None


def _ede_from_demand(rows: list[dict], service: str, epsilon: float) -> tuple[float, float, float]:
    """kappa and the EDE before and after recomputed from demand.geojson's minutes and people, as docs/metrics.md
    says (plain numpy, not allocator's functions)."""
    w = np.array([r[f"population_{service}"] for r in rows], dtype=float)
    b, a = (np.array([np.nan if r[f"{when}_min_{service}"] is None else r[f"{when}_min_{service}"] for r in rows])
            for when in ("before", "after"))
    ok = np.isfinite(b) & (w > 0)
    k = epsilon * np.sum(w[ok] * b[ok]) / np.sum(w[ok] * b[ok] ** 2)

    def ede(z: np.ndarray) -> float:
        m = np.isfinite(z) & (w > 0)
        return float(-np.log(np.sum(w[m] * np.exp(-k * z[m])) / np.sum(w[m])) / k)

    return float(k), ede(b), ede(a)


@pytest.mark.slow
def test_the_ede_is_recomputed_from_demand_geojson(runs) -> None:
    out, _ = runs
    folder = out / "spo_equity"
    service = json.loads((folder / "summary.json").read_text())["services"][0]
    rows = [f["properties"] for f in json.loads((folder / "demand.geojson").read_text())["features"]]
    assert service["ede_epsilon"] == -1.0
    k, before, after = _ede_from_demand(rows, "clinics", service["ede_epsilon"])
    assert service["ede_kappa"] == pytest.approx(k, rel=1e-5)
    assert service["before"]["ede_min"] == pytest.approx(before, abs=1e-4)
    assert service["after"]["ede_min"] == pytest.approx(after, abs=1e-4)
    assert service["after"]["ede_min"] <= service["before"]["ede_min"]          # sites added: nobody slower
    assert service["after"]["ede_min"] >= service["after"]["mean_min"]
    # per district: the same kappa on the district's rows
    districts = pd.read_csv(folder / "districts.csv", dtype={"district": str}).set_index("district")
    key = districts["population"].idxmax()
    mine = [r for r in rows if r["district"] == key]
    w = np.array([r["population_clinics"] for r in mine])
    z = np.array([np.nan if r["after_min_clinics"] is None else r["after_min_clinics"] for r in mine])
    m = np.isfinite(z) & (w > 0)
    expected = -np.log(np.sum(w[m] * np.exp(-k * z[m])) / np.sum(w[m])) / k
    assert districts.loc[key, "ede_min_after"] == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_comparison(runs) -> None:
    out, _ = runs
    frame = pd.read_csv(out / "compare" / "comparison.csv")
    assert list(frame.columns) == ["service", "metric", "when", "spo_equity", "spo_median"]
    objective = frame[frame["metric"] == "objective"].iloc[0]
    assert (objective["spo_equity"], objective["spo_median"]) == ("max_coverage", "p_median")
    # both scenarios are measured on the same targets (the union) and districts
    assert frame["metric"].str.startswith("target: ").sum() == 2 * 4
    # each plan's EDE, with its service's kappa (the same before: the same kappa, the same before-EDE)
    ede = frame[frame["metric"] == "ede_min"].set_index("when")
    for name in ("spo_equity", "spo_median"):
        service = json.loads((out / name / "summary.json").read_text())["services"][0]
        assert float(ede.at["after", name]) == pytest.approx(service["after"]["ede_min"])
    assert float(ede.at["before", "spo_equity"]) == pytest.approx(float(ede.at["before", "spo_median"]))
    assert "access_2sfca_mean" in set(frame["metric"])    # kept in the file, not on the page
    page = (out / "compare" / "comparison.html").read_text(encoding="utf-8")
    assert page.count("<table") == 2                      # targets first, then the metrics
    assert page.index("Targets") < page.index("Access and inequality")


@pytest.mark.slow
def test_comparison_page_helps_choose(runs) -> None:
    out, _ = runs
    folder = out / "compare"
    page = (folder / "comparison.html").read_text(encoding="utf-8")
    text = _text(folder / "comparison.html")
    for code in ("max_coverage", "p_median", "E2SFCA access (per 10,000)", "2SFCA access (per 10,000)"):
        assert code not in text, code                    # no model codes; the city-wide 2SFCA means (issue 22)
    assert "Equally-distributed equivalent trip (min)" in text
    assert "Question answered" in text and "the shortest average trip" in text
    equity = json.loads((out / "spo_equity" / "summary.json").read_text())["services"][0]
    median = json.loads((out / "spo_median" / "summary.json").read_text())["services"][0]
    d = equity["after"]["within"] - median["after"]["within"]
    if abs(d) > 0.5:   # the sentence states the computed difference, in people
        assert f"{abs(d):,.0f} more residents within 8 minutes" in text
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        header = re.findall(r"<th>(.*?)</th>", table)
        assert header.count("Before (all plans)") == 1 and len(header) == 4
    # the better after-value of the share within T is highlighted, and only that one
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page) if r.startswith("<td>Share within 8 min</td>"))
    cells = re.findall(r"<td( class='best')?>([\d.]+)%</td>", row)
    values = [float(v) for _, v in cells[1:]]
    marked = [bool(c) for c, _ in cells[1:]]
    assert marked == [v == max(values) and min(values) != max(values) for v in values]
    for link in re.findall(r"href='([^']+)'", page):
        assert (folder / link).resolve().is_file(), link
    assert page.count("class='map-link'") == 2 and page.count("class='report-link'") == 2
    assert "Sites both plans choose" in text or "The plans share no new site" in text
    assert "class='chart'" in page


def test_labels_cover_both_languages() -> None:
    assert set(labels.LABELS["en"]) == set(labels.LABELS["zh"])


def _text(path: Path) -> str:
    """The visible text of a page (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_brief_lists_every_new_site_ranked_by_what_it_adds(runs) -> None:
    out, _ = runs
    folder = out / "spo_equity"
    page = (folder / "report.html").read_text(encoding="utf-8")
    summary = json.loads((folder / "summary.json").read_text())
    service = summary["services"][0]
    sites = pd.read_csv(folder / "sites.csv", dtype={"id": str})
    new = sites[sites["status"] == "new"]
    assert len(new) == 3 and new["place"].str.len().gt(0).all() and new["district"].str.len().gt(0).all()
    assert [s["place"] for s in service["new_sites"]] == list(new["place"])
    table = page[page.index("<table class='sites'>"):]
    table = table[:table.index("</table>")]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])]
    assert len(rows) == 3 and [r[0] for r in rows] == ["1", "2", "3"]
    newly = [float(r[3].replace(",", "")) for r in rows]
    assert list(newly) == sorted(newly, reverse=True)
    gain = service["after"]["within"] - service["before"]["within"]
    # each person newly within T counts for at most one site alone: the parts never exceed the whole
    assert 0 <= sum(newly) <= gain + 1
    for place in new["place"]:
        assert html.escape(place) in table


@pytest.mark.slow
def test_report_speaks_plainly(runs) -> None:
    out, _ = runs
    text = _text(out / "spo_equity" / "report.html")
    for code in ("max_coverage", "p_median", "scenario field", "client", "weight 1", "stays from"):
        assert code not in text, code
    summary = json.loads((out / "spo_equity" / "summary.json").read_text())
    told = notes.told(summary["services"][0]["notes"], "en", "residents")
    for note in told:      # every note of the run reaches the page, in plain words
        assert note.text in text
    assert "Question answered: bring as many residents as possible within 8 minutes" in text
    assert "optimal" in text and "500 m" in text and "4.8 km/h" in text
    assert "sao_paulo/spo_hexgrid.csv" in text and "ODbL 1.0" in text and "porto_alegre" not in text
    assert "Gini of travel time: 0 when everyone" in text
    assert "nobody walks" not in text  # (the Porto Alegre label) no foreign text
    assert "Longest trip (min) ≤ 1,000" not in text and "≤ 1000.0 min" in text   # a target's unit
    # the EDE in plain words, with what it means; the city-wide 2SFCA mean is not shown (issue 22)
    service = summary["services"][0]
    b, a = service["before"]["ede_min"], service["after"]["ede_min"]
    assert f"Equally-distributed equivalent walk: {b:.1f} → {a:.1f} minutes" in text
    assert "the walk that, if everyone had it, would be as good as" in text
    page = (out / "spo_equity" / "report.html").read_text(encoding="utf-8")
    assert "<td>2SFCA access (per 10,000)" not in page and "<td>E2SFCA access (per 10,000)" not in page
    assert "Gini of 2SFCA access" in text     # (per district, the E2SFCA mean stays: it is no identity there)
    reached = service["after"]["population"] - service["after"]["unreachable"]
    if service["after"]["unreachable"] > 0:   # every figure over those who reach a site says so
        assert f"Mean trip (min) (of the {reached:,.0f} who can reach a site)" in text
    zh = _text(out / "spo_median" / "report.html")
    assert "等效均等步行时间" in zh


@pytest.mark.slow
def test_population_named_by_its_layer_and_attribution_from_data_used(runs) -> None:
    out, _ = runs
    zh = _text(out / "spo_median" / "report.html")
    assert "儿童" in zh and "居民" not in zh.split("附录")[0].replace("居民累计", "")
    assert "My <b>own</b> census" in zh and "<b>own</b>" not in (out / "spo_median" / "report.html").read_text()
    summary = json.loads((out / "spo_median" / "summary.json").read_text())
    # the demand layer credits the user's own line; sites still come from the catalog's grid
    assert summary["attribution"] == sorted({"My <b>own</b> census", "© OpenStreetMap contributors",
                                             "Ipea, Access to Opportunities project (via r5r)"})
    en = json.loads((out / "spo_equity" / "summary.json").read_text())
    assert en["attribution"] == ["Ipea, Access to Opportunities project (via r5r)", "© OpenStreetMap contributors"]


def test_data_table_gives_the_year_the_source_states() -> None:
    """The report's data section shows each catalog entry's year, and says so when the source gives none."""
    from types import SimpleNamespace

    from allocator.scenario.loader import load_scenario
    from allocator.solve.run_info import data_sources, run_info

    scenario = load_scenario(Path(__file__).resolve().parents[3] / "scenarios" / "poa_clinics.yaml")
    years = {d.name: d.year for d in data_sources(scenario)}
    assert years == {"porto_alegre/poa_hexgrid.csv": "2010 (census)", "porto_alegre/poa_osm.pbf": ""}
    info = run_info(scenario)
    section = report.data_section(SimpleNamespace(info=info), "en")
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    assert any("poa_hexgrid.csv" in r and "2010 (census)" in r for r in rows)
    assert any("poa_osm.pbf" in r and "not stated" in r for r in rows)
    assert "年份" in report.data_section(SimpleNamespace(info=info), "zh")
