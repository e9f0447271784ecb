"""Hostile names through every layer that can carry one, then every page in Chromium and every CSV cell.

A name from data is untrusted text: a CSV name column (existing and candidate sites), an OSM ``name``
tag of a site, a street name that becomes a site's place, a district name (a polygon layer's name
column, an OSM boundary's ``name``), the scenario's title, description and a target's label. Two
scenarios on a tiny synthetic town (one street and one district per hostile name, a counters service
whose offices are named by their streets) run in one ``--compare`` command line, in a child process
with a timeout and a memory limit. Then every HTML page written is opened in headless Chromium: no
script from data runs (nothing writes ``document.title``, no ``pageerror``), the map draws, and every
hostile name is shown as literal text (page, tooltips and popups). Every CSV cell is checked as a
spreadsheet would read it (:mod:`allocator.outputs.csv_cells`).
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

import folium
import pandas as pd
import pytest
import yaml
from test_browser import ARGS, CHROMIUM
from test_hostile import MEMORY_LIMIT, REPO, TIMEOUT_S

from allocator.outputs.csv_cells import FORMULA_START, spreadsheet_text, write_csv
from allocator.outputs.map_cells import TextTooltip, payload

HOSTILE = [
    '${document.title="PWNED"}',
    "Clinic `Sé`",
    '</script><script>document.title="PWNED"</script>',
    "\"><img src=x onerror=document.title='PWNED'>",
    "'; document.title='PWNED'; '",
    "{{7*7}}",
    "{% if x %}{# Jinja",
    "{{ lipsum.__globals__.os.getcwd() }}",
    "Posto\u2028Line\u2029Para",
    "<!-- Centro",
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tTab clinic",
    "\rCR clinic",
    "保健站 中心",
    "$\\frac$ x",
]
TITLE = '</title><script>document.title="PWNED"</script>${document.title="PWNED"} `x` {{7*7}} =1+1'
LAT0, LON0, STEP = 47.0, 9.0, 0.003   # one east-west street per name, about 330 m apart
#: input CSVs as RFC 4180 has them (pandas leaves a lone CR in a cell unquoted with its default "\n")
CSV = {"index": False, "lineterminator": "\r\n"}
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def norm(text: str) -> str:
    """Text as a page shows it: runs of white space (tab, CR, U+2028, ...) as one space, no space at the ends."""
    return " ".join(text.split())


def unprefixed(cell: str) -> str:
    """A CSV cell as the data had it: the ``'`` that guards a formula-like text dropped."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


# --------------------------------------------------------------------------- #
# the spreadsheet writer on its own                                           #
# --------------------------------------------------------------------------- #

def test_formula_cells_get_a_quote_and_numbers_stay_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": HOSTILE + ["-12", "+3.5e2", "plain", None],
                          "n": list(range(-len(HOSTILE), 0)) + [1, 2, 3, 4]})
    write_csv(frame, tmp_path / "x.csv")
    with open(tmp_path / "x.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["name", "n"]
    cells = [r[0] for r in rows[1:]]
    for cell, original in zip(cells, frame["name"]):
        assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), cell
        assert unprefixed(cell) == (original if isinstance(original, str) else "")
    assert cells[HOSTILE.index("-2+3")] == "'-2+3" and cells[-4:] == ["-12", "+3.5e2", "plain", ""]
    assert [r[1] for r in rows[1:3]] == [str(-len(HOSTILE)), str(1 - len(HOSTILE))]   # negative numbers as they are
    assert frame["name"].iloc[0] == HOSTILE[0]   # the caller's frame is left as it is
    assert spreadsheet_text(-3) == -3 and spreadsheet_text("=A1") == "'=A1"


def test_script_payload_keeps_every_name_and_cannot_leave_the_script() -> None:
    text = payload(HOSTILE)
    assert json.loads(text) == HOSTILE
    assert "<" not in text and "\u2028" not in text and "\u2029" not in text
    assert not re.search(r"\{[{%#]", text)   # no Jinja tag for branca's second rendering to run


