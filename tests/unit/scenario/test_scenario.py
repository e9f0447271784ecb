"""Scenario loading: valid files load; bad ones get a message naming file, line, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from allocator.errors import AllocatorError
from allocator.scenario.loader import load_scenario

REPO = Path(__file__).resolve().parents[3]
VALID = {
    "name": "t",
    "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk"},
    "demand": [{"name": "residents", "source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id",
                "population": "population"}],
    "services": [{"name": "clinics", "objective": "max_coverage", "threshold_min": 10, "p": 3,
                  "candidates": {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}}],
}


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def mutated(**changes) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(VALID))
    for dotted, value in changes.items():
        target = doc
        *parents, last = dotted.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return doc


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "scenarios").glob("*.yaml")))
def test_demo_scenarios_are_valid(name: str) -> None:
    loaded = load_scenario(REPO / "scenarios" / name)
    assert loaded.spec.services and loaded.output_dir.name == loaded.spec.name


def test_every_scenario_make_demo_compares_has_a_plan_label() -> None:
    # without one the comparison names the plan from its file name ("poa clinics phased")
    compared = {word for line in (REPO / "Makefile").read_text().splitlines() if "--compare" in line
                for word in line.split() if word.startswith("scenarios/")}
    assert len(compared) >= 5, compared
    for path in sorted(compared):
        assert load_scenario(REPO / path).spec.label, path


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    doc = mutated()
    doc["services"][0]["treshold_min"] = doc["services"][0].pop("threshold_min")
    with pytest.raises(AllocatorError) as info:
        load_scenario(write(tmp_path, doc))
    text = str(info.value)
    assert "s.yaml" in text and "services[0]" in text and "did you mean 'threshold_min'" in text
    assert info.value.line is not None


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError) as info:
        load_scenario(write(tmp_path, "name: t\nnetwork: [unclosed\n  mode: walk\n"))
    assert "YAML syntax" in str(info.value) and info.value.line in (2, 3)


@pytest.mark.parametrize("field, value, expected", [
    ("services.0.p", -1, "greater than or equal to 0"),
    ("services.0.threshold_min", 0, "greater than 0"),
    ("network.mode", "fly", "walk"),
    ("services.0.objective", "p_medain", "p_median"),
    ("name", "../escape", "pattern"),
])
def test_bad_values_name_field_and_allowed(tmp_path: Path, field: str, value, expected: str) -> None:
    with pytest.raises(AllocatorError) as info:
        load_scenario(write(tmp_path, mutated(**{field: value})))
    assert expected in str(info.value)
    assert field.split(".")[-1] in str(info.value)


@pytest.mark.parametrize("value, expected", [(-30, "greater than or equal to 0"), (".inf", "finite number"),
                                             ("half", "valid number")])
def test_round_s_is_a_finite_number_of_seconds_at_least_0(tmp_path: Path, value, expected: str) -> None:
    doc = yaml.safe_dump(VALID, sort_keys=False) + f"solver:\n  round_s: {value}\n"
    with pytest.raises(AllocatorError) as info:
        load_scenario(write(tmp_path, doc))
    error = info.value
    assert (Path(error.file).name, error.field, error.line) == ("s.yaml", "solver.round_s", doc.count("\n"))
    assert expected in str(error) and error.fix


def test_round_s_defaults_to_exact_times(tmp_path: Path) -> None:
    assert load_scenario(write(tmp_path, mutated())).spec.solver.round_s == 0
    doc = yaml.safe_dump(VALID, sort_keys=False) + "solver: {round_s: 30}\n"
    assert load_scenario(write(tmp_path, doc)).spec.solver.round_s == 30


def test_missing_required_field(tmp_path: Path) -> None:
    doc = mutated()
    del doc["services"][0]["candidates"]
    with pytest.raises(AllocatorError, match="candidates"):
        load_scenario(write(tmp_path, doc))


def test_p_required_except_for_set_cover(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError, match="needs 'p'"):
        load_scenario(write(tmp_path, mutated(**{"services.0.p": None})))
    with pytest.raises(AllocatorError, match="remove 'p'"):
        load_scenario(write(tmp_path, mutated(**{"services.0.objective": "set_cover"})))


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError):
        load_scenario(write(tmp_path, "name: !!python/object/apply:os.system ['echo hacked']\n"))


def test_relative_paths_resolve_against_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    loaded = load_scenario(write(tmp_path, mutated()))
    with pytest.raises(AllocatorError) as info:
        loaded.resolve_path("sub/missing.csv", "demand[0].source")
    assert str(tmp_path / "sub" / "missing.csv") in str(info.value) and "demand[0].source" in str(info.value)


def test_the_files_a_scenario_names_resolve_for_the_readers(tmp_path: Path) -> None:
    starts = {".tif": b"II*\0", ".gpkg": b"SQLite format 3\0"}   # the gate checks a GDAL format's first bytes
    for name in ("roads.osm.pbf", "people.tif", "zones.gpkg", "sites.csv", "areas.gpkg"):
        (tmp_path / name).write_bytes(starts.get(Path(name).suffix, b"x"))
    doc = {**mutated(), "network": {"source": "roads.osm.pbf"},
           "demand": [{"source": "people.tif", "raster": {"aggregate": "polygons", "zones": "zones.gpkg"},
                       "dasymetric": {"osm": "network", "buildings": ["house"]}}],
           "districts": {"source": "areas.gpkg"}}
    doc["services"][0]["existing"] = {"osm": "network", "tags": {"amenity": ["clinic"]}}
    doc["services"][0]["candidates"] = {"source": "sites.csv", "lon": "x", "lat": "y"}
    loaded = load_scenario(write(tmp_path, doc))
    demand = loaded.layer_files(loaded.spec.demand[0], "demand[0]")
    assert (demand.source, demand.zones, demand.buildings) == (
        tmp_path / "people.tif", tmp_path / "zones.gpkg", tmp_path / "roads.osm.pbf")
    service = loaded.spec.services[0]
    assert service.existing is not None
    assert loaded.layer_files(service.existing, "services[0].existing").source == tmp_path / "roads.osm.pbf"
    assert loaded.layer_files(service.candidates, "services[0].candidates").source == tmp_path / "sites.csv"
    assert loaded.district_file() == tmp_path / "areas.gpkg"
    assert loaded.travel_spec is loaded.spec.network and loaded.travel_source() == tmp_path / "roads.osm.pbf"
    assert loaded.origin("districts").at("source").field == "districts.source"
    with pytest.raises(AllocatorError, match="not an OpenStreetMap file") as info:
        loaded.osm_path("sites.csv", "districts.osm")
    assert info.value.file == str(loaded.path) and info.value.field == "districts.osm"



def _with_alternatives(*services: dict) -> dict:
    doc = mutated()
    base = doc["services"][0]
    doc["services"] = [{**base, **s} for s in services]
    return doc


def test_alternatives_and_titles_load_and_group(tmp_path: Path) -> None:
    from allocator.scenario.schema import alternatives

    doc = _with_alternatives({"name": "a", "title": "Plan A: move desks"}, {"name": "b", "alternative_to": "a"},
                             {"name": "c", "alternative_to": "a"}, {"name": "d"})
    services = load_scenario(write(tmp_path, doc)).spec.services
    assert [s.display_title for s in services] == ["Plan A: move desks", "b", "c", "d"]
    assert alternatives(services) == {"a": ["a", "b", "c"]}


@pytest.mark.parametrize(("services", "shared", "expected"), [
    ([{"name": "a"}, {"name": "b", "alternative_to": "x"}], None, "alternative_to names no other service: 'x'"),
    ([{"name": "a", "alternative_to": "a"}], None, "names no other service"),
    ([{"name": "a"}, {"name": "b", "alternative_to": "a"}, {"name": "c", "alternative_to": "b"}], None,
     "b is itself an alternative to a: name the first plan (a)"),
    ([{"name": "a"}, {"name": "b", "alternative_to": "a"}], 100, "solved together, not as alternatives"),
])
def test_a_bad_alternative_names_its_field(tmp_path: Path, services: list[dict], shared, expected: str) -> None:
    doc = _with_alternatives(*services)
    if shared is not None:
        doc["shared_budget"] = shared
        for s in doc["services"]:
            s["objective"] = "p_median"
    with pytest.raises(AllocatorError) as info:
        load_scenario(write(tmp_path, doc))
    assert expected in str(info.value) and "alternative_to" in (info.value.field or "")
