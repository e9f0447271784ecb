"""The ``phases:`` of a service: a plan built over several years, each phase adding to the last.

Each phase gives its year and what it may add: a ``budget`` (in the unit of
``candidates.cost``, like a service's ``budget``) and/or ``new_sites``.  A
limit is given on every phase or on none, so "what phase k may spend" always
means the same thing.  Unspent budget (or unused new sites) is lost at the end
of its phase unless the service says ``carry_over: true``.  Each phase weighs
in the objective by ``years`` (default: the years until the next phase, the
last phase 1), so a p-median sums person-minutes x years and a coverage plan
people x years.  :mod:`allocator.solve.plan.phases` solves the phases as one
model.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from allocator.scenario.base import Strict

#: the most phases one plan has: each is a copy of the service's model
MAX_PHASES = 50
#: the objectives a phased plan takes: their values add up over the years (people or person-minutes)
PHASED_OBJECTIVES = ("p_median", "max_coverage")


class PhaseSpec(Strict):
    """One phase of a phased plan: its year and what it may add."""

    year: Annotated[int, Field(ge=1900, le=2300)] = Field(description="the year the phase's sites open")
    budget: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="most the sites first opened in this phase may cost (unit of candidates.cost)")
    new_sites: Annotated[int, Field(ge=0)] | None = Field(default=None, description="most sites first opened in this phase")
    years: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="the phase's weight in the objective (default: years until the next phase; last: 1)")

    @model_validator(mode="after")
    def _a_limit(self) -> PhaseSpec:
        if self.budget is None and self.new_sites is None:
            raise ValueError(f"phase {self.year} needs a 'budget' or 'new_sites' (what it may add)")
        return self


def phase_problem(phases: list[PhaseSpec]) -> str | None:
    """Why a list of phases is not a plan (None when it is): years increasing, each limit on all or none."""
    if not phases:
        return "give at least one phase"
    if len(phases) > MAX_PHASES:
        return f"at most {MAX_PHASES} phases"
    years = [ph.year for ph in phases]
    if any(b <= a for a, b in zip(years, years[1:])):
        return f"the phases' years must increase, got {', '.join(map(str, years))}"
    for name in ("budget", "new_sites"):
        given = [getattr(ph, name) is not None for ph in phases]
        if any(given) and not all(given):
            return f"give '{name}' on every phase or on none (phase {years[given.index(False)]} has none)"
    return None


def phase_weights(phases: list[PhaseSpec]) -> list[float]:
    """Each phase's weight: its ``years``, else the years until the next phase, the last phase 1."""
    nxt = [float(b.year - a.year) for a, b in zip(phases, phases[1:])] + [1.0]
    return [ph.years if ph.years is not None else d for ph, d in zip(phases, nxt)]
