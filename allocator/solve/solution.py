"""What every model returns: :class:`Solution`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from allocator.solve.plan.phases import PhasedPlan

#: an empty array of site or client indices
EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class CounterDecision:
    """The counters a service's offices get after the plan (``counters`` section; :mod:`allocator.solve.staffing`)."""

    counters: np.ndarray    # per site column: counters in place after the plan (0: closed or not opened)
    spent: float | None     # add / open: cost of the added counters (and, for open, the new offices)


@dataclass
class Solution:
    """The result of one model solve.

    ``open_sites`` holds ALL open sites (fixed + new), ``new_sites`` only the
    newly opened candidates; both are sorted site indices.  ``uncoverable``
    lists the positive-weight clients that no site can serve (no finite cost
    for p-median / p-center, no site within the threshold for set cover / max
    coverage); they are excluded from the model and counted in ``notes``.
    """

    model: str
    status: str
    objective: float
    gap: float | None
    open_sites: np.ndarray
    new_sites: np.ndarray
    solve_seconds: float
    build_seconds: float
    n_variables: int
    n_constraints: int
    notes: list[str] = field(default_factory=list)
    uncoverable: np.ndarray = field(default_factory=lambda: EMPTY.copy())
    # set by allocator.solve.plan.model (budgets, closures, capacities):
    closed_sites: np.ndarray = field(default_factory=lambda: EMPTY.copy())    # existing sites closed
    upgraded_sites: np.ndarray = field(default_factory=lambda: EMPTY.copy())  # existing sites upgraded
    budget_used: float | None = None       # net spending: opening + upgrades - savings of closures
    shares: np.ndarray | None = None       # client x site: share of each client's people a site serves (capacitated)
    site_load: np.ndarray | None = None    # people assigned to each site (capacitated models)
    assignment: np.ndarray | None = None   # per client: the site serving most of it (-1: none), capacitated
    counters: CounterDecision | None = None   # set by allocator.solve.staffing.decide_counters (counters section)
    kappa: float | None = None             # kolm_pollak: the kappa its plan was chosen and is valued with
    phases: PhasedPlan | None = None       # a phased plan's phases (allocator.solve.plan.phases); this is the last

    def open_mask(self, n_sites: int) -> np.ndarray:
        """Every site open after the plan (existing kept and new), as a mask over the ``n_sites`` site columns.

        The one answer to "which sites are open after the plan"; every stage asks it here.
        """
        mask = np.zeros(n_sites, dtype=bool)
        mask[self.open_sites] = True
        return mask


@dataclass(frozen=True)
class Sizes:
    """How big a solve was: the model's variables and rows, and the seconds spent building and solving it."""

    n_variables: int = 0
    n_constraints: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What a solver said: its status, the objective value and the relative gap (None: unknown)."""

    status: str
    objective: float
    gap: float | None


def finish(model: str, outcome: Outcome, *, open_mask: np.ndarray, fixed: np.ndarray, sizes: Sizes,
           notes: list[str], uncoverable: np.ndarray) -> Solution:
    """The :class:`Solution` of a classic model from its open-site mask (fixed sites included)."""
    return Solution(model=model, status=outcome.status, objective=float(outcome.objective),
                    gap=None if outcome.gap is None else float(outcome.gap),
                    open_sites=np.flatnonzero(open_mask).astype(np.int64),
                    new_sites=np.flatnonzero(open_mask & ~fixed).astype(np.int64),
                    solve_seconds=float(sizes.solve_s), build_seconds=float(sizes.build_s),
                    n_variables=int(sizes.n_variables), n_constraints=int(sizes.n_constraints), notes=notes,
                    uncoverable=np.asarray(uncoverable, dtype=np.int64))
