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
- **Objectives**: ``p_median`` (min person-minutes), ``max_coverage`` (max people
  within the threshold, i.e. min underserved), ``set_cover`` (min net cost,
  everyone coverable covered).  Services solved together must share the
  objective's sense; each is weighted by ``priority``.

Formulations: uncapacitated p-median uses the chained radius rows of
:func:`allocator.solve.models.radius_rows` (Elloumi 2010; García, Labbé & Marín 2011)
truncated at the nearest kept site; uncapacitated coverage one ``u_i <=
sum_{j in N_i} y_j`` per location (Church & ReVelle 1974); capacitated models the
textbook assignment model (ReVelle & Swain 1970; Pirkul & Schilling 1991 for
capacitated coverage) restricted to usable pairs, with ``x_ij <= y_j``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.solve import bounds as mb
from allocator.solve import highs
from allocator.solve.checks import check_cost, check_threshold, check_weight, options
from allocator.solve.highs import add_row, binary_values, relative_gap
from allocator.solve.kernels import nearest_time, objective_of, split_minutes, split_times  # noqa: F401 (re-exported)
from allocator.solve.radius import level_at, radius_levels, radius_rows
from allocator.solve.solution import Solution

#: levels per location in a plan's first p-median model (see _Levels)
_PLAN_FIRST_LEVELS = 4
#: most swaps of the interchange that sets a plan's first caps (a heuristic: it only sizes the model)
_PLAN_SWAPS = 50

MEDIAN_FAMILY = {"p_median": pulp.LpMinimize, "max_coverage": pulp.LpMaximize, "set_cover": pulp.LpMinimize}


@dataclass
class Sites:
    """One service's sites in cost-matrix column order."""

    kept: np.ndarray                       # bool: existing, always open
    closable: np.ndarray                   # bool: existing, may close
    open_cost: np.ndarray | None = None    # per site, used for candidates (default 1 each)
    saving: np.ndarray | None = None       # per site, used for closable sites (default 0)
    capacity: np.ndarray | None = None     # people per site (inf = unlimited); None = uncapacitated
    upgrade_capacity: np.ndarray | None = None   # extra people after an upgrade (existing sites; 0 = none)
    upgrade_cost: np.ndarray | None = None

    @property
    def candidate(self) -> np.ndarray:
        return ~self.kept & ~self.closable


@dataclass
class Floor:
    """At least ``share`` of the people of ``clients`` (bool mask) within the threshold."""

    clients: np.ndarray
    share: float
    label: str = "district"


@dataclass
class PlanService:
    """One service of a plan: its matrix, demand, sites, objective and rules."""

    name: str
    objective: str                 # p_median | max_coverage | set_cover
    cost: np.ndarray
    weight: np.ndarray
    sites: Sites
    threshold: float | None = None
    p: int | None = None           # most new sites (None: no count limit)
    relocate: bool = False
    budget: float | None = None
    max_time: float | None = None
    floors: list[Floor] = field(default_factory=list)
    priority: float = 1.0


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
    if not services:
        raise AllocatorError("a plan needs at least one service", field="services")
    senses = {MEDIAN_FAMILY.get(s.objective) for s in services}
    if None in senses:
        bad = [s.objective for s in services if s.objective not in MEDIAN_FAMILY]
        raise AllocatorError(f"objective {bad[0]} cannot be combined with budgets, closures or capacities",
                             field="objective", fix="use p_median, max_coverage or set_cover")
    if len({s.objective for s in services}) > 1:
        raise AllocatorError("services that share a budget must have the same objective, got "
                             + ", ".join(sorted({s.objective for s in services})),
                             field="objective", fix="give them one objective, or separate budgets")
    opts = options(time_limit, gap_rel, threads)
    sense = senses.pop()
    assert sense is not None   # every objective has a sense: checked above
    if shared_budget is not None:
        _check_number(shared_budget, "shared_budget")
    levels: list[_Levels | None] = [None] * len(services)
    previous: dict[str, float] = {}   # the last round's site and upgrade decisions, by variable name
    build = seconds = 0.0
    rounds = 0
    while True:   # exact level generation for uncapacitated p-median services (see _Levels)
        t0 = time.perf_counter()
        prob, blocks = _build(services, shared_budget, sense, levels)
        build += time.perf_counter() - t0
        start = {v: previous[v.name] for b in blocks for v in b.y + b.v} if previous else None
        run = highs.solve(prob, opts, start)
        seconds += run.seconds
        rounds += 1
        if run.status == "infeasible":
            raise _explain_infeasible(blocks, shared_budget, threads=opts.threads)
        if run.status == "no_solution":
            raise AllocatorError("no plan was found within the time limit", field="time_limit",
                                 fix="raise solver.time_limit_s")
        levels = [b.levels for b in blocks]
        grown = [b.levels.extend(b.open_positions()) for b in blocks if b.levels is not None]
        if not any(grown):
            break
        if run.status != "optimal" or opts.expired():
            run = replace(run, status="time_limit")
            break
        previous = {v.name: v.varValue or 0.0 for b in blocks for v in b.y + b.v}
    run = replace(run, seconds=seconds)
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
    gap = relative_gap(total, run.bound + sum(b.obj_const * b.service.priority for b in blocks),
               maximise=prob.sense == pulp.LpMaximize)
    for s in solutions:
        s.gap = gap
        s.status = run.status
        if run.status == "time_limit":
            s.notes.append(f"time limit reached: best plan found, proven gap {gap:.2%}")
        if len(blocks) > 1:
            s.notes.append(f"solved jointly with {len(blocks) - 1} other service(s)"
                           + (" sharing one budget" if shared_budget is not None else ""))
    return solutions


