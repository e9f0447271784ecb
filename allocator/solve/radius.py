"""The chained radius model of the p-median: levels, rows, client merging, MIP start and exact level generation.

See docs/formulations/p-median.md for the formulation and why each step is exact.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulp
from scipy import sparse

from allocator.errors import AllocatorError
from allocator.solve import bounds as mb
from allocator.solve import highs
from allocator.solve.checks import Options
from allocator.solve.highs import ArrayModel, chained_row
from allocator.solve.kernels import nearest_time
from allocator.solve.solution import EMPTY, Sizes

# p-median level generation: fewest levels per client in the first model, growth factor of a violated cap
_MIN_LEVELS = 1
_CAP_GROW = 1.5
#: HiGHS search options for the radius model (see benchmarks/README.md for the
#: measurements).  Presolve is off and LPs are solved by interior point without
#: crossover (the site columns sit in thousands of rows each, and crossover was
#: most of the root LP's time); the MIP start is usually optimal or nearly so, hence the primal heuristics are off,
#: and reliable pseudo-costs from strong branching are not required.  Search
#: options only: the model and its optimum are unchanged.
RADIUS_SEARCH = dict(presolve="off", mip_lp_solver="ipm", run_crossover="off", mip_heuristic_effort=0.0,
                     mip_heuristic_run_feasibility_jump=False, mip_heuristic_run_rins=False,
                     mip_heuristic_run_rens=False,
                     mip_heuristic_run_root_reduced_cost=False, mip_pscost_minreliable=0)


@dataclass
class RadiusResult:
    """What :func:`radius_mip` found: candidate positions, status, a lower bound on ``sum W * cost``
    (without the merging constants) and the model's size and times."""

    positions: np.ndarray
    status: str
    lower: float
    sizes: Sizes


def true_value(Ca: np.ndarray, fa: np.ndarray, W: np.ndarray, pos: np.ndarray) -> float:
    """Objective of opening candidate positions ``pos`` (inf if somebody is unserved)."""
    cost = nearest_time(Ca, pos, fa)
    return float(W @ cost) if np.isfinite(cost).all() else math.inf


