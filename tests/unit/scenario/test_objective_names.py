"""allocator/scenario/objective_names.py is generated from the objective catalogue and must be up to date."""

from __future__ import annotations

import importlib.util
import typing
from pathlib import Path

from allocator.scenario import objective_names
from allocator.solve.objectives import OBJECTIVES

TOOL = Path(__file__).resolve().parents[3] / "tools" / "gen_objectives.py"


def _tool():
    spec = importlib.util.spec_from_file_location("gen_objectives", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_objective_names_are_up_to_date() -> None:
    tool = _tool()
    assert tool.TARGET.read_text(encoding="utf-8") == tool.render(), \
        "allocator/scenario/objective_names.py is out of date: run python tools/gen_objectives.py"


def test_the_scenario_names_every_objective_of_the_catalogue_with_its_traits() -> None:
    assert list(typing.get_args(objective_names.Objective)) == list(OBJECTIVES)
    assert {n: o.plan_model for n, o in OBJECTIVES.items() if o.plan_model} == objective_names.PLAN_MODEL
    assert set(objective_names.CHOOSE_COUNT) == {n for n, o in OBJECTIVES.items() if not o.takes_p}
    assert set(objective_names.TAKE_MAX_TIME) == {n for n, o in OBJECTIVES.items() if o.takes_max_time}
    assert set(objective_names.OPEN_WITH_COUNTERS) == {n for n, o in OBJECTIVES.items() if o.opens_with_counters}
