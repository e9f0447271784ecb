"""The objectives a scenario can name, and the traits the scenario schema checks.

GENERATED from the objective catalogue (allocator.solve.objectives) by `python tools/gen_objectives.py`:
do not edit by hand.  tests/unit/scenario/test_objective_names.py fails when it is out of date.
"""

from typing import Literal

#: every objective a service may name
Objective = Literal["p_median", "max_coverage", "min_underserved", "set_cover", "p_center", "weighted_p_center", "kolm_pollak"]

#: the objectives that take the plan rules (budget, closures, capacities, max_time_min, district_floor),
#: each with the objective whose plan model solves it
PLAN_MODEL: dict[str, str] = {
    "p_median": "p_median",
    "max_coverage": "max_coverage",
    "min_underserved": "max_coverage",
    "set_cover": "set_cover",
    "kolm_pollak": "kolm_pollak",
}

#: the objectives that choose how many sites to open themselves (a service gives no 'p')
CHOOSE_COUNT: tuple[str, ...] = ("set_cover",)

#: the objectives that take max_time_min
TAKE_MAX_TIME: tuple[str, ...] = ("p_median", "kolm_pollak",)

#: the objectives counters.decision 'open' (offices and counters chosen together) solves
OPEN_WITH_COUNTERS: tuple[str, ...] = ("p_median",)
