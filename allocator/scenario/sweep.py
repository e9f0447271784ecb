"""The ``sweep:`` section: one parameter of one service over a list of values.

Every value is a variant of the service (the service with that one field
changed), validated by the service's own rules when the scenario is loaded,
so a value the service would reject (``p`` on a set cover, a negative
budget) is reported at ``sweep.values``. :mod:`allocator.scale.sweep` solves
the points on one prepared travel-time matrix.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from allocator.scenario.base import Strict
from allocator.scenario.phases import PhaseSpec

#: the service fields a sweep can vary (a wait target joins them with the counters)
SweepParameter = Literal["p", "budget", "threshold_min"]
#: the parameters counted in whole sites (their values must be integers)
WHOLE = ("p",)
#: the "year" of a nested sweep's first step: its steps are phases of one plan, numbered from here (only their
#: order matters; each weighs 1)
FIRST_STEP = 1900
#: the most points a sweep may have, whatever its size: each costs a model and an evaluation
#: (allocator.scale.sweep bounds the whole sweep's work once the matrix is known)
MAX_POINTS = 2_000


class SweepRange(Strict):
    """Values ``start, start + step, ...`` up to ``stop`` included."""

    start: float
    stop: float
    step: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> SweepRange:
        if self.stop < self.start:
            raise ValueError("range.stop must be at least range.start")
        if (self.stop - self.start) / self.step + 1 > MAX_POINTS:
            raise ValueError(f"a sweep has at most {MAX_POINTS:,} points, this range "
                             f"{math.floor((self.stop - self.start) / self.step) + 1:,}: raise range.step")
        return self

    def values(self) -> list[float]:
        n = math.floor((self.stop - self.start) / self.step + 1e-9)
        return [round(self.start + k * self.step, 10) for k in range(n + 1)]


class SweepSpec(Strict):
    """Solve one service for every value of one of its parameters (give ``values`` or ``range``)."""

    service: str | None = Field(default=None, description="the service to vary (default: the scenario's only service)")
    parameter: SweepParameter = Field(description="p (new sites), budget, or threshold_min (minutes)")
    values: list[float] | None = Field(default=None, min_length=1, max_length=MAX_POINTS, description="the values, in any order")
    range: SweepRange | None = Field(default=None, description="{start, stop, step}: the values from start to stop")
    min_gain: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.01, description="the knee: the last point before an extra site brings less than this share of people")
    chosen: float | None = Field(default=None, description="the value whose full outputs are written (default: the knee)")
    nested: bool = Field(default=False, description="p sweeps: every point keeps the sites of the previous one (an "
                                                    "incremental build order, solved exactly as one phased plan)")

    @model_validator(mode="after")
    def _one_form(self) -> SweepSpec:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' (a list) or 'range' ({start, stop, step})")
        points = self.points
        if len(set(points)) != len(points):
            raise ValueError("the sweep's values must be distinct")
        if self.parameter in WHOLE and any(v != int(v) for v in points):
            raise ValueError(f"{self.parameter} counts sites: its values must be whole numbers")
        if self.nested and self.parameter != "p":
            raise ValueError("a nested sweep adds sites point by point: it needs parameter: p")
        if self.chosen is not None and self.chosen not in points:
            raise ValueError(f"chosen = {self.chosen:g} is not one of the sweep's values")
        return self

    @property
    def points(self) -> list[float]:
        """The values in increasing order."""
        values = self.values if self.values is not None else self.range.values()  # type: ignore[union-attr]
        return sorted(values)

    def service_index(self, names: list[str]) -> int:
        """Where the swept service is in the scenario's services (ValueError naming the choices)."""
        if self.service is None:
            if len(names) != 1:
                raise ValueError(f"the scenario has {len(names)} services: name one in sweep.service ({', '.join(names)})")
            return 0
        if self.service not in names:
            raise ValueError(f"sweep.service '{self.service}' is not a service of the scenario ({', '.join(names)})")
        return names.index(self.service)

    def value(self, v: float) -> int | float:
        """``v`` as the service field takes it (an int for ``p``)."""
        return int(v) if self.parameter in WHOLE else v

    def variant(self, service: Any, v: float, context: dict | None = None) -> Any:
        """``service`` with the swept parameter set to ``v``, validated by the service's own rules."""
        return type(service).model_validate({**service.model_dump(), self.parameter: self.value(v)}, context=context)

    def steps(self) -> list[PhaseSpec]:
        """A nested sweep's points as the phases of one plan: each adds the sites between two values of p."""
        points = [int(v) for v in self.points]
        return [PhaseSpec(year=FIRST_STEP + k, new_sites=b - a, years=1.0)
                for k, (a, b) in enumerate(zip([0, *points], points))]

    def nested_variant(self, service: Any, context: dict | None = None) -> Any:
        """``service`` as the one phased plan of a nested sweep, validated by the service's own rules."""
        return type(service).model_validate({**service.model_dump(), "p": None,
                                             "phases": [s.model_dump() for s in self.steps()]}, context=context)

    def problem(self, services: list[Any], context: dict | None = None) -> str | None:
        """Why the sweep does not fit the scenario's services (None when it does)."""
        try:
            index = self.service_index([s.name for s in services])
        except ValueError as exc:
            return str(exc)
        if self.nested:
            try:
                self.nested_variant(services[index], context)
            except ValidationError as exc:
                reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
                return f"a nested sweep is one phased plan of service '{services[index].name}': {reason}"
        for v in self.points:
            try:
                self.variant(services[index], v, context)
            except ValidationError as exc:
                reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
                return f"{self.parameter} = {v:g} does not fit service '{services[index].name}': {reason}"
        return None
