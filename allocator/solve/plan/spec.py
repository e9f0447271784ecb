"""What a plan is made of: each service's sites, demand, objective and rules (see :mod:`.model`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from allocator.solve.kolm_pollak import DEFAULT_EPSILON


@dataclass
class Sites:
    """One service's sites in cost-matrix column order."""

    kept: np.ndarray                       # bool: existing, always open
    closable: np.ndarray                   # bool: existing, may close
    open_cost: np.ndarray | None = None    # per site, used for candidates (default 1 each)
    saving: np.ndarray | None = None       # per site, used for closable sites (default 0)
    capacity: np.ndarray | None = None     # people per site (inf = unlimited); None = uncapacitated
    upgrade_capacity: np.ndarray | None = None   # extra people after an upgrade (existing sites; 0 = none)
    upgrade_cost: np.ndarray | None = None

    @property
    def candidate(self) -> np.ndarray:
        return ~self.kept & ~self.closable


@dataclass
class Floor:
    """At least ``share`` of the people of ``clients`` (bool mask) within the threshold."""

    clients: np.ndarray
    share: float
    label: str = "district"


@dataclass
class PlanService:
    """One service of a plan: its matrix, demand, sites, objective and rules."""

    name: str
    objective: str                 # the name of a plan objective (allocator.solve.objectives.PLAN_OBJECTIVES)
    cost: np.ndarray
    weight: np.ndarray
    sites: Sites
    threshold: float | None = None
    p: int | None = None           # most new sites (None: no count limit)
    relocate: bool = False
    budget: float | None = None
    max_time: float | None = None
    floors: list[Floor] = field(default_factory=list)
    priority: float = 1.0
    epsilon: float = DEFAULT_EPSILON   # the inequality aversion of kolm_pollak

