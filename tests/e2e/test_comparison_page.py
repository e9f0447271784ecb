"""The comparison page of four plans: short plan labels instead of titles, every trade-off sentence with the
people it concerns (recomputed from the demand GeoJSONs), and a page that fits 1366 px."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import mirrored_env
from test_browser import browser, sync_api  # noqa: F401  (the module's Chromium fixtures)

from allocator.cli import main

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
#: four plans for the same 2 clinics; two give a label, two take theirs from the name
PLANS = [("spo_cover", "max_coverage", "Most within 8 min"), ("spo_center", "p_center", "Shortest longest"),
         ("spo_median_plan", "p_median", None), ("spo_kolm_pollak_plan", "kolm_pollak", None)]


def _scenario(name: str, objective: str, label: str | None) -> dict:
    doc = {"name": name, "title": f"São Paulo — 2 new clinics, the longest title of a plan: {objective}",
           "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 500},
           "demand": [{"name": "residents", **CELLS, "population": "population"}],
           "services": [{"name": "clinics", "kind": "clinic", "objective": objective, "threshold_min": 8, "p": 2,
                         "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
           "output": {"tiles": False}}
    return {**doc, "label": label} if label else doc


@pytest.fixture(scope="module")
def out(tmp_path_factory, mirror: Path) -> Path:
    folder = tmp_path_factory.mktemp("compare4")
    paths = []
    for name, objective, label in PLANS:
        paths.append(folder / f"{name}.yaml")
        paths[-1].write_text(yaml.safe_dump(_scenario(name, objective, label), allow_unicode=True))
    with mirrored_env(mirror, tmp_path_factory.mktemp("cache")):
        assert main([*map(str, paths), "--out", str(folder / "out"), "--compare", "--quiet"]) == 0
    return folder / "out"


def _text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_plans_go_by_their_short_labels(out: Path) -> None:
    page = (out / "compare" / "comparison.html").read_text(encoding="utf-8")
    text = _text(out / "compare" / "comparison.html")
    labels = ["Most within 8 min", "Shortest longest", "spo median plan", "spo kolm pollak plan"]
    for _, objective, _ in PLANS:   # each full title once: in the list of plans
        assert text.count(f"the longest title of a plan: {objective}") == 1, objective
    heads = re.findall(r"<th>(.*?)</th>", page)
    for label in labels:
        assert f'<span class="name" translate="no">{label}</span>' in heads
    assert re.sub(r"<[^>]+>", "", page.split("<h1>")[1].split("</p>")[0]).endswith(" · ".join(labels))


def _minutes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """People and minutes after of every demand location, read from demand.geojson."""
    rows = [f["properties"] for f in json.loads(path.read_text())["features"]]
    people = np.array([r["population_clinics"] for r in rows], dtype=float)
    after = np.array([np.nan if r["after_min_clinics"] is None else r["after_min_clinics"] for r in rows])
    return people, after


@pytest.mark.slow
def test_tradeoff_sentences_state_the_people_they_concern(out: Path) -> None:
    """The longest-trip sentence's people are recomputed from the two plans' demand.geojson: those of the worse
    plan whose trip is longer than the better plan's longest trip."""
    text = _text(out / "compare" / "comparison.html")
    labels = {"Most within 8 min": "spo_cover", "Shortest longest": "spo_center", "spo median plan": "spo_median_plan",
              "spo kolm pollak plan": "spo_kolm_pollak_plan"}
    names = "|".join(map(re.escape, labels))
    longest = re.search(rf"({names}) cuts the longest trip to (\d+) minutes against (\d+) with ({names}), for the "
                        rf"([\d,]+) residents who travel over \d+ minutes with ({names})", text)
    assert longest is not None, text
    better, worse = labels[longest[1]], labels[longest[4]]
    assert longest[6] == longest[4]
    _, best_times = _minutes(out / better / "demand.geojson")
    people, times = _minutes(out / worse / "demand.geojson")
    bound = np.nanmax(best_times)
    assert f"{people[times > bound].sum():,.0f}" == longest[5]
    assert round(bound) == int(longest[2]) and round(np.nanmax(times)) == int(longest[3])
    cover = re.search(rf"({names}) brings ([\d,]+) more residents within 8 minutes than ({names})", text)
    assert cover is not None   # the people within 8 minutes, recomputed
    within = {k: float(p[t <= 8].sum()) for k, (p, t) in
              ((k, _minutes(out / labels[k] / "demand.geojson")) for k in (cover[1], cover[3]))}
    assert f"{within[cover[1]] - within[cover[3]]:,.0f}" == cover[2]
    ede = re.search(rf"({names}) has the lowest equally-distributed equivalent trip, [\d.]+ minutes against [\d.]+ "
                    rf"with ({names}), over the ([\d,]+) residents who can reach a site", text)
    assert ede is not None   # everyone who reaches a site in both plans
    reach = min(float(p[np.isfinite(t)].sum()) for p, t in (_minutes(out / labels[k] / "demand.geojson")
                                                             for k in (ede[1], ede[2])))
    assert ede[3] == f"{reach:,.0f}"


@pytest.mark.slow
def test_four_plans_fit_1366_px(out: Path, browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto((out / "compare" / "comparison.html").as_uri())
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1366
    page.close()


@pytest.mark.slow
def test_each_pair_of_plans_has_a_side_by_side_map(out: Path, browser) -> None:  # noqa: F811
    """Six pairs for four plans, linked from the comparison; a pair's page shows each plan's open sites on its
    side and names the two plans."""
    page = (out / "compare" / "comparison.html").read_text(encoding="utf-8")
    links = re.findall(r"class='pair-link' href='([^']+)'", page)
    assert sorted(links) == sorted(f"pair_clinics_{i}_{j}.html" for i in range(1, 5) for j in range(i + 1, 5))
    view = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    view.on("pageerror", lambda e: errors.append(str(e)))
    view.goto((out / "compare" / "pair_clinics_1_2.html").as_uri())
    assert "Most within 8 min" in view.inner_text("#label-before")
    assert "Shortest longest" in view.inner_text("#label-after")
    for side, plan in (("before", "spo_cover"), ("after", "spo_center")):
        sites = json.loads((out / plan / "sites.geojson").read_text())["features"]
        shown = view.evaluate(f"document.querySelectorAll('#{side} .leaflet-marker-icon, "
                              f"#{side} path.leaflet-interactive[stroke=\"#fff\"]').length")
        assert shown == sum(f["properties"]["status"] != "closed" for f in sites), side
    assert errors == []
    view.close()


def test_a_label_longer_than_24_characters_is_an_input_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario("spo", "p_median", "A label of more than 24 characters")))
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "label" in err and "24" in err and not (tmp_path / "out").exists()
