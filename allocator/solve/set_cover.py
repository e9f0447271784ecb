"""Location set covering: the fewest new sites covering everyone coverable within the threshold."""

from __future__ import annotations

import numpy as np

from allocator.solve import cover
from allocator.solve.checks import check_inputs, check_threshold, options
from allocator.solve.cover import coverage_sets
from allocator.solve.deadline import OutOfTimeError
from allocator.solve.highs import relative_gap
from allocator.solve.solution import Outcome, Solution, finish


def solve_set_cover(cost, weight, threshold, fixed_open=None, *, time_limit=None, gap_rel=None,
                    threads=None) -> Solution:
    """Location set covering problem (Toregas, Swain, ReVelle & Bergman 1971).

    Minimise the number of new sites so that every positive-weight client that
    some site (fixed or candidate) covers within ``threshold`` is covered.
    Clients no site covers are excluded (``Solution.uncoverable``, with a note).

    Identical and dominated rows are removed (:func:`allocator.solve.cover.min_cover`).
    ``objective`` is the number of NEW sites.  See docs/formulations/set-cover.md.
    """
    c, w, fixed = check_inputs(cost, weight, fixed_open)
    T = check_threshold(threshold)
    opts = options(time_limit, gap_rel, threads)
    cand = np.flatnonzero(~fixed)
    notes: list[str] = []
    covf, Nc, uncov = coverage_sets(c, w, fixed, cand, T, notes, "were excluded")
    act = (w > 0) & ~covf & Nc.any(axis=1)
    cov = cover.min_cover(Nc[act], opts)
    if cov.status == "no_solution":
        raise OutOfTimeError(opts.time_limit)
    open_mask = fixed.copy()
    open_mask[cand[cov.chosen]] = True
    obj = float(cov.chosen.size)
    gap = relative_gap(obj, cov.lower, maximise=False)
    status = cov.status
    if status == "time_limit":
        notes.append(f"time limit reached: best cover found, at least {cov.lower:g} sites needed")
    return finish("set_cover", Outcome(status, obj, gap), open_mask=open_mask, fixed=fixed,
                  sizes=cov.sizes, notes=notes, uncoverable=uncov)

