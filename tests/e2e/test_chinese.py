"""The Chinese pages say everything in Chinese: report, map, comparison and sweep (names from the data, units and
a short list of terms aside), and a missing Chinese font is said on the console and in the report."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import mirrored_env

from allocator.cli import main
from allocator.outputs import labels

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
#: a Chinese run with districts and a sweep, and a second plan to compare it with
PLANS = {
    "spo_zh": {
        "name": "spo_zh", "title": "圣保罗诊所", "language": "zh",
        "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
        "demand": [{"name": "children", **CELLS, "population": "population"}],
        "districts": {"h3_parent": 7},
        "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 2,
                      "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
        "sweep": {"parameter": "p", "values": [1, 2], "chosen": 2},
        "output": {"tiles": False},
    },
    "spo_zh_median": {
        "name": "spo_zh_median", "title": "圣保罗诊所（平均出行最短）", "language": "zh",
        "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
        "demand": [{"name": "children", **CELLS, "population": "population"}],
        "services": [{"name": "clinics", "kind": "clinic", "objective": "p_median", "threshold_min": 8, "p": 2,
                      "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
        "output": {"tiles": False},
    },
}
#: Latin words a Chinese page may show: names of methods, software and data, and units
ALLOWED = {"allocator", "OpenStreetMap", "GTFS", "EDE", "Gini", "Kolm-Pollak", "HiGHS", "PuLP", "SFCA", "H3", "Leaflet",
           "km", "h", "m", "min", "s"}


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory, mirror: Path, capture) -> tuple[Path, list[Path], str]:
    folder = tmp_path_factory.mktemp("zh")
    paths = []
    for name, doc in PLANS.items():
        paths.append(folder / f"{name}.yaml")
        paths[-1].write_text(yaml.safe_dump(doc, allow_unicode=True))
    with mirrored_env(mirror, tmp_path_factory.mktemp("cache")):
        status, console = capture([*map(str, paths), "--out", str(folder / "out"), "--compare", "--quiet",
                                   "--workers", "1"])
    assert status == 0, console
    return folder / "out", paths, console


@pytest.fixture(scope="module")
def capture():
    """main() with its console (stdout and stderr) as one string."""
    import contextlib
    import io

    def run(argv: list[str]) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main(argv)
        return status, out.getvalue()
    return run


def visible_text(path: Path, *, names: bool = True) -> str:
    """A page's text as a reader sees it: no scripts, styles, embedded images or tags; without ``names``, no names
    from the data either (marked as :func:`allocator.outputs.labels.name` does)."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    if not names:
        page = re.sub(r'<(span|option)( [^>]*)? class="name" translate="no">[^<]*</\1>', " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def latin_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z'\-]+", text)) - ALLOWED


@pytest.mark.slow
def test_chinese_pages_have_no_english_words(zh_run) -> None:
    out, _, _ = zh_run
    pages = [out / "spo_zh" / "report.html", out / "spo_zh_median" / "report.html", out / "compare" / "comparison.html",
             out / "spo_zh" / "map.html", out / "spo_zh" / "map_compare.html"]
    for page in pages:
        assert latin_words(visible_text(page, names=False)) == set(), page
    report = visible_text(out / "spo_zh" / "report.html")
    assert "拐点" in report or "新增设施数" in report      # the sweep section is there, in Chinese
    assert "下降由" not in report and "上升由" not in report   # whole sentences, not word for word
    # the names are there, marked: a street of a new site's place, the data's credit
    sites = pd.read_csv(out / "spo_zh" / "sites.csv", dtype=str, keep_default_na=False)
    place = sites.loc[sites["status"] == "new", "place"].iloc[0]
    assert f'<span class="name" translate="no">{html.escape(place)}</span>' in (out / "spo_zh" / "report.html").read_text()


@pytest.mark.slow
def test_built_place_labels_connect_names_in_chinese(zh_run) -> None:
    out, _, _ = zh_run
    sites = pd.read_csv(out / "spo_zh" / "sites.csv", dtype=str, keep_default_na=False)
    districts = pd.read_csv(out / "spo_zh" / "districts.csv", dtype=str)["district_name"]
    built = [*sites["place"], *districts]
    assert not [x for x in built if re.search(r"\b(near|around)\b", x)]
    assert any("（靠近" in x for x in sites["place"]) and any(x.endswith("一带") or "一带 [" in x for x in districts)


@pytest.mark.slow
def test_caveats_are_chinese_sentences_with_the_population(zh_run) -> None:
    out, _, _ = zh_run
    report = visible_text(out / "spo_zh_median" / "report.html")
    caveats = report.split(labels.translate("zh", "caveats"))[-1].split(labels.translate("zh", "method"))[0]
    assert "儿童" in caveats or labels.translate("zh", "no_caveats") in caveats
    method = report.split(labels.translate("zh", "method"))[-1]
    assert "下界表明" in method   # the p-median bound, told in Chinese in the method section


@pytest.mark.slow
def test_a_missing_chinese_font_is_an_error_line_and_a_note(tmp_path, mirror, capture, monkeypatch) -> None:
    """The font lookup finds no Chinese font: the console has an error line with the fix, the report a note."""
    monkeypatch.setattr(labels, "CJK_FONTS", ("No Such Font SC",))
    labels.cjk_font.cache_clear()
    path = tmp_path / "zh.yaml"
    path.write_text(yaml.safe_dump({**PLANS["spo_zh_median"]}, allow_unicode=True))
    try:
        with mirrored_env(mirror, tmp_path / "cache"):
            status, console = capture([str(path), "--out", str(tmp_path / "out"), "--quiet"])
    finally:
        labels.cjk_font.cache_clear()
    assert status == 0
    errors = [line for line in console.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Chinese (CJK) font" in errors[0] and "fonts-noto-cjk" in console
    assert labels.translate("zh", "font_note") in (tmp_path / "out" / "spo_zh_median" / "report.html").read_text()
