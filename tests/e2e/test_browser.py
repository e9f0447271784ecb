"""The equity map of a real São Paulo run, opened in headless Chromium.

One scenario run (the São Paulo data, a walk, 3 new clinics, no tiles) writes
``map.html`` and ``map_compare.html``; the tests open them in Debian's chromium
and check what an official would see: no script errors, the layers, toggling,
a facility popup with escaped text and the assigned population, a screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_counters import alternatives_scenario

from allocator.cli import main
from allocator.outputs.site_names import site_place

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # one whole São Paulo run, then Chromium

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
EVIL = "<script>alert(1)</script>"
LAYERS = (
    "clinics — travel time after",
    "clinics — travel time before",
    "clinics — change (after − before)",
    "clinics — underserved after (> 8 min)",
    "clinics — underserved before (> 8 min)",
    "clinics — catchments",
    "clinics — existing",
    "clinics — new",
)


@pytest.fixture(scope="module")
def sync_api():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mirror: Path, sync_api) -> Path:
    """Run a small São Paulo scenario whose facility names carry HTML, through the command line."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    folder = tmp_path_factory.mktemp("browser")
    grid = pd.read_csv(mirror / "sao_paulo" / "spo_hexgrid.csv", dtype={"id": str})
    grid["label"] = [f"{EVIL} posto {i}" if k % 2 == 0 else f"UBS O'Brien & \"Sons\" {i}"
                     for k, i in enumerate(grid["id"])]
    grid.to_csv(folder / "grid.csv", index=False)
    cells = {"source": "grid.csv", "h3": "id", "id": "id", "name_column": "label"}
    scenario = {
        "name": "spo_browser",
        "title": "São Paulo <i>browser</i> test",
        "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
        "demand": [{"name": "residents", "source": "grid.csv", "h3": "id", "id": "id", "population": "population"}],
        "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 3,
                      "existing": {**cells, "count": "healthcare"}, "candidates": cells}],
        "output": {"tiles": False},
    }
    path = folder / "spo.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    assert main([str(path), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out" / "spo_browser"


@pytest.fixture(scope="module")
def browser(sync_api):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _open(browser, path: Path):
    """A page on ``path``; returns (page, errors, dialogs) — errors collects console errors and exceptions."""
    errors: list[str] = []
    dialogs: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 850})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-interactive", state="attached")
    return page, errors, dialogs


#: how many vector layers (cells, outlines, circles, facilities) the map draws now
DRAWN = """() => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let n = 0;
    map.eachLayer(l => { if (l instanceof L.Path || l instanceof L.Marker) n++; });
    return n;
}"""


def _facility_point(page, needle: str) -> tuple[float, float]:
    """Screen position of the first facility whose popup text contains ``needle``."""
    return page.evaluate(
        """(needle) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            let found = null;
            map.eachLayer(l => {
                if (!found && l.feature && l.getLatLng && String(l.feature.properties.tip).includes(needle)) found = l;
            });
            map.setView(found.getLatLng(), map.getZoom(), {animate: false});
            const pt = map.latLngToContainerPoint(found.getLatLng());
            const box = map.getContainer().getBoundingClientRect();
            return [pt.x + box.left, pt.y + box.top];
        }""",
        needle,
    )


def test_map_layers_popups_and_screenshot(browser, run_dir: Path) -> None:
    page, errors, dialogs = _open(browser, run_dir / "map.html")
    assert page.locator(".leaflet-control-layers-expanded").count() == 0   # collapsed: never over a popup
    page.hover(".leaflet-control-layers")
    control = page.inner_text(".leaflet-control-layers")
    for layer in LAYERS:
        assert layer in control
    assert "São Paulo <i>browser</i> test" in page.inner_text("#allocator-title")
    assert page.locator(".allocator-fullscreen").count() == 1
    assert page.locator(".leaflet-control-scale").count() == 1
    assert "OpenStreetMap" in page.inner_text("#allocator-attribution")

    page.wait_for_function(f"() => ({DRAWN})() > 0")
    shown = page.evaluate(DRAWN)
    for layer in ("clinics — catchments", "clinics — underserved before (> 8 min)",
                  "clinics — where the underserved people are"):
        page.get_by_label(layer).check()
        page.wait_for_function(f"() => ({DRAWN})() > {shown}")
        page.get_by_label(layer).uncheck()
        page.wait_for_function(f"() => ({DRAWN})() === {shown}")
    page.mouse.move(5, 450)

    # A new facility: its popup shows the people it serves and their mean time.
    page.locator(".allocator-new").first.click()
    page.wait_for_selector(".leaflet-popup-content")
    popup = page.inner_text(".leaflet-popup-content")
    assert "people served" in popup and "mean travel time" in popup and "new" in popup
    assert page.locator(".leaflet-control-layers-expanded").count() == 0   # a popup collapses the layer list
    people = int(popup.split("people served")[1].split()[0].replace(",", ""))
    assert people > 0

    # An existing facility whose name is a script tag: shown as text, never run.
    page.keyboard.press("Escape")
    x, y = _facility_point(page, "&lt;script")
    page.mouse.click(x, y)
    page.wait_for_function("() => document.querySelector('.leaflet-popup-content')?.innerText.includes('alert(1)')")
    popup = page.inner_text(".leaflet-popup-content")
    assert EVIL in popup and "people served" in popup

    shot = run_dir / "map.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.close()
    assert errors == []
    assert dialogs == []


