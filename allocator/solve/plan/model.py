"""Planning models with budgets, closures, relocation, capacities and floors.

:mod:`allocator.solve.models` solves the four classic models fast when the question
is only "open p new sites next to the existing ones".  Real plans add rules;
this module builds ONE exact integer program for one or several services:

- **Existing sites** are *kept* (always open) or *closable* (a variable; closing
  one saves ``saving``).  With ``relocate`` a closure also frees one of the
  ``p`` new sites (new - closed <= p), so a site can move.
- **Budget**: ``open_cost`` per candidate, ``upgrade_cost`` per upgrade, minus the
  savings of closures, at most ``budget`` per service and/or a ``shared_budget``
  over all services.  ``p`` (most new sites) may be given too, or alone.
- **Capacities** (people per site; ``upgrade_capacity`` more after an upgrade):
  demand is *split* (a location's people may be shared between sites, the
  usual reading for population cells) with one assignment variable per
  (location, site) pair that can be used: within ``max_time`` (p-median) or
  the threshold (coverage models).  Exact for the model as stated, and sparse.
- **max_time** (p-median): everyone who has some site within ``max_time`` must
  get one; locations with none are noted and left out of that rule.
- **Coverage floors**: in each listed group of locations (a district) at least
  ``share`` of the people within the threshold.
- **Objectives**: those of the catalogue that are their own plan model
  (:data:`allocator.solve.objectives.PLAN_OBJECTIVES`: ``p_median``, min
  person-minutes; ``max_coverage``, max people within the threshold, i.e. min
  underserved; ``set_cover``, min net cost, everyone coverable covered), each
  building its rows as a :class:`~allocator.solve.plan.block.PlanObjective`.
  Services solved together must share the objective; each is weighted by
  ``priority``.

The formulations (chained radius rows, coverage rows, the assignment model
with capacities) are in docs/formulations/plans.md.  The rows of one service
are built by :class:`allocator.solve.plan.block.Block`, its p-median levels by
:mod:`allocator.solve.plan.levels`, and an impossible plan is explained by
:mod:`allocator.solve.plan.diagnosis`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pulp

from allocator.errors import AllocatorError
from allocator.solve import highs
from allocator.solve.checks import Options, options
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.highs import relative_gap
from allocator.solve.objectives import plan_objective
from allocator.solve.plan.block import Block, PlanObjective, check_number
from allocator.solve.plan.diagnosis import explain_infeasible
from allocator.solve.plan.levels import Levels
from allocator.solve.plan.spec import Floor, PlanService, Sites
from allocator.solve.solution import Solution

__all__ = ["Floor", "PlanService", "Rounds", "Sites", "solve_plan", "solve_rounds"]


def solve_plan(services: list[PlanService], shared_budget: float | None = None, *, time_limit=None,
               gap_rel=None, threads=None) -> list[Solution]:
    """Solve the services together in one exact integer program; one :class:`Solution` each.

    ``Solution.objective`` is re-evaluated from the chosen sites (and, with
    capacities, the assignment) with numpy; ``shares`` holds the model's split
    assignment (:func:`split_times` turns it into each location's travel
    time), ``closed_sites`` and ``upgraded_sites`` what changed besides the new
    sites, ``budget_used`` the net spending.  Raises :class:`AllocatorError`
    naming the rule that makes the plan impossible.
    """
    goals = _goals(services)
    opts = options(time_limit, gap_rel, threads)
    sense = pulp.LpMinimize if goals[0].sense == "min" else pulp.LpMaximize
    if shared_budget is not None:
        check_number(shared_budget, "shared_budget")
    r = solve_rounds(lambda levels: _build(services, goals, shared_budget, sense, levels, opts.deadline),
                     len(services), opts,
                     lambda blocks: explain_infeasible(blocks, shared_budget, solve_plan, threads=opts.threads,
                                                       deadline=opts.deadline))
    return _solutions(r.blocks, r.prob, r.run, r.build, opts, r.rounds, shared_budget)


@dataclass
class Rounds:
    """The last model of an exact level generation, its blocks and run (seconds summed over the rounds)."""

    prob: pulp.LpProblem
    blocks: list[Block]
    run: highs.Run
    build: float
    rounds: int


def solve_rounds(build: Callable[[list[Levels | None]], tuple[pulp.LpProblem, list[Block]]], n_blocks: int,
                 opts: Options, infeasible: Callable[[list[Block]], AllocatorError]) -> Rounds:
    """Build and solve the model until no p-median block is served beyond its levels (see :class:`Levels`).

    ``build`` makes the model with each block's levels (None: the first
    levels), checking the deadline as it goes; ``infeasible`` is the error an
    impossible model raises.  Each round starts from the last round's site
    decisions.  Past the deadline (a build included) the last round solved
    is the answer, status ``time_limit`` (its relaxed bound is a bound);
    before any: :class:`OutOfTimeError`.
    """
    levels: list[Levels | None] = [None] * n_blocks
    previous: dict[str, float] = {}   # the last round's site and upgrade decisions, by variable name
    build_s = seconds = 0.0
    rounds = 0
    last: Rounds | None = None
    while True:   # exact level generation for uncapacitated p-median services (see Levels)
        t0 = time.perf_counter()
        try:
            prob, blocks = build(levels)
            opts.check()   # built past the limit: no time left to solve it
        except OutOfTimeError:
            if last is None:
                raise
            return replace(last, run=replace(last.run, status="time_limit"), build=build_s + time.perf_counter() - t0)
        build_s += time.perf_counter() - t0
        start = {v: previous[v.name] for b in blocks for v in b.y + b.v} if previous else None
        run = highs.solve(prob, opts, start)
        seconds += run.seconds
        rounds += 1
        if run.status == "infeasible":
            raise infeasible(blocks)
        if run.status == "no_solution":
            raise OutOfTimeError(opts.time_limit)
        last = Rounds(prob, blocks, replace(run, seconds=seconds), build_s, rounds)
        levels = [b.levels for b in blocks]
        grown = [b.levels.extend(b.open_positions()) for b in blocks if b.levels is not None]
        if not any(grown):
            return last
        if run.status != "optimal" or opts.expired():
            return replace(last, run=replace(last.run, status="time_limit"))
        previous = {v.name: v.varValue or 0.0 for b in blocks for v in b.y + b.v}


def _goals(services: list[PlanService]) -> list[PlanObjective]:
    """Each service's plan objective; services solved together must share it."""
    if not services:
        raise AllocatorError("a plan needs at least one service", field="services")
    goals = [plan_objective(s.objective) for s in services]
    if len(services) > 1 and not goals[0].adds_up:
        raise AllocatorError(f"{services[0].objective} cannot be solved jointly: the values of several services "
                             "do not add up to one model", field="objective",
                             fix="give each service its own budget, or solve them with p_median")
    if len({s.objective for s in services}) > 1:
        raise AllocatorError("services that share a budget must have the same objective, got "
                             + ", ".join(sorted({s.objective for s in services})),
                             field="objective", fix="give them one objective, or separate budgets")
    return goals


