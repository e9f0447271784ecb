"""Kolm-Pollak: open ``p`` new sites minimising the EDE of travel time, a p-median on exp(-kappa x minutes)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.solve import checks, models
from allocator.solve.highs import relative_gap
from allocator.solve.kernels import nearest_time, served_rows
from allocator.solve.kolm_pollak import DEFAULT_EPSILON, ProxyCost, ede, plan_limit, proxy_cost, service_kappa
from allocator.solve.objectives.base import ModelInput, SolveOptions
from allocator.solve.objectives.p_median import PMedian
from allocator.solve.plan.block import Block
from allocator.solve.solution import Solution


class KolmPollak(PMedian):
    """The smallest equally-distributed equivalent trip (Kolm-Pollak EDE, docs/metrics.md).

    With ``kappa`` fixed from the service's distribution before the plan
    (:func:`allocator.solve.kolm_pollak.service_kappa`), the EDE increases with
    ``sum w exp(-kappa d)``, a p-median cost increasing with ``d``: the p-median
    engine and its plan model solve it exactly (docs/formulations.md).  When the
    transformed costs span more than 1e9, :meth:`solve` cuts them above the bound
    of the p-median plan on minutes (exact; docs/formulations/kolm-pollak.md).  The
    value is the EDE in minutes.  ``kappa`` here is the one :meth:`evaluate`
    uses (the catalogue's entry has none: pass the service's).
    """

    name = "kolm_pollak"
    unit = "minutes"
    opens_with_counters = False
    plan_model = "kolm_pollak"
    adds_up = False

    def __init__(self, kappa: float | None = None):
        self.kappa = kappa

    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        if self.kappa is None:
            raise ValueError("the EDE needs the service's kappa: KolmPollak(kappa=service_kappa(...)).evaluate")
        return plan_ede(cost, weight, open_sites, self.kappa, shares, rows)

    def value_of(self, cost: np.ndarray, solution: Solution, weight: np.ndarray, threshold: float) -> float:
        """The EDE with the kappa the plan was chosen with (a plan chosen otherwise: the kappa of its existing
        sites with the default epsilon)."""
        k = solution.kappa
        if k is None:
            existing = solution.open_mask(cost.shape[1])
            existing[solution.new_sites] = False
            existing[solution.closed_sites] = True
            k = service_kappa(cost, weight, existing, DEFAULT_EPSILON)
        return plan_ede(cost, weight, solution.open_sites, k, solution.shares)

    def solve(self, problem: ModelInput, options: SolveOptions) -> Solution:
        # one deadline for both p-median solves (a time limit in seconds counts from here, not once per solve)
        options = replace(options, time_limit=checks.options(**options.as_kwargs()).deadline)
        k = service_kappa(problem.cost, problem.weight, problem.fixed, problem.epsilon)
        notes = [f"kolm_pollak: kappa {k:.4g} (epsilon {problem.epsilon:g})"]
        hint: Solution | None = None
        try:
            proxy = proxy_cost(problem.cost, problem.weight, problem.fixed, k, clip=True)
        except ValueError:
            hint = models.solve_p_median(problem.cost, problem.weight, problem.count, problem.fixed,
                                         **options.as_kwargs())
            limit = plan_limit(problem.cost, problem.weight, hint.open_mask(problem.cost.shape[1]), k)
            proxy = checked_proxy(problem.cost, problem.weight, problem.fixed, k, problem.epsilon, clip=True,
                                  limit=limit)
            notes.append("kolm_pollak: minutes cut above the bound of the p-median plan on minutes "
                         "(docs/formulations/kolm-pollak.md, scaling)")
        sol = models.solve_p_median(proxy.cost, problem.weight, problem.count, problem.fixed, **options.as_kwargs())
        value = plan_ede(problem.cost, problem.weight, sol.open_sites, k)
        hint_value = math.inf if hint is None else plan_ede(problem.cost, problem.weight, hint.open_sites, k)
        if hint is not None and hint_value < value:
            sol, value = replace(sol, open_sites=hint.open_sites, new_sites=hint.new_sites), hint_value
            notes.append("kolm_pollak: the p-median plan on minutes is optimal (the cut model's plan ties it)")
        people = float(problem.weight[served_rows(problem.cost, problem.weight)].sum())
        gap = ede_gap(proxy, value, sol.objective, sol.gap, people)
        return replace(sol, model=self.name, objective=value, gap=gap, kappa=k, notes=[*notes, *sol.notes])

    def add_rows(self, block: Block, prob: pulp.LpProblem) -> pulp.LpAffineExpression:
        existing = block.kept | block.closable
        k = service_kappa(block.c, block.w, existing, block.service.epsilon)
        block.proxy = checked_proxy(block.c, block.w, block.kept, k, block.service.epsilon,
                                    clip=block.capacity is None)
        return self.median_rows(block, prob, block.proxy.cost)

    def plan_value(self, block: Block, open_mask: np.ndarray, shares: np.ndarray | None, spent: float) -> float:
        assert block.proxy is not None
        return plan_ede(block.c, block.w, open_mask, block.proxy.kappa, shares, block.rows)

    def bound_value(self, block: Block, bound: float) -> float:
        assert block.proxy is not None
        if not math.isfinite(bound) or bound <= 0:
            return -math.inf
        return block.proxy.ede(bound, float(block.w[block.rows].sum()))


def plan_ede(cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, kappa_: float,
             shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
    """The EDE of the trips to the nearest open site over ``rows`` (default: with people, reaching a site);
    with ``shares`` (capacities) every share of a location travels its own site's minutes.  Like the
    p-median's value: inf when one of those rows reaches no open site, 0 with nobody to count."""
    w = np.asarray(weight, dtype=float)
    if shares is not None:
        i, j = np.nonzero(shares)
        times, people = cost[i, j], w[i] * shares[i, j]
    else:
        rows = served_rows(cost, w) if rows is None else rows
        times, people = nearest_time(cost[rows], open_sites), w[rows]
    if not (people > 0).any():
        return 0.0
    return ede(times, people, kappa_) if np.isfinite(times[people > 0]).all() else math.inf


def checked_proxy(cost: np.ndarray, weight: np.ndarray, kept: np.ndarray, kappa_: float, epsilon: float,
                  clip: bool, limit: np.ndarray | None = None) -> ProxyCost:
    """:func:`allocator.solve.kolm_pollak.proxy_cost`, its refusal an error naming ``epsilon``."""
    try:
        return proxy_cost(cost, weight, kept, kappa_, clip, limit)
    except ValueError as exc:
        raise AllocatorError(f"kolm_pollak with epsilon {epsilon:g}: {exc}", field="epsilon",
                             fix="use an epsilon closer to 0 (e.g. -0.5), or leave out the locations "
                                 "far beyond every other (their travel times set the spread)") from None


def ede_gap(proxy: ProxyCost, value: float, total: float, gap: float | None, people: float) -> float | None:
    """The relative gap of the EDE ``value`` from the p-median's gap ``gap`` on its sum ``total``."""
    if gap is None or not math.isfinite(gap) or gap == 0:
        return gap
    lower = total * (1 - gap)
    return relative_gap(value, proxy.ede(lower, people) if lower > 0 else -math.inf, maximise=False)


KOLM_POLLAK = KolmPollak()
