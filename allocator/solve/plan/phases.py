"""A plan built in phases: one exact multi-period model in which what a phase opens stays open.

Phase ``t`` is a copy of the service's plan :class:`~allocator.solve.plan.block.Block`
(its own radius or coverage rows, max_time and floors) with its own site
variables ``y[j, t]``, tied by ``y[j, t] <= y[j, t + 1]``.  Each phase's
budget bounds the cost of the sites it opens first (``spend_t - spend_{t-1}``),
or with ``carry_over`` the spending so far (``spend_t`` <= the budgets so
far); ``new_sites`` likewise.  The objective is ``sum_t weight_t x
objective_t`` (people-years, or person-minute-years).  p-median phases grow
their radius levels until exact, as one-shot plans do
(:func:`allocator.solve.plan.model.solve_rounds`).  The price of phasing is
each phase's value against the one-shot plan with as many new sites and the
same budget so far, each solved within what is left of the solve stage's
time limit: one that runs out of time leaves that price unknown (None), the
phased plan stands.  docs/formulations/phases.md states what is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.scenario.phases import PhaseSpec, phase_weights
from allocator.solve.checks import Options, options
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.highs import add_row, binary_values, relative_gap
from allocator.solve.kernels import nearest_time
from allocator.solve.objectives import plan_objective
from allocator.solve.plan.block import Block, PlanObjective
from allocator.solve.plan.levels import Levels
from allocator.solve.plan.model import solve_plan, solve_rounds
from allocator.solve.plan.spec import PlanService
from allocator.solve.solution import Solution


@dataclass(frozen=True)
class Phase:
    """One phase of a solved phased plan."""

    year: int
    weight: float            # its weight in the objective (years)
    open_mask: np.ndarray    # bool per site column: open in this phase (kept sites included)
    new: np.ndarray          # site indices first opened in this phase
    value: float             # the objective of this phase's open sites
    spent: float             # the cost of ``new``
    budget: float | None     # what the phase could spend (with carry_over: what was left)
    one_shot: float | None   # the best value with as many new sites and the same budget so far, in one go
    #                          (None: not found within the time limit)


@dataclass(frozen=True)
class PhasedPlan:
    """A solved phased plan: its phases, in order, and how they were tied."""

    phases: list[Phase]
    carry_over: bool
    sense: str               # "min" or "max": whether a lower or a higher value is better
    weighted: float          # sum of weight x value over the phases

    def price(self, k: int) -> float | None:
        """What phase ``k`` loses against the one-shot plan of its size (>= 0, in the objective's unit; None:
        unknown, the one-shot plan was not found within the time limit)."""
        ph = self.phases[k]
        if ph.one_shot is None:
            return None
        return ph.value - ph.one_shot if self.sense == "min" else ph.one_shot - ph.value

    def unknown_price(self) -> list[int]:
        """The years whose price of phasing is unknown (their one-shot plan ran out of time)."""
        return [ph.year for ph in self.phases if ph.one_shot is None]


def solve_phased(service: PlanService, phases: list[PhaseSpec], carry_over: bool = False, *, time_limit=None,
                 gap_rel=None, threads=None) -> Solution:
    """Solve ``service`` as a phased plan; the last phase's :class:`Solution` with ``phases`` set.

    ``service`` gives the sites, demand and rules (its ``p`` and ``budget``
    are replaced by the phases').  Raises :class:`AllocatorError` when a rule
    cannot hold from the first phase on.
    """
    goal = plan_objective(service.objective)
    opts = options(time_limit, gap_rel, threads)
    weights = phase_weights(phases)
    sense = pulp.LpMinimize if goal.sense == "min" else pulp.LpMaximize
    limits = [_limits(service, phases, t) for t in range(len(phases))]

    def build(levels: list[Levels | None]) -> tuple[pulp.LpProblem, list[Block]]:
        return _build(limits, goal, weights, sense, levels, None if carry_over else phases, opts.deadline)

    r = solve_rounds(build, len(phases), opts, lambda blocks: _impossible(service))
    masks = _tidy(r.blocks, _masks(r.blocks))
    plan = _plan(r.blocks, phases, weights, masks, carry_over, goal, opts)
    last, block = plan.phases[-1], r.blocks[-1]
    bound = r.run.bound + sum(b.obj_const * w for b, w in zip(r.blocks, weights, strict=True))
    gap = relative_gap(plan.weighted, bound, maximise=goal.sense == "max")
    notes = list(block.notes) + [f"phased plan: {len(phases)} phases solved as one model, each keeping the "
                                 "sites of the last"]
    if r.rounds > 1 and block.levels is not None:
        notes.append(f"exact level generation needed {r.rounds} solves")
    if r.run.status == "time_limit":
        notes.append(f"time limit reached: best phased plan found, proven gap {gap:.2%}")
    if unknown := plan.unknown_price():
        notes.append("price of phasing unknown for " + ", ".join(map(str, unknown))
                     + ": the best plan in one go was not found within the time limit")
    sol = Solution(model=service.objective, status=r.run.status, objective=last.value, gap=gap,
                   open_sites=np.flatnonzero(last.open_mask), new_sites=np.flatnonzero(last.open_mask & block.cand),
                   solve_seconds=r.run.seconds, build_seconds=r.build, n_variables=len(r.prob.variables()),
                   n_constraints=len(r.prob.constraints()), notes=notes)
    sol.budget_used = float(sum(ph.spent for ph in plan.phases))
    sol.phases = plan
    return sol


def _limits(service: PlanService, phases: list[PhaseSpec], t: int) -> PlanService:
    """Phase ``t``'s service: at most the new sites and the budget of the phases so far (its Block's rows)."""
    done = phases[: t + 1]
    p = None if done[0].new_sites is None else sum(ph.new_sites or 0 for ph in done)
    budget = None if done[0].budget is None else sum(ph.budget or 0.0 for ph in done)
    return replace(service, name=f"{service.name}@{phases[t].year}", p=p, budget=budget, relocate=False)


def _build(limits: list[PlanService], goal: PlanObjective, weights: list[float], sense: int,
           levels: list[Levels | None], each: list[PhaseSpec] | None,
           deadline: Deadline) -> tuple[pulp.LpProblem, list[Block]]:
    """The phases' joint model: one block per phase, nested site variables and, without
    carry-over (``each`` the phases), each phase's own limits (built by ``deadline``)."""
    prob = pulp.LpProblem("phased_plan", sense)
    blocks = [Block(prob, t, s, goal, lv, deadline) for t, (s, lv) in enumerate(zip(limits, levels, strict=True))]
    objective = pulp.LpAffineExpression()
    for b, w in zip(blocks, weights, strict=True):
        objective += b.objective * w
    prob.setObjective(objective)
    for t, (a, b) in enumerate(zip(blocks, blocks[1:])):
        for k, (ya, yb) in enumerate(zip(a.y, b.y, strict=True)):
            add_row(prob, [(ya, 1.0), (yb, -1.0)], pulp.LpConstraintLE, 0, f"nest{t}_{k}")
        if each is None:
            continue
        budget, sites = each[t + 1].budget, each[t + 1].new_sites
        if budget is not None:
            prob.addConstraint(b.spend - a.spend <= budget, f"phase_budget{t + 1}")
        if sites is not None:
            add_row(prob, [(y, 1.0) for y in b.y] + [(y, -1.0) for y in a.y], pulp.LpConstraintLE, sites,
                    f"phase_sites{t + 1}")
    return prob, blocks