def _solutions(blocks: list[Block], prob: pulp.LpProblem, run: highs.Run, build: float, opts: Options, rounds: int,
               shared_budget: float | None) -> list[Solution]:
    """One :class:`Solution` per service of the solved joint model, with its status, gap and notes."""
    solutions = [b.solution(run, build, opts) for b in blocks]
    if any(not math.isfinite(s.objective) for s in solutions):
        raise AllocatorError("no plan serving every location was found within the time limit",
                             field="time_limit", fix="raise solver.time_limit_s")
    if rounds > 1:
        for s, b in zip(solutions, blocks, strict=True):
            if b.levels is not None:
                s.notes.append(f"exact level generation needed {rounds} solves")
    for s in solutions:   # the size of the whole (joint) model
        s.n_variables, s.n_constraints = len(prob.variables()), len(prob.constraints())
    total = sum(s.objective * b.service.priority for s, b in zip(solutions, blocks, strict=True))
    bound = run.bound + sum(b.obj_const * b.service.priority for b in blocks)
    if len(blocks) == 1:   # the plan's value may be a function of the model's (kolm_pollak)
        bound = blocks[0].goal.bound_value(blocks[0], bound / blocks[0].service.priority) * blocks[0].service.priority
    gap = relative_gap(total, bound, maximise=prob.sense == pulp.LpMaximize)
    for s in solutions:
        s.gap = gap
        s.status = run.status
        if run.status == "time_limit":
            s.notes.append(f"time limit reached: best plan found, proven gap {gap:.2%}")
        if len(blocks) > 1:
            s.notes.append(f"solved jointly with {len(blocks) - 1} other service(s)"
                           + (" sharing one budget" if shared_budget is not None else ""))
    return solutions


def _build(services: list[PlanService], goals: list[PlanObjective], shared_budget: float | None, sense: int,
           levels: list[Levels | None], deadline: Deadline) -> tuple[pulp.LpProblem, list[Block]]:
    """The joint integer program of the services, with p-median levels cut as ``levels`` say (built by
    ``deadline``)."""
    prob = pulp.LpProblem("plan", sense)
    blocks = [Block(prob, k, s, goal, lv, deadline)
              for k, (s, goal, lv) in enumerate(zip(services, goals, levels, strict=True))]
    objective = pulp.LpAffineExpression()
    for b in blocks:
        objective += b.objective * b.service.priority
    prob.setObjective(objective)
    if shared_budget is not None:
        spend = pulp.LpAffineExpression()
        const = 0.0
        for b in blocks:
            spend += b.spend
            const += b.spend_const
        prob.addConstraint(spend <= shared_budget - const, "shared_budget")
    return prob, blocks


