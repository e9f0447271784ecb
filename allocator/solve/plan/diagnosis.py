"""Explaining an infeasible plan: which rule (and which service, district or locations) makes it impossible."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.solve import highs
from allocator.solve.checks import options
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.objectives.max_coverage import MAX_COVERAGE
from allocator.solve.objectives.set_cover import SET_COVER
from allocator.solve.plan.block import Block
from allocator.solve.plan.spec import PlanService, Sites
from allocator.solve.solution import Solution

#: how a check solves a plan of one service (``allocator.solve.plan.model.solve_plan``, which calls this module)
PlanSolver = Callable[..., list[Solution]]

_DIAGNOSE_SECONDS = 30.0   # at most this long spent explaining an infeasible plan


def explain_infeasible(blocks: list[Block], shared_budget: float | None, solve: PlanSolver,
                       threads: int = 1, deadline: Deadline | None = None) -> AllocatorError:
    """Name the rule (and the service, district or locations) that makes the plan impossible.

    Cheap arithmetic first (capacities, savings), then small feasibility
    checks of one rule at a time: ``max_time`` (how many new sites, or how
    much money, reaching every location within it takes, by set cover) and
    each district floor on its own (``solve`` solves the set covers of the
    ``max_time`` check: the plan model itself).  The error carries ``service`` (the
    service's name) when one service is at fault; ``field`` is the scenario
    key relative to that service.  The checks stop at ``deadline`` (the solve
    stage's) or after ``_DIAGNOSE_SECONDS``, whichever comes first: then the
    error names every rule.
    """
    left = None if deadline is None else deadline.remaining()
    until = time.perf_counter() + (_DIAGNOSE_SECONDS if left is None else min(_DIAGNOSE_SECONDS, left))
    for b in blocks:
        s = b.service
        if b.capacity is not None:
            cap = float(np.where(np.isfinite(b.capacity), b.capacity, 1e300).sum() + b.up_cap.sum())
            need = float(b.w[b.rows].sum()) if b.goal.serves_everyone else 0.0
            if cap < need:
                return _of(s, AllocatorError(
                    f"service {s.name}: every site together holds {cap:,.0f} people but {need:,.0f} must be served",
                    field="capacity", fix="raise capacities, add candidate sites or upgrades"))
        if s.budget is not None and s.budget < 0 and b.saving[b.closable].sum() < -s.budget:
            return _of(s, AllocatorError(f"service {s.name}: closing every closable site saves "
                                         f"{b.saving[b.closable].sum():,.0f}, less than the {-s.budget:,.0f} asked",
                                         field="budget", fix="raise the budget"))
        if s.max_time is not None and (err := _max_time_shortfall(b, shared_budget, solve, threads, until)):
            return err
        if s.floors and (err := _floor_shortfall(b, shared_budget, threads, until)):
            return err
    rules = [("p/budget", "p / budget")]
    if any(b.service.max_time is not None for b in blocks):
        rules.append(("max_time", "max_time_min"))
    if any(b.service.floors for b in blocks):
        rules.append(("coverage floors", "district_floor"))
    if any(b.capacity is not None for b in blocks):
        rules.append(("capacities", "capacity"))
    if shared_budget is not None:
        rules.append(("the shared budget", "shared_budget"))
    err = AllocatorError("infeasible: no plan satisfies " + ", ".join(r[0] for r in rules) + " together",
                         field=" / ".join(r[1] for r in rules),
                         fix="raise p or the budget, lower the floors, or relax max_time / capacities")
    return _of(blocks[0].service, err) if len(blocks) == 1 else err


def _of(service: PlanService, err: AllocatorError) -> AllocatorError:
    # the pipeline reads ``service`` when one service is at fault
    err.service = service.name  # type: ignore[attr-defined]
    return err


def _limits(s: PlanService, shared_budget: float | None) -> tuple[float | None, str]:
    """The most this service may spend on its own, and its p/budget limits in words."""
    budgets = [x for x in (s.budget, shared_budget) if x is not None]
    words = ([f"p = {s.p}"] if s.p is not None else []) + ([f"budget {s.budget:g}"] if s.budget is not None else []) \
        + ([f"shared budget {shared_budget:g}"] if shared_budget is not None else [])
    return (min(budgets) if budgets else None), " and ".join(words) or "no limit"


def _remaining(deadline: float) -> float | None:
    left = deadline - time.perf_counter()
    return left if left > 0.05 else None


def _feasible(s: PlanService, threads: int, deadline: float) -> bool | None:
    """Whether one service's rules can be met at all (None: not known within the time left)."""
    left = _remaining(deadline)
    if left is None:
        return None
    prob, limit = pulp.LpProblem("check", pulp.LpMinimize), Deadline(left)
    try:
        block = Block(prob, 0, s, MAX_COVERAGE, deadline=limit)
    except OutOfTimeError:
        return None
    except AllocatorError:
        return False
    prob.setObjective(block.spend)
    run = highs.solve(prob, options(limit, 0.0, threads))
    return {"infeasible": False, "optimal": True, "time_limit": True}.get(run.status)


def _max_time_shortfall(b: Block, shared_budget: float | None, solve: PlanSolver, threads: int,
                        deadline: float) -> AllocatorError | None:
    """max_time: the locations no existing site reaches in time, and the fewest sites (cheapest set) reaching them."""
    s, c, w = b.service, b.c, b.w
    near = c <= s.max_time
    today = b.kept | b.closable
    need = (w > 0) & near.any(axis=1) & ~(near[:, today].any(axis=1) if today.any() else False)
    if not need.any():
        return None
    head = (f"service {s.name}: max_time_min {s.max_time:g}: {int(need.sum())} location(s) ({w[need].sum():,.0f} "
            f"people) have no existing site within {s.max_time:g} min")

    def cover(open_cost) -> float | None:
        left = _remaining(deadline)
        if left is None:
            return None
        v = PlanService(name=s.name, objective=SET_COVER.name, cost=c, weight=np.where(need, w, 0.0),
                        sites=Sites(kept=today, closable=np.zeros_like(today), open_cost=open_cost),
                        threshold=s.max_time)
        try:
            sol = solve([v], time_limit=left, threads=threads)[0]
        except AllocatorError:
            return None
        return sol.objective if sol.status == "optimal" else None

    fix = "raise p or the budget, raise max_time_min, or add candidate sites near those locations"
    if s.p is not None and not s.relocate and (k := cover(None)) is not None and k > s.p + 1e-9:
        return _of(s, AllocatorError(f"{head}; reaching them all takes at least {k:.0f} new site(s), but p = {s.p}",
                                     field="max_time_min", fix=fix))
    budget, _ = _limits(s, shared_budget)
    savings = float(b.saving[b.closable].sum())
    if budget is not None and (cost := cover(b.open_cost)) is not None and cost > budget + savings + 1e-9:
        return _of(s, AllocatorError(
            f"{head}; reaching them all costs at least {cost:g}, more than the budget of {budget:g}"
            + (f" plus every possible saving ({savings:g})" if savings else ""), field="max_time_min", fix=fix))
    return None


def _floor_shortfall(b: Block, shared_budget, threads: int, deadline: float) -> AllocatorError | None:
    """Coverage floors: the districts below their floor today, and those that cannot reach it even alone."""
    s, c, w = b.service, b.c, b.w
    today = b.kept | b.closable
    within = np.asarray((c[:, today] <= b.T).any(axis=1)) if today.any() else np.zeros(c.shape[0], bool)
    below = []
    for fl in s.floors:
        members = np.asarray(fl.clients, bool) & (w > 0)
        total = float(w[members].sum())
        share = float(w[members] @ within[members]) / total if total else 1.0
        if share < fl.share - 1e-12:
            below.append((share, fl, members))
    if not below:
        return None
    below.sort(key=lambda r: r[0])
    budget, limits = _limits(s, shared_budget)
    alone, unknown = [], False
    for share, fl, members in below:
        ok = _feasible(replace(s, objective=MAX_COVERAGE.name, weight=np.where(members, w, 0.0), floors=[fl],
                               max_time=None, budget=budget), threads, deadline)
        unknown |= ok is None
        if ok is False:
            alone.append((share, fl))

    def names(rows) -> str:
        shown = ", ".join(f"{fl.label} ({share:.0%} today)" for share, fl, *_ in rows[:5])
        return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")

    floor = f"the floor of {below[0][1].share:.0%} of people within {b.T:g} min"
    if alone:
        return _of(s, AllocatorError(
            f"service {s.name}: {len(alone)} district(s) cannot reach {floor} with {limits}, even with every new "
            f"site there: {names(alone)}", field="district_floor",
            fix="raise p or the budget, lower district_floor, or add candidate sites in those districts"))
    if not unknown:   # each floor can be met alone: are the floors together the trouble, or another rule?
        together = _feasible(replace(s, objective=MAX_COVERAGE.name, max_time=None, budget=budget), threads, deadline)
        if together is not False:
            return None
    how = "can each reach it on its own, but not all together" if not unknown else "cannot all reach it"
    return _of(s, AllocatorError(
        f"service {s.name}: {len(below)} district(s) start below {floor} and {how} with {limits}: "
        f"{names(below)}", field="district_floor", fix="raise p or the budget, or lower district_floor"))

