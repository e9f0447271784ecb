"""One service's variables and rows inside a plan: sites, budgets, closures, capacities, max_time and floors."""

from __future__ import annotations

import math

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.solve.checks import check_cost, check_threshold, check_weight
from allocator.solve.highs import add_row, binary_values
from allocator.solve.kernels import nearest_time, objective_of
from allocator.solve.plan.levels import Levels
from allocator.solve.plan.spec import PlanService
from allocator.solve.radius import radius_rows
from allocator.solve.solution import Solution


def check_number(value, name: str) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AllocatorError(f"{name} must be a finite number, got {value!r}", field=name)
    return float(value)


class Block:
    """One service's variables, rows, objective and spending inside the plan."""

    def __init__(self, prob: pulp.LpProblem, k: int, s: PlanService, levels: Levels | None = None):
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
        self.open_cost = per_site(st.open_cost, m, 1.0, "open_cost")
        self.saving = per_site(st.saving, m, 0.0, "saving")
        self.capacity = None if st.capacity is None else per_site(st.capacity, m, math.inf, "capacity")
        self.up_cap = per_site(st.upgrade_capacity, m, 0.0, "upgrade_capacity")
        self.up_cost = per_site(st.upgrade_cost, m, 0.0, "upgrade_cost")
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
            budget = check_number(s.budget, "budget")
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
            fa = nearest_time(c, self.kept)
            self.levels = Levels.first(c[np.ix_(self.rows, self.var)], fa[self.rows], w[self.rows],
                                        self.open_estimate())
        lv = self.levels
        obj, self.z, mconst = radius_rows(prob, self.y, w[self.rows], lv.levels, lv.members, lv.t, lv.K, lv.fa,
                                          prefix=self.prefix)
        self.obj_const = mconst
        return pulp.LpAffineExpression(obj)

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


def per_site(values, m: int, default: float, name: str) -> np.ndarray:
    if values is None:
        return np.full(m, default, dtype=float)
    a = np.asarray(values, dtype=float)
    if a.shape != (m,) or np.isnan(a).any() or (a < 0).any():
        raise AllocatorError(f"{name} needs one value >= 0 per site", field=name)
    return a