def first_caps(Ca: np.ndarray, fa: np.ndarray, levels: list, K: np.ndarray,
               start_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first level caps ``(t_idx, u_idx)`` from the start solution.

    Each client's exact levels end at its second-nearest open site in the
    start solution (fixed sites included), at least ``_MIN_LEVELS`` levels,
    and a one-row tail runs to the third-nearest (see
    docs/formulations/p-median.md, "Exact level generation").
    """
    open_cost = np.column_stack([Ca[:, start_pos], fa])
    nearest = np.sort(np.partition(open_cost, min(2, open_cost.shape[1] - 1), axis=1)[:, :3], axis=1)
    t_idx = np.minimum(np.maximum(level_at(levels, K, nearest[:, 1]), _MIN_LEVELS), K - 1)
    u_idx = np.maximum(t_idx, level_at(levels, K, nearest[:, -1]))
    return t_idx, u_idx


def violated(levels: list, K: np.ndarray, t_idx: np.ndarray, u_idx: np.ndarray, gcost: np.ndarray) -> np.ndarray:
    """Clients the truncated model charges less than their cost ``gcost`` (and whose levels can still grow)."""
    n = len(levels)
    cap = np.array([levels[g][t_idx[g]] for g in range(n)])
    end = np.array([levels[g][u_idx[g]] for g in range(n)])
    charged = np.where(gcost <= cap, gcost, np.where(gcost < end, cap, end))
    return (t_idx < K - 1) & (charged != gcost)


def radius_mip(Ca: np.ndarray, fa: np.ndarray, Wa: np.ndarray, p: int, start_pos: np.ndarray | None,
               opts: Options, notes: list[str], infeasible: Callable[[], None]) -> RadiusResult:
    """Solve the radius model over groups ``Ca`` by exact level generation.

    ``infeasible()`` is called (and must raise) when HiGHS proves that no ``p``
    candidates serve everybody.  ``start_pos`` (or a greedy solution) is the
    MIP start and sets the first level caps.  The truncated model is a
    relaxation, so its bound is a valid lower bound; when no client is charged
    less than its cost, the solution is optimal (docs/formulations/p-median.md).
    """
    t0 = time.perf_counter()
    n_cand = Ca.shape[1]
    if p == 0 or n_cand == p:
        pos = np.arange(n_cand) if p else EMPTY.copy()
        val = true_value(Ca, fa, Wa, pos)
        if not math.isfinite(val):
            infeasible()
        return RadiusResult(pos, "optimal", val, Sizes(build_s=time.perf_counter() - t0))
    levels, members, K = radius_levels(Ca, fa)
    if start_pos is None:
        P, fpen = mb.penalised(Ca, fa)
        start_pos = mb.interchange(P, Wa, fpen, mb.greedy(P, Wa, fpen, p))
    best_pos = np.asarray(start_pos, dtype=np.int64)
    best_val = true_value(Ca, fa, Wa, best_pos)
    t_idx, u_idx = first_caps(Ca, fa, levels, K, best_pos)
    base = float(sum(W * D[0] for W, D in zip(Wa, levels, strict=True)))   # the model's constant, all groups
    t_build, t_solve = time.perf_counter() - t0, 0.0
    lower = -math.inf
    nv = nc = 0
    iteration = 0
    while True:
        if opts.expired() and np.isfinite(best_val):   # past the limit (the build too): the incumbent
            status = "time_limit"
            break
        iteration += 1
        t1 = time.perf_counter()
        rm = build_radius(Groups(Wa, levels, members, K, fa), t_idx, n_cand, p, u_idx)
        nv, nc = rm.model.cost.size, rm.model.n_rows
        start = radius_start(rm, best_pos)
        t_build += time.perf_counter() - t1
        run, x = highs.solve_arrays(rm.model, opts, start, **RADIUS_SEARCH)
        t_solve += run.seconds
        if run.status == "infeasible":
            infeasible()
        if run.status == "no_solution":
            status = "time_limit"
            break
        pos = np.flatnonzero(x[:n_cand] > 0.5)
        gcost = nearest_time(Ca, pos, fa)
        val = float(Wa @ gcost) if np.isfinite(gcost).all() else math.inf
        if val < best_val:
            best_val, best_pos = val, pos
        lower = max(lower, base + run.bound)
        viol = violated(levels, K, t_idx, u_idx, gcost)
        if run.status == "time_limit" or not viol.any() or opts.expired():
            status = "optimal" if run.status != "time_limit" and not viol.any() else "time_limit"
            break
        # Exact level generation: extend the violated clients and solve again.
        grow = np.flatnonzero(viol)
        cap = np.array([levels[g][t_idx[g]] for g in grow])
        t_idx[grow] = level_at([levels[g] for g in grow], K[grow], np.maximum(gcost[grow], cap) * _CAP_GROW)
        u_idx[grow] = np.maximum(u_idx[grow], t_idx[grow])
    if iteration > 1:
        notes.append(f"p-median: exact level generation needed {iteration} solves")
    if not np.isfinite(best_val):
        raise AllocatorError("no feasible p-median solution was found within the time limit",
                             field="time_limit", fix="raise time_limit")
    return RadiusResult(best_pos, status, lower, Sizes(nv, nc, t_build, t_solve))


@dataclass(frozen=True)
class Groups:
    """The client groups of a radius model: weights ``W``, each group's sorted distinct ``levels`` and the
    sites at each level (``members``; :func:`radius_levels`), its level count ``K`` and nearest fixed site ``fa``."""

    W: np.ndarray
    levels: list[np.ndarray]
    members: list[list[np.ndarray]]
    K: np.ndarray
    fa: np.ndarray


@dataclass
class RadiusModel:
    """The arrays of a truncated radius model (:func:`build_radius`): the site columns come first, then
    one ``z`` column per distinct ball, ``balls[b]`` its candidate positions (sorted)."""

    model: ArrayModel
    balls: list[np.ndarray]


class _Balls:
    """The distinct balls of a radius model as they are met: each ball's sites, the ball it is chained to
    (-1: none), the ring of sites between the two, its summed cost and its upper bound (0: must be covered)."""

    def __init__(self) -> None:
        self.col: dict[bytes, int] = {}
        self.sites: list[np.ndarray] = []
        self.parent: list[int] = []
        self.ring: list[np.ndarray] = []
        self.cost: list[float] = []
        self.upper: list[float] = []

    def add(self, sites: np.ndarray, parent: int, ring: np.ndarray, cost: float, upper: float = 1.0) -> int:
        """The ball of ``sites`` (sorted), made the first time it is met; ``cost`` is added to it."""
        key = sites.tobytes()
        b = self.col.get(key)
        if b is None:
            b = self.col[key] = len(self.sites)
            self.sites.append(sites)
            self.parent.append(parent)
            self.ring.append(ring)
            self.cost.append(0.0)
            self.upper.append(1.0)
        self.cost[b] += cost
        self.upper[b] = min(self.upper[b], upper)
        return b


def build_radius(groups: Groups, t_idx: np.ndarray, n_cand: int, p: int, u_idx: np.ndarray) -> RadiusModel:
    """The chained radius model (Elloumi 2010; García, Labbé & Marín 2011) over shared balls, truncated
    after level ``t_idx + 1`` per group, with a one-ball tail up to level ``u_idx`` (a relaxation: never
    more than the true cost), as arrays for HiGHS.

    A group's level-k variable is 1 iff no site of its ball (the sites within its level k) is open; groups
    whose balls are the same set of sites share one variable, whose cost is the sum of theirs, and one
    row ``z_B + sum y[B minus A] >= z_A`` chains it to the ball ``A`` it was first met after (``>= 1``
    with none).  See docs/formulations/p-median.md, "The chained radius model" and "Shared balls".
    """
    W, levels, members, K, fa = groups.W, groups.levels, groups.members, groups.K, groups.fa
    balls = _Balls()
    empty = np.zeros(0, dtype=np.int64)
    for g in range(len(levels)):
        D, grp = levels[g], members[g]
        t, u = int(t_idx[g]), int(u_idx[g])
        inside, prev = empty, -1
        for k in range(t):
            inside = np.sort(np.concatenate([inside, grp[k]]))
            prev = balls.add(inside, prev, grp[k], W[g] * (D[k + 1] - D[k]))
        if t == K[g] - 1 and not np.isfinite(fa[g]):      # no fixed site: served within its last level
            balls.add(np.sort(np.concatenate([inside, grp[t]])), prev, grp[t], 0.0, upper=0.0)
        if u > t:
            ring = np.concatenate(grp[t:u])
            balls.add(np.sort(np.concatenate([inside, ring])), prev, np.sort(ring), W[g] * (D[u] - D[t]))
    nb = len(balls.sites)
    idx = [np.concatenate([balls.ring[b], [n_cand + b], [n_cand + balls.parent[b]] if balls.parent[b] >= 0
                           else empty]).astype(np.int64) for b in range(nb)]
    val = [np.concatenate([np.ones(balls.ring[b].size + 1), -np.ones(int(balls.parent[b] >= 0))]) for b in range(nb)]
    idx.append(np.arange(n_cand))
    val.append(np.ones(n_cand))
    lens = np.array([a.size for a in idx])
    row_lower = np.append(np.where(np.array(balls.parent, dtype=np.int64) >= 0, 0.0, 1.0), float(p))
    row_upper = np.append(np.full(nb, np.inf), float(p))
    integer = np.zeros(n_cand + nb, dtype=bool)
    integer[:n_cand] = True
    matrix = sparse.csr_matrix((np.concatenate(val), np.concatenate(idx), np.concatenate([[0], np.cumsum(lens)])),
                               shape=(nb + 1, n_cand + nb))
    model = ArrayModel(np.concatenate([np.zeros(n_cand), balls.cost]), np.zeros(n_cand + nb),
                       np.concatenate([np.ones(n_cand), balls.upper]), integer, row_lower, row_upper, matrix)
    return RadiusModel(model, balls.sites)


def radius_rows(prob: pulp.LpProblem, y: list, groups: Groups, t_idx: np.ndarray, prefix: str = ""):
    """Add the chained radius rows of :func:`build_radius` for every group to
    ``prob`` (over the site variables ``y``); returns ``(objective pairs, z
    variables per group, objective constant)``."""
    W, levels, members, K, fa = groups.W, groups.levels, groups.members, groups.K, groups.fa
    obj: list = []
    mconst = 0.0
    zs = []
    r = 0
    for g in range(len(levels)):
        D = levels[g]
        t = int(t_idx[g])
        mconst += W[g] * D[0]
        z = [prob.add_variable(f"{prefix}z{g:07d}_{k:05d}", 0, 1) for k in range(t)]
        zs.append(z)
        grp = members[g]
        for k in range(t):
            obj.append((z[k], W[g] * (D[k + 1] - D[k])))
            chained_row(prob, [(y[j], 1.0) for j in grp[k]] + [(z[k], 1.0)], z[k - 1] if k else None,
                         f"{prefix}r{r}")
            r += 1
        if t == K[g] - 1 and not np.isfinite(fa[g]):
            chained_row(prob, [(y[j], 1.0) for j in grp[t]], z[t - 1] if t else None, f"{prefix}r{r}")
            r += 1
    return obj, zs, mconst


def radius_levels(Ca: np.ndarray, fa: np.ndarray):
    """Sorted distinct levels per group and the sites at each level: ``(levels, members, K)``.

    Only candidate distances strictly below the nearest fixed site f_i matter:
    at radius f_i the fixed site already serves the client, so every level
    >= f_i has z = 0; f_i itself is kept as the last level D^K (the cost if no
    nearer candidate opens).
    """
    levels: list[np.ndarray] = []
    members: list[list[np.ndarray]] = []
    for g in range(Ca.shape[0]):
        row = Ca[g]
        keep = np.flatnonzero(row < fa[g])       # finite, below the fixed site
        order = keep[np.argsort(row[keep], kind="stable")]
        D, first = np.unique(row[order], return_index=True)
        groups = np.split(order, first[1:]) if order.size else []
        if np.isfinite(fa[g]):
            D = np.append(D, fa[g])
            groups.append(np.zeros(0, dtype=np.int64))
        levels.append(D)
        members.append(groups)
    return levels, members, np.array([len(D) for D in levels], dtype=np.int64)


def level_at(levels: list[np.ndarray], K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Per group, the index of its first level at or beyond ``dist`` (its last
    level ``K - 1`` if none is): where a cap at distance ``dist`` cuts its rows."""
    return np.array([min(int(np.searchsorted(D, d, "left")), k - 1) for D, k, d in zip(levels, K, dist, strict=True)],
                    dtype=np.int64)


def radius_start(rm: RadiusModel, pos: np.ndarray) -> np.ndarray:
    """A complete MIP start for the radius model ``rm`` from candidate positions ``pos``: a ball's
    variable is 1 iff none of its sites is open."""
    start = np.zeros(rm.model.cost.size)
    n_cand = start.size - len(rm.balls)
    start[np.asarray(pos, dtype=np.int64)] = 1.0
    start[n_cand:] = [0.0 if start[b].any() else 1.0 for b in rm.balls]
    return start
