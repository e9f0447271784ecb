"""Input checks shared by every model: cost, weight, fixed sites, p, threshold and solver options."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from allocator.errors import AllocatorError
from allocator.solve.deadline import Deadline


def check_cost(cost) -> np.ndarray:
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


def check_weight(weight, n: int) -> np.ndarray:
    w = np.asarray(weight, dtype=float)
    if w.shape != (n,):
        raise AllocatorError(
            f"weight must have one value per client ({n}), got shape {w.shape}", field="weight",
            fix="pass a 1-D population array aligned with the cost matrix rows")
    if not np.isfinite(w).all() or (w < 0).any():
        raise AllocatorError("weights must be finite and >= 0", field="weight",
                             fix="replace missing or negative populations by 0")
    return w


def check_fixed(fixed_open, m: int) -> np.ndarray:
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


def check_p(p, n_cand: int) -> int:
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


def check_threshold(threshold) -> float:
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
class Options:
    """A solve's time limit (seconds from ``t_start``: its :class:`Deadline`), relative gap and threads."""

    time_limit: float | None
    gap_rel: float
    threads: int
    t_start: float

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.time_limit, self.t_start)

    def remaining(self) -> float | None:
        return self.deadline.remaining()

    def expired(self) -> bool:
        return self.deadline.expired()

    def check(self) -> None:
        """Raise :class:`allocator.solve.deadline.OutOfTimeError` once past the time limit (no plan to stop with)."""
        self.deadline.check()


def options(time_limit=None, gap_rel=None, threads=None) -> Options:
    """Checked solver options; ``time_limit`` in seconds from now, or a :class:`Deadline` already running
    (the solve stage's: :mod:`allocator.solve.deadline`)."""
    if isinstance(time_limit, Deadline):
        opts = options(None, gap_rel, threads)
        return Options(time_limit.limit_s, opts.gap_rel, opts.threads, time_limit.start)
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
    return Options(time_limit, gap_rel, int(threads), time.perf_counter())


def check_inputs(cost, weight, fixed_open):
    c = check_cost(cost)
    w = check_weight(weight, c.shape[0])
    fixed = check_fixed(fixed_open, c.shape[1])
    return c, w, fixed



def client_filter(c: np.ndarray, w: np.ndarray, notes: list[str]):
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

