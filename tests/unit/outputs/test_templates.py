"""The pages' templates (allocator.outputs.templates): autoescaped, strict, and every one renders."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import folium
import jinja2
import pytest
from markupsafe import Markup

from allocator.outputs.map import facility_popup
from allocator.outputs.map_cells import TextTooltip, payload
from allocator.outputs.page import Status, html_page
from allocator.outputs.report import caveats_section, data_section
from allocator.outputs.templates import render, template_names

#: a name from data that would run as script, break out of an attribute, or run inside a JS template literal
HOSTILE = "<script>alert(1)</script>\"onmouseover=alert(2) ${x} `"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=alert(2) ${x} `"


def _inert(html: str) -> None:
    assert "<script>alert" not in html and '"onmouseover' not in html
    assert ESCAPED in html


H = HOSTILE
ROW = {"rank": "1", "place": H, "id": H, "at": "1, 2", "district": H, "newly": H, "served": H, "trip": H}
STATUS = Status("met", H)
#: a context for every template, every string the hostile name
CONTEXTS: dict[str, dict] = {
    "page.html": {"lang_tag": "en", "title": H, "subtitle": H, "body": Markup("<p>body</p>"), "footer": [H]},
    "comparison.html": {
        "links": [{"name": H, "folder": H}], "colon": H, "map_word": H, "report_word": H, "targets_title": H,
        "overall_title": H, "appendix": Markup(""), "pairs_title": H,
        "services": [{"name": H, "threshold": H, "sentences": [H], "target_headers": [H],
                      "targets": [{"label": H, "before": {"text": H, "status": STATUS, "best": False},
                                   "cells": [{"text": H, "status": STATUS, "best": True}]}],
                      "metric_headers": [H], "metrics": [], "notes": [H], "chart_title": H, "chart": "AAAA",
                      "pairs": [{"href": H, "text": H}]}]},
    "report/decision.html": {
        "heading": H, "lead": H, "headers": [H], "short_headers": [H], "ranked": [ROW],
        "groups": [{"label": H, "rows": [{**ROW, "newly": None}]}], "buys": [H], "leaves": [H],
        "targets": [{"status": STATUS, "text": H, "value": H}], "staffing": Markup(""), "tradeoffs": [H], "anchor": H, "with_district": True,
        "words": {k: H for k in ("newly_note", "buys", "leaves", "colon", "targets_state", "no_targets_set",
                                 "tradeoffs", "open_map", "cells")}},
    "report/details.html": {
        "name": H, "summary": [H], "target_headers": [H], "overall_headers": [H], "overall": [[H]],
        "targets": [{"text": H, "states": [{"value": H, "worst": H, "status": STATUS}]}],
        "district_headers": [H], "districts": [[H]], "districts_title": H, "figures": [{"title": H, "png": "AAAA"}],
        "words": {k: H for k in ("colon", "details", "summary", "targets", "overall", "districts", "figures",
                                 "threshold")}},
    "report/shared_budget.html": {"title": H, "text": H},
    "report/spending.html": {"title": H, "colon": H, "blocks": [{"service": H, "lines": [H]}], "several": True},
    "report/how_sure_strip.html": {"title": H, "parts": [H], "more": H},
    "report/how_sure.html": {"title": H, "items": [H], "swaps_title": H, "swaps": [H], "chosen_title": H,
                             "chosen": [H]},
    "report/phases.html": {"title": H, "lines": [H], "headers": [H], "rows": [[H]], "note": H},
    "report/alternatives.html": {"text": H},
    "report/overview.html": {"title": H, "maps": [{"title": H, "svg": "AAAA"}], "alt": H, "link": H, "named": True},
    "report/details_same.html": {"name": H, "colon": H, "details": H, "text": H},
    "report/caveats.html": {"title": H, "colon": H, "items": [{"service": H, "text": H}], "empty": H},
    "report/method.html": {"title": H, "colon": H, "items": [{"service": H, "text": H}, {"service": "", "text": H}]},
    "report/data.html": {"title": H, "headers": [H], "rows": [[H]]},
    "report/appendix.html": {"title": H, "items": [H]},
    "sweep.html": {"title": H, "lines": [H], "png": "AAAA", "headers": [H], "rows": [[H]]},
    "staffing.html": {"title": H, "lines": [H], "overall_headers": [H], "overall": [[H]], "offices_title": H,
                      "office_headers": [H], "offices": [[H]]},
    "map/head.html": {"title": H},
    "map/assets.html": {"inline": False, "css": "", "js": "", "css_url": H, "js_url": H},
    "map/attribution.html": {"credit": H},
    "map/title_box.html": {
        "title": H, "description": H, "compare": H, "report": H, "words": {"min": H, "of": H, "side": H, "report": H},
        "services": [{k: H for k in ("colour", "glyph", "name", "t", "mode", "within", "within_before",
                                     "within_after", "population", "underserved", "underserved_before",
                                     "underserved_after", "cells", "link")} | {"radio": 0, "index": 1, "checked": True}]},
    "map/legend.html": {
        "services": [{"name": H, "t": H, "t2": H, "districts": True}],
        "words": {k: H for k in ("legend_time", "legend_change", "unreachable", "newly", "legend_under",
                                 "legend_under_before", "legend_people", "legend_catch", "legend_districts")},
        "colours": {k: H for k in ("time", "change", "districts", "unreachable", "newly", "underserved",
                                   "underserved_before", "people", "catchment")},
        "keys": [{"name": H, "symbols": [{"colour": H, "size": H, "glyph": H, "word": H}], "index": 0,
                  "hidden": True}]},
    "map/popup.html": {"place": H, "cells": [(H, H)]},
    "map/symbol.html": {"size": H, "colour": H, "glyph": H, "rank": H},
    "map/layer_name.html": {"service": H, "layer": H},
    "map/counters_legend.html": {k: H for k in ("ramp", "offices", "colon", "legend", "limit", "high")},
    "map/json.html": {"element_id": H, "data": Markup("{}")},
    "map/compare.html": {"title": H, "page_title": H, "assets": Markup(""), "data": Markup("{}"), "credit": H, "main": H,
                         "services": [{"name": H}], "legend": Markup(""), "back": H},
}


def test_every_template_has_a_context_here() -> None:
    assert set(CONTEXTS) == set(template_names())


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_every_template_renders_and_escapes(name: str) -> None:
    html = render(name, **CONTEXTS[name])
    assert isinstance(html, Markup) and html.strip()
    _inert(html)


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_a_missing_value_raises(name: str) -> None:
    context = dict(CONTEXTS[name])
    context.pop(next(iter(context)))
    with pytest.raises(jinja2.UndefinedError):
        render(name, **context)


def test_report_sections_and_page_escape_names_from_data() -> None:
    service = SimpleNamespace(service=SimpleNamespace(name=H, display_title=H, demand_weights=None), notes=[H])
    source = SimpleNamespace(role=H, name=H, description=H, year=None, licence=H, attribution=H)
    result = SimpleNamespace(services=[service], info=SimpleNamespace(sources=[source], demand_layers=(H,)))
    _inert(caveats_section(result, "en"))
    _inert(data_section(result, "en"))
    page = html_page(H, H, caveats_section(result, "en"), "en", [H])
    _inert(page)
    assert "<script" not in page


def test_a_popup_escapes_names_from_data() -> None:
    row = {"id": H, "name": H, "place": H, "lat": 1.0, "lon": 2.0, "district": H, "status": "new", "count": 1}
    _inert(facility_popup(row, H))


def test_a_counters_tooltip_reaches_the_script_as_json_text() -> None:
    """folium's Tooltip pastes text into a JS template literal: a backtick or ${...} there would run."""
    fmap = folium.Map(tiles=None)
    marker = folium.CircleMarker([0, 0]).add_to(fmap)
    marker.add_child(TextTooltip(H + "</script><!--\u2028"))
    script = fmap.get_root().render()
    call = re.search(r"\.bindTooltip\(allocatorText\((\".*?\")\), \{\"sticky\": true\}\);", script)
    assert call is not None
    assert json.loads(call.group(1)) == H + "</script><!--\u2028"   # one JSON string, set as text by the page
    assert "</script><" not in call.group(1) and "<!--" not in call.group(1) and "\u2028" not in call.group(1)
    assert "bindTooltip(`" not in script                              # no template literal for ${x} to run in


def test_payload_cannot_leave_a_script() -> None:
    text = "</script><script>x()</script><!-- \u2028 \u2029 ${x} `"
    out = payload({"name": text})
    assert json.loads(out) == {"name": text}
    assert "<" not in out and "\u2028" not in out and "\u2029" not in out
