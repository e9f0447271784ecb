"""Exact facility-location models, compact formulations, solved with PuLP + HiGHS.

All inputs are numpy arrays:

``cost``
    float array ``(n_clients, n_sites)`` of travel minutes client -> site;
    ``np.inf`` marks an unreachable pair.  Negative or NaN entries are rejected.
``weight``
    float array ``(n_clients,)``, ``>= 0`` (population).  Clients with weight 0
    are ignored by every model.
``fixed_open``
    bool array ``(n_sites,)`` of sites that are already open.  They stay open
    and do not count towards ``p``; every other site is a *candidate*.

``p`` is always the number of NEW sites to open among the candidates (exactly
``p``; every objective here is monotone in the open set, so "exactly" and "at
most" give the same optimum).

Formulations
------------
Dense textbook assignment models (``x_ij`` for every pair and ``x_ij <= y_j``)
do not scale in PuLP, so each model uses a compact, provably exact
formulation; every reduction is justified where it is made.

- p-median (Hakimi 1964; ReVelle & Swain 1970): the radius / covering
  formulation of Elloumi (2010) and García, Labbé & Marín (2011), in its
  "chained" form, plus exact client merging and fixed-site level cuts; a
  Lagrangian bound with an interchange incumbent first rules out candidates
  (:mod:`allocator.solve.bounds`), then exact level generation solves what is
  left (see :func:`solve_p_median`).
- maximal covering (Church & ReVelle 1974): first the set cover, which
  settles the problem when ``p`` sites can cover everything coverable; else
  dominated candidates removed (exact) and one continuous ``u`` per distinct
  coverage set (see :func:`solve_max_coverage`).
- location set covering (Toregas, Swain, ReVelle & Bergman 1971): identical
  and dominated rows removed.
- p-center (Minieka 1970; Daskin 1995/2013): search over the sorted distances,
  each probe a set-covering ILP, then a p-median tie-break.

Solver
------
HiGHS through ``pulp.HiGHS`` (highspy).  CBC is never used.  ``time_limit``
is the budget of the whole call in seconds (it is shared by the internal
iterations / probes), ``gap_rel`` the relative MIP gap at which HiGHS may stop
(default 0: prove optimality), ``threads`` the HiGHS thread count.

Determinism: nothing random is added; variables and rows are created in index
order, ``random_seed`` is fixed to 0 and ``threads=None`` means 1 thread, so the
same input gives the same sites run to run.  Ties in the greedy start solutions
go to the lowest site index (``np.argmax``/``np.argmin`` take the first).

Status: ``"optimal"`` (proven; ``gap`` 0.0, or the proven gap when a
``gap_rel`` > 0 let HiGHS stop early, see ``notes``), ``"time_limit"`` (best
solution found, ``gap`` from the proven bound).  An infeasible model raises
:class:`~allocator.errors.AllocatorError` explaining why and how to fix it;
``"infeasible"`` is part of the status vocabulary for callers that catch it.

``Solution.objective`` is always re-evaluated with numpy from the returned
sites and the original ``cost`` matrix, never read back from the solver.
"""

from __future__ import annotations

import math
import os
import time
from functools import lru_cache
from dataclasses import dataclass

import numpy as np
import pulp

from allocator.solve import bounds as mb
from allocator.errors import AllocatorError
from allocator.solve.solution import EMPTY, Solution

__all__ = [
    "solve_p_median",
    "solve_max_coverage",
    "solve_set_cover",
    "solve_p_center",
]

_EMPTY = EMPTY
# p-median level generation: fewest levels per client in the first model, growth factor of a violated cap
_MIN_LEVELS = 1
_CAP_GROW = 1.5
#: Lagrangian reduction: _FIRST_ITERS subgradient steps on every candidate,
#: then rounds of _ROUND_ITERS steps on the candidates left (warm started, the
#: step size reset, which is what moves a stalled subgradient on), while a
#: round still removes _REDUCTION_MIN_DROP of them, at most _REDUCTION_ROUNDS.
#: Each round also runs the interchange from the round's Lagrangian solution
#: (Beasley 1993): where the first bound stalls, it is usually because the
#: incumbent is 0.1-0.3 % off, and a better one makes every reduction test
#: sharper.  On Porto Alegre's node instances this leaves 65-105 candidates
#: with the bound 0.2-0.4 % below the incumbent, whatever the first run's
#: length (without it, 300 or 400 first steps gave 0.25-0.67 %).
_FIRST_ITERS = 300
_ROUND_ITERS = 150
_REDUCTION_ROUNDS = 8
_REDUCTION_MIN_DROP = 0.05
#: HiGHS search options for the radius model, measured on Porto Alegre (see
#: benchmarks/README.md).  Presolve costs more than it saves on this model and
#: interior point solves its LPs faster than dual simplex.  The MIP start (the
#: interchange incumbent) is usually optimal or nearly so, so HiGHS's primal
#: heuristics (feasibility jump, sub-MIPs, root reduced-cost search) cost time
#: without finding better solutions, and reliable pseudo-costs from strong
#: branching cost more LP solves than they save: on the 16,604-point walk-node
#: instance these settings take its two solves from about 50 s to 31 s.  Search
#: options only: the model and its optimum are unchanged.
_RADIUS_SEARCH = dict(presolve="off", mip_lp_solver="ipm", mip_heuristic_effort=0.0,
                      mip_heuristic_run_feasibility_jump=False, mip_heuristic_run_rins=False,
                      mip_heuristic_run_rens=False,
                      mip_heuristic_run_root_reduced_cost=False, mip_pscost_minreliable=0)


# --------------------------------------------------------------------------- #
# validation                                                                  #
# --------------------------------------------------------------------------- #


def _check_cost(cost) -> np.ndarray:
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2:
        raise AllocatorError(
            f"the cost matrix must be 2-D (clients x sites), got shape {c.shape}",
            field="cost",
            fix="pass one row per demand location and one column per site",
        )
    if c.shape[1] == 0:
        raise AllocatorError("there are no sites (the cost matrix has 0 columns)", field="cost",
                             fix="give at least one existing or candidate site")
    if np.isnan(c).any():
        raise AllocatorError("the cost matrix contains NaN", field="cost",
                             fix="use np.inf for unreachable client/site pairs")
    if (c < 0).any():
        raise AllocatorError("the cost matrix contains negative travel times", field="cost",
                             fix="travel times must be >= 0 minutes")
    return c


def _check_weight(weight, n: int) -> np.ndarray:
    w = np.asarray(weight, dtype=float)
    if w.shape != (n,):
        raise AllocatorError(
            f"weight must have one value per client ({n}), got shape {w.shape}", field="weight",
            fix="pass a 1-D population array aligned with the cost matrix rows")
    if not np.isfinite(w).all() or (w < 0).any():
        raise AllocatorError("weights must be finite and >= 0", field="weight",
                             fix="replace missing or negative populations by 0")
    return w


def _check_fixed(fixed_open, m: int) -> np.ndarray:
    if fixed_open is None:
        return np.zeros(m, dtype=bool)
    f = np.asarray(fixed_open)
    if f.dtype == bool:
        if f.shape != (m,):
            raise AllocatorError(f"fixed_open must be a bool array of length {m}, got shape {f.shape}",
                                 field="fixed_open", fix="one flag per site (cost column)")
        return f.copy()
    if f.ndim == 1 and np.issubdtype(f.dtype, np.integer):  # also accept site indices
        if f.size and (f.min() < 0 or f.max() >= m):
            raise AllocatorError("fixed_open has site indices out of range", field="fixed_open",
                                 fix=f"indices must be in 0..{m - 1}")
        mask = np.zeros(m, dtype=bool)
        mask[f] = True
        return mask
    raise AllocatorError("fixed_open must be a bool array (or an array of site indices)",
                         field="fixed_open", fix="one True/False per site")


def _check_p(p, n_cand: int) -> int:
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)):
        if isinstance(p, (float, np.floating)) and float(p).is_integer():
            p = int(p)
        else:
            raise AllocatorError(f"p must be a whole number, got {p!r}", field="p",
                                 fix="give the number of new sites to open, e.g. p: 5")
    p = int(p)
    if p < 0:
        raise AllocatorError(f"p must be >= 0, got {p}", field="p",
                             fix="give the number of NEW sites to open (0 evaluates the existing ones)")
    if p > n_cand:
        raise AllocatorError(
            f"p = {p} new sites requested but there are only {n_cand} candidate sites", field="p",
            fix=f"lower p to at most {n_cand} or add candidate sites")
    return p


