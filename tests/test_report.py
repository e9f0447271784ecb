"""report.html, districts.csv, targets.csv, the equity block of summary.json, --strict and --compare."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from allocator.cli import EXIT_TARGET_MISSED, main
from allocator.outputs import labels, report

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
             "services": [{**BASE["services"][0], "objective": "p_median", "targets": []}]}
    del other["districts"]
    b = folder / "b.yaml"
    b.write_text(yaml.safe_dump(other, allow_unicode=True))
    status = main([str(a), str(b), "--out", str(folder / "out"), "--quiet", "--strict", "--compare"])
    return folder / "out", status


def test_strict_exits_3_when_a_target_is_missed(runs, capsys) -> None:
    out, status = runs
    assert status == EXIT_TARGET_MISSED == 3


def test_report_is_written_and_escaped(runs) -> None:
    out, _ = runs
    page = (out / "spo_equity" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "trivially met &lt;b&gt;" in page
    assert page.count("data:image/png;base64,") == 3          # Lorenz, distribution, district bars
    assert page.index("Summary") < page.index("Targets") < page.index("Figures")
    zh = (out / "spo_median" / "report.html").read_text(encoding="utf-8")
    assert "公平性报告" in zh and "摘要" in zh
    if report.cjk_font() is None:
        assert "fonts-noto-cjk" in zh


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


def test_comparison(runs) -> None:
    out, _ = runs
    frame = pd.read_csv(out / "compare" / "comparison.csv")
    assert list(frame.columns) == ["service", "metric", "when", "spo_equity", "spo_median"]
    objective = frame[frame["metric"] == "objective"].iloc[0]
    assert (objective["spo_equity"], objective["spo_median"]) == ("max_coverage", "p_median")
    # both scenarios are measured on the same targets (the union) and districts
    assert frame["metric"].str.startswith("target: ").sum() == 2 * 4
    assert (out / "compare" / "comparison.html").read_text(encoding="utf-8").count("<table") == 1


def test_labels_cover_both_languages() -> None:
    assert set(labels.LABELS["en"]) == set(labels.LABELS["zh"])