def test_compare_page_keeps_both_maps_in_step(browser, run_dir: Path) -> None:
    page, errors, dialogs = _open(browser, run_dir / "map_compare.html")
    assert page.locator("#before path.leaflet-interactive").count() > 0
    assert page.locator("#after path.leaflet-interactive").count() > 0
    page.locator("#before .leaflet-control-zoom-in").click()
    page.wait_for_timeout(400)
    zooms = page.evaluate("() => [maps.before.getZoom(), maps.after.getZoom()]")
    assert zooms[0] == zooms[1]
    assert "within 8 min" in page.inner_text("#label-after")
    page.screenshot(path=str(run_dir / "map_compare.png"))
    page.close()
    assert errors == []
    assert dialogs == []


# --- the pages an official decides from -------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _map_load():
    """benchmarks/map_load.py, the one measure of a page's long tasks."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("map_load", REPO / "benchmarks" / "map_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory, mirror: Path, sync_api) -> Path:
    """The two-service demo (clinics and schools sharing one budget, Porto Alegre), without tiles."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    out = tmp_path_factory.mktemp("shared")
    assert main([str(REPO / "scenarios" / "poa_shared_budget.yaml"), "--out", str(out), "--quiet", "--no-tiles"]) == 0
    return out / "poa_shared_budget"


@pytest.fixture(scope="module")
def zh_dir(tmp_path_factory, mirror: Path, sync_api) -> Path:
    """A small São Paulo run in Chinese, with districts (children as the population)."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    folder = tmp_path_factory.mktemp("zh")
    cells = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
    scenario = {
        "name": "spo_zh", "title": "圣保罗诊所", "language": "zh",
        "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
        "demand": [{"name": "children", **cells, "population": "population"}],
        "districts": {"h3_parent": 7},
        "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 3,
                      "existing": {**cells, "count": "healthcare"}, "candidates": cells}],
        "output": {"tiles": False},
    }
    path = folder / "zh.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    assert main([str(path), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out" / "spo_zh"


def test_two_service_map_is_light_and_never_freezes(browser, shared_dir: Path) -> None:
    path = shared_dir / "map.html"
    assert path.stat().st_size <= 2_000_000
    measure = _map_load()
    runs = sorted(measure.longest_task_ms(browser, path) for _ in range(3))
    assert runs[1] < 200, f"longest main-thread task on load (median of 3): {runs} ms"


def test_two_services_one_shading_at_a_time(browser, shared_dir: Path) -> None:
    page, errors, _ = _open(browser, shared_dir / "map.html")
    # each service its own new-site symbol and colour
    clinic = page.locator(".allocator-new.allocator-service-0").first.inner_html()
    school = page.locator(".allocator-new.allocator-service-1").first.inner_html()
    assert "★" in clinic and "◆" in school and clinic.split("color:")[1][:7] != school.split("color:")[1][:7]
    assert page.locator("#allocator-legend-0").is_visible() and not page.locator("#allocator-legend-1").is_visible()
    page.hover(".leaflet-control-layers")
    radios = page.locator(".leaflet-control-layers-base input[type=radio]")
    assert radios.count() == 7                               # 3 shadings x 2 services + no shading
    assert page.get_by_label("clinics — underserved after (> 15 min)").is_checked()
    page.get_by_label("schools — travel time after").check()
    page.wait_for_timeout(200)
    assert page.get_by_label("schools — underserved after (> 10 min)").is_checked()
    assert not page.get_by_label("clinics — underserved after (> 15 min)").is_checked()
    assert page.locator("#allocator-legend-1").is_visible() and not page.locator("#allocator-legend-0").is_visible()
    assert page.locator("#allocator-legend-1").inner_text().startswith("schools")
    page.mouse.move(5, 450)
    # a cell's tooltip names its service
    page.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane canvas').length > 0")
    tip = page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let text = null;
        map.eachLayer(l => { if (!text && l instanceof L.Polygon && l.getTooltip()) text = l.getTooltip()._content(l).innerHTML; });
        return text;
    }""")
    assert tip.startswith("<b>schools</b>")   # the tooltip is an element: the name set as text, in bold
    page.close()
    assert [e for e in errors if "ERR_" not in e] == []


