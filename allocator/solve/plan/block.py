"""One service's variables and rows inside a plan: sites, budgets, closures, capacities, max_time and floors.

The rows of the objective itself come from the service's :class:`PlanObjective`
(one per objective of the catalogue ``allocator.solve.objectives`` that takes plan
rules); :class:`Block` holds what every objective shares.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.solve.checks import check_cost, check_threshold, check_weight
from allocator.solve.deadline import Deadline
from allocator.solve.highs import add_row, binary_values
from allocator.solve.kernels import nearest_time
from allocator.solve.kolm_pollak import ProxyCost
from allocator.solve.plan.levels import Levels
from allocator.solve.plan.spec import PlanService
from allocator.solve.solution import Solution


def check_number(value, name: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AllocatorError(f"{name} must be a finite number, got {value!r}", field=name)
    return float(value)


class PlanObjective(ABC):
    """What an objective does inside one service's :class:`Block` of a plan.

    Its rows and objective expression, the sites a location may be assigned to
    with capacities, whether a chosen new site may be dropped as changing
    nothing, and the plan's value.  The traits say what the shared rules need.
    """

    name: ClassVar[str]
    sense: ClassVar[Literal["min", "max"]]
    uses_threshold: ClassVar[bool]
    #: every location with people must be served (so the capacities must hold them all)
    serves_everyone: ClassVar[bool] = False
    #: closing a site that saves nothing never helps: such closable sites stay open
    keeps_free_closures: ClassVar[bool] = False
    #: what a chosen new site must improve for someone, in words (the note on dropped sites)
    improves: ClassVar[str] = "coverage"
    #: the values of several services add up to the value of a joint plan (a shared budget)
    adds_up: ClassVar[bool] = True

    @abstractmethod
    def add_rows(self, block: Block, prob: pulp.LpProblem) -> pulp.LpAffineExpression:
        """Add the objective's variables and rows to ``prob``; its expression (constant: ``block.obj_const``)."""

    @abstractmethod
    def usable(self, block: Block, i: int) -> np.ndarray:
        """Sites location ``i`` may be assigned to (capacitated models)."""

    @abstractmethod
    def still_served(self, block: Block, C: np.ndarray, best: np.ndarray, j: int, rest: np.ndarray) -> bool:
        """Whether every location (rows of ``C``, now at ``best`` minutes) is served as well without new site
        ``j``, with the sites ``rest`` open (uncapacitated plans)."""

    @abstractmethod
    def evaluate(self, cost: np.ndarray, weight: np.ndarray, open_sites: np.ndarray, threshold: float | None,
                 shares: np.ndarray | None = None, rows: np.ndarray | None = None) -> float:
        """The objective's value of the open sites (or the split assignment ``shares``); see ``Objective``."""

    def plan_value(self, block: Block, open_mask: np.ndarray, shares: np.ndarray | None, spent: float) -> float:
        """The plan's value: the objective of the open sites (or of the assignment ``shares``) on its rows."""
        return self.evaluate(block.c, block.w, open_mask, block.T, shares=shares, rows=block.rows)

    def bound_value(self, block: Block, bound: float) -> float:
        """The bound on the plan's value that a bound on the model's objective (constant included) gives."""
        return bound


class ThresholdPlan(PlanObjective):
    """The plan behaviour of the objectives that count people within the threshold (coverage, set cover)."""

    uses_threshold = True

    def usable(self, block: Block, i: int) -> np.ndarray:
        return np.flatnonzero(block.c[i] <= block.T)

    def still_served(self, block: Block, C: np.ndarray, best: np.ndarray, j: int, rest: np.ndarray) -> bool:
        served = np.flatnonzero(C[:, j] <= block.T)
        return bool((C[np.ix_(served, rest)] <= block.T).any(axis=1).all())


