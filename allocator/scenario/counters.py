"""The ``counters`` section of a service: visits, service times, counters today and the staffing question.

Visitors per hour at an office are its catchment's population times the visit
rate per person per day (``visits_per_person_day``, or
``visits_per_person_year / opening_days_per_year``), spread evenly over
``opening_hours`` and multiplied by ``peak_factor`` (the busiest hour over an
average hour).  :mod:`allocator.solve.staffing` takes the staffing decision
and :mod:`allocator.evaluate.waits` measures the waits; docs/counters.md
documents every field.

Values beyond any planning meaning are refused here (the bounds below, each
with its reason in the field's description): they are typing slips, and they
would make the staffing work grow without end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from allocator.scenario.base import Strict
from allocator.scenario.objective_names import OPEN_WITH_COUNTERS

if TYPE_CHECKING:
    from allocator.scenario.schema import Service

#: the most counters one office holds: far above any service hall (the largest have a few hundred);
#: it also bounds the queueing work per office
MAX_COUNTERS_PER_OFFICE = 10_000
#: the most counters a service places in all (reassign's staff)
MAX_STAFF = 1_000_000
#: the most visits one resident makes per opening day: more is a unit slip (per office, per year)
MAX_VISITS_PER_DAY = 10.0
#: the fewest hours an office opens a day: the waits are those of a busiest hour in steady state
MIN_OPENING_HOURS = 1.0

Count = Annotated[int, Field(ge=0, le=MAX_COUNTERS_PER_OFFICE)] | str


class CountersSpec(Strict):
    """Service counters at every office of a service, and how to staff them."""

    visits_per_person_day: Annotated[float, Field(gt=0, le=MAX_VISITS_PER_DAY)] | None = Field(
        default=None, description="visits per resident per opening day (or give visits_per_person_year); at most "
        f"{MAX_VISITS_PER_DAY:g}: more is a unit slip (visits per office, or per year)")
    visits_per_person_year: Annotated[float, Field(gt=0, le=MAX_VISITS_PER_DAY * 366)] | None = Field(
        default=None, description="visits per resident per year, spread over opening_days_per_year (at most "
        f"{MAX_VISITS_PER_DAY:g} per opening day)")
    opening_days_per_year: Annotated[int, Field(ge=1, le=366)] = Field(default=250, description="days the offices open a year")
    opening_hours: Annotated[float, Field(ge=MIN_OPENING_HOURS, le=24)] = Field(
        description=f"hours the offices open a day ({MIN_OPENING_HOURS:g}-24: the waits are those of the busiest "
        "hour in steady state, so an office opens at least an hour)")
    peak_factor: Annotated[float, Field(ge=1, le=24)] = Field(
        default=1.0, description="visitors in the busiest hour / an average hour (1 to opening_hours: the busiest "
        "hour brings at most the whole day's visitors)")
    service_min: Annotated[float, Field(gt=0, le=600)] = Field(description="mean minutes one visitor takes at a counter")
    service_cv: Annotated[float, Field(ge=0, le=5)] = Field(
        default=1.0, description="coefficient of variation of the service time (1: exponential, exact M/M/c; "
        "otherwise the Allen–Cunneen approximation)")
    today: Count | None = Field(default=None, description="counters at each existing office today: a number (at most "
                                f"{MAX_COUNTERS_PER_OFFICE:,}), a column of the existing layer, or (default) the "
                                "layer's facility count")
    decision: Literal["reassign", "add", "open"] = Field(
        default="reassign", description="reassign: move counters (staff fixed); add: buy counters under 'budget'; "
        "open: choose new offices and their counters together (p_median, small cases)")
    goal: Literal["min_wait", "meet_target"] = Field(
        default="min_wait", description="min_wait: least waiting for the staff or budget; meet_target: fewest counters "
        "meeting the wait target")
    staff: Annotated[int, Field(ge=0, le=MAX_STAFF)] | None = Field(
        default=None, description=f"reassign: counters to place in all (default: today's total; at most {MAX_STAFF:,}, "
        "beyond any network of offices)")
    counter_cost: Annotated[float, Field(gt=0)] = Field(default=1.0, description="cost of one added counter")
    budget: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="add: most to spend on counters; open: on new offices (candidates.cost) and counters")
    max_per_office: Annotated[int, Field(ge=1, le=MAX_COUNTERS_PER_OFFICE)] | None = Field(
        default=None, description=f"most counters one office can hold (default and at most {MAX_COUNTERS_PER_OFFICE:,}, "
        "far above any service hall)")
    wait_limit_min: Annotated[float, Field(gt=0)] = Field(default=15.0, description="minutes, for the share waiting longer")
    target_share: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None, description="target: at least this share of visitors waits at most wait_limit_min (every office)")
    mean_wait_max_min: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="target: mean wait at most this many minutes at every office")

    @model_validator(mode="after")
    def _consistent(self) -> CountersSpec:
        if (self.visits_per_person_day is None) == (self.visits_per_person_year is None):
            raise ValueError("give exactly one of 'visits_per_person_day' or 'visits_per_person_year'")
        if self.visits_per_person_year is not None and self.visits_per_day > MAX_VISITS_PER_DAY:
            raise ValueError(f"visits_per_person_year / opening_days_per_year is {self.visits_per_day:g} visits per "
                             f"resident per opening day, more than {MAX_VISITS_PER_DAY:g}: check the unit (per "
                             "resident, per year) and opening_days_per_year")
        if self.peak_factor > self.opening_hours:
            raise ValueError(f"peak_factor {self.peak_factor:g} is above opening_hours {self.opening_hours:g}: the "
                             "busiest hour brings at most the whole day's visitors (peak_factor <= opening_hours)")
        has_target = self.target_share is not None or self.mean_wait_max_min is not None
        if self.goal == "meet_target" and not has_target:
            raise ValueError("goal meet_target needs a target: 'target_share' (with wait_limit_min) "
                             "or 'mean_wait_max_min'")
        if self.decision == "open" and not has_target:
            raise ValueError("decision open keeps every office within the wait target: give 'target_share' "
                             "or 'mean_wait_max_min'")
        if self.decision == "add" and self.goal == "min_wait" and self.budget is None:
            raise ValueError("decision add with goal min_wait spends a 'budget' on counters: give 'budget'")
        if self.staff is not None and self.decision != "reassign":
            raise ValueError("'staff' is the number of counters to reassign: use it with decision reassign")
        return self

    def check_service(self, service: Service, shared_budget: bool) -> None:
        """The rules that depend on the service around this section (called by the Service model)."""
        if isinstance(self.today, str) and service.existing is None:
            raise ValueError(f"counters.today names a column ({self.today!r}) of the existing layer: give 'existing'")
        ex = service.existing
        other_rules = (service.budget is not None or service.max_time_min is not None or shared_budget
                       or service.district_floor is not None or service.candidates.capacity is not None
                       or (ex is not None and (ex.closable or ex.capacity is not None)))
        if self.decision == "open" and (service.objective not in OPEN_WITH_COUNTERS or other_rules):
            raise ValueError("counters.decision open solves its own p-median with wait targets: use objective "
                             f"{' or '.join(OPEN_WITH_COUNTERS)} with 'p' (and candidates.cost if new offices cost differently), without "
                             "a service budget, shared_budget, closures or capacities (counters.budget covers "
                             "opening and counters)")

    @property
    def visits_per_day(self) -> float:
        """Visits per resident per opening day (given, or per year over the opening days)."""
        return (self.visits_per_person_day if self.visits_per_person_day is not None
                else (self.visits_per_person_year or 0.0) / self.opening_days_per_year)

    @property
    def visits_per_person_hour(self) -> float:
        """Visitors per resident per hour in the busiest hour."""
        return self.visits_per_day / self.opening_hours * self.peak_factor
