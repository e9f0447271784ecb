"""HiGHS glue: a pulp.HiGHS that takes a MIP start, the quiet banner, solve-and-classify, the gap and row helpers."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulp
from scipy import sparse

from allocator.errors import AllocatorError
from allocator.solve.checks import Options


class MipStartHiGHS(pulp.HiGHS):
    """pulp.HiGHS that can hand HiGHS a MIP start (values by variable) and sets HiGHS's time limit to
    ``remaining()`` just before it runs, after PuLP has built and passed the model."""

    def __init__(self, start: dict | None = None, remaining: Callable[[], float | None] | None = None, **kw):
        super().__init__(**kw)
        self._start = start
        self._remaining = remaining

    def callSolver(self, lp):  # noqa: N802 (PuLP's name)
        rem = self._remaining() if self._remaining is not None else None
        if rem is not None:
            lp.solverModel.setOptionValue("time_limit", max(rem, 0.05))
        if self._start:
            idx = np.array([v.index for v in self._start], dtype=np.int32)
            val = np.array([float(x) for x in self._start.values()], dtype=np.float64)
            lp.solverModel.setSolution(len(idx), idx, val)
        lp.solverModel.run()


@dataclass
class Run:
    """A classified HiGHS run."""

    status: str          # optimal | time_limit | infeasible | no_solution
    bound: float         # proven bound on the model objective (w/o constant), in the model's sense
    seconds: float


_BANNER_LOCK = threading.Lock()
_banner_done = False


def quiet_highs() -> None:
    """Create HiGHS once per process with stdout closed, under a lock.

    HiGHS prints its copyright banner from C++ on the first construction in a
    process, before any option (``output_flag``, ``log_to_console``) can be
    set, and it would end up in the middle of the command line's output. So
    the one construction that prints it swaps file descriptor 1 for
    ``/dev/null``; every solve after that is silenced by HiGHS's own options
    (:data:`QUIET`). The lock makes the swap safe with threads: it happens
    once, and no two threads can interleave their swaps (which could leave
    stdout closed for good). Dask workers call it when they start
    (:class:`allocator.scale.workers.QuietHighs`), before they solve anything.
    """
    global _banner_done
    with _BANNER_LOCK:
        if _banner_done:
            return
        import highspy

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_done = True


#: HiGHS's own options for a silent solve: nothing on the console, no log file
QUIET: dict[str, bool | str] = {"output_flag": False, "log_to_console": False, "log_file": ""}


def solve(prob: pulp.LpProblem, opts: Options, start: dict | None = None, **highs_options) -> Run:
    """Solve ``prob`` with HiGHS within the remaining budget and classify the result.

    ``highs_options`` are passed to HiGHS as they are (e.g. ``presolve="off"``)."""
    quiet_highs()
    kw = dict(msg=False, gapRel=opts.gap_rel, threads=opts.threads, random_seed=0, **QUIET, **highs_options)
    solver = MipStartHiGHS(start=start, remaining=opts.remaining, **kw)
    t0 = time.perf_counter()
    prob.solve(solver)
    secs = time.perf_counter() - t0
    return classify(prob.solverModel, secs, maximise=prob.sense == pulp.LpMaximize)


def classify(h, secs: float, maximise: bool = False) -> Run:
    """The :class:`Run` of a finished HiGHS instance ``h`` (``maximise``: PuLP handed it "minimise -objective")."""
    import highspy

    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    bound = -info.mip_dual_bound if maximise else info.mip_dual_bound
    if ms in (S.kOptimal, S.kModelEmpty):
        return Run("optimal", bound, secs)
    if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return Run("infeasible", bound, secs)
    if ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit):
        return Run("time_limit" if has_sol else "no_solution", bound, secs)
    raise AllocatorError(f"the HiGHS solver failed (model status {h.modelStatusToString(ms)})",
                         fix="report this model; try a different time_limit or threads setting")


@dataclass
class ArrayModel:
    """A minimisation model as arrays, handed to HiGHS without PuLP: per column its cost, bounds and
    integrality, per row its bounds, and the constraint matrix (rows x columns, CSR)."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray        # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: sparse.csr_matrix

    @property
    def n_rows(self) -> int:
        return self.row_lower.size


def solve_arrays(model: ArrayModel, opts: Options, start: np.ndarray | None = None,
                 **highs_options) -> tuple[Run, np.ndarray]:
    """Solve ``model`` with HiGHS within the remaining budget: the classified run and the column values
    (zeros without a solution).  For models too large to build through PuLP objects; ``start`` is a complete
    MIP start, ``highs_options`` go to HiGHS as they are (as in :func:`solve`)."""
    import highspy

    quiet_highs()
    h = highspy.Highs()
    settings: dict[str, bool | float | str] = {**QUIET, "mip_rel_gap": opts.gap_rel, "threads": opts.threads,
                                               "random_seed": 0, **highs_options}
    for name, value in settings.items():
        h.setOptionValue(name, value)
    rem = opts.remaining()
    if rem is not None:
        h.setOptionValue("time_limit", max(rem, 0.05))
    a = model.matrix.tocsr()
    n_col, n_row = len(model.cost), a.shape[0]
    t0 = time.perf_counter()
    h.passModel(n_col, n_row, int(a.nnz), 2, 1, 0.0, model.cost.astype(np.float64),
                model.lower.astype(np.float64), model.upper.astype(np.float64),
                model.row_lower.astype(np.float64), model.row_upper.astype(np.float64),
                a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data.astype(np.float64),
                model.integer.astype(np.int32))
    if start is not None:
        h.setSolution(n_col, np.arange(n_col, dtype=np.int32), np.asarray(start, dtype=np.float64))
    h.run()
    run = classify(h, time.perf_counter() - t0)
    has_sol = h.getInfo().primal_solution_status == 2
    return run, np.asarray(h.getSolution().col_value) if has_sol else np.zeros(n_col)


def binary_values(vars_: list) -> np.ndarray:
    return np.array([(v.varValue or 0.0) > 0.5 for v in vars_], dtype=bool)


def relative_gap(obj: float, bound: float, maximise: bool) -> float:
    """Relative gap |obj - bound| / |obj| (0 when the bound is attained)."""
    if not math.isfinite(bound):
        return math.inf
    diff = (bound - obj) if maximise else (obj - bound)
    diff = max(diff, 0.0)
    if abs(obj) < 1e-12:
        return 0.0 if diff <= 1e-9 else math.inf
    g = diff / abs(obj)
    return 0.0 if g < 1e-9 else g


def affine(pairs) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(pairs)


def chained_row(prob: pulp.LpProblem, pairs: list, previous, name: str) -> None:
    """One radius row: ``sum(pairs) >= 1`` at a client's first level, else
    ``sum(pairs) - z_previous >= 0`` (the chained form)."""
    if previous is None:
        add_row(prob, pairs, pulp.LpConstraintGE, 1, name)
    else:
        add_row(prob, pairs + [(previous, -1.0)], pulp.LpConstraintGE, 0, name)


def add_row(prob, pairs, sense, rhs, name):
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(pairs), sense, rhs=rhs), name)

