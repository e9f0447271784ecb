"""A phased plan measured phase by phase on the exact travel times: what each phase builds and buys.

The phases come from the solve (:class:`allocator.solve.plan.phases.PhasedPlan`);
here each phase's open sites are measured like the plan itself
(:func:`allocator.evaluate.access.access_metrics`), so the last phase's
figures are the report's "after".
"""

from __future__ import annotations

from dataclasses import dataclass

from allocator.evaluate.access import AccessMetrics, access_metrics
from allocator.evaluate.result import ServiceResult
from allocator.solve.kernels import nearest_time


@dataclass(frozen=True)
class PhaseFacts:
    """One phase of a phased plan, measured."""

    year: int
    weight: float            # years it counts in the objective
    new_ids: list[str]       # the sites it builds (ids of the site columns)
    new_names: list[str]
    spent: float             # their cost (unit of candidates.cost)
    budget: float | None     # what it could spend (with carry_over: what was left)
    value: float             # the objective of its open sites (the model's unit)
    one_shot: float | None   # the best value with as many new sites and the same budget, planned in one go
    price: float | None      # what phasing costs in this phase (>= 0, the objective's unit; None: unknown, the
    #                          one-shot plan was not found within the time limit)
    access: AccessMetrics    # on the exact times with this phase's sites open
    newly_within: float      # people brought within the threshold by this phase

    @property
    def price_share(self) -> float | None:
        """The price of phasing as a share of the one-shot value (None: that value is 0, or unknown)."""
        return self.price / abs(self.one_shot) if self.one_shot and self.price is not None else None


def phase_facts(s: ServiceResult) -> list[PhaseFacts]:
    """Each phase of ``s``'s phased plan, in order ([] when the plan was not phased)."""
    plan = s.solution.phases
    if plan is None:
        return []
    pop, T = s.demand["population"].to_numpy(float), s.service.threshold_min
    ids, names = s.site_columns["id"].astype(str).to_numpy(), s.site_columns["name"].astype(str).to_numpy()
    within = float(s.before.within)
    out = []
    for k, ph in enumerate(plan.phases):
        access = access_metrics(nearest_time(s.cost, ph.open_mask), pop, T)
        price = plan.price(k)
        out.append(PhaseFacts(year=ph.year, weight=ph.weight, new_ids=ids[ph.new].tolist(),
                              new_names=names[ph.new].tolist(), spent=ph.spent, budget=ph.budget, value=ph.value,
                              one_shot=ph.one_shot, price=None if price is None else max(price, 0.0), access=access,
                              newly_within=access.within - within))
        within = access.within
    return out


def phase_of_sites(s: ServiceResult) -> dict[str, int]:
    """The year each new site of a phased plan is built, by site id ({} when the plan was not phased)."""
    return {i: f.year for f in phase_facts(s) for i in f.new_ids}