def test_a_folium_element_writes_every_name_as_it_is() -> None:
    """branca compiles each element's script as a Jinja template: a name must come out as the same text."""
    fmap = folium.Map(tiles=None)
    for name in HOSTILE:
        folium.CircleMarker([0, 0]).add_to(fmap).add_child(TextTooltip(name))
    script = fmap.get_root().render()
    shown = re.findall(r"\.bindTooltip\(allocatorText\((\".*?\")\), \{\"sticky\": true\}\);", script)
    assert [json.loads(t) for t in shown] == HOSTILE


# --------------------------------------------------------------------------- #
# the town: streets, districts and sites named by HOSTILE                     #
# --------------------------------------------------------------------------- #

def _lat(k: int) -> float:
    return LAT0 + k * STEP


def _attr(text: str) -> str:
    """An XML attribute value keeping tab, CR and LF (an XML parser turns them into spaces otherwise)."""
    return quoteattr(text, {"\t": "&#9;", "\r": "&#13;", "\n": "&#10;"})


def _town_osm(path: Path) -> None:
    """Streets named HOSTILE (unnamed connectors at both ends), a clinic and an admin_level 8 district per name."""
    nodes, ways, n = [], [], len(HOSTILE)
    for k, name in enumerate(HOSTILE):
        refs = []
        for j in range(5):
            node = 1000 * (k + 1) + j
            nodes.append(f'<node id="{node}" lat="{_lat(k)}" lon="{LON0 + 0.002 * j}" version="1"/>')
            refs.append(node)
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        ways.append(f'<way id="{k + 1}" version="1">{nd}<tag k="highway" v="residential"/>'
                    f'<tag k="name" v={_attr(name)}/></way>')
        nodes.append(f'<node id="{90000 + k}" lat="{_lat(k) + 0.0002}" lon="{LON0 + 0.0005}" version="1">'
                     f'<tag k="amenity" v="clinic"/><tag k="name" v={_attr(name)}/></node>')
        corners = [(_lat(k) - STEP / 2, LON0 - 0.001), (_lat(k) - STEP / 2, LON0 + 0.009),
                   (_lat(k) + STEP / 2, LON0 + 0.009), (_lat(k) + STEP / 2, LON0 - 0.001)]
        for c, (la, lo) in enumerate(corners):
            nodes.append(f'<node id="{50000 + 10 * k + c}" lat="{la}" lon="{lo}" version="1"/>')
        nd = "".join(f'<nd ref="{50000 + 10 * k + c}"/>' for c in (0, 1, 2, 3, 0))
        ways.append(f'<way id="{500 + k}" version="1">{nd}<tag k="boundary" v="administrative"/>'
                    f'<tag k="admin_level" v="8"/><tag k="name" v={_attr(name)}/></way>')
    for end, j in enumerate((0, 4)):   # past the first and last street, so no street end is a bend to simplify
        for k in (-1, n):
            nodes.append(f'<node id="{80000 + 100 * end + k + 1}" lat="{_lat(k)}" lon="{LON0 + 0.002 * j}" version="1"/>')
        refs = [80000 + 100 * end] + [1000 * (k + 1) + j for k in range(n)] + [80000 + 100 * end + n + 1]
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        ways.append(f'<way id="{300 + end}" version="1">{nd}<tag k="highway" v="residential"/></way>')
    def by_id(element: str) -> int:   # osmium reads nodes, then ways, each in id order
        return int(element.split('"')[1])

    path.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n"
                    + "\n".join(sorted(nodes, key=by_id) + sorted(ways, key=by_id)) + "\n</osm>\n", encoding="utf-8")


