"""The set-cover core: unique rows, dominance, row reduction and the minimum cover (used by set cover,
maximal coverage, p-median feasibility and p-center)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pulp

from allocator.solve import highs
from allocator.solve.checks import Options
from allocator.solve.deadline import Deadline, OutOfTimeError
from allocator.solve.highs import add_row, affine, binary_values
from allocator.solve.solution import EMPTY, Sizes


def unique_rows(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def undominated(A: np.ndarray, drop: str, chunk: int = 512, deadline: Deadline | None = None) -> np.ndarray:
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
    columns instead of rows^2 x columns.  ``deadline`` is checked between
    blocks (:class:`~allocator.solve.deadline.OutOfTimeError` past it).
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
        if deadline is not None:
            deadline.check()
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


def reduce_rows(A: np.ndarray, deadline: Deadline | None = None) -> np.ndarray:
    """Distinct, non-dominated coverage rows of the bool matrix ``A``.

    Exact for covering: identical rows are the same constraint; if
    ``N_a ⊆ N_b`` then any cover of ``a`` covers ``b``, so row ``b`` is
    redundant.  Stops at ``deadline`` like :func:`undominated`.
    """
    if A.shape[0] == 0:
        return A
    U, _ = unique_rows(A)
    return U[undominated(U, "supersets", deadline=deadline)]


@dataclass
class Cover:
    """A minimum cover: the candidate positions (columns of ``A``) opened, status, a proven lower
    bound on the number of sites, and the model's size and times."""

    chosen: np.ndarray
    status: str
    lower: float
    sizes: Sizes = field(default_factory=Sizes)


def min_cover(A: np.ndarray, opts: Options, name="set_cover") -> Cover:
    """Minimum number of columns covering every row of bool ``A`` (rows non-empty).

    Location set covering (Toregas et al. 1971): ``min sum y_j`` subject to
    ``sum_{j in N_i} y_j >= 1``, after identical/dominated rows are removed.
    Past ``opts``' deadline (the reduction and the model's rows check it) it
    stops with status ``no_solution`` and no columns.
    """
    t0 = time.perf_counter()
    try:
        return _min_cover(A, opts, name, t0)
    except OutOfTimeError:
        return Cover(EMPTY.copy(), "no_solution", 0.0, Sizes(build_s=time.perf_counter() - t0))


def _min_cover(A: np.ndarray, opts: Options, name: str, t0: float) -> Cover:
    """:func:`min_cover`, raising :class:`OutOfTimeError` past the deadline."""
    U = reduce_rows(A, opts.deadline)
    if U.shape[0] == 0:
        return Cover(EMPTY.copy(), "optimal", 0.0, Sizes(build_s=time.perf_counter() - t0))
    cols = np.flatnonzero(U.any(axis=0))  # columns covering nothing are never needed
    if U.shape[0] == 1 or np.any(U.all(axis=0)):
        # one column covers everything left: the optimum is 1, take the lowest index
        j = int(np.flatnonzero(U.all(axis=0))[0])
        return Cover(np.array([j]), "optimal", 1.0, Sizes(build_s=time.perf_counter() - t0))
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    y = {int(j): prob.add_variable(f"y{j:07d}", 0, 1, pulp.LpBinary) for j in cols}
    prob.setObjective(affine([(v, 1.0) for v in y.values()]))
    for r in range(U.shape[0]):
        opts.check()
        add_row(prob, [(y[int(j)], 1.0) for j in np.flatnonzero(U[r])], pulp.LpConstraintGE, 1, f"c{r}")
    build = time.perf_counter() - t0
    opts.check()
    run = highs.solve(prob, opts)
    if run.status in ("infeasible", "no_solution"):
        # cannot happen for non-empty rows (open everything) unless out of time
        return Cover(EMPTY.copy(), run.status, run.bound, Sizes(len(y), U.shape[0], build, run.seconds))
    keys = list(y)
    vals = binary_values(list(y.values()))
    chosen = np.array([keys[i] for i in np.flatnonzero(vals)], dtype=np.int64)
    lower = math.ceil(run.bound - 1e-6) if math.isfinite(run.bound) else 0.0
    return Cover(chosen, run.status, float(lower), Sizes(len(y), U.shape[0], build, run.seconds))



def coverage_sets(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, cand: np.ndarray, T: float,
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
    return np.asarray(covf), Nc, uncov