def _check_threshold(threshold) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise AllocatorError(f"threshold must be a number of minutes, got {threshold!r}",
                             field="threshold", fix="e.g. threshold_min: 15") from None
    if not math.isfinite(t) or t < 0:
        raise AllocatorError(f"threshold must be a finite number >= 0, got {threshold!r}",
                             field="threshold", fix="e.g. threshold_min: 15")
    return t


@dataclass
class _Opts:
    time_limit: float | None
    gap_rel: float
    threads: int
    t_start: float

    def remaining(self) -> float | None:
        if self.time_limit is None:
            return None
        return self.time_limit - (time.perf_counter() - self.t_start)

    def expired(self) -> bool:
        r = self.remaining()
        return r is not None and r <= 0


def _opts(time_limit=None, gap_rel=None, threads=None) -> _Opts:
    if time_limit is not None:
        try:
            time_limit = float(time_limit)
        except (TypeError, ValueError):
            time_limit = -1.0
        if not time_limit > 0:
            raise AllocatorError("time_limit must be a positive number of seconds", field="time_limit",
                                 fix="e.g. time_limit_s: 60, or leave it out for no limit")
    if gap_rel is None:
        gap_rel = 0.0
    gap_rel = float(gap_rel)
    if not (0 <= gap_rel < 1):
        raise AllocatorError("gap_rel must be in [0, 1)", field="gap_rel",
                             fix="e.g. gap_rel: 0.01 for 1 %, or 0 to prove optimality")
    if threads is None:
        threads = 1
    if int(threads) < 1:
        raise AllocatorError("threads must be >= 1", field="threads", fix="e.g. threads: 1")
    return _Opts(time_limit, gap_rel, int(threads), time.perf_counter())


def _split(cost, weight, fixed_open):
    c = _check_cost(cost)
    w = _check_weight(weight, c.shape[0])
    fixed = _check_fixed(fixed_open, c.shape[1])
    return c, w, fixed


# --------------------------------------------------------------------------- #
# helpers                                                                     #
# --------------------------------------------------------------------------- #


def _nearest(c: np.ndarray, open_mask: np.ndarray) -> np.ndarray:
    if not open_mask.any():
        return np.full(c.shape[0], np.inf)
    return c[:, open_mask].min(axis=1)


class _HiGHS(pulp.HiGHS):
    """pulp.HiGHS that can hand HiGHS a MIP start (values by variable)."""

    def __init__(self, start: dict | None = None, **kw):
        super().__init__(**kw)
        self._start = start

    def callSolver(self, lp):  # noqa: N802 (PuLP's name)
        if self._start:
            idx = np.array([v.index for v in self._start], dtype=np.int32)
            val = np.array([float(x) for x in self._start.values()], dtype=np.float64)
            lp.solverModel.setSolution(len(idx), idx, val)
        lp.solverModel.run()


@dataclass
class _Run:
    status: str          # optimal | time_limit | infeasible | no_solution
    bound: float         # proven bound on the model objective (w/o constant), in the model's sense
    seconds: float


@lru_cache(maxsize=1)
def _quiet_highs() -> None:
    """Create HiGHS once with stdout closed: its copyright banner is printed from C++
    on the first construction in a process, whatever ``msg`` says, and would end up
    in the middle of the command line's output."""
    import highspy

    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _solve(prob: pulp.LpProblem, opts: _Opts, start: dict | None = None, **highs_options) -> _Run:
    """Solve ``prob`` with HiGHS within the remaining budget and classify the result.

    ``highs_options`` are passed to HiGHS as they are (e.g. ``presolve="off"``)."""
    import highspy

    _quiet_highs()
    rem = opts.remaining()
    kw = dict(msg=False, gapRel=opts.gap_rel, threads=opts.threads, random_seed=0, **highs_options)
    if rem is not None:
        kw["timeLimit"] = max(rem, 0.05)
    solver = _HiGHS(start=start, **kw)
    t0 = time.perf_counter()
    prob.solve(solver)
    secs = time.perf_counter() - t0
    h = prob.solverModel
    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    maximise = prob.sense == pulp.LpMaximize
    bound = info.mip_dual_bound
    # PuLP gives HiGHS "minimise -objective" for maximisation problems.
    bound = -bound if maximise else bound
    if ms in (S.kOptimal, S.kModelEmpty):
        if not has_sol and ms == S.kModelEmpty:
            has_sol = True
        return _Run("optimal", bound, secs)
    if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return _Run("infeasible", bound, secs)
    if ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit):
        return _Run("time_limit" if has_sol else "no_solution", bound, secs)
    raise AllocatorError(f"the HiGHS solver failed (model status {h.modelStatusToString(ms)})",
                         fix="report this model; try a different time_limit or threads setting")


def _binary_values(vars_: list) -> np.ndarray:
    return np.array([(v.varValue or 0.0) > 0.5 for v in vars_], dtype=bool)


def _gap(obj: float, bound: float, maximise: bool) -> float:
    """Relative gap |obj - bound| / |obj| (0 when the bound is attained)."""
    if not math.isfinite(bound):
        return math.inf
    diff = (bound - obj) if maximise else (obj - bound)
    diff = max(diff, 0.0)
    if abs(obj) < 1e-12:
        return 0.0 if diff <= 1e-9 else math.inf
    g = diff / abs(obj)
    return 0.0 if g < 1e-9 else g


def _affine(pairs) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(pairs)


def _chained_row(prob: pulp.LpProblem, pairs: list, previous, name: str) -> None:
    """One radius row: ``sum(pairs) >= 1`` at a client's first level, else
    ``sum(pairs) - z_previous >= 0`` (the chained form)."""
    if previous is None:
        _add_row(prob, pairs, pulp.LpConstraintGE, 1, name)
    else:
        _add_row(prob, pairs + [(previous, -1.0)], pulp.LpConstraintGE, 0, name)


def _add_row(prob, pairs, sense, rhs, name):
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(pairs), sense, rhs=rhs), name)


def _client_filter(c: np.ndarray, w: np.ndarray, notes: list[str]):
    """Positive-weight clients with at least one finite cost, and the unreachable ones."""
    pos = w > 0
    reach = np.isfinite(c).any(axis=1)
    bad = np.flatnonzero(pos & ~reach)
    if bad.size:
        notes.append(f"{bad.size} client(s) with positive weight (total {w[bad].sum():g}) are "
                     f"unreachable from every site and were excluded")
    zero = int((~pos).sum())
    if zero:
        notes.append(f"{zero} client(s) with zero weight were ignored")
    return np.flatnonzero(pos & reach), bad


def _finish(model, status, objective, gap, open_mask, fixed, build_s, solve_s, nv, nc, notes, uncoverable):
    open_sites = np.flatnonzero(open_mask).astype(np.int64)
    new_sites = np.flatnonzero(open_mask & ~fixed).astype(np.int64)
    return Solution(model=model, status=status, objective=float(objective),
                    gap=None if gap is None else float(gap), open_sites=open_sites, new_sites=new_sites,
                    solve_seconds=float(solve_s), build_seconds=float(build_s), n_variables=int(nv),
                    n_constraints=int(nc), notes=notes,
                    uncoverable=np.asarray(uncoverable, dtype=np.int64))


# --------------------------------------------------------------------------- #
# set cover core (used by set cover, p-median feasibility and p-center)       #
# --------------------------------------------------------------------------- #