def test_underserved_outlines_count_people_not_area(browser, shared_dir: Path) -> None:
    import json

    demand = json.loads((shared_dir / "demand.geojson").read_text())["features"]
    expected = sum(1 for f in demand if (p := f["properties"])["population_clinics"] > 0
                   and (p["after_min_clinics"] is None or p["after_min_clinics"] > 15))
    empty = sum(1 for f in demand if (p := f["properties"])["population_clinics"] == 0
                and (p["after_min_clinics"] is None or p["after_min_clinics"] > 15))
    page, _, _ = _open(browser, shared_dir / "map.html")
    outlines = """() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const w = [];
        map.eachLayer(l => { if (l instanceof L.Polygon && l.options.fill === false) w.push(l.options.weight); });
        return w;
    }"""
    page.wait_for_function(f"() => ({outlines})().length === {expected}")
    weights = page.evaluate(outlines)
    assert len(weights) == expected and max(weights) > min(weights)   # thicker where more people live
    assert empty > 0     # the demo has empty cells beyond T, and none of them is outlined
    title = page.inner_text("#allocator-title")
    assert "people beyond 15 min" in title and f"in {expected:,} populated cells" in title
    page.close()


def test_new_site_popup_names_the_place(browser, zh_dir: Path, run_dir: Path) -> None:
    sites = pd.read_csv(run_dir / "sites.csv", dtype={"id": str})
    page, _, _ = _open(browser, run_dir / "map.html")
    page.locator(".allocator-new").first.click()
    page.wait_for_selector(".leaflet-popup-content")
    popup = page.inner_text(".leaflet-popup-content")
    first = popup.splitlines()[0]
    new = sites[sites["status"] == "new"]
    row = new[[site_place("en", p, i) == first for p, i in zip(new["place"], new["id"])]]
    assert len(row) == 1 and row["id"].iloc[0] in popup and "service\tclinics" in popup
    assert first.startswith("the centre of a ") and " m cell near " in first   # an H3 cell, not a building
    assert f"{row['lat'].iloc[0]:.4f}, {row['lon'].iloc[0]:.4f}" in popup
    page.close()
    with_districts = pd.read_csv(zh_dir / "sites.csv", dtype={"id": str})
    assert with_districts["district"].str.len().gt(0).all()
    assert not with_districts["district"].str.fullmatch(r"[0-9a-f]{15}").any()   # never a bare H3 code


@pytest.fixture(scope="module")
def osm_dir(tmp_path_factory, mirror: Path, sync_api) -> Path:
    """São Paulo with candidate sites read from OpenStreetMap: only features without a name."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    os.environ.setdefault("ALLOCATOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    folder = tmp_path_factory.mktemp("osm_names")
    grid = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
    scenario = {
        "name": "spo_osm_names", "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
        "demand": [{"name": "residents", **grid, "population": "population"}],
        "services": [{"name": "clinics", "objective": "p_median", "threshold_min": 8, "p": 2,
                      "existing": {**grid, "count": "healthcare"},
                      "candidates": {"osm": "network", "tags": {"amenity": ["parking_space", "toilets"],
                                                                "building": ["house"]}}}],
        "output": {"tiles": False},
    }
    path = folder / "spo.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    assert main([str(path), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out" / "spo_osm_names"


def test_an_osm_site_without_a_name_is_named_by_its_street(browser, osm_dir: Path) -> None:
    """Issue 24: an OSM-read new site is never named "building": its popup names its street, the type after."""
    sites = pd.read_csv(osm_dir / "sites.csv", dtype={"id": str})
    new = sites[sites["status"] == "new"]
    assert len(new) == 2 and new["id"].str.fullmatch(r"(node|way)/\d+").all()
    page, errors, _ = _open(browser, osm_dir / "map.html")
    for k in range(2):
        page.locator(".allocator-new").nth(k).click()
        page.wait_for_selector(".leaflet-popup-content")
        first = page.inner_text(".leaflet-popup-content").splitlines()[0]
        assert first in set(new["place"])
        street, kind = first.rsplit(" — ", 1)
        assert kind in ("parking_space", "toilets", "house")
        assert street.startswith("Rua ") or street.startswith("Avenida ")   # its street (or address), not coordinates
        page.keyboard.press("Escape")
    assert errors == []
    page.close()


def test_report_prints_to_a4(browser, run_dir: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 703, "height": 1000})   # A4 less 12 mm margins, at 96 dpi
    page.goto((run_dir / "report.html").as_uri())
    page.emulate_media(media="print")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length""")
    assert wide == 0
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    page.close()