def _impossible(service: PlanService) -> AllocatorError:
    return AllocatorError(f"service {service.name}: no phased plan meets every rule from the first phase on",
                          field="phases", fix="max_time_min and district_floor hold in every phase: give the "
                          "first phase more budget or new sites, or relax those rules")


def _masks(blocks: list[Block]) -> list[np.ndarray]:
    """Each phase's open sites (kept ones included), as the solver chose them."""
    out = []
    for b in blocks:
        mask = b.kept.copy()
        mask[b.var[binary_values(b.y)]] = True
        out.append(mask)
    return out


def _tidy(blocks: list[Block], masks: list[np.ndarray]) -> list[np.ndarray]:
    """Drop new sites that serve nobody better in any phase they are open in (dearest first).

    Every phase keeps each location's time (or coverage), so every value and
    rule holds as before, spending only falls and the phases stay nested.
    """
    b0 = blocks[0]
    C = b0.c[b0.rows]
    best = [nearest_time(C, m) for m in masks]
    masks = [m.copy() for m in masks]
    new = np.flatnonzero(masks[-1] & b0.cand)
    dropped = 0
    for j in new[np.lexsort((-new, -b0.open_cost[new]))]:
        rests = []
        for b, m, bt in zip(blocks, masks, best, strict=True):
            if m[j]:
                rest = m.copy()
                rest[j] = False
                rests.append(rest if b.goal.still_served(b, C, bt, int(j), rest) else None)
            else:
                rests.append(m)
        if all(r is not None for r in rests):
            masks = rests   # type: ignore[assignment]
            dropped += 1
    if dropped:
        blocks[-1].notes.append(f"{dropped} chosen new site(s) that improved nobody's {b0.goal.improves} "
                                "in any phase were left out")
    return masks