def _build(services: list[PlanService], shared_budget: float | None, sense: int,
           levels: list[_Levels | None]) -> tuple[pulp.LpProblem, list[_Block]]:
    """The joint integer program of the services, with p-median levels cut as ``levels`` say."""
    prob = pulp.LpProblem("plan", sense)
    blocks = [_Block(prob, k, s, lv) for k, (s, lv) in enumerate(zip(services, levels, strict=True))]
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


@dataclass
class _Levels:
    """Radius levels of an uncapacitated p-median service and where each location's rows stop.

    Like :func:`allocator.solve.models.solve_p_median`, a plan keeps only each
    location's first ``t`` levels (the model then charges ``min(cost,
    D^{t+1})``, a relaxation: every other rule is unchanged).  The first model
    has ``_PLAN_FIRST_LEVELS`` levels per location; after each solve every
    location's cap grows to its second-nearest open site, and a location
    served beyond its cap to 1.5 x its cost.  When no location is served
    beyond its cap the relaxed value is the true value, so the plan is optimal.
    """

    Ca: np.ndarray          # locations (rows with people) x site variables
    fa: np.ndarray          # cost to the nearest kept site (inf: none)
    levels: list
    members: list
    K: np.ndarray
    t: np.ndarray

    @classmethod
    def first(cls, Ca: np.ndarray, fa: np.ndarray, W: np.ndarray, n_open: int) -> _Levels:
        """Levels of every location, cut after ``_PLAN_FIRST_LEVELS`` and, when
        ``n_open`` > 0, grown as if a rule-free heuristic plan with ``n_open``
        sites (greedy adding + interchange) were the first solution."""
        levels, members, K = radius_levels(Ca, fa)
        lv = cls(Ca, fa, levels, members, K, np.minimum(_PLAN_FIRST_LEVELS, K - 1))
        if 0 < n_open < Ca.shape[1]:
            P, fpen = mb.penalised(Ca, fa)
            lv.extend(mb.interchange(P, W, fpen, mb.greedy(P, W, fpen, n_open), max_swaps=_PLAN_SWAPS))
        return lv

    def extend(self, open_pos: np.ndarray) -> bool:
        """Grow the caps from a solution (site-variable positions open); True if it was not exact."""
        # the kept sites twice: with one open site or none, "second nearest" is the nearest kept one
        near = np.partition(np.column_stack([self.Ca[:, open_pos], self.fa, self.fa]), 1, axis=1)
        cost, second = near[:, 0], near[:, 1]
        cap = np.array([D[t] for D, t in zip(self.levels, self.t, strict=True)])
        viol = (self.t < self.K - 1) & (cost > cap)
        target = np.where(viol, np.maximum(second, cost * 1.5), second)
        self.t = np.maximum(self.t, level_at(self.levels, self.K, target))
        return bool(viol.any())


