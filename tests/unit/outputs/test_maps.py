"""Tests for allocator.outputs.map: the HTML is safe, light, offline-capable and renders in a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from allocator.outputs.map import ServiceLayer, render_map
from allocator.solve.run_info import ATTRIBUTION

CHROMIUM = Path("/usr/bin/chromium")
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TILE_HOSTS = ("tile.openstreetmap", "basemaps.cartocdn")
LAYERS = (
    "clinics — travel time after",
    "clinics — travel time before",
    "clinics — change (after − before)",
    "clinics — underserved after (&gt; 15 min)",
    "clinics — underserved before (&gt; 15 min)",
    "clinics — catchments",
    "clinics — existing",
    "clinics — new",
)


def _hexes(n: int) -> list[str]:
    """``n`` H3 res-9 cells in growing rings around central Porto Alegre."""
    centre = h3.latlng_to_cell(-30.0346, -51.2177, 9)
    k = 0
    while len(cells := h3.grid_disk(centre, k)) < n:
        k += 1
    return sorted(cells, key=lambda c: (h3.grid_distance(centre, c), c))[:n]


def _layer(n_cells: int = 10) -> ServiceLayer:
    cells = _hexes(n_cells)
    rng = np.random.default_rng(0)
    # h3 gives (lat, lng); shapely wants (x=lng, y=lat).
    polys = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    after = rng.uniform(0, 40, n_cells)
    after[0] = np.nan  # unreachable
    demand = gpd.GeoDataFrame(
        {
            "id": cells,
            "population": rng.uniform(50, 2000, n_cells),
            "time_before": after + 5,
            "time_after": after,
        },
        geometry=polys,
        crs="EPSG:4326",
    )
    centroids = [p.centroid for p in polys[:4]]
    facilities = gpd.GeoDataFrame(
        {
            "id": ["f1", "f2", "f3", "f4"],
            "name": [EVIL, 'O\'Brien & "Sons"', "Posto Centro", "Nova UBS"],
            "status": ["existing", "existing", "existing", "new"],
            "count": [1, 1, 2, 1],
        },
        geometry=[Point(c.x, c.y) for c in centroids],
        crs="EPSG:4326",
    )
    headline = {
        "population": float(demand["population"].sum()),
        "within_before": 0.61,
        "within_after": 0.74,
        "underserved_before": 310000,
        "underserved_after": 211000,
        "mode": "walk",
    }
    return ServiceLayer("clinics", "clinic", 15.0, demand, facilities, headline)


@pytest.fixture
def offline_map(tmp_path: Path) -> Path:
    return render_map(
        "Porto Alegre <b>clinics</b>", [_layer()], tmp_path / "out" / "map.html", tiles=False, description="walk, 15 min"
    )


def _unjson(text: str) -> str:
    """Undo the \\uXXXX escapes folium's JSON encoding puts on data inside <script>."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def test_writes_safe_self_contained_html(offline_map: Path) -> None:
    text = offline_map.read_text(encoding="utf-8")
    decoded = _unjson(text)  # what the browser sees once the JSON is parsed
    assert ATTRIBUTION in text
    assert EVIL not in text and EVIL not in decoded
    assert EVIL_ESCAPED in decoded
    assert "O&#39;Brien &amp; &#34;Sons&#34;" in decoded   # a popup: HTML from its template, escaped
    assert "Porto Alegre &lt;b&gt;clinics&lt;/b&gt;" in text
    for layer in LAYERS:
        assert layer in decoded
    assert "travel time, minutes" in text
    assert not any(host in text for host in TILE_HOSTS)
    # Leaflet inlined: no external script or stylesheet at all.
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+stylesheet", text)


def test_tiles_use_carto_and_credit_osm(tmp_path: Path) -> None:
    text = render_map("t", [_layer()], tmp_path / "map.html").read_text(encoding="utf-8")
    assert "basemaps.cartocdn" in text
    assert ATTRIBUTION in text
    assert "CARTO" in text


def test_new_and_existing_facilities_differ(offline_map: Path) -> None:
    text = _unjson(offline_map.read_text(encoding="utf-8"))
    assert "CircleMarker" in text  # existing: circle markers
    assert "DivIcon" in text and "allocator-new" in text and "&#9733;" in text  # new: green star


def test_cdn_mode_links_leaflet_only(tmp_path: Path) -> None:
    text = render_map("t", [_layer()], tmp_path / "map.html", tiles=False, inline_assets=False).read_text(encoding="utf-8")
    assert "leaflet@1.9.4/dist/leaflet.js" in text
    assert "jquery" not in text.lower() and "bootstrap" not in text.lower()


def test_point_demand_and_empty_facilities(tmp_path: Path) -> None:
    layer = _layer()
    centres = [Point(lng, lat) for lat, lng in map(h3.cell_to_latlng, layer.demand["id"])]
    layer.demand = layer.demand.set_geometry(gpd.GeoSeries(centres, crs="EPSG:4326"))
    layer.facilities = layer.facilities.iloc[:0]
    text = _unjson(render_map("points", [layer], tmp_path / "map.html", tiles=False).read_text(encoding="utf-8"))
    assert "clinics — new" in text and "CircleMarker" in text


