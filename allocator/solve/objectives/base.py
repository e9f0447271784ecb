"""What every objective is: :class:`Objective`, and what its classic model takes (:class:`ModelInput`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from allocator.solve.deadline import Deadline
from allocator.solve.kolm_pollak import DEFAULT_EPSILON
from allocator.solve.solution import Solution


@dataclass(frozen=True)
class SolveOptions:
    """What every solver takes besides the data: the time limit (s, or the solve stage's Deadline), relative gap
    and threads."""

    time_limit: float | Deadline | None = None
    gap_rel: float | None = None
    threads: int | None = None

    def as_kwargs(self) -> dict[str, float | int | Deadline | None]:
        return {"time_limit": self.time_limit, "gap_rel": self.gap_rel, "threads": self.threads}


@dataclass(frozen=True)
class ModelInput:
    """One service's classic model: travel minutes (demand x sites), people per row, the sites already open,
    how many new sites, the threshold of the coverage objectives (minutes) and the inequality aversion of
    ``kolm_pollak``."""

    cost: np.ndarray
    weight: np.ndarray
    fixed: np.ndarray
    p: int | None
    threshold: float
    epsilon: float = DEFAULT_EPSILON

    @property
    def count(self) -> int:
        """The number of new sites (0 when not given)."""
        return 0 if self.p is None else self.p


class Objective(ABC):
    """One objective a scenario can name: what it measures, how its classic model solves it, how it is reported.

    The class attributes are the objective's traits; the scenario schema reads
    them from the generated list ``allocator/scenario/objective_names.py``
    (``python tools/gen_objectives.py``).  An objective that also takes the plan
    rules (budgets, closures, capacities, ...) implements
    :class:`allocator.solve.plan.block.PlanObjective` too.
    """

    #: the name a scenario gives in ``services[].objective``
    name: ClassVar[str]
    #: whether the solver minimises or maximises the value
    sense: ClassVar[Literal["min", "max"]]
    #: what the value counts
    unit: ClassVar[str]
    #: whether the value depends on ``threshold_min`` (locations beyond it with no site are excluded and noted)
    uses_threshold: ClassVar[bool]
    #: whether the scenario gives ``p``, the number of new sites (False: the objective chooses how many itself)
    takes_p: ClassVar[bool] = True
    #: whether everyone who can be within the threshold must be (nothing coverable is an error)
    covers_all: ClassVar[bool] = False
    #: whether ``max_time_min`` (everyone who can be within it must be) applies
    takes_max_time: ClassVar[bool] = False
    #: whether ``counters.decision: open`` (offices and counters chosen together, a p-median) may ask for it
    opens_with_counters: ClassVar[bool] = False
    #: the objective whose plan model solves this one with plan rules (None: no plan rules)
    plan_model: ClassVar[str | None] = None

    @property
    def label_keys(self) -> tuple[str, ...]:
        """The keys of this objective's words in every language of ``allocator.outputs.labels``."""
        return (f"obj_{self.name}",)

    @abstractmethod
    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        """The value of the open sites (or of the split assignment ``shares``) on the times ``cost``.

        Over ``rows`` (default: the locations with people that reach some site).
        """

    def value_of(self, cost: np.ndarray, solution: Solution, weight: np.ndarray, threshold: float) -> float:
        """The value of ``solution``'s sites (and split assignment, with capacities) on the times ``cost``:
        the value it reports, e.g. on the exact times after a solve on rounded ones."""
        return self.evaluate(cost, weight, solution.open_sites, threshold, shares=solution.shares)

    @abstractmethod
    def solve(self, problem: ModelInput, options: SolveOptions) -> Solution:
        """The classic model: keep the fixed sites, open ``problem.p`` new ones (or as many as it takes)."""

    def reported(self, model_value: float, weight: np.ndarray) -> float:
        """The value to report from the value of the model that solved it (the same here)."""
        return model_value
