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

from allocator.cli import main

pytestmark = pytest.mark.browser

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