def test_coordinates_rounded_and_map_light(tmp_path: Path) -> None:
    path = render_map("big", [_layer(1227)], tmp_path / "map.html", tiles=False)
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 3_000_000  # three shadings, two underserved outlines, catchments; demo budget is 5 MB
    assert not re.search(r"-(?:30|51)\.\d{6,}", text)


def test_empty_demand_and_nobody_underserved(tmp_path: Path) -> None:
    empty = _layer()
    empty.demand = empty.demand.iloc[:0]
    served = _layer()
    served.name = "schools"
    served.demand["time_after"] = 1.0
    path = render_map("edge cases", [empty, served], tmp_path / "map.html", tiles=False)
    assert "schools — underserved" in _unjson(path.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.browser
def test_renders_in_chromium(offline_map: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            def dismiss(dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", dismiss)
            page.goto(offline_map.as_uri())
            page.wait_for_selector(".leaflet-control-layers")

            assert page.locator(".leaflet-control-layers-expanded").count() == 0   # collapsed until asked
            page.hover(".leaflet-control-layers")
            control = page.inner_text(".leaflet-control-layers")
            for layer in LAYERS:
                assert layer.replace("&gt;", ">") in control

            fills = """() => {
                const map = Object.values(window).find(v => v instanceof L.Map);
                const out = [];
                map.eachLayer(l => { if (l instanceof L.Polygon && l.options.fill !== false) out.push(l.options.fillColor); });
                return out;
            }"""
            page.wait_for_function(f"() => ({fills})().length === 10")
            after = page.evaluate(fills)
            page.get_by_label("clinics — travel time before").check()   # a radio: one shading at a time
            page.wait_for_function(f"() => ({fills})().length === 10 && ({fills})().join() !== {json.dumps(after)}.join()")
            assert len(page.evaluate(fills)) == 10

            page.locator(".allocator-new").click()
            page.wait_for_selector(".leaflet-popup-content")
            assert "Nova UBS" in page.inner_text(".leaflet-popup-content")

            # Click the existing facility whose name is a script tag, where Leaflet drew it.
            page.keyboard.press("Escape")
            x, y = page.evaluate(
                """() => {
                    const map = Object.values(window).find(v => v instanceof L.Map);
                    map.stop();   // the first popup's auto-pan may still be animating: click where it is now
                    let found = null;
                    map.eachLayer(l => {
                        if (l.feature && l.getLatLng && String(l.feature.properties.tip).includes('&lt;script')) found = l;
                    });
                    const pt = map.latLngToContainerPoint(found.getLatLng());
                    const box = map.getContainer().getBoundingClientRect();
                    return [pt.x + box.left, pt.y + box.top];
                }"""
            )
            page.mouse.click(x, y)
            page.wait_for_function(
                "() => document.querySelector('.leaflet-popup-content')?.innerText.includes('alert(1)')"
            )
            assert EVIL in page.inner_text(".leaflet-popup-content")
            page.screenshot(path=str(tmp_path / "map.png"))
        finally:
            browser.close()
    assert errors == []
    assert dialogs == []


def test_change_catchments_districts_and_statuses(tmp_path: Path) -> None:
    layer = _layer(30)
    layer.demand["time_before"] = layer.demand["time_after"] + 5
    layer.demand.loc[1, "time_before"] = np.nan  # became reachable
    layer.demand["assigned_facility"] = np.arange(30) % 4
    layer.demand.loc[0, "assigned_facility"] = -1  # unreachable: no catchment
    layer.demand["district"] = np.where(np.arange(30) < 15, "Centro <b>", "Norte")
    layer.facilities["status"] = ["existing", "closed", "existing", "new"]
    layer.facilities["assigned_population"] = [100.0, 0.0, 2500.0, 1234567.0]
    layer.facilities["mean_time_min"] = [3.25, np.nan, 9.0, 12.5]
    path = render_map("all layers", [layer], tmp_path / "map.html", tiles=False)
    text = _unjson(path.read_text(encoding="utf-8"))
    for name in ("clinics — change (after − before)", "clinics — catchments", "clinics — districts (share within T)",
                 "clinics — closed"):
        assert name in text
    assert "#053061" in text  # newly reachable colour
    # a district's tooltip is plain text in the JSON, set as the tooltip's text (never parsed as HTML)
    raw = path.read_text(encoding="utf-8")
    assert "district Centro <b>" in text and "Centro <b>" not in raw and "Centro \\u003cb>" in raw
    assert "bindTooltip(allocatorText(f.properties.tip)" in raw
    assert "catchment of Nova UBS (new): 1,234,567 people" in text
    assert "1,234,567" in text and "12.5 min" in text and "3.2 min" in text
    assert "allocator-closed" in text
    assert "districts: share of people within T after" in text


def _legend_html(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index("<div id='allocator-legend'")
    return text[start:text.index("<div id='allocator-attribution'", start)]


@pytest.mark.parametrize("statuses, shown", [
    (["existing", "existing", "existing", "new"], ["existing", "new"]),
    (["existing", "closed", "existing", "new"], ["existing", "new", "closed"]),
    (["new", "new", "new", "new"], ["new"]),                     # greenfield: no existing facilities
])
def test_legend_lists_only_the_facility_statuses_on_the_map(statuses, shown, tmp_path: Path) -> None:
    layer = _layer()
    layer.facilities["status"] = statuses
    legend = _legend_html(render_map("legend", [layer], tmp_path / "map.html", tiles=False))
    keys = re.findall(r"</span> (existing|new|closed|relocated)\b", legend)
    assert keys == shown, legend


def test_compare_page_is_offline_and_escaped(tmp_path: Path) -> None:
    layer = _layer()
    layer.name = "<img src=x onerror=alert(1)>"
    render_map("<b>t</b>", [layer], tmp_path / "map.html", tiles=False)
    main = (tmp_path / "map.html").read_text(encoding="utf-8")
    page = (tmp_path / "map_compare.html").read_text(encoding="utf-8")
    assert "href='map_compare.html'" in main
    assert "<img src=x" not in page and "&lt;img src=x" in page   # the service chooser's option
    # in the data the name is plain text, and the page shows data only as text
    script = page[page.index("var DATA"):]
    assert '"name":"\\u003cimg src=x' in script and "innerHTML" not in script and "textContent" in script
    assert "&lt;b&gt;t&lt;/b&gt;" in page
    assert not re.search(r"<script[^>]+src=", page) and not any(h in page for h in TILE_HOSTS)
    assert "cdn." not in main.lower() and "cdn." not in page.lower()  # no Fullscreen or Leaflet.Sync from a CDN
    assert not (tmp_path / "other_compare.html").exists()
    render_map("t", [layer], tmp_path / "other.html", tiles=False, compare=False)
    assert not (tmp_path / "other_compare.html").exists()


def test_assignment_counts_every_reachable_person() -> None:
    from allocator.evaluate.facilities import facility_rows, served
    from allocator.solve.kernels import nearest_open as assign

    inf = np.inf
    cost = np.array([[1.0, 5.0, 2.0], [9.0, 3.0, 1.0], [inf, inf, inf], [4.0, 4.0, inf]])
    open_mask = np.array([True, False, True])  # sites 0 and 2 open -> facility rows 0 and 1
    assigned = facility_rows(assign(cost, open_mask)[0], open_mask)
    assert assigned.tolist() == [0, 1, -1, 0]
    demand = gpd.GeoDataFrame({"population": [10.0, 20.0, 30.0, 40.0], "time_after": [1.0, 1.0, np.nan, 4.0],
                               "assigned_facility": assigned})
    people, mean = served(demand, 2)
    assert people.tolist() == [50.0, 20.0]
    assert mean == pytest.approx([(10 * 1 + 40 * 4) / 50, 1.0])
    assert facility_rows(assign(cost, np.zeros(3, bool))[0], np.zeros(3, bool)).tolist() == [-1] * 4


def test_facilities_and_point_outlines_keep_their_panes(tmp_path: Path) -> None:
    """Facility circles stay above any shading switched on later; point outlines in the underserved pane."""
    layer = _layer()
    centres = [Point(lng, lat) for lat, lng in map(h3.cell_to_latlng, layer.demand["id"])]
    layer.demand = layer.demand.set_geometry(gpd.GeoSeries(centres, crs="EPSG:4326"))
    text = render_map("panes", [layer], tmp_path / "map.html", tiles=False).read_text(encoding="utf-8")
    assert '"pane":"facilities"' in text and "renderer(map, 'underserved')" in text


def test_names_from_data_are_not_templates(tmp_path: Path) -> None:
    """Text from data is placed as it is: ``{{ ... }}`` in a title or a cell id is not run as a template."""
    layer = _layer()
    layer.demand.loc[0, "id"] = "{{ 7 * 7 }}"
    text = render_map("{{ 6 * 7 }} {% if true %}", [layer], tmp_path / "map.html", tiles=False).read_text(encoding="utf-8")
    assert "{{ 6 * 7 }} {% if true %}" in text and ">42<" not in text
    data = re.search(r'<script type="application/json" id="allocatorData0">(.*?)</script>', text, re.S)
    assert data is not None and json.loads(data.group(1))["ids"][0] == "{{ 7 * 7 }}"   # the id, as it is


def test_compare_tooltip_minutes_speak_the_page_language() -> None:
    from allocator.outputs.labels import MAP
    from allocator.outputs.map_style import fmt_min

    assert fmt_min(3.04, MAP["zh"]["tip"]) == "3.0 分钟" and fmt_min(float("nan"), MAP["zh"]["tip"]) == "不可达"
    assert fmt_min(3.04, MAP["en"]["tip"]) == "3.0 min" and fmt_min(float("nan"), MAP["en"]["tip"]) == "unreachable"