def _unique_rows(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the bool matrix ``A`` in order of first occurrence, and
    the index of each row of ``A`` among them (``A == U[inv]``).

    Rows are compared as packed bytes, much faster than ``np.unique(A, axis=0)``
    on a bool matrix.
    """
    n = A.shape[0]
    if n == 0 or A.shape[1] == 0:
        return A[:min(n, 1)].copy(), np.zeros(n, dtype=np.int64)
    packed = np.ascontiguousarray(np.packbits(A, axis=1))
    key = packed.view(np.dtype((np.void, packed.shape[1])))[:, 0]
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return A[first[order]], rank[np.asarray(inv).ravel()].astype(np.int64)


def _undominated(A: np.ndarray, drop: str, chunk: int = 512) -> np.ndarray:
    """Bool mask of the rows of bool ``A`` kept by a dominance test.

    ``drop="supersets"``: row b is dropped if another row a has N_a ⊆ N_b;
    ``drop="subsets"``: row b is dropped if another row a has N_b ⊆ N_a.  Of
    identical rows the first is kept.  Every dropped row is dominated by a KEPT
    row (dominance is transitive and the chains end at kept rows).

    Rows are visited by size (ascending for supersets, descending for subsets;
    ties in index order), so a row can only be dominated by one visited before
    it; each block of ``chunk`` rows is compared, with float32 products that
    count ``|N_a ∩ N_b|`` exactly (below 2^24), to the rows kept so far and to
    the earlier rows of its own block.  The work is rows x (kept + chunk) x
    columns instead of rows^2 x columns.
    """
    R, m = A.shape
    keep = np.zeros(R, dtype=bool)
    if R == 0:
        return keep
    size = A.sum(axis=1).astype(np.float32)
    order = np.argsort(size if drop == "supersets" else -size, kind="stable")
    F = np.ascontiguousarray(A, dtype=np.float32)
    K = np.zeros((0, m), dtype=np.float32)
    ksize = np.zeros(0, dtype=np.float32)
    for s in range(0, R, chunk):
        idx = order[s:s + chunk]
        X, xs = F[idx], size[idx]
        # inter[t, a] = |N_t ∩ N_a|; t is dominated by a if N_a ⊆ N_t (supersets) or N_t ⊆ N_a (subsets)
        inter = X @ K.T
        live = ~(inter == (ksize[None, :] if drop == "supersets" else xs[:, None])).any(axis=1)
        # the rows of the block that survive, against each other (a dominated row
        # may be left out as a dominator: what it dominates, its dominator does too)
        idx, X, xs = idx[live], X[live], xs[live]
        inter = X @ X.T
        sub = inter == (xs[None, :] if drop == "supersets" else xs[:, None])
        dom = (sub & np.tri(idx.size, k=-1, dtype=bool)).any(axis=1)   # only rows visited before t
        new = idx[~dom]
        keep[new] = True
        K = np.concatenate([K, F[new]])
        ksize = np.concatenate([ksize, size[new]])
    return keep


def _reduce_rows(A: np.ndarray) -> np.ndarray:
    """Distinct, non-dominated coverage rows of the bool matrix ``A``.

    Exact for covering: identical rows are the same constraint; if
    ``N_a ⊆ N_b`` then any cover of ``a`` covers ``b``, so row ``b`` is
    redundant.
    """
    if A.shape[0] == 0:
        return A
    U, _ = _unique_rows(A)
    return U[_undominated(U, "supersets")]


@dataclass
class _Cover:
    chosen: np.ndarray      # candidate positions (columns of A) opened
    status: str
    lower: float            # proven lower bound on the number of sites
    nv: int
    nc: int
    build_s: float
    solve_s: float


def _min_cover(A: np.ndarray, opts: _Opts, name="set_cover") -> _Cover:
    """Minimum number of columns covering every row of bool ``A`` (rows non-empty).

    Location set covering (Toregas et al. 1971): ``min sum y_j`` subject to
    ``sum_{j in N_i} y_j >= 1``, after identical/dominated rows are removed.
    """
    t0 = time.perf_counter()
    m = A.shape[1]
    U = _reduce_rows(A)
    if U.shape[0] == 0:
        return _Cover(_EMPTY.copy(), "optimal", 0.0, 0, 0, time.perf_counter() - t0, 0.0)
    cols = np.flatnonzero(U.any(axis=0))  # columns covering nothing are never needed
    if U.shape[0] == 1 or np.any(U.all(axis=0)):
        # one column covers everything left: the optimum is 1, take the lowest index
        j = int(np.flatnonzero(U.all(axis=0))[0])
        return _Cover(np.array([j]), "optimal", 1.0, 0, 0, time.perf_counter() - t0, 0.0)
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    y = {int(j): prob.add_variable(f"y{j:07d}", 0, 1, pulp.LpBinary) for j in cols}
    prob.setObjective(_affine([(v, 1.0) for v in y.values()]))
    for r in range(U.shape[0]):
        _add_row(prob, [(y[int(j)], 1.0) for j in np.flatnonzero(U[r])], pulp.LpConstraintGE, 1, f"c{r}")
    build = time.perf_counter() - t0
    run = _solve(prob, opts)
    if run.status in ("infeasible", "no_solution"):
        # cannot happen for non-empty rows (open everything) unless out of time
        return _Cover(_EMPTY.copy(), run.status, run.bound, len(y), U.shape[0], build, run.seconds)
    keys = list(y)
    vals = _binary_values(list(y.values()))
    chosen = np.array([keys[i] for i in np.flatnonzero(vals)], dtype=np.int64)
    del m
    lower = math.ceil(run.bound - 1e-6) if math.isfinite(run.bound) else 0.0
    return _Cover(chosen, run.status, float(lower), len(y), U.shape[0], build, run.seconds)


# --------------------------------------------------------------------------- #
# p-median                                                                    #
# --------------------------------------------------------------------------- #


def _pmedian_core(C: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int, opts: _Opts,
                  notes: list[str]):
    """p-median over clients ``C`` (all positive weight, each with a finite cost).

    Returns ``(open_mask, status, lower_bound, nv, nc, build_s, solve_s)``; the
    lower bound is in weighted minutes of the ORIGINAL objective.
    Raises AllocatorError when no ``p`` candidates can serve every client.

    Steps, each exact: (a) merge clients with the same cost profile, (b) make
    clients best served by a fixed site constants, (c) find an incumbent
    (greedy + interchange) and a Lagrangian bound and remove / fix the
    candidates the bound rules out (:mod:`allocator.solve.bounds`), (d) prove
    optimality with the radius integer program over what is left.
    """
    t0 = time.perf_counter()
    cand = np.flatnonzero(~fixed)
    fidx = np.flatnonzero(fixed)

    # (a) Client merging.  With a_i = min_j c_ij, write c_ij = a_i + g_ij.  If two
    # clients have the same offset row g (identical rows are the special case
    # a_i = a_k), then for every open set S their costs are a_i + min_S g and
    # a_k + min_S g: one client with weight w_i + w_k and a constant
    # w_i a_i + w_k a_k gives the same objective for EVERY S.  (Typical on road
    # networks: demand points snapped to the same node differ only by access time.)
    a = C.min(axis=1)
    G = C - a[:, None]                      # inf - a stays inf
    G, inv = np.unique(G, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    W = np.bincount(inv, weights=w, minlength=G.shape[0])
    const = float(w @ a)
    if G.shape[0] < C.shape[0]:
        notes.append(f"p-median: {C.shape[0]} clients merged into {G.shape[0]} distinct cost profiles")

    f = G[:, fidx].min(axis=1) if fidx.size else np.full(G.shape[0], np.inf)
    Cc = G[:, cand]
    cmin = Cc.min(axis=1) if cand.size else np.full(G.shape[0], np.inf)
    # (b) A client whose nearest fixed site is no farther than every candidate
    # costs f_i whatever we open: a constant, it leaves the model.
    const_grp = f <= cmin
    const += float(W[const_grp] @ f[const_grp])
    act = np.flatnonzero(~const_grp)

    open_mask = fixed.copy()
    if p == 0 or act.size == 0 or p == cand.size:
        if p == cand.size:
            open_mask[:] = True
        elif p > 0:   # nothing depends on the choice: the lowest-index candidates
            open_mask[cand[:p]] = True
        val = _nearest(C, open_mask)
        if not np.isfinite(val).all():
            _raise_unservable(C, fixed, p, opts, notes)
        return open_mask, "optimal", float(w @ val), 0, 0, time.perf_counter() - t0, 0.0

    Ca, fa, Wa = Cc[act], f[act], W[act]
    # Feasibility: clients with no reachable fixed site need an open candidate.
    need = ~np.isfinite(fa)
    t_solve = 0.0
    if need.any():
        A = np.isfinite(Ca[need])
        if not A.all(axis=0).any():     # no single candidate serves all of them
            cov = _min_cover(A, opts, "pmedian_feasibility")
            t_solve += cov.solve_s
            if cov.status == "optimal" and cov.chosen.size > p:
                _raise_unservable(C, fixed, p, opts, notes, needed=cov.chosen.size)

    # (c) Incumbent and Lagrangian reduction.
    P, fpen = mb.penalised(Ca, fa)
    best = mb.interchange(P, Wa, fpen, mb.greedy(P, Wa, fpen, p))
    upper = _true_value(Ca, fa, Wa, best)
    keep = np.ones(cand.size, dtype=bool)
    force = np.zeros(cand.size, dtype=bool)
    lower = -math.inf
    if math.isfinite(upper):
        bound = mb.lagrangian(Ca, Wa, fa, p, upper, max_iter=_FIRST_ITERS)
        again = mb.interchange(P, Wa, fpen, bound.sites)   # Lagrangian heuristic (Beasley 1993)
        if (value := _true_value(Ca, fa, Wa, again)) < upper:
            best, upper = again, value
            bound = mb.lagrangian(Ca, Wa, fa, p, upper, lam0=bound.lam, max_iter=_ROUND_ITERS)
        lower = bound.lower
        inc = np.zeros(cand.size, dtype=bool)
        inc[best] = True
        for rnd in range(_REDUCTION_ROUNDS):
            cols = np.flatnonzero(keep)
            if rnd:
                # The problem without the removed candidates: every solution using
                # one of them costs >= upper, so min(its bound, upper) bounds the
                # whole problem, and it is tighter (fewer candidates to relax).
                bound = mb.lagrangian(Ca[:, cols], Wa, fa, p, upper, lam0=bound.lam, max_iter=_ROUND_ITERS)
                lower = max(lower, min(bound.lower, upper))
                # Lagrangian heuristic again: a better incumbent makes every test sharper
                again = cols[mb.interchange(P[:, cols], Wa, fpen, bound.sites)]
                if (value := _true_value(Ca, fa, Wa, again)) < upper:
                    best, upper = again, value
                    inc[:] = False
                    inc[best] = True
            closed, opened = mb.reduction(bound, p, upper)
            # keep the incumbent feasible in the reduced problem: it is the MIP start
            force[cols[opened & inc[cols]]] = True
            drop = cols[closed & ~inc[cols]]
            keep[drop] = False
            if rnd and drop.size < _REDUCTION_MIN_DROP * cols.size:
                break
        notes.append(f"p-median: Lagrangian bound within {_gap(upper, lower, False):.2%} of the best "
                     f"solution found; {int((~keep).sum())} of {cand.size} candidates ruled out, "
                     f"{int(force.sum())} fixed open")
    t_build = time.perf_counter() - t0
    nv = nc = 0
    if math.isfinite(upper) and _gap(upper, lower, False) <= max(opts.gap_rel, mb.REDUCTION_TOL):
        pos, status, low = best, "optimal", lower
    elif math.isfinite(upper) and opts.expired():   # out of time: the incumbent with the Lagrangian gap
        pos, status, low = best, "time_limit", lower
    else:
        # (d) The reduced problem: forced candidates join the fixed sites.
        free = np.flatnonzero(keep & ~force)
        fr = np.minimum(fa, Ca[:, force].min(axis=1)) if force.any() else fa
        start = np.searchsorted(free, best[~force[best]]) if math.isfinite(upper) else None
        sub, status, low, nv, nc, tb, ts = _radius_mip(Ca[:, free], fr, Wa, p - int(force.sum()), start,
                                                       opts, notes, lambda: _raise_unservable(C, fixed, p, opts, notes))
        t_build += tb
        t_solve += ts
        pos = np.sort(np.concatenate([free[sub], np.flatnonzero(force)]))
        if _true_value(Ca, fa, Wa, pos) > upper:      # never worse than the incumbent
            pos = best
        # Solutions outside the reduced problem cost >= upper, so the global
        # bound is the smaller of the two.
        low = min(low, upper) if math.isfinite(upper) else low
        low = max(low, lower)
    open_mask[cand[pos]] = True
    lower_total = const + low if math.isfinite(low) else -math.inf
    return open_mask, status, lower_total, nv, nc, t_build, t_solve


def _true_value(Ca: np.ndarray, fa: np.ndarray, W: np.ndarray, pos: np.ndarray) -> float:
    """Objective of opening candidate positions ``pos`` (inf if somebody is unserved)."""
    cost = _group_cost(Ca, fa, pos)
    return float(W @ cost) if np.isfinite(cost).all() else math.inf


def _radius_mip(Ca: np.ndarray, fa: np.ndarray, Wa: np.ndarray, p: int, start_pos: np.ndarray | None,
                opts: _Opts, notes: list[str], infeasible):
    """Solve the radius model over groups ``Ca`` by exact level generation.

    Returns ``(positions, status, lower, nv, nc, build_s, solve_s)`` with
    ``lower`` a bound on ``sum W * cost`` (without the merging constants).
    ``infeasible()`` is called (and must raise) when HiGHS proves that no ``p``
    candidates serve everybody.  ``start_pos`` (or a greedy solution) is the
    MIP start and sets the first level caps.
    """
    t0 = time.perf_counter()
    t_solve = 0.0
    n_cand = Ca.shape[1]
    if p == 0 or n_cand == p:
        pos = np.arange(n_cand) if p else _EMPTY.copy()
        val = _true_value(Ca, fa, Wa, pos)
        if not math.isfinite(val):
            infeasible()
        return pos, "optimal", val, 0, 0, time.perf_counter() - t0, 0.0
    levels, members, K = radius_levels(Ca, fa)

    if start_pos is None:
        P, fpen = mb.penalised(Ca, fa)
        start_pos = mb.interchange(P, Wa, fpen, mb.greedy(P, Wa, fpen, p))
    best_pos = np.asarray(start_pos, dtype=np.int64)
    best_val = _true_value(Ca, fa, Wa, best_pos)
    # First caps: each client's exact levels end at its second-nearest open site
    # in the start solution (fixed sites included), at least _MIN_LEVELS
    # levels, so the model charges every client its true cost in any solution
    # that moves one start site away from it.  A one-row tail then runs to the
    # third-nearest start site (see _build_radius): a solution that closes both
    # of a client's nearest start sites is charged at least the tail's end
    # instead of the cap.  On Porto Alegre's walk nodes (one measured case) this
    # needed 1 solve instead of 4, with 20 % fewer rows than exact levels up to
    # the third-nearest site (which also needed 1 solve, but took longer).
    open_cost = np.column_stack([Ca[:, best_pos], fa])
    nearest = np.sort(np.partition(open_cost, min(2, open_cost.shape[1] - 1), axis=1)[:, :3], axis=1)
    t_idx = np.minimum(np.maximum(level_at(levels, K, nearest[:, 1]), _MIN_LEVELS), K - 1)
    u_idx = np.maximum(t_idx, level_at(levels, K, nearest[:, -1]))
    base = float(sum(W * D[0] for W, D in zip(Wa, levels)))   # the model's constant, all groups
    t_build = time.perf_counter() - t0

    status = "optimal"
    lower = -math.inf
    nv = nc = 0
    iteration = 0
    while True:
        iteration += 1
        t1 = time.perf_counter()
        rep, Wr = _merge_truncated(Wa, levels, members, t_idx, K, fa, u_idx)
        rep_levels = [levels[g] for g in rep]
        prob, y, zs, tails = _build_radius(Wr, rep_levels, [members[g] for g in rep], t_idx[rep], K[rep],
                                           fa[rep], n_cand, p, u_idx[rep])
        nv = len(y) + sum(len(z) for z in zs) + sum(v is not None for v in tails)
        nc = len(prob.constraints())
        start = _radius_start(y, zs, rep_levels, best_pos, Ca[rep], fa[rep], tails, u_idx[rep])
        t_build += time.perf_counter() - t1
        run = _solve(prob, opts, start, **_RADIUS_SEARCH)
        t_solve += run.seconds
        if run.status == "infeasible":
            infeasible()
        if run.status == "no_solution":
            status = "time_limit"
            break
        pos = np.flatnonzero(_binary_values(y))
        gcost = _group_cost(Ca, fa, pos)
        val = float(Wa @ gcost) if np.isfinite(gcost).all() else math.inf
        if val < best_val:
            best_val, best_pos = val, pos
        # The truncated model is a relaxation (a client served beyond its cap
        # is charged the cap, or the tail's end if served beyond that), so its
        # bound is a valid lower bound; a client is charged its true cost iff
        # that charge equals its cost.
        lower = max(lower, base + run.bound)
        cap = np.array([levels[g][t_idx[g]] for g in range(Ca.shape[0])])
        end = np.array([levels[g][u_idx[g]] for g in range(Ca.shape[0])])
        charged = np.where(gcost <= cap, gcost, np.where(gcost < end, cap, end))
        viol = (t_idx < K - 1) & (charged != gcost)
        if run.status == "time_limit":
            status = "time_limit"
            break
        if not viol.any():
            # Relaxed value of this solution equals its true value and it is
            # optimal for the relaxation, hence for the full model.
            status = "optimal"
            break
        if opts.expired():
            status = "time_limit"
            break
        # Exact level generation: extend the violated clients and solve again.
        grow = np.flatnonzero(viol)
        t_idx[grow] = level_at([levels[g] for g in grow], K[grow], np.maximum(gcost, cap)[grow] * _CAP_GROW)
        u_idx[grow] = np.maximum(u_idx[grow], t_idx[grow])
    if iteration > 1:
        notes.append(f"p-median: exact level generation needed {iteration} solves")
    if not np.isfinite(best_val):
        raise AllocatorError("no feasible p-median solution was found within the time limit",
                             field="time_limit", fix="raise time_limit")
    return best_pos, status, lower, nv, nc, t_build, t_solve


def _merge_truncated(W: np.ndarray, levels, members, t_idx: np.ndarray, K: np.ndarray,
                     fa: np.ndarray, u_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge groups whose truncated radius rows coincide: ``(representatives, weights)``.

    In :func:`_build_radius` a group truncated after level ``t`` only uses the
    level offsets ``D^k - D^1`` (k <= t+1), the sites at levels 1..t (and t+1
    when its last row is present), the tail's end offset ``D^u - D^1`` and
    sites (levels t+1..u), and a constant ``W D^1``.  Groups equal in
    all of these have identical z variables and rows, so one group with the
    summed weight (the constants are added separately) gives the same model:
    exact for every truncation.  Common on rounded times, where nearby demand
    points see the same nearest candidates at the same offsets.
    """
    first: dict[tuple, int] = {}
    inv = np.empty(len(levels), dtype=np.int64)
    for g in range(len(levels)):
        t, u = int(t_idx[g]), int(u_idx[g])
        last = t == K[g] - 1 and not np.isfinite(fa[g])
        D = levels[g]
        ring = np.sort(np.concatenate(members[g][t:u])).tobytes() if u > t else b""
        key = (t, u - t, last, (D[1:t + 1] - D[0]).tobytes(), D[u] - D[0], ring,
               *(m.tobytes() for m in members[g][:t + 1 if last else t]))
        inv[g] = first.setdefault(key, len(first))
    rep = np.unique(inv, return_index=True)[1]        # first member of each merged group
    return rep, np.bincount(inv, weights=W, minlength=len(first))


def _group_cost(Ca: np.ndarray, fa: np.ndarray, pos: np.ndarray) -> np.ndarray:
    if pos.size == 0:
        return fa.copy()
    return np.minimum(fa, Ca[:, pos].min(axis=1))


def _build_radius(W, levels, members, t_idx, K, fa, n_cand, p, u_idx):
    """Chained radius model (Elloumi 2010; García, Labbé & Marín 2011).

    For client i with levels D^1 < ... < D^K, z_ik = 1 iff no open site lies
    within D^k, and the cost is D^1 + sum_{k<K} (D^{k+1} - D^k) z_ik.  Rows::

        z_i1 + sum_{j: c_ij = D^1} y_j >= 1
        z_ik + sum_{j: c_ij = D^k} y_j >= z_i,k-1        (k >= 2)

    By induction z_ik >= 1 - sum_{j: c_ij <= D^k} y_j, i.e. the cumulative
    covering rows of Elloumi, with the same LP bound but only one nonzero per
    (client, site) pair instead of one per (level, site).  z is continuous in
    [0, 1]; with binary y the minimum puts z_ik = 1 exactly when no site within
    D^k is open, so the model is exact.  Clients are truncated after level
    t_i + 1 (z_i1..z_it only): the model then charges min(true cost, D^{t+1}),
    a relaxation that the caller checks and extends.  If the client has no
    fixed site and all levels are present, the last row
    ``sum_{j: c_ij = D^K} y_j >= z_i,K-1`` forces it to be served.

    Tail (``u_i > t_i``): one more variable and row covering the ring of
    levels t+1..u at once, ``zt_i + sum_{j: D^{t+1} <= c_ij < D^{u+1}} y_j >=
    z_it`` with cost ``(D^{u+1} - D^{t+1}) zt_i``: with binary y, zt_i = 1 iff
    no open site lies within the ring either.  The model then charges the
    cost itself up to D^{t+1}, D^{t+1} for service inside the ring and
    D^{u+1} beyond it: never more than the true cost, so still a relaxation,
    but one that cannot charge a client whose nearest sites all close less
    than D^{u+1}, at one row per client instead of one per level.
    Returns ``(prob, y, z per group, tail variable or None per group)``.
    """
    prob = pulp.LpProblem("p_median", pulp.LpMinimize)
    y = [prob.add_variable(f"y{j:07d}", 0, 1, pulp.LpBinary) for j in range(n_cand)]
    obj, zs, _ = radius_rows(prob, y, W, levels, members, t_idx, K, fa)
    tails: list = []
    for g in range(len(levels)):
        t, u = int(t_idx[g]), int(u_idx[g])
        if u <= t:
            tails.append(None)
            continue
        zt = prob.add_variable(f"t{g:07d}", 0, 1)
        tails.append(zt)
        obj.append((zt, W[g] * (levels[g][u] - levels[g][t])))
        ring = [(y[j], 1.0) for m in members[g][t:u] for j in m]
        _chained_row(prob, ring + [(zt, 1.0)], zs[g][t - 1] if t else None, f"tail{g}")
    prob.setObjective(pulp.LpAffineExpression(obj))
    _add_row(prob, [(v, 1.0) for v in y], pulp.LpConstraintEQ, p, "p")
    return prob, y, zs, tails


def radius_rows(prob: pulp.LpProblem, y: list, W, levels, members, t_idx, K, fa, prefix: str = ""):
    """Add the chained radius rows of :func:`_build_radius` for every group to
    ``prob`` (over the site variables ``y``); returns ``(objective pairs, z
    variables per group, objective constant)``."""
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
            _chained_row(prob, [(y[j], 1.0) for j in grp[k]] + [(z[k], 1.0)], z[k - 1] if k else None,
                         f"{prefix}r{r}")
            r += 1
        if t == K[g] - 1 and not np.isfinite(fa[g]):
            _chained_row(prob, [(y[j], 1.0) for j in grp[t]], z[t - 1] if t else None, f"{prefix}r{r}")
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
    return np.array([min(int(np.searchsorted(D, d, "left")), k - 1) for D, k, d in zip(levels, K, dist)],
                    dtype=np.int64)


def _radius_start(y, zs, levels, pos, Ca, fa, tails, u_idx) -> dict:
    """A complete MIP start for the radius model from candidate positions ``pos``."""
    start = {v: 0.0 for v in y}
    for j in pos:
        start[y[int(j)]] = 1.0
    gc = _group_cost(Ca, fa, pos)
    for g, z in enumerate(zs):
        D = levels[g]
        for k in range(len(z)):
            start[z[k]] = 1.0 if gc[g] > D[k] else 0.0
        if tails[g] is not None:
            start[tails[g]] = 1.0 if gc[g] >= D[u_idx[g]] else 0.0
    return start


def _raise_unservable(C, fixed, p, opts, notes, needed=None):
    fidx = np.flatnonzero(fixed)
    f = C[:, fidx].min(axis=1) if fidx.size else np.full(C.shape[0], np.inf)
    lonely = int((~np.isfinite(f)).sum())
    if needed is None:
        A = np.isfinite(C[~np.isfinite(f)][:, ~fixed])
        if A.shape[0] and A.any(axis=1).all():
            needed = _min_cover(A, opts).chosen.size
    more = f"; at least {needed} new sites are needed" if needed else ""
    raise AllocatorError(
        f"infeasible: {lonely} client(s) reach no existing site and cannot all reach one of "
        f"p = {p} new sites{more}",
        field="p",
        fix="raise p, add candidate sites near the unserved clients, or give them weight 0")


def solve_p_median(cost, weight, p, fixed_open=None, *, time_limit=None, gap_rel=None,
                   threads=None) -> Solution:
    """p-median: open ``p`` new sites minimising total weighted travel time.

    Problem (Hakimi 1964; ReVelle & Swain 1970): minimise
    ``sum_i w_i min_{j open} c_ij`` with the fixed sites open and exactly ``p``
    candidates opened.  Every positive-weight client must reach an open site;
    clients with no finite cost to any site are excluded with a note.

    Formulation: the radius (covering) formulation of Elloumi (2010) and
    García, Labbé & Marín (2011), chained form (see ``_build_radius``): for
    client i with distinct finite costs D^1 < ... < D^K, continuous
    ``z_ik in [0,1]`` (1 if no open site within D^k), objective
    ``sum_i w_i (D^1 + sum_{k<K} (D^{k+1} - D^k) z_ik)``, ``sum y = p``;
    fixed sites are substituted out.  Exact reductions: clients with identical
    or constant-offset cost rows merge; levels at or beyond the nearest fixed
    site are dropped; clients best served by a fixed site are constants.

    Before the integer program (:mod:`allocator.solve.bounds`): greedy adding
    and Teitz-Bart interchange give an incumbent; the Lagrangian relaxation of
    the assignment rows (Cornuéjols, Fisher & Nemhauser 1977), maximised by
    subgradient steps, gives a lower bound; candidates whose opening (closing)
    pushes that bound to the incumbent's value are removed (fixed open), as
    in Beasley (1993); the bound is then computed again (warm started) on the
    candidates left, which removes more, while a round removes at least 5 %.
    If the bound meets the incumbent, it is optimal and no integer program is
    solved.  On Porto Alegre (1,124 x 1,227, p = 20) this
    removes about 1,140 of the 1,227 candidates.

    Exact level generation: each client's levels are first cut at its
    second-nearest site in the incumbent, with a one-row tail up to the
    third-nearest (the model then charges the cost up to the cap, the cap
    inside the tail's ring and the ring's end beyond it: a relaxation).  After solving, if every client is served
    within its cap the relaxed value equals the true value and the solution is
    optimal; otherwise the violated clients get more levels and the model is
    solved again.  Clients whose truncated rows coincide share one set of
    rows.  The incumbent is passed to HiGHS as a MIP start; HiGHS's presolve
    is off for this model and its LPs are solved by interior point (both
    faster on Porto Alegre).  If time runs
    out, the best solution is returned with the gap to the Lagrangian (or
    HiGHS) bound, so ``gap`` is never unknown once an incumbent exists.

    Raises AllocatorError if ``p`` new sites cannot serve every client.
    """
    t0 = time.perf_counter()
    c, w, fixed = _split(cost, weight, fixed_open)
    cand_n = int((~fixed).sum())
    p = _check_p(p, cand_n)
    opts = _opts(time_limit, gap_rel, threads)
    notes: list[str] = []
    rows, bad = _client_filter(c, w, notes)
    C, wr = c[rows], w[rows]
    if rows.size == 0:
        open_mask = fixed.copy()
        open_mask[np.flatnonzero(~fixed)[:p]] = True
        notes.append("no client with positive weight can be served: any sites are optimal")
        return _finish("p_median", "optimal", 0.0, 0.0, open_mask, fixed, time.perf_counter() - t0,
                       0.0, 0, 0, notes, bad)
    open_mask, status, lower, nv, nc, tb, ts = _pmedian_core(C, wr, fixed, p, opts, notes)
    obj = float(wr @ _nearest(C, open_mask))
    gap = _gap(obj, lower, maximise=False)
    if status == "optimal" and gap > 0:
        notes.append(f"stopped at the requested gap_rel={opts.gap_rel:g} (proven gap {gap:.2e})")
    if status == "time_limit":
        notes.append(f"time limit reached: best solution found, proven gap {gap:.2%}")
    return _finish("p_median", status, obj, gap, open_mask, fixed, tb, ts, nv, nc, notes, bad)


# --------------------------------------------------------------------------- #
# maximal covering                                                            #
# --------------------------------------------------------------------------- #


def _coverage(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, cand: np.ndarray, T: float,
              notes: list[str], outcome: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage sets within ``T``: which clients a fixed site already covers, the
    client x candidate coverage matrix, and the positive-weight clients no site
    covers (noted with ``outcome``)."""
    within = c <= T
    covf = within[:, fixed].any(axis=1) if fixed.any() else np.zeros(c.shape[0], dtype=bool)
    Nc = within[:, cand]
    uncov = np.flatnonzero((w > 0) & ~covf & ~Nc.any(axis=1))
    if uncov.size:
        notes.append(f"{uncov.size} client(s) (weight {w[uncov].sum():g}) have no site within "
                     f"{T:g} min and {outcome}")
    return covf, Nc, uncov


def _fill_by_travel_time(c: np.ndarray, w: np.ndarray, open_mask: np.ndarray, k: int) -> np.ndarray:
    """``k`` more sites (indices) next to ``open_mask``: greedy adding (Kuehn &
    Hamburger 1963), each time the site that most lowers the population-weighted
    travel time of the positive-weight clients to their nearest open site (ties:
    lowest index).  A heuristic tie-break, not an optimum: a Teitz-Bart
    interchange would gain about 0.5 % more on the Porto Alegre node instance
    but doubles the time of the whole call there."""
    free = np.flatnonzero(~open_mask)
    if k <= 0:
        return _EMPTY.copy()
    rows = (w > 0) & np.isfinite(c).any(axis=1)
    Cr = c[rows]
    P, f = mb.penalised(Cr[:, free], _nearest(Cr, open_mask))
    return free[mb.greedy(P, w[rows], f, k)]


def solve_max_coverage(cost, weight, p, threshold, fixed_open=None, *, time_limit=None,
                       gap_rel=None, threads=None) -> Solution:
    """Maximal covering location problem (Church & ReVelle 1974).

    Maximise the weight of clients with an open site within ``threshold``
    minutes, opening ``p`` new sites; the objective includes clients already
    covered by fixed sites.

    Clients covered by a fixed site are a constant; clients with no candidate
    within ``T`` (``N_i`` empty) cannot change and drop; the others are the
    *active* clients, merged into groups with identical ``N_g`` (summed
    weights ``W_g``).  Then, in order:

    1. **Set-cover short-cut** (the link between the two problems: Church &
       ReVelle 1976).  ``sum_g W_g`` is an upper bound on what any ``p`` new
       sites can add.  The minimum set cover of the groups (Toregas et al.
       1971; :func:`_min_cover`, the model of :func:`solve_set_cover`) is
       solved first; if it opens ``k <= p`` sites, they attain the bound, so
       they are optimal: status ``"optimal"``, gap 0 and a note, no
       maximal-covering integer program (``n_variables``/``n_constraints``
       are then the set cover's).  The proof is the cover itself, checked with
       numpy, so a cover with ``<= p`` sites from a time-limited solve proves
       it just as well; if the cover found has more than ``p`` sites (minimal
       or not, e.g. after a time limit) nothing is concluded and steps 2-3 run.
       The other ``p - k`` sites cannot change the objective.  Tie-break
       (:func:`_fill_by_travel_time`): greedily the candidates that most reduce
       the population-weighted travel time to the nearest open site, over all
       positive-weight clients.  Travel time rather than "most additional
       population within the threshold", because that is 0 for every
       candidate once everything coverable is covered, while shorter trips are
       what a planner would want next.  The tie-break is a heuristic (greedy),
       the coverage is optimal.
    2. **Dominated candidates** are dropped (exact, see below), and groups
       that become identical on the remaining candidates merge.
    3. **The integer program**::

        max sum_g W_g u_g   s.t.  u_g <= sum_{j in N_g} y_j,  sum_j y_j = p,
                                  u_g in [0, 1] continuous, y_j binary

       Exact: with binary y the bound on u_g is 0 or >= 1, and the maximisation
       sets u_g to 1 exactly when some site of N_g is open.  MIP start: greedy
       adding then Teitz-Bart interchange (:mod:`allocator.solve.bounds`) on
       the MCLP written as a p-median with cost 0 within ``T`` and 1 otherwise
       (Church & ReVelle 1976).  HiGHS's presolve and feasibility-jump heuristic
       are off: on Porto Alegre presolve took 10-200 s on this model and
       removed almost nothing, and the heuristic half of what was left, while
       the solve without them takes under 1 s.  Both are options of the
       search; the model and the optimality proof are unchanged.

    Candidate dominance (step 2; the column reduction of Toregas & ReVelle
    1973 for set covering, adapted to maximal covering with exactly ``p``
    sites).  Candidate j is dropped when some other candidate k has
    ``N(j) ⊆ N(k)`` over the active groups, identical candidates keeping the
    lowest index (:func:`_undominated`); then every dropped j has a KEPT k
    with ``N(j) ⊆ N(k)``.  Suppose more than ``p`` candidates are kept and
    take an optimal S that contains a dropped j.  If j's kept dominator k is
    not in S, ``S - j + k`` covers at least as much; if k is in S, j adds
    nothing and ``S - j + l`` covers at least as much for any kept l not in S,
    which exists because S holds at most ``p - 1`` kept candidates.  Each
    exchange removes one dropped candidate from S, so some optimal S uses
    kept candidates only, and the bound of the reduced model is a bound of the
    full one.  If ``p`` or fewer candidates are kept, they already cover every
    coverable client (each dropped candidate lies inside a kept one): step 1's
    short-cut with the kept candidates as the cover.  Dominance is about
    coverage only and is not used for the tie-break.
    """
    c, w, fixed = _split(cost, weight, fixed_open)
    cand = np.flatnonzero(~fixed)
    p = _check_p(p, cand.size)
    T = _check_threshold(threshold)
    opts = _opts(time_limit, gap_rel, threads)
    t0 = time.perf_counter()
    notes: list[str] = []
    pos = w > 0
    covf, Nc, uncov = _coverage(c, w, fixed, cand, T, notes, "cannot be covered")
    act = np.flatnonzero(pos & ~covf & Nc.any(axis=1))
    open_mask = fixed.copy()
    nv = nc = 0
    solve = 0.0
    status, gap = "optimal", 0.0
    if p == cand.size:
        open_mask[:] = True
    elif p > 0:
        U, inv = _unique_rows(Nc[act])
        Wg = np.bincount(inv, weights=w[act], minlength=U.shape[0])
        # 1. set-cover short-cut: a cover with <= p sites attains the upper bound sum(Wg)
        cov = _min_cover(U, opts, "max_coverage_cover")
        solve, nv, nc = cov.solve_s, cov.nv, cov.nc
        full = keep = None
        if (cov.status in ("optimal", "time_limit") and cov.chosen.size <= p
                and U[:, cov.chosen].any(axis=1).all()):
            full = cov.chosen
            how = f"{full.size} new site(s) (a minimum set cover) cover"
        else:
            # 2. dominated candidates
            keep = np.flatnonzero(_undominated(U.T, "subsets"))
            if keep.size <= p:
                full = keep
                how = f"the {keep.size} candidate(s) left after removing dominated ones cover"
            elif keep.size < cand.size:
                notes.append(f"max coverage: {cand.size - keep.size} of {cand.size} candidates are dominated "
                             f"(their coverage set lies inside another's) and were dropped")
        if full is not None:
            open_mask[cand[full]] = True
            extra = _fill_by_travel_time(c, w, open_mask, p - full.size)
            open_mask[extra] = True
            if act.size == 0:
                notes.append("max coverage: the fixed sites already cover every coverable client, so new "
                             "sites cannot change the objective: optimal without the integer program")
            else:
                notes.append(f"max coverage: {how} every coverable client (weight {Wg.sum():g} beyond the "
                             f"fixed sites), the most any {p} new sites can cover: optimal without the "
                             f"integer program")
            if extra.size:
                notes.append(f"max coverage: the other {extra.size} new site(s) cannot change the objective; "
                             f"they were chosen greedily to shorten the weighted travel time (tie-break)")
        else:
            # 3. the integer program
            run, chosen, nv, nc = _mclp_mip(U[:, keep], Wg, p, opts)
            solve += run.seconds
            if run.status == "no_solution":
                raise AllocatorError("no max-coverage solution was found within the time limit",
                                     field="time_limit", fix="raise time_limit")
            open_mask[cand[keep[chosen]]] = True
            base = float(w[pos & covf].sum())
            obj = float(w[pos] @ (_nearest(c[pos], open_mask) <= T))
            status = run.status
            # covering every active client is a bound too (finite even if HiGHS stopped before its root LP)
            gap = _gap(obj, base + min(run.bound, float(Wg.sum())), maximise=True)
    build = time.perf_counter() - t0 - solve    # everything but the solver runs
    obj = float(w[pos] @ (_nearest(c[pos], open_mask) <= T))
    if status == "time_limit":
        notes.append(f"time limit reached: best solution found, proven gap {gap:.2%}")
    elif gap > 0:
        notes.append(f"stopped at the requested gap_rel={opts.gap_rel:g} (proven gap {gap:.2e})")
    return _finish("max_coverage", status, obj, gap, open_mask, fixed, build, solve, nv, nc, notes, uncov)


def _mclp_mip(A: np.ndarray, Wg: np.ndarray, p: int, opts: _Opts):
    """The maximal-covering integer program over groups ``A`` (bool, groups x
    candidates) with weights ``Wg``; see :func:`solve_max_coverage`.  Returns
    ``(run, chosen candidate positions, nv, nc)``."""
    U, inv = _unique_rows(A)      # groups identical on the kept candidates merge (same objective for every S)
    W = np.bincount(inv, weights=Wg, minlength=U.shape[0])
    G, m = U.shape
    P, f = np.where(U, 0.0, 1.0), np.ones(G)       # 0/1 "uncovered" cost: the MCLP as a p-median
    start_pos = mb.interchange(P, W, f, mb.greedy(P, W, f, p))
    prob = pulp.LpProblem("max_coverage", pulp.LpMaximize)
    y = [prob.add_variable(f"y{j:07d}", 0, 1, pulp.LpBinary) for j in range(m)]
    u = [prob.add_variable(f"u{g:07d}", 0, 1) for g in range(G)]
    prob.setObjective(_affine(list(zip(u, W.tolist()))))
    gi, ji = np.nonzero(U)
    cut = np.searchsorted(gi, np.arange(1, G))
    for g, js in enumerate(np.split(ji, cut)):
        pairs = [(y[j], -1.0) for j in js.tolist()]
        pairs.append((u[g], 1.0))
        _add_row(prob, pairs, pulp.LpConstraintLE, 0, f"c{g}")
    _add_row(prob, [(v, 1.0) for v in y], pulp.LpConstraintEQ, p, "p")
    start = {v: 0.0 for v in y}
    for j in start_pos:
        start[y[int(j)]] = 1.0
    covered = U[:, start_pos].any(axis=1)
    start.update({u[g]: float(covered[g]) for g in range(G)})
    # Measured on Porto Alegre: HiGHS's presolve costs far more than it saves on
    # this model, and its feasibility-jump heuristic (which runs even with a MIP
    # start) took half of the remaining time.  Both only change the search, not
    # the model, so the result is as exact either way.
    run = _solve(prob, opts, start, presolve="off", mip_heuristic_run_feasibility_jump=False)
    return run, np.flatnonzero(_binary_values(y)), m + G, G + 1


# --------------------------------------------------------------------------- #
# set covering                                                                #
# --------------------------------------------------------------------------- #


def solve_set_cover(cost, weight, threshold, fixed_open=None, *, time_limit=None, gap_rel=None,
                    threads=None) -> Solution:
    """Location set covering problem (Toregas, Swain, ReVelle & Bergman 1971).

    Minimise the number of new sites so that every positive-weight client that
    some site (fixed or candidate) covers within ``threshold`` is covered.
    Clients no site covers are excluded (``Solution.uncoverable``, with a note).

    Formulation: ``min sum_j y_j`` s.t. ``sum_{j in N_i} y_j >= 1`` for the
    clients not already covered by a fixed site, with ``N_i`` the candidates
    within the threshold.  Identical rows merge and dominated rows are dropped
    (if ``N_a ⊆ N_b``, covering ``a`` covers ``b``): both exact.
    ``objective`` is the number of NEW sites.
    """
    c, w, fixed = _split(cost, weight, fixed_open)
    T = _check_threshold(threshold)
    opts = _opts(time_limit, gap_rel, threads)
    t0 = time.perf_counter()
    cand = np.flatnonzero(~fixed)
    notes: list[str] = []
    covf, Nc, uncov = _coverage(c, w, fixed, cand, T, notes, "were excluded")
    act = (w > 0) & ~covf & Nc.any(axis=1)
    cov = _min_cover(Nc[act], opts)
    if cov.status == "no_solution":
        raise AllocatorError("no set-cover solution was found within the time limit",
                             field="time_limit", fix="raise time_limit")
    open_mask = fixed.copy()
    open_mask[cand[cov.chosen]] = True
    obj = float(cov.chosen.size)
    gap = _gap(obj, cov.lower, maximise=False)
    status = cov.status
    if status == "time_limit":
        notes.append(f"time limit reached: best cover found, at least {cov.lower:g} sites needed")
    del t0
    return _finish("set_cover", status, obj, gap, open_mask, fixed, cov.build_s, cov.solve_s,
                   cov.nv, cov.nc, notes, uncov)


# --------------------------------------------------------------------------- #
# p-center                                                                    #
# --------------------------------------------------------------------------- #


def solve_p_center(cost, weight, p, fixed_open=None, *, weighted: bool = False, time_limit=None,
                   gap_rel=None, threads=None) -> Solution:
    """p-center: open ``p`` new sites minimising the longest travel time.

    Objective: ``max_{i: w_i > 0} min_{j open} c_ij`` (minutes).  Clients with
    no finite cost to any site are excluded with a note.  With ``weighted``
    it is the weighted p-center ``max_i w_i min_{j open} c_ij`` (person-minutes;
    Hakimi 1964): the same search on the matrix ``w_i c_ij``.

    Method (Minieka 1970; Daskin 1995, "Network and Discrete Location"): the
    optimal value is one of the cost values.  Binary search over the sorted
    distinct values L in [max_i min_j c_ij, greedy value]: L is achievable iff
    the set cover with threshold L (fixed sites free) needs <= p new sites;
    each probe is a small set-covering ILP (Toregas et al. 1971).

    Tie-break (documented rule): among the site sets achieving the optimal L,
    return one minimising the weighted total travel time, i.e. a p-median
    restricted to pairs with cost <= L, so results are stable and sensible.
    ``objective`` is L.
    """
    c, w, fixed = _split(cost, weight, fixed_open)
    cand = np.flatnonzero(~fixed)
    p = _check_p(p, cand.size)
    opts = _opts(time_limit, gap_rel, threads)
    t0 = time.perf_counter()
    notes: list[str] = []
    rows, bad = _client_filter(c, w, notes)
    if rows.size == 0:
        open_mask = fixed.copy()
        open_mask[cand[:p]] = True
        notes.append("no client with positive weight can be served: any sites are optimal")
        return _finish("p_center", "optimal", 0.0, 0.0, open_mask, fixed, 0.0, 0.0, 0, 0, notes, bad)
    C, wr = c[rows], w[rows]
    S = C * wr[:, None] if weighted else C      # what the maximum is taken over
    # identical rows are the same client for the max objective
    U = np.unique(S, axis=0)
    fidx = np.flatnonzero(fixed)
    f = U[:, fidx].min(axis=1) if fidx.size else np.full(U.shape[0], np.inf)
    Cc = U[:, cand]
    lb = float(U.min(axis=1).max())     # nobody can do better than their nearest site

    # upper bound: greedy (each step the candidate minimising the max, then the sum)
    cur = f.copy()
    used = np.zeros(cand.size, dtype=bool)
    for _ in range(p):
        M = np.minimum(cur[:, None], Cc)
        mx = M.max(axis=0)
        sm = np.where(np.isfinite(M), M, 0).sum(axis=0) + (~np.isfinite(M)).sum(axis=0) * 1e300
        mx[used] = np.inf
        sm[used] = np.inf
        best = np.flatnonzero(mx == mx.min())
        j = int(best[np.argmin(sm[best])])
        used[j] = True
        cur = M[:, j]
    ub = float(cur.max())
    vals = np.unique(U[np.isfinite(U)])
    if not math.isfinite(ub):
        ub = float(vals[-1])
    vals = vals[(vals >= lb) & (vals <= ub)]
    build = time.perf_counter() - t0
    solve = 0.0
    nv = nc = 0

    def probe(L: float):
        """(feasible or None if unknown, chosen candidate positions)."""
        nonlocal build, solve, nv, nc
        need = f > L
        A = Cc[need] <= L
        if A.shape[0] and not A.any(axis=1).all():
            return False, None
        cov = _min_cover(A, opts, "p_center_probe")
        build += cov.build_s
        solve += cov.solve_s
        nv, nc = max(nv, cov.nv), max(nc, cov.nc)
        if cov.status in ("optimal", "time_limit") and cov.chosen.size <= p:
            return True, cov.chosen
        if cov.status == "optimal" or cov.lower > p:
            return False, None
        return None, None

    # greedy-achieved value is feasible by construction; ensure it really is
    hi = int(np.searchsorted(vals, ub, "left"))
    if not math.isfinite(float(cur.max())):
        ok, pos_hi = probe(float(vals[hi]))
        if not ok:
            _raise_unservable(C, fixed, p, opts, notes)
    else:
        pos_hi = np.flatnonzero(used)
    lo = 0                       # vals[lo] is the lowest value not yet ruled out
    proven_lo = lo
    probes = 0
    timed_out = False
    while lo < hi:
        if opts.expired():
            timed_out = True
            break
        mid = (lo + hi) // 2
        ok, chosen = probe(float(vals[mid]))
        probes += 1
        if ok:
            hi, pos_hi = mid, chosen
        else:
            lo = mid + 1
            if ok is False:      # infeasible at vals[mid], hence at every smaller value
                proven_lo = max(proven_lo, lo)
            else:                # unknown (probe hit the time limit)
                timed_out = True
    L = float(vals[hi])
    notes.append(f"p-center: {probes} set-cover probe(s) over {vals.size} candidate values")

    # Tie-break: p-median over pairs with cost <= L (feasible: pos_hi works).
    CL = np.where(S <= L, C, np.inf)
    open_mask = fixed.copy()
    try:
        om, st, _, tnv, tnc, tb, ts = _pmedian_core(CL, wr, fixed, p, opts, [])
        build += tb
        solve += ts
        nv, nc = max(nv, tnv), max(nc, tnc)
        if np.isfinite(_nearest(CL, om)).all():
            open_mask = om
        if st != "optimal":
            notes.append("p-center tie-break (weighted total) stopped at the time limit")
    except AllocatorError:
        pass
    if not (open_mask & ~fixed).any() and p > 0 or not np.isfinite(_nearest(CL, open_mask)).all():
        open_mask = fixed.copy()
        open_mask[cand[pos_hi]] = True
        extra = [j for j in cand if not open_mask[j]][: p - len(pos_hi)]
        open_mask[extra] = True
    obj = float(_nearest(S, open_mask).max())
    lower = float(vals[proven_lo]) if proven_lo < vals.size else obj
    gap = _gap(obj, lower, maximise=False)
    status = "time_limit" if (timed_out and gap > 0) else "optimal"
    if status == "time_limit":
        notes.append(f"time limit reached: best value {obj:g} min, proven lower bound {lower:g} min")
    return _finish("weighted_p_center" if weighted else "p_center", status, obj, gap, open_mask, fixed, build, solve, nv, nc, notes, bad)