def _plan(blocks: list[Block], phases: list[PhaseSpec], weights: list[float], masks: list[np.ndarray],
          carry_over: bool, goal: PlanObjective, opts: Options) -> PhasedPlan:
    """The phases' sites, values, spending and one-shot values."""
    out: list[Phase] = []
    before = blocks[0].kept
    left = 0.0
    for b, ph, w, m in zip(blocks, phases, weights, masks, strict=True):
        new = np.flatnonzero(m & ~before)
        spent = float(b.open_cost[new].sum())
        budget = None if ph.budget is None else ph.budget + (left if carry_over else 0.0)
        left = 0.0 if budget is None else budget - spent
        value = goal.plan_value(b, m, None, spent)
        out.append(Phase(year=ph.year, weight=w, open_mask=m, new=new, value=value, spent=spent, budget=budget,
                         one_shot=_one_shot(b.service, int((m & b.cand).sum()), opts)))
        before = m
    return PhasedPlan(out, carry_over, goal.sense, float(sum(p.value * p.weight for p in out)))


def _one_shot(service: PlanService, n_new: int, opts: Options) -> float | None:
    """The best value with at most ``n_new`` new sites and the phase's budget so far, planned in one go
    within what is left of ``opts``' deadline (None: not proven within it)."""
    one = replace(service, p=n_new if service.p is None else min(service.p, n_new))
    try:
        best = solve_plan([one], time_limit=opts.deadline, gap_rel=opts.gap_rel, threads=opts.threads)[0]
    except OutOfTimeError:
        return None
    return best.objective if best.status == "optimal" else None


def phase_solution(solution: Solution, k: int) -> Solution:
    """Phase ``k`` of a solved phased plan as a plan of its own: its open sites, value and spending so far."""
    plan = solution.phases
    assert plan is not None, "not a phased plan"
    done = plan.phases[: k + 1]
    ph = done[-1]
    new = np.sort(np.concatenate([p.new for p in done])).astype(np.int64)
    out = Solution(model=solution.model, status=solution.status, objective=ph.value, gap=solution.gap,
                   open_sites=np.flatnonzero(ph.open_mask), new_sites=new, solve_seconds=solution.solve_seconds,
                   build_seconds=solution.build_seconds, n_variables=solution.n_variables,
                   n_constraints=solution.n_constraints, notes=list(solution.notes))
    out.budget_used = float(sum(p.spent for p in done))
    return out
