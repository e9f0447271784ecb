"""HiGHS glue: a pulp.HiGHS that takes a MIP start, the quiet banner, solve-and-classify, the gap and row helpers."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pulp

from allocator.errors import AllocatorError
from allocator.solve.checks import Options


class MipStartHiGHS(pulp.HiGHS):
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
QUIET = {"output_flag": False, "log_to_console": False, "log_file": ""}


def solve(prob: pulp.LpProblem, opts: Options, start: dict | None = None, **highs_options) -> Run:
    """Solve ``prob`` with HiGHS within the remaining budget and classify the result.

    ``highs_options`` are passed to HiGHS as they are (e.g. ``presolve="off"``)."""
    quiet_highs()
    rem = opts.remaining()
    kw = dict(msg=False, gapRel=opts.gap_rel, threads=opts.threads, random_seed=0, **QUIET, **highs_options)
    if rem is not None:
        kw["timeLimit"] = max(rem, 0.05)
    solver = MipStartHiGHS(start=start, **kw)
    t0 = time.perf_counter()
    prob.solve(solver)
    secs = time.perf_counter() - t0
    h = prob.solverModel
    bound = h.getInfo().mip_dual_bound
    # PuLP gives HiGHS "minimise -objective" for maximisation problems.
    return classify(h, -bound if prob.sense == pulp.LpMaximize else bound, secs)


@dataclass
class ArrayModel:
    """A minimisation MIP as arrays, for HiGHS's own interface (no PuLP objects): column costs and
    bounds, which columns are integer, and rows ``row_lower <= A x <= row_upper`` with ``A`` in
    compressed rows (``starts``, ``index``, ``value``)."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    value: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.row_lower.size


def solve_arrays(model: ArrayModel, opts: Options, start: np.ndarray | None = None,
                 **highs_options) -> tuple[Run, np.ndarray]:
    """Solve ``model`` with HiGHS within the remaining budget: the classified run and the column values
    (zeros without a solution).  ``start`` is a complete MIP start; options as in :func:`solve`."""
    import highspy

    quiet_highs()
    h = highspy.Highs()
    settings = dict(QUIET, mip_rel_gap=opts.gap_rel, threads=opts.threads, random_seed=0, **highs_options)
    rem = opts.remaining()
    if rem is not None:
        settings["time_limit"] = max(rem, 0.05)
    for key, val in settings.items():
        h.setOptionValue(key, val)
    t0 = time.perf_counter()
    n = model.cost.size
    h.addVars(n, model.col_lower, model.col_upper)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), model.cost)
    ints = np.flatnonzero(model.integer).astype(np.int32)
    h.changeColsIntegrality(ints.size, ints, np.full(ints.size, highspy.HighsVarType.kInteger))
    h.addRows(model.n_rows, model.row_lower, model.row_upper, model.index.size,
              model.starts.astype(np.int32), model.index.astype(np.int32), model.value)
    if start is not None:
        h.setSolution(n, np.arange(n, dtype=np.int32), np.asarray(start, dtype=np.float64))
    h.run()
    secs = time.perf_counter() - t0
    run = classify(h, h.getInfo().mip_dual_bound, secs)
    values = np.asarray(h.getSolution().col_value) if run.status in ("optimal", "time_limit") else np.zeros(n)
    return run, values


def classify(h, bound: float, secs: float) -> Run:
    """The :class:`Run` of a finished HiGHS object ``h`` with the proven ``bound``."""
    import highspy

    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    has_sol = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    if ms in (S.kOptimal, S.kModelEmpty):
        return Run("optimal", bound, secs)
    if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return Run("infeasible", bound, secs)
    if ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit):
        return Run("time_limit" if has_sol else "no_solution", bound, secs)
    raise AllocatorError(f"the HiGHS solver failed (model status {h.modelStatusToString(ms)})",
                         fix="report this model; try a different time_limit or threads setting")


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

