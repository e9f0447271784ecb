"""The published scenario JSON Schema: up to date with the models, and it accepts what the loader accepts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml

from allocator.scenario.loader import ScenarioLoader
from allocator.scenario.schema import Scenario

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))

from make_schema import SCHEMA_FILE, schema_text  # noqa: E402

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../docs/scenario.schema.json"
#: test modules that write scenario files from module-level dicts
WRITERS = sorted(p for p in (REPO / "tests").rglob("test_*.py")
                 if p != Path(__file__).resolve() and "yaml.safe_dump" in p.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def as_read(doc: dict[str, Any]) -> Any:
    """``doc`` as the loader reads it back from the YAML file a test writes."""
    return yaml.load(yaml.safe_dump(doc, sort_keys=False), Loader=ScenarioLoader)


def accepted_by_models(doc: Any) -> bool:
    try:
        Scenario.model_validate(doc, context={"shared_budget": doc.get("shared_budget") is not None})
    except ValueError:   # pydantic's ValidationError is a ValueError
        return False
    return True


def module_at(path: Path) -> ModuleType:
    """The test module at ``path``, its sibling modules importable (as when pytest collects its folder)."""
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(f"schema_check_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up while the module runs
    spec.loader.exec_module(module)
    return module


def written_scenarios() -> list[tuple[str, Any]]:
    """Every module-level scenario dict of the test modules that write scenario files, as read back."""
    found = []
    for path in WRITERS:
        for name, value in vars(module_at(path)).items():
            if isinstance(value, dict) and {"name", "demand", "services"} <= set(value):
                found.append((f"{path.relative_to(REPO)}:{name}", as_read(value)))
    return found


def test_committed_schema_is_a_fresh_generation() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), \
        "docs/scenario.schema.json is out of date: run python tools/make_schema.py"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_example_scenario_validates_and_names_the_schema(path: Path, validator) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    doc = yaml.load(text, Loader=ScenarioLoader)
    assert accepted_by_models(doc)
    assert not [e.message for e in validator.iter_errors(doc)]


def test_scenarios_the_tests_write_validate(validator) -> None:
    scenarios = written_scenarios()
    valid = [(where, doc) for where, doc in scenarios if accepted_by_models(doc)]
    assert len(valid) >= 5, f"found only {[where for where, _ in valid]}"
    failures = {where: [e.message for e in validator.iter_errors(doc)] for where, doc in valid}
    assert not {where: errors for where, errors in failures.items() if errors}


@pytest.mark.parametrize("change", [
    {"colour": "red"},                                                          # unknown top-level key
    {"services": []},                                                           # no service
    {"network": {"source": "catalog:porto_alegre/poa_osm.pbf", "mode": "fly"}},  # unknown mode
    {"solver": {"threads": "4"}},                                               # text where a number goes
])
def test_schema_rejects_what_the_models_reject(change: dict[str, Any], validator) -> None:
    doc = {**yaml.load(SCENARIOS[0].read_text(encoding="utf-8"), Loader=ScenarioLoader), **change}
    assert not accepted_by_models(doc)
    assert list(validator.iter_errors(doc))


def test_unknown_objective_is_rejected(validator) -> None:
    doc = yaml.load((REPO / "scenarios" / "poa_clinics.yaml").read_text(encoding="utf-8"), Loader=ScenarioLoader)
    doc["services"][0]["objective"] = "max_happiness"
    assert not accepted_by_models(doc)
    assert list(validator.iter_errors(doc))


def test_yaml_yes_as_an_osm_tag_value_is_accepted(validator) -> None:
    """PyYAML reads a bare yes as true; the models and the schema both take it as the tag value "yes"."""
    doc = yaml.load((REPO / "scenarios" / "helsinki_raster.yaml").read_text(encoding="utf-8"), Loader=ScenarioLoader)
    assert True in doc["services"][0]["candidates"]["tags"]["building"]
    assert accepted_by_models(doc)
    assert not list(validator.iter_errors(doc))
