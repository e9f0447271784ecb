"""The ``robustness:`` section: how firm a plan is under stated changes of its inputs.

Each change is one variant of the run, solved again from scratch on the same
prepared travel times (:mod:`allocator.scale.robustness`): the travel speed
``speed_share`` slower and faster, the threshold ``threshold_min`` minutes
lower and higher, and each ``population`` change (factors by district, or by
demand id from a CSV file). With ``alternatives`` every chosen site is also
forbidden in turn, for the best plan without it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from allocator.scenario.base import Strict

#: the most population changes one robustness section may state (each is a variant solved in full)
MAX_POPULATION_CHANGES = 10
Factor = Annotated[float, Field(ge=0, le=100)]


class PopulationChange(Strict):
    """People scaled per district (``districts: {KEY: factor}``) or per demand id from a CSV (``file``)."""

    label: str | None = Field(default=None, max_length=200, description="how the report names this variant")
    districts: dict[Annotated[str, Field(min_length=1)], Factor] | None = Field(
        default=None, min_length=1, description="factor per district key (the others keep their people; needs "
        "a top-level 'districts')")
    file: str | None = Field(default=None, description="a CSV of factors per demand location (relative to the scenario)")
    id: str = Field(default="id", description="with file: the column of demand ids")
    factor: str = Field(default="factor", description="with file: the column of factors (>= 0; ids not listed keep 1)")

    @model_validator(mode="after")
    def _one_form(self) -> PopulationChange:
        if (self.districts is None) == (self.file is None):
            raise ValueError("a population change is {districts: {KEY: factor}} or {file: growth.csv, id: COL, "
                             "factor: COL}, one of them")
        return self


class RobustnessSpec(Strict):
    """Re-solve the plan under stated changes on the Dask cluster and report how often each site stays."""

    service: str | None = Field(default=None, description="the service to test (default: the first)")
    speed_share: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None, description="travel speed this share slower and faster (0.1: ±10 %; every time scales)")
    threshold_min: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="threshold this many minutes lower and higher")
    population: list[PopulationChange] = Field(default_factory=list, max_length=MAX_POPULATION_CHANGES,
                                               description="population changes, one variant each")
    alternatives: bool = Field(default=True, description="for each chosen site, the best plan without it")

    @model_validator(mode="after")
    def _something(self) -> RobustnessSpec:
        if self.speed_share is None and self.threshold_min is None and not self.population and not self.alternatives:
            raise ValueError("robustness needs at least one of speed_share, threshold_min, population or "
                             "alternatives: true")
        return self

    def service_index(self, names: list[str]) -> int:
        """Where the tested service is in the scenario's services (ValueError naming the choices)."""
        if self.service is None:
            return 0
        if self.service not in names:
            raise ValueError(f"robustness.service {self.service!r} is not a service; services are {names}")
        return names.index(self.service)