def test_chinese_report_charts_render_cjk(browser, zh_dir: Path, tmp_path: Path) -> None:
    from matplotlib import font_manager

    from allocator.outputs import labels

    font = labels.cjk_font()
    if font is None:
        pytest.skip("no Simplified Chinese font installed (fonts-noto-cjk)")
    assert font == "Noto Sans CJK SC"
    # a real CJK font draws two different words differently; a font without the glyphs draws the same boxes
    def drawn(text: str, family: str) -> bytes:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(2, 0.5), dpi=80)
        fig.text(0.05, 0.3, text, family=family, fontsize=14)
        fig.canvas.draw()
        pixels = bytes(fig.canvas.buffer_rgba())
        plt.close(fig)
        return pixels
    before, after = labels.translate("zh", "before"), labels.translate("zh", "after")
    assert drawn(before, font) != drawn(after, font)
    with pytest.warns(UserWarning, match="missing from font"):   # tofu: the test can tell
        assert drawn(before, "DejaVu Sans") == drawn(after, "DejaVu Sans")
    path = font_manager.findfont(font, fallback_to_default=False)
    assert "NotoSansCJK" in path
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto((zh_dir / "report.html").as_uri())
    sizes = page.evaluate("() => [...document.querySelectorAll('.figs img:not(.overview)')].map(i => i.naturalWidth)")
    assert len(sizes) == 3 and min(sizes) > 100
    text = page.inner_text("body")
    assert "新建以下 3 处诊所" in text and "儿童" in text and "max_coverage" not in text and "clinic," not in text
    page.locator(".figs").first.screenshot(path=str(tmp_path / "zh_charts.png"))
    page.goto((zh_dir / "map.html").as_uri())
    page.hover(".leaflet-control-layers")
    assert "规划后出行时间" in page.inner_text(".leaflet-control-layers")
    assert "超过 8 分钟的人口" in page.inner_text("#allocator-title")
    page.close()


#: per plan title, how many facility markers and counters circles of that plan are on the map now
PLAN_LAYERS = """(titles) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const n = Object.fromEntries(titles.map(t => [t, 0]));
    map.eachLayer(l => {
        const text = (l.feature && String(l.feature.properties.tip)) || (l.getTooltip && l.getTooltip()
            && String(l.getTooltip().getContent().textContent || l.getTooltip().getContent())) || "";
        titles.forEach(t => { if (text.includes(t)) n[t]++; });
    });
    return n;
}"""