def _town_files(folder: Path) -> None:
    """Demand, sites and a district polygon layer, all CSV/GeoJSON, named by HOSTILE where a name fits."""
    _town_osm(folder / "town.osm")
    pd.DataFrame([{"id": f"d{k}_{j}", "lon": LON0 + 0.001 + 0.002 * j, "lat": _lat(k) + 0.0003, "pop": 100 + k}
                  for k in range(len(HOSTILE)) for j in range(4)]).to_csv(folder / "people.csv", index=False)
    pd.DataFrame([{"id": f"e{k}", "label": name, "lon": LON0 + 0.0005, "lat": _lat(k) + 0.0002}
                  for k, name in enumerate(HOSTILE)]).to_csv(folder / "clinics.csv", **CSV)
    pd.DataFrame([{"id": f"c{k}", "label": HOSTILE[(k + 5) % len(HOSTILE)], "lon": LON0 + 0.007,
                   "lat": _lat(k) - 0.0002} for k in range(len(HOSTILE))]).to_csv(folder / "candidates.csv", **CSV)
    pd.DataFrame([{"id": f"o{k}", "lon": LON0 + 0.004, "lat": _lat(k) + 0.0001, "desks": 1 + k % 3}
                  for k in range(len(HOSTILE))]).to_csv(folder / "offices.csv", index=False)
    pd.DataFrame([{"id": f"s{k}", "lon": LON0 + 0.006, "lat": _lat(k) + 0.0001}
                  for k in range(len(HOSTILE))]).to_csv(folder / "office_sites.csv", index=False)
    features = [{"type": "Feature", "properties": {"code": f"z{k}", "label": name}, "geometry": {
        "type": "Polygon", "coordinates": [[[LON0 - 0.001, _lat(k) - STEP / 2], [LON0 + 0.009, _lat(k) - STEP / 2],
                                            [LON0 + 0.009, _lat(k) + STEP / 2], [LON0 - 0.001, _lat(k) + STEP / 2],
                                            [LON0 - 0.001, _lat(k) - STEP / 2]]]}}
                for k, name in enumerate(HOSTILE)]
    (folder / "zones.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def _scenario(name: str, *, osm_names: bool, p: int) -> dict:
    """Clinics (OSM-named or CSV-named existing, CSV-named candidates) and counters offices named by streets."""
    xy = {"id": "id", "lon": "lon", "lat": "lat"}
    clinics = ({"osm": "network", "tags": {"amenity": ["clinic"]}} if osm_names
               else {"source": "clinics.csv", **xy, "name_column": "label"})
    return {
        "name": name, "title": TITLE, "description": " | ".join(HOSTILE),
        "network": {"source": "town.osm", "mode": "walk"},
        "demand": [{"name": "residents", "source": "people.csv", **xy, "population": "pop"}],
        "districts": ({"osm": "network", "admin_level": 8} if osm_names
                      else {"source": "zones.geojson", "id": "code", "name_column": "label"}),
        "services": [
            {"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 5, "p": p,
             "existing": clinics, "candidates": {"source": "candidates.csv", **xy, "name_column": "label"}},
            {"name": "offices", "kind": "service_counter", "objective": "p_median", "threshold_min": 10, "p": 0,
             "existing": {"source": "offices.csv", **xy}, "candidates": {"source": "office_sites.csv", **xy},
             "counters": {"visits_per_person_day": 0.05, "opening_hours": 8, "service_min": 20,
                          "decision": "reassign", "today": "desks", "staff": 40, "wait_limit_min": 15}},
        ],
        "targets": [{"metric": "within_share", "min": 0.5, "label": HOSTILE[1] + " " + HOSTILE[0]}],
        "output": {"tiles": False},
    }


def _bounded() -> None:
    """In the child: at most test_hostile's MEMORY_LIMIT of address space (two scenario files: not run_child)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Path:
    """Both scenarios run with --compare in a child process; the output folder."""
    folder = tmp_path_factory.mktemp("names")
    _town_files(folder)
    for name, osm_names, p in (("town_osm", True, 1), ("town_csv", False, 2)):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(_scenario(name, osm_names=osm_names, p=p),
                                                            allow_unicode=True, sort_keys=False), encoding="utf-8")
    done = subprocess.run([sys.executable, str(REPO / "run_scenario.py"), "town_osm.yaml", "town_csv.yaml",
                           "--compare", "--quiet", "--out", "out"], capture_output=True, text=True, cwd=folder,
                          timeout=TIMEOUT_S, preexec_fn=_bounded,
                          env={**os.environ, "ALLOCATOR_CACHE": str(folder / "cache")})
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr   # a glyph no font has in a name is drawn, not warned about
    return folder / "out"


# --------------------------------------------------------------------------- #
# every CSV cell                                                              #
# --------------------------------------------------------------------------- #

def _csv_cells(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_every_csv_cell_is_spreadsheet_safe_and_keeps_the_name(town: Path) -> None:
    written = sorted(town.rglob("*.csv"))
    assert {p.name for p in written} >= {"sites.csv", "districts.csv", "targets.csv", "comparison.csv"}
    for path in written:
        for row in _csv_cells(path):
            for column, cell in row.items():
                assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), (path, column, cell)
    want = {norm(n) for n in HOSTILE}
    for scenario in ("town_osm", "town_csv"):
        sites = _csv_cells(town / scenario / "sites.csv")
        clinics = {norm(unprefixed(r["name"])) for r in sites if r["service"] == "clinics" and r["status"] == "existing"}
        offices = {norm(unprefixed(r["place"])) for r in sites if r["service"] == "offices" and r["status"] == "existing"}
        districts = {norm(unprefixed(r["district_name"])) for r in _csv_cells(town / scenario / "districts.csv")}
        assert clinics == want, scenario        # OSM name tags / the CSV name column
        assert offices == want, scenario        # street names as places
        assert want <= districts, scenario      # OSM boundary names / the polygon layer's name column


# --------------------------------------------------------------------------- #
# every page in Chromium                                                      #
# --------------------------------------------------------------------------- #

#: before any page script: every write of document.title is recorded (a script from data would write it)
TRAP = """
window.__titleWrites = [];
(function () {
  var own = Object.getOwnPropertyDescriptor(Document.prototype, 'title');
  Object.defineProperty(document, 'title', {configurable: true,
    get: function () { return own.get.call(document); },
    set: function (v) { window.__titleWrites.push(String(v)); own.set.call(document, v); }});
  window.alert = function (v) { window.__titleWrites.push('alert:' + v); };
})();
"""

#: every overlay switched on, then every tooltip and popup opened: (the texts shown, leaflet layers drawn)
SHOW_ALL = """
async () => {
  var maps = [];
  Object.keys(window).forEach(function (k) {
    try {
      var v = window[k];
      if (v instanceof L.Map) maps.push(v);
      else if (v instanceof L.Control.Layers) v._layers.forEach(function (o) {
        if (o.overlay && !v._map.hasLayer(o.layer)) v._map.addLayer(o.layer);
      });
    } catch (e) {}
  });
  if (window.maps && window.maps.before instanceof L.Map) maps.push(window.maps.before, window.maps.after);
  await new Promise(function (r) { setTimeout(r, 1500); });   // lazy layers build in their own tasks
  var texts = [], drawn = 0;
  maps.forEach(function (map) {
    map.eachLayer(function (l) {
      drawn += 1;
      [['getTooltip', 'openTooltip', 'closeTooltip'], ['getPopup', 'openPopup', 'closePopup']].forEach(function (f) {
        if (!l[f[0]] || !l[f[0]]()) return;
        try { l[f[1]](); } catch (e) { return; }
        var el = l[f[0]]().getElement();
        if (el) texts.push(el.textContent);
        l[f[2]]();
      });
    });
  });
  document.querySelectorAll('option').forEach(function (o) { texts.push(o.textContent); });
  return {texts: texts, drawn: drawn, body: document.body.innerText, title: document.title,
          writes: window.__titleWrites,
          interactive: document.querySelectorAll('.leaflet-interactive, .leaflet-marker-icon, canvas').length};
}
"""


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _visit(chromium, path: Path, shot: Path | None = None) -> dict:
    """Open ``path`` offline; what SHOW_ALL saw, plus the page errors."""
    page = chromium.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route(re.compile(r"^https?://"), lambda route: route.abort())   # offline: nothing leaves the machine
    page.add_init_script(TRAP)
    page.goto(path.as_uri(), wait_until="load")
    seen = page.evaluate(SHOW_ALL) if page.evaluate("typeof L !== 'undefined'") else {
        "texts": [], "drawn": 0, "interactive": 0, "body": page.inner_text("body"), "title": page.title(),
        "writes": page.evaluate("window.__titleWrites")}
    if shot is not None:
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
    page.close()
    return {**seen, "errors": errors}


#: page: where each hostile name must show as text: "tips" (tooltips and popups only: the title box lists every
#: name in its description) or "body" (the page's text)
PAGES = {
    "town_osm/map.html": "tips", "town_osm/map_compare.html": "tips", "town_osm/report.html": "body",
    "town_csv/map.html": "tips", "town_csv/map_compare.html": "tips", "town_csv/report.html": "body",
    "compare/comparison.html": "",
}


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_written_is_listed_here(town: Path) -> None:
    assert {p.relative_to(town).as_posix() for p in town.rglob("*.html")} == set(PAGES)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("page", sorted(PAGES))
def test_no_name_runs_as_script_and_every_name_shows_as_text(town: Path, chromium, page: str) -> None:
    shot = Path("/work/shots27/hostile_names_map.png") if page == "town_osm/map.html" else None
    seen = _visit(chromium, town / page, shot if shot is not None and shot.parent.parent.exists() else None)
    assert seen["writes"] == [], seen["writes"]          # nothing wrote document.title: no script from data ran
    assert seen["errors"] == [], seen["errors"]          # and none broke the page's own script
    written = re.search(r"<title>(.*?)</title>", (town / page).read_text(encoding="utf-8"), re.S)
    assert written is not None and seen["title"] == html.unescape(written.group(1))   # the page's own title
    assert norm(TITLE) in norm(seen["title"]) or page.startswith("compare/")        # the scenario's, as text
    if page.endswith("map.html") or page.endswith("map_compare.html"):
        assert seen["drawn"] > 0 and seen["interactive"] > 0, seen   # the map rendered its layers
    assert norm(TITLE) in norm(seen["body"])
    shown = norm(" ".join(seen["texts"] if PAGES[page] == "tips" else [seen["body"]]))
    missing = [n for n in HOSTILE if PAGES[page] and norm(n) not in shown]
    assert not missing, missing
    if page.endswith("/map.html"):   # the counters layer: each office's tooltip names it by its street, as text
        # "<plan> — <office>: ...": the plan first (alternatives are never drawn together, a tooltip says which)
        counters = {norm(t.removeprefix("offices — ").split(": ", 1)[0]) for t in seen["texts"] if " counters; " in t}
        assert all(t.startswith("offices — ") for t in seen["texts"] if " counters; " in t)
        assert counters == {norm(n) for n in HOSTILE}, counters


def test_console_never_writes_control_characters_from_the_data(tmp_path: Path, capsys) -> None:
    """A title, a district name or an error message holding a terminal escape is shown escaped, not obeyed."""
    from test_matrix import hand_files

    from allocator.cli import main

    title = "Plan \x1b]0;owned\x07 \x1b[2J\u202eevil"
    path = hand_files(tmp_path, title=title, description="d\x1b[31m")
    capsys.readouterr()
    assert main([str(path), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "Plan \\x1b]0;owned\\x07 \\x1b[2J\\u202eevil" in out
    assert not any(ch in out + err for ch in ("\x1b", "\x07", "\u202e"))
    bad = hand_files(tmp_path, matrix={"source": "m.csv", "origin": "o\x1b[2J"})
    assert main([str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "o\\x1b[2J" in err and "\x1b" not in err


def test_library_warnings_are_one_plain_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """A warning raised inside a run shows as ``warning: <message>``, without the library's file and code."""
    import warnings

    from test_matrix import hand_files

    import allocator.cli as cli_module

    checked = cli_module.output_folders

    def warn_then_check(args):
        warnings.warn("invalid value encountered in from_wkb \x1b[2J", RuntimeWarning, stacklevel=1)
        return checked(args)

    monkeypatch.setattr(cli_module, "output_folders", warn_then_check)
    path = hand_files(tmp_path)
    capsys.readouterr()
    assert cli_module.main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: invalid value encountered in from_wkb \\x1b[2J\n" in err
    assert "RuntimeWarning" not in err and ".py:" not in err and "\x1b" not in err