def _check_number(value, name: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AllocatorError(f"{name} must be a finite number, got {value!r}", field=name)
    return float(value)


class _Block:
    """One service's variables, rows, objective and spending inside the plan."""

    def __init__(self, prob: pulp.LpProblem, k: int, s: PlanService, levels: _Levels | None = None):
        self.service = s
        self.levels = levels
        self.prefix = f"s{k}_"
        self.c = check_cost(s.cost)
        n, m = self.c.shape
        self.w = check_weight(s.weight, n)
        st = s.sites
        self.kept, self.closable = np.asarray(st.kept, bool), np.asarray(st.closable, bool)
        if self.kept.shape != (m,) or self.closable.shape != (m,) or (self.kept & self.closable).any():
            raise AllocatorError("kept/closable must be disjoint bool arrays, one flag per site", field="sites")
        self.cand = ~self.kept & ~self.closable
        self.open_cost = _per_site(st.open_cost, m, 1.0, "open_cost")
        self.saving = _per_site(st.saving, m, 0.0, "saving")
        self.capacity = None if st.capacity is None else _per_site(st.capacity, m, math.inf, "capacity")
        self.up_cap = _per_site(st.upgrade_capacity, m, 0.0, "upgrade_capacity")
        self.up_cost = _per_site(st.upgrade_cost, m, 0.0, "upgrade_cost")
        if s.objective == "set_cover":
            # with nothing saved, closing a site never helps a set cover: it stays
            free = self.closable & (self.saving <= 0)
            self.kept, self.closable = self.kept | free, self.closable & ~free
        self.T = None if s.threshold is None else check_threshold(s.threshold)
        if (s.objective != "p_median" or s.floors) and self.T is None:
            raise AllocatorError(f"service {s.name}: {s.objective} needs a threshold", field="threshold_min")
        self.notes: list[str] = []
        self.var = np.flatnonzero(~self.kept)           # site index of each y
        self.y = [prob.add_variable(f"{self.prefix}y{j:07d}", 0, 1, pulp.LpBinary) for j in self.var]
        self.yof = {int(j): v for j, v in zip(self.var, self.y, strict=True)}
        self.upg = np.flatnonzero(~self.cand & (self.up_cap > 0)) if self.capacity is not None else np.zeros(0, int)
        self.v = [prob.add_variable(f"{self.prefix}v{j:07d}", 0, 1, pulp.LpBinary) for j in self.upg]
        for j, v in zip(self.upg, self.v, strict=True):
            if self.closable[j]:
                add_row(prob, [(v, 1.0), (self.yof[int(j)], -1.0)], pulp.LpConstraintLE, 0, f"{self.prefix}vy{j}")
        self._rules(prob)
        self.x: dict = {}
        self.u: dict = {}
        self.obj_const = 0.0
        self.objective = self._objective(prob)
        self._floors(prob)

    # -- spending and counting ------------------------------------------------ #
    def _rules(self, prob):
        s = self.service
        cl = [self.yof[int(j)] for j in np.flatnonzero(self.closable)]
        newv = [self.yof[int(j)] for j in np.flatnonzero(self.cand)]
        if s.p is not None:
            if int(s.p) < 0:
                raise AllocatorError("p must be >= 0", field="p")
            pairs = [(v, 1.0) for v in newv] + ([(v, 1.0) for v in cl] if s.relocate else [])
            add_row(prob, pairs, pulp.LpConstraintLE, int(s.p) + (len(cl) if s.relocate else 0), f"{self.prefix}p")
        elif s.relocate:
            raise AllocatorError("relocate needs p (a closure frees one of the p new sites)", field="relocate")
        # spend = sum open_cost y_new + sum upgrade_cost v - sum saving (1 - y_closable)
        pairs = [(self.yof[int(j)], self.open_cost[j]) for j in np.flatnonzero(self.cand)]
        pairs += [(self.yof[int(j)], self.saving[j]) for j in np.flatnonzero(self.closable)]
        pairs += [(v, self.up_cost[j]) for j, v in zip(self.upg, self.v, strict=True)]
        self.spend = pulp.LpAffineExpression(pairs)
        self.spend_const = -float(self.saving[self.closable].sum())
        if s.budget is not None:
            budget = _check_number(s.budget, "budget")
            prob.addConstraint(self.spend <= budget - self.spend_const, f"{self.prefix}budget")

    # -- objective blocks --------------------------------------------------- #
    def _objective(self, prob):
        s = self.service
        pos = self.w > 0
        self.rows = np.flatnonzero(pos & np.isfinite(self.c).any(axis=1))
        lost = np.flatnonzero(pos & ~np.isfinite(self.c).any(axis=1))
        if lost.size:
            self.notes.append(f"{lost.size} location(s) ({self.w[lost].sum():g} people) reach no site "
                              "and were excluded")
        if s.objective == "p_median":
            return self._median(prob)
        return self._coverage(prob)

    def _usable(self, i: int) -> np.ndarray:
        """Sites location ``i`` may be assigned to (capacitated models)."""
        s, row = self.service, self.c[i]
        if s.objective != "p_median":
            return np.flatnonzero(row <= self.T)
        if s.max_time is not None and (row <= s.max_time).any():
            return np.flatnonzero(row <= s.max_time)
        return np.flatnonzero(np.isfinite(row))

    def _median(self, prob):
        s = self.service
        c, w = self.c, self.w
        if s.max_time is not None:
            self._max_time_rows(prob)
        if self.capacity is not None:
            return self._assignment(prob, require=self.rows, cost=True)
        if self.levels is None:
            fa = c[:, self.kept].min(axis=1) if self.kept.any() else np.full(c.shape[0], np.inf)
            self.levels = _Levels.first(c[np.ix_(self.rows, self.var)], fa[self.rows], w[self.rows],
                                        self._open_estimate())
        lv = self.levels
        obj, self.z, mconst = radius_rows(prob, self.y, w[self.rows], lv.levels, lv.members, lv.t, lv.K, lv.fa,
                                          prefix=self.prefix)
        self.obj_const = mconst
        return pulp.LpAffineExpression(obj)

    def _open_estimate(self) -> int:
        """About how many site variables a plan opens: the closable sites plus
        ``p`` new ones, or as many as the budget buys at the median cost (0: unknown)."""
        s = self.service
        if s.p is not None:
            new = int(s.p)
        elif s.budget is not None and self.cand.any():
            new = int(s.budget // max(float(np.median(self.open_cost[self.cand])), 1e-9))
        else:
            return 0
        return int(self.closable.sum()) + min(new, int(self.cand.sum()))

    def _max_time_rows(self, prob):
        s, c = self.service, self.c
        near = c <= s.max_time
        ok_kept = near[:, self.kept].any(axis=1) if self.kept.any() else np.zeros(c.shape[0], bool)
        some = near.any(axis=1)
        out = np.intersect1d(np.flatnonzero(~some), self.rows)
        if out.size:
            self.notes.append(f"{out.size} location(s) ({self.w[out].sum():g} people) have no site within "
                              f"max_time {s.max_time:g} min and are not bound by it")
        for i in np.intersect1d(np.flatnonzero(some & ~ok_kept), self.rows):
            add_row(prob, [(self.yof[int(j)], 1.0) for j in np.flatnonzero(near[i]) if not self.kept[j]],
                     pulp.LpConstraintGE, 1, f"{self.prefix}tmax{i}")

    def _coverage(self, prob):
        s, c, w = self.service, self.c, self.w
        if self.capacity is not None:
            coverable = np.intersect1d(self.rows, np.flatnonzero((c <= self.T).any(axis=1)))
            self._lost_beyond_threshold()
            if s.objective == "set_cover":
                self._assignment(prob, require=coverable, cost=False)
                return self._net_cost()
            return self._assignment(prob, require=np.zeros(0, int), cost=False, among=coverable)
        covk = np.asarray((c[:, self.kept] <= self.T).any(axis=1)) if self.kept.any() else np.zeros(c.shape[0], bool)
        self.covk = covk
        self._lost_beyond_threshold()
        act = [i for i in self.rows if not covk[i] and (c[i] <= self.T).any()]
        if s.objective == "set_cover":
            for i in act:
                add_row(prob, [(self.yof[int(j)], 1.0) for j in np.flatnonzero(c[i] <= self.T)],
                         pulp.LpConstraintGE, 1, f"{self.prefix}cov{i}")
            return self._net_cost()
        self.obj_const = float(w[self.rows][covk[self.rows]].sum())
        pairs = []
        for i in act:
            self.u[i] = prob.add_variable(f"{self.prefix}u{i:07d}", 0, 1)
            add_row(prob, [(self.u[i], 1.0)] + [(self.yof[int(j)], -1.0) for j in np.flatnonzero(c[i] <= self.T)],
                     pulp.LpConstraintLE, 0, f"{self.prefix}u{i}")
            pairs.append((self.u[i], w[i]))
        return pulp.LpAffineExpression(pairs)

    def _lost_beyond_threshold(self):
        far = [i for i in self.rows if not (self.c[i] <= self.T).any()]
        if far:
            self.notes.append(f"{len(far)} location(s) ({self.w[far].sum():g} people) have no site within "
                              f"{self.T:g} min: they stay underserved")

    def _net_cost(self):
        self.obj_const = self.spend_const
        return self.spend

    def _assignment(self, prob, require, cost: bool, among=None):
        """Split assignment x_ij over usable pairs, capacity rows, x_ij <= y_j."""
        c, w = self.c, self.w
        clients = self.rows if among is None else among
        req = set(int(i) for i in require)
        load: dict[int, list] = {}
        obj = []
        for i in clients:
            sites = self._usable(int(i))
            if sites.size == 0:
                continue
            xs = [prob.add_variable(f"{self.prefix}x{i:07d}_{j:07d}", 0, 1) for j in sites]
            for j, x in zip(sites, xs, strict=True):
                self.x[(int(i), int(j))] = x
                load.setdefault(int(j), []).append((x, w[i]))
                obj.append((x, w[i] * (c[i, j] if cost else 1.0)))
                if not self.kept[j]:
                    add_row(prob, [(x, 1.0), (self.yof[int(j)], -1.0)], pulp.LpConstraintLE, 0,
                             f"{self.prefix}xy{i}_{j}")
            add_row(prob, [(x, 1.0) for x in xs], pulp.LpConstraintEQ if int(i) in req else pulp.LpConstraintLE,
                     1, f"{self.prefix}a{i}")
        ups = dict(zip(self.upg.tolist(), self.v, strict=True))
        capacity = self.capacity
        assert capacity is not None   # only the capacitated models assign
        for j, pairs in load.items():
            cap = capacity[j]
            if not math.isfinite(cap) and j not in ups:
                continue
            rhs_pairs = [] if self.kept[j] else [(self.yof[j], -cap)]
            if j in ups:
                rhs_pairs.append((ups[j], -self.up_cap[j]))
            add_row(prob, pairs + rhs_pairs, pulp.LpConstraintLE, cap if self.kept[j] else 0, f"{self.prefix}cap{j}")
        if self.service.objective == "set_cover":
            return None
        return pulp.LpAffineExpression(obj)

    def _floors(self, prob):
        s, c, w = self.service, self.c, self.w
        for k, fl in enumerate(s.floors):
            if not 0 <= fl.share <= 1:
                raise AllocatorError(f"coverage floor share must be in [0, 1], got {fl.share}", field="floors")
            members = np.flatnonzero(np.asarray(fl.clients, bool) & (w > 0))
            total = float(w[members].sum())
            if total == 0:
                continue
            reach = float(w[members][(c[members] <= self.T).any(axis=1)].sum())
            if reach < fl.share * total - 1e-9:
                raise AllocatorError(
                    f"service {s.name}: {fl.label} can have at most {reach / total:.1%} of its people within "
                    f"{self.T:g} min even with every site open, below the floor of {fl.share:.0%}",
                    field="floors", fix="lower the floor, raise the threshold or add candidate sites there")
            pairs, const = [], 0.0
            for i in members:
                near = np.flatnonzero(c[i] <= self.T)
                if near.size == 0:
                    continue
                if self.capacity is not None:
                    pairs += [(self.x[(int(i), int(j))], w[i]) for j in near if (int(i), int(j)) in self.x]
                elif self.kept[near].any():
                    const += w[i]
                else:
                    u = self.u.get(int(i))
                    if u is None:
                        u = self.u[int(i)] = prob.add_variable(f"{self.prefix}u{i:07d}", 0, 1)
                        add_row(prob, [(u, 1.0)] + [(self.yof[int(j)], -1.0) for j in near], pulp.LpConstraintLE,
                                 0, f"{self.prefix}u{i}")
                    pairs.append((u, w[i]))
            add_row(prob, pairs, pulp.LpConstraintGE, fl.share * total - const, f"{self.prefix}floor{k}")

    # -- results ------------------------------------------------------------ #
    def open_positions(self) -> np.ndarray:
        """Positions (in ``self.var``) of the site variables the solver opened."""
        return np.flatnonzero(binary_values(self.y))

    def _tidy(self, open_mask: np.ndarray) -> np.ndarray:
        """Among equally good plans, the smallest change (uncapacitated models).

        The objective is blind to a closure that saves nothing or a new site
        that changes nobody's travel time (p-median) or coverage (coverage
        models), so the solver may return either.  A city should not close a
        site for nothing or pay for a site that serves nobody better: closures
        that saved nothing are undone when the count of new sites allows (with
        ``relocate``), then such new sites are dropped, dearest first.  Every
        location keeps its time (or coverage), so the objective, ``max_time``
        and the floors hold as before, and spending only falls.
        """
        s, C = self.service, self.c[self.rows]
        open_mask = open_mask.copy()
        reopened = dropped = 0
        for j in np.flatnonzero(self.closable & ~open_mask & (self.saving <= 0)):
            open_mask[j] = True
            if s.p is not None and s.relocate and \
                    (open_mask & self.cand).sum() - (self.closable & ~open_mask).sum() > s.p:
                open_mask[j] = False
            else:
                reopened += 1
        new = np.flatnonzero(open_mask & self.cand)
        best = nearest_time(C, open_mask)   # unchanged by every drop below (within 1e-9)
        for j in new[np.lexsort((-new, -self.open_cost[new]))]:
            rest = open_mask.copy()
            rest[j] = False
            if s.objective == "p_median":
                served = np.flatnonzero(C[:, j] <= best + 1e-9)
                ok = (nearest_time(C[served], rest) <= best[served] + 1e-9).all()
            else:
                served = np.flatnonzero(C[:, j] <= self.T)
                ok = (C[np.ix_(served, rest)] <= self.T).any(axis=1).all()
            if ok:
                open_mask, dropped = rest, dropped + 1
        if reopened:
            self.notes.append(f"{reopened} closable site(s) whose closure saved nothing were kept open")
        if dropped:
            self.notes.append(f"{dropped} chosen new site(s) that improved nobody's "
                              + ("travel time" if s.objective == "p_median" else "coverage") + " were left out")
        return open_mask

    def solution(self, run, build: float, opts) -> Solution:
        s, c, w = self.service, self.c, self.w
        on = binary_values(self.y)
        open_mask = self.kept.copy()
        open_mask[self.var[on]] = True
        if self.capacity is None:
            open_mask = self._tidy(open_mask)
        up = self.upg[binary_values(self.v)] if self.v else np.zeros(0, int)
        X = None
        load = None
        if self.capacity is not None:
            X = np.zeros(c.shape)
            for (i, j), x in self.x.items():
                X[i, j] = x.varValue or 0.0
            X[X < 1e-9] = 0.0
            load = w @ X
        spent = float(self.open_cost[self.cand & open_mask].sum() + self.up_cost[up].sum()
                      - self.saving[self.closable & ~open_mask].sum())
        value = spent if s.objective == "set_cover" else \
            objective_of(s.objective, c, w, open_mask, self.T, shares=X, rows=self.rows)
        sol = Solution(model=s.objective, status=run.status, objective=value, gap=None,
                       open_sites=np.flatnonzero(open_mask), new_sites=np.flatnonzero(open_mask & self.cand),
                       solve_seconds=run.seconds, build_seconds=build, n_variables=0, n_constraints=0,
                       notes=list(self.notes))
        sol.closed_sites = np.flatnonzero(self.closable & ~open_mask)
        sol.upgraded_sites = np.asarray(up, dtype=np.int64)
        sol.budget_used = spent
        sol.shares = X
        sol.site_load = load
        if X is not None:
            sol.assignment = np.where(X.sum(axis=1) > 1e-9, X.argmax(axis=1), -1)
        return sol


def _per_site(values, m: int, default: float, name: str) -> np.ndarray:
    if values is None:
        return np.full(m, default, dtype=float)
    a = np.asarray(values, dtype=float)
    if a.shape != (m,) or np.isnan(a).any() or (a < 0).any():
        raise AllocatorError(f"{name} needs one value >= 0 per site", field=name)
    return a


_DIAGNOSE_SECONDS = 30.0   # at most this long spent explaining an infeasible plan


def _explain_infeasible(blocks: list[_Block], shared_budget: float | None, threads: int = 1) -> AllocatorError:
    """Name the rule (and the service, district or locations) that makes the plan impossible.

    Cheap arithmetic first (capacities, savings), then small feasibility
    checks of one rule at a time: ``max_time`` (how many new sites, or how
    much money, reaching every location within it takes, by set cover) and
    each district floor on its own.  The error carries ``service`` (the
    service's name) when one service is at fault; ``field`` is the scenario
    key relative to that service.
    """
    deadline = time.perf_counter() + _DIAGNOSE_SECONDS
    for b in blocks:
        s = b.service
        if b.capacity is not None:
            cap = float(np.where(np.isfinite(b.capacity), b.capacity, 1e300).sum() + b.up_cap.sum())
            need = float(b.w[b.rows].sum()) if s.objective in ("p_median", "set_cover") else 0.0
            if cap < need:
                return _of(s, AllocatorError(
                    f"service {s.name}: every site together holds {cap:,.0f} people but {need:,.0f} must be served",
                    field="capacity", fix="raise capacities, add candidate sites or upgrades"))
        if s.budget is not None and s.budget < 0 and b.saving[b.closable].sum() < -s.budget:
            return _of(s, AllocatorError(f"service {s.name}: closing every closable site saves "
                                         f"{b.saving[b.closable].sum():,.0f}, less than the {-s.budget:,.0f} asked",
                                         field="budget", fix="raise the budget"))
        if s.max_time is not None and (err := _max_time_shortfall(b, shared_budget, threads, deadline)):
            return err
        if s.floors and (err := _floor_shortfall(b, shared_budget, threads, deadline)):
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
    prob = pulp.LpProblem("check", pulp.LpMinimize)
    try:
        block = _Block(prob, 0, s)
    except AllocatorError:
        return False
    prob.setObjective(block.spend)
    run = highs.solve(prob, options(left, 0.0, threads))
    return {"infeasible": False, "optimal": True, "time_limit": True}.get(run.status)


def _max_time_shortfall(b: _Block, shared_budget, threads: int, deadline: float) -> AllocatorError | None:
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
        v = PlanService(name=s.name, objective="set_cover", cost=c, weight=np.where(need, w, 0.0),
                        sites=Sites(kept=today, closable=np.zeros_like(today), open_cost=open_cost),
                        threshold=s.max_time)
        try:
            sol = solve_plan([v], time_limit=left, threads=threads)[0]
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


def _floor_shortfall(b: _Block, shared_budget, threads: int, deadline: float) -> AllocatorError | None:
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
        ok = _feasible(replace(s, objective="max_coverage", weight=np.where(members, w, 0.0), floors=[fl],
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
        together = _feasible(replace(s, objective="max_coverage", max_time=None, budget=budget), threads, deadline)
        if together is not False:
            return None
    how = "can each reach it on its own, but not all together" if not unknown else "cannot all reach it"
    return _of(s, AllocatorError(
        f"service {s.name}: {len(below)} district(s) start below {floor} and {how} with {limits}: "
        f"{names(below)}", field="district_floor", fix="raise p or the budget, or lower district_floor"))
