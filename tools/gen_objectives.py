"""Write allocator/scenario/objective_names.py from the objective catalogue (allocator.solve.objectives).

The scenario stage comes before solve and cannot import the catalogue, so the
names and the traits its validators need are generated into the scenario
package.  Run after adding or changing an objective:

    python tools/gen_objectives.py           # rewrite the file
    python tools/gen_objectives.py --check   # exit 1 when it is out of date

tests/unit/scenario/test_objective_names.py fails when the file is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from allocator.solve.objectives import OBJECTIVES

TARGET = Path(__file__).resolve().parent.parent / "allocator" / "scenario" / "objective_names.py"
COMMAND = "python tools/gen_objectives.py"


def _names(trait: str, value: bool = True) -> str:
    """The names of the objectives whose ``trait`` is ``value``, as a tuple literal."""
    names = [name for name, o in OBJECTIVES.items() if getattr(o, trait) == value]
    return "(" + "".join(f'"{n}", ' for n in names).rstrip(" ") + ")"


def render() -> str:
    """The text of the generated module."""
    literal = ", ".join(f'"{name}"' for name in OBJECTIVES)
    plan = "".join(f'    "{name}": "{o.plan_model}",\n' for name, o in OBJECTIVES.items() if o.plan_model)
    return f'''"""The objectives a scenario can name, and the traits the scenario schema checks.

GENERATED from the objective catalogue (allocator.solve.objectives) by `{COMMAND}`:
do not edit by hand.  tests/unit/scenario/test_objective_names.py fails when it is out of date.
"""

from typing import Literal

#: every objective a service may name
Objective = Literal[{literal}]

#: the objectives that take the plan rules (budget, closures, capacities, max_time_min, district_floor),
#: each with the objective whose plan model solves it
PLAN_MODEL: dict[str, str] = {{
{plan}}}

#: the objectives that choose how many sites to open themselves (a service gives no 'p')
CHOOSE_COUNT: tuple[str, ...] = {_names("takes_p", False)}

#: the objectives that take max_time_min
TAKE_MAX_TIME: tuple[str, ...] = {_names("takes_max_time")}

#: the objectives counters.decision 'open' (offices and counters chosen together) solves
OPEN_WITH_COUNTERS: tuple[str, ...] = {_names("opens_with_counters")}
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date, write nothing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