def test_counters_map_shows_one_alternative_at_a_time(browser, tmp_path: Path) -> None:
    """Issue 24: alternative plans are never drawn together; the title box's radio buttons choose the one shown."""
    assert main([str(alternatives_scenario(tmp_path)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    page, errors, _ = _open(browser, tmp_path / "out" / "counters" / "map.html")
    plans = ["Plan A: desks moved", "Plan B: desks added"]
    page.wait_for_timeout(300)   # the lazy facility layers build in their own task
    shown = page.evaluate(PLAN_LAYERS, plans)
    assert shown[plans[0]] == 4 and shown[plans[1]] == 0      # 2 offices + 2 counters circles of plan A only
    assert page.is_checked("#allocator-plan-0") and not page.is_checked("#allocator-plan-1")
    assert page.is_visible("#allocator-keys-0") and page.is_hidden("#allocator-keys-1")   # the legend: drawn plan
    page.check("#allocator-plan-1")
    page.wait_for_timeout(300)
    shown = page.evaluate(PLAN_LAYERS, plans)
    assert shown[plans[0]] == 0 and shown[plans[1]] == 4
    assert page.is_hidden("#allocator-keys-0") and page.is_visible("#allocator-keys-1")
    assert page.is_hidden("#allocator-legend-0") and page.is_visible("#allocator-legend-1")
    page.hover(".leaflet-control-layers")            # the layer control's shading radio follows the plan
    checked = page.evaluate("""() => [...document.querySelectorAll('.leaflet-control-layers-base input')]
        .filter(i => i.checked).map(i => i.nextElementSibling.textContent.trim())""")
    assert checked == ["Plan B: desks added — travel time after"]
    page.check("#allocator-plan-0")
    page.wait_for_timeout(300)
    assert page.evaluate(PLAN_LAYERS, plans) == {plans[0]: 4, plans[1]: 0}
    assert errors == []
    page.close()


def pdf_pages(pdf: Path) -> int:
    """The number of pages of a PDF that Chromium wrote (its page objects)."""
    import re

    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def test_counters_report_prints_on_at_most_4_a4_pages(browser, mirror: Path, tmp_path: Path) -> None:
    """Issue 24: the counters demo's report printed to A4 (the demo scenario itself, on the Porto Alegre data)."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "poa_counters.yaml"
    assert main([str(scenario), "--out", str(tmp_path / "out"), "--quiet", "--no-tiles"]) == 0
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto((tmp_path / "out" / "poa_counters" / "report.html").as_uri())
    pdf = tmp_path / "counters.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert 2 <= pdf_pages(pdf) <= 4
    # the per-office table is collapsed (and so not printed), every office is in sites.csv
    assert page.locator("details.offices").count() == 2 and page.locator("details.offices[open]").count() == 0
    sites = pd.read_csv(tmp_path / "out" / "poa_counters" / "sites.csv")
    assert sites["counters_after"].notna().all()
    page.close()


def _overview_labels(report: str) -> dict[int, tuple[float, float]]:
    """The overview map's rank numbers in report.html: rank -> (x, y) of its label in the SVG (y downwards)."""
    import base64
    import re

    found = re.findall(r"<img class='overview' alt='[^']*' src='data:image/svg\+xml;base64,([^']+)'>", report)
    assert len(found) == 1
    svg = base64.b64decode(found[0]).decode()
    labels = re.findall(r'<g id="rank-(\d+)">.*?<text [^>]*x="([-\d.]+)" y="([-\d.]+)"[^>]*>(\d+)</text>', svg, re.S)
    assert all(n == text for n, _, _, text in labels)   # each group holds its own number
    assert "© OpenStreetMap contributors" in svg and "<image" in svg   # the credit; the cells as one image
    return {int(n): (float(x), float(y)) for n, x, y, _ in labels}


def test_report_overview_map_and_ranks_match_sites_csv(browser, run_dir: Path) -> None:
    """Issue 24: rank n is the same site in the report's table, its overview map, sites.csv and map.html."""
    import re

    sites = pd.read_csv(run_dir / "sites.csv", dtype={"id": str})
    new = sites[sites["status"] == "new"].sort_values("rank")
    assert new["rank"].tolist() == list(range(1, len(new) + 1)) and sites.loc[sites["status"] != "new", "rank"].isna().all()
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    table = re.findall(r"<tr><td>(\d+)</td><td><b>.*?</b><br><small>(?:<span[^>]*>)?([0-9a-f]{15})(?:</span>)? · ",
                       report)   # ids from the data are marked as names (a span)
    assert [(int(r), i) for r, i in table] == list(zip(new["rank"].astype(int), new["id"]))
    labels = _overview_labels(report)
    assert sorted(labels) == new["rank"].astype(int).tolist()
    # the labels sit where the sites are: the same order west to east and north to south
    by_lon = new.sort_values("lon")["rank"].astype(int).tolist()
    by_lat = new.sort_values("lat", ascending=False)["rank"].astype(int).tolist()
    assert sorted(labels, key=lambda r: labels[r][0]) == by_lon and sorted(labels, key=lambda r: labels[r][1]) == by_lat
    assert "href='map.html'" in report and "id='plan-clinics'" in report
    page, errors, _ = _open(browser, run_dir / "map.html")
    assert page.get_attribute("#allocator-report-link", "href") == "report.html"
    assert page.locator("#allocator-title a[href='report.html#plan-clinics']").count() == 1
    page.wait_for_selector(".allocator-new")
    shown = page.evaluate("""() => {   // each new-site marker: the number on its symbol, its popup
        const map = Object.values(window).find(v => v instanceof L.Map);
        const out = [];
        map.eachLayer(l => {
            const icon = l.getElement && l.getElement();
            if (icon && icon.classList.contains('allocator-new'))
                out.push([icon.querySelector('.allocator-rank').textContent, String(l.getPopup().getContent())]);
        });
        return out;
    }""")
    assert len(shown) == len(new)
    for number, popup in shown:
        site = new[new["rank"] == int(number)]
        assert len(site) == 1 and site["id"].iloc[0] in popup and f">{number} in the report" in popup
    assert errors == []
    page.close()


#: per legend row (data-layer) of the shown service's legend: is it displayed
LEGEND_ROWS = """() => {
    const box = [...document.querySelectorAll('.allocator-legend-service')].find(b => b.style.display !== 'none');
    return Object.fromEntries([...box.querySelectorAll('[data-layer]')]
        .map(r => [r.dataset.layer, r.style.display !== 'none']));
}"""

def test_legend_lists_only_drawn_layers_and_covers_no_data(browser, shared_dir: Path) -> None:
    """Issue 24: a legend row shows while its layer is drawn; the first view keeps the data clear of the boxes."""
    page, errors, _ = _open(browser, shared_dir / "map.html")
    assert page.evaluate(LEGEND_ROWS) == {"time": True, "change": False, "under_after": True, "under_before": False,
                                          "people_after": False, "catchments": False}
    page.hover(".leaflet-control-layers")
    page.get_by_text("clinics — catchments").click()
    page.wait_for_timeout(200)
    assert page.evaluate(LEGEND_ROWS)["catchments"] is True
    page.get_by_text("clinics — change (after − before)").click()
    page.wait_for_timeout(200)
    rows = page.evaluate(LEGEND_ROWS)
    assert rows["change"] is True and rows["time"] is False
    page.close()
    page, errors, _ = _open(browser, shared_dir / "map.html")
    # the cells' extent on screen: the demand bounds the page was fitted to
    import geopandas as gpd

    west, south, east, north = gpd.read_file(shared_dir / "demand.geojson").total_bounds
    clear = page.evaluate("""([w, s, e, n]) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const sw = map.latLngToContainerPoint([s, w]), ne = map.latLngToContainerPoint([n, e]);
        return {west: sw.x, east: ne.x, title: document.getElementById('allocator-title').getBoundingClientRect().right,
                legend: document.getElementById('allocator-legend').getBoundingClientRect().left};
    }""", [float(west), float(south), float(east), float(north)])
    assert clear["title"] < clear["west"] and clear["east"] < clear["legend"]
    # each service its own shape of existing site: the schools' are squares, not circles like the clinics'
    squares = page.locator(".allocator-existing.allocator-service-1")
    assert squares.count() > 0 and "■" in squares.first.inner_text()
    assert errors == []
    page.close()


def test_shared_budget_report_names_children_and_drops_the_empty_district_column(shared_dir: Path) -> None:
    report = (shared_dir / "report.html").read_text(encoding="utf-8")
    assert "children within 10 minutes" in report and "residents within 10 minutes" not in report
    assert "<th>District</th>" not in report   # no districts in this scenario: no empty column


def test_clinics_decision_fits_the_first_a4_page(browser, mirror: Path, tmp_path: Path) -> None:
    """Issue 24: the clinics demo's whole decision prints on page 1 (a print of the page up to the decision's end
    is one A4 page), and the whole report prints."""
    os.environ["ALLOCATOR_DATA_MIRROR"] = str(mirror)
    assert main([str(REPO / "scenarios" / "poa_clinics.yaml"), "--out", str(tmp_path / "out"), "--quiet",
                 "--no-tiles"]) == 0
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto((tmp_path / "out" / "poa_clinics" / "report.html").as_uri())
    whole = tmp_path / "whole.pdf"
    page.pdf(path=str(whole), format="A4")
    assert pdf_pages(whole) >= 2
    assert page.locator("section.decision table.sites tbody tr").count() == 10
    page.evaluate("""() => {   // keep the title and the decision only
        const decision = document.querySelector('section.decision');
        let next = decision.nextElementSibling;
        while (next) { const n = next.nextElementSibling; next.remove(); next = n; }
    }""")
    first = tmp_path / "decision.pdf"
    page.pdf(path=str(first), format="A4")
    assert pdf_pages(first) == 1
    page.close()