class Block:
    """One service's variables, rows, objective and spending inside the plan.

    Building the rows checks ``deadline`` between locations (and between the
    steps of the build): past it the build raises
    :class:`~allocator.solve.deadline.OutOfTimeError` rather than run on.
    """

    def __init__(self, prob: pulp.LpProblem, k: int, s: PlanService, goal: PlanObjective,
                 levels: Levels | None = None, deadline: Deadline | None = None):
        self.service = s
        self.deadline = Deadline(None) if deadline is None else deadline
        self.goal = goal
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
        self.open_cost = per_site(st.open_cost, m, 1.0, "open_cost")
        self.saving = per_site(st.saving, m, 0.0, "saving")
        self.capacity = None if st.capacity is None else per_site(st.capacity, m, math.inf, "capacity")
        self.up_cap = per_site(st.upgrade_capacity, m, 0.0, "upgrade_capacity")
        self.up_cost = per_site(st.upgrade_cost, m, 0.0, "upgrade_cost")
        if goal.keeps_free_closures:
            # with nothing saved, closing a site never helps (e.g. a set cover): it stays
            free = self.closable & (self.saving <= 0)
            self.kept, self.closable = self.kept | free, self.closable & ~free
        self.T = None if s.threshold is None else check_threshold(s.threshold)
        if (goal.uses_threshold or s.floors) and self.T is None:
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
        self.u: dict[int, pulp.LpVariable] = {}
        self.obj_const = 0.0
        self.proxy: ProxyCost | None = None   # kolm_pollak: the transformed costs its rows charge
        self.deadline.check()
        self.objective = self._objective(prob)
        self.deadline.check()
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
            budget = check_number(s.budget, "budget")
            prob.addConstraint(self.spend <= budget - self.spend_const, f"{self.prefix}budget")

    # -- objective blocks --------------------------------------------------- #
    def _objective(self, prob: pulp.LpProblem) -> pulp.LpAffineExpression:
        pos = self.w > 0
        self.rows = np.flatnonzero(pos & np.isfinite(self.c).any(axis=1))
        lost = np.flatnonzero(pos & ~np.isfinite(self.c).any(axis=1))
        if lost.size:
            self.notes.append(f"{lost.size} location(s) ({self.w[lost].sum():g} people) reach no site "
                              "and were excluded")
        return self.goal.add_rows(self, prob)

    def open_estimate(self) -> int:
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

    # -- helpers of the objectives' rows ------------------------------------ #
    def covered_by_kept(self) -> np.ndarray:
        """Bool mask of the locations a kept site covers within the threshold."""
        if not self.kept.any():
            return np.zeros(self.c.shape[0], bool)
        return np.asarray((self.c[:, self.kept] <= self.T).any(axis=1))

    def coverable(self) -> np.ndarray:
        """The rows (locations with people reaching some site) some site covers within the threshold."""
        return np.intersect1d(self.rows, np.flatnonzero((self.c <= self.T).any(axis=1)))

    def undecided(self, covered: np.ndarray) -> Iterator[int]:
        """The rows the sites decide about: not ``covered`` by a kept site, coverable by some site (each gets
        rows of the model: the deadline is checked before each)."""
        for i in self.rows:
            if not covered[i] and (self.c[i] <= self.T).any():
                self.deadline.check()
                yield int(i)

    def cover_variable(self, prob: pulp.LpProblem, i: int) -> pulp.LpVariable:
        """``u_i`` <= the sum of the site variables within the threshold of location ``i`` (made once)."""
        u = self.u.get(int(i))
        if u is None:
            u = self.u[int(i)] = prob.add_variable(f"{self.prefix}u{i:07d}", 0, 1)
            add_row(prob, [(u, 1.0)] + [(self.yof[int(j)], -1.0) for j in np.flatnonzero(self.c[i] <= self.T)],
                    pulp.LpConstraintLE, 0, f"{self.prefix}u{i}")
        return u

    def note_beyond_threshold(self) -> None:
        """Note the rows with no site within the threshold (they stay underserved)."""
        far = [i for i in self.rows if not (self.c[i] <= self.T).any()]
        if far:
            self.notes.append(f"{len(far)} location(s) ({self.w[far].sum():g} people) have no site within "
                              f"{self.T:g} min: they stay underserved")

    def net_cost(self) -> pulp.LpAffineExpression:
        """The net spending as the objective (its constant in ``obj_const``)."""
        self.obj_const = self.spend_const
        return self.spend

    def assignment(self, prob: pulp.LpProblem, require: np.ndarray, cost: np.ndarray | None,
                   among: np.ndarray | None = None) -> pulp.LpAffineExpression:
        """Split assignment x_ij over usable pairs, capacity rows, x_ij <= y_j; the objective charges
        people x ``cost`` (None: people)."""
        w = self.w
        clients = self.rows if among is None else among
        req = set(int(i) for i in require)
        load: dict[int, list[tuple[pulp.LpVariable, float]]] = {}
        obj = []
        for i in clients:
            self.deadline.check()
            sites = self.goal.usable(self, int(i))
            if sites.size == 0:
                continue
            xs = [prob.add_variable(f"{self.prefix}x{i:07d}_{j:07d}", 0, 1) for j in sites]
            for j, x in zip(sites, xs, strict=True):
                self.x[(int(i), int(j))] = x
                load.setdefault(int(j), []).append((x, w[i]))
                obj.append((x, w[i] * (1.0 if cost is None else cost[i, j])))
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
                self.deadline.check()
                near = np.flatnonzero(c[i] <= self.T)
                if near.size == 0:
                    continue
                if self.capacity is not None:
                    pairs += [(self.x[(int(i), int(j))], w[i]) for j in near if (int(i), int(j)) in self.x]
                elif self.kept[near].any():
                    const += w[i]
                else:
                    pairs.append((self.cover_variable(prob, int(i)), w[i]))
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
            if self.goal.still_served(self, C, best, int(j), rest):
                open_mask, dropped = rest, dropped + 1
        if reopened:
            self.notes.append(f"{reopened} closable site(s) whose closure saved nothing were kept open")
        if dropped:
            self.notes.append(f"{dropped} chosen new site(s) that improved nobody's "
                              + self.goal.improves + " were left out")
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
        value = self.goal.plan_value(self, open_mask, X, spent)
        sol = Solution(model=s.objective, status=run.status, objective=value, gap=None,
                       open_sites=np.flatnonzero(open_mask), new_sites=np.flatnonzero(open_mask & self.cand),
                       solve_seconds=run.seconds, build_seconds=build, n_variables=0, n_constraints=0,
                       notes=list(self.notes), kappa=None if self.proxy is None else self.proxy.kappa)
        sol.closed_sites = np.flatnonzero(self.closable & ~open_mask)
        sol.upgraded_sites = np.asarray(up, dtype=np.int64)
        sol.budget_used = spent
        sol.shares = X
        sol.site_load = load
        if X is not None:
            sol.assignment = np.where(X.sum(axis=1) > 1e-9, X.argmax(axis=1), -1)
        return sol


def per_site(values, m: int, default: float, name: str) -> np.ndarray:
    if values is None:
        return np.full(m, default, dtype=float)
    a = np.asarray(values, dtype=float)
    if a.shape != (m,) or np.isnan(a).any() or (a < 0).any():
        raise AllocatorError(f"{name} needs one value >= 0 per site", field=name)
    return a


