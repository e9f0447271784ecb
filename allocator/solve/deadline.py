"""The end of the solve stage: ``solver.time_limit_s`` counted from the start of the solve, model building included.

One :class:`Deadline` is made where the solve stage starts
(:func:`allocator.solve.run.solve_run`, which the Python API's ``solve`` calls
too) and handed down: every model gets it as its time limit
(:func:`allocator.solve.checks.options`), HiGHS gets what remains of it, and
the long Python loops (bounds, interchange, level generation, model building)
check it between steps.  Past it, a model with a plan in hand stops with that
plan and its bound (status ``time_limit``, its gap in the notes); one without
raises :class:`OutOfTimeError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from allocator.errors import AllocatorError


class OutOfTimeError(AllocatorError):
    """The time limit passed before any plan was found (exit status 2, like every input problem)."""

    def __init__(self, limit_s: float | None) -> None:
        limit = "" if limit_s is None else f" ({limit_s:g} s)"
        super().__init__(f"no plan was found within the time limit{limit}", field="solver.time_limit_s",
                         fix="raise solver.time_limit_s (or leave it out for no limit), or make the problem "
                             "smaller (fewer candidates or demand points, solver.round_s)")


@dataclass(frozen=True)
class Deadline:
    """``limit_s`` seconds after ``start`` (``time.perf_counter``); ``limit_s`` None: no deadline."""

    limit_s: float | None
    start: float = field(default_factory=time.perf_counter)

    def remaining(self) -> float | None:
        """Seconds left (negative once past; None without a limit)."""
        return None if self.limit_s is None else self.limit_s - (time.perf_counter() - self.start)

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def check(self) -> None:
        """Raise :class:`OutOfTimeError` once past the deadline: where the caller has no plan to stop with."""
        if self.expired():
            raise OutOfTimeError(self.limit_s)
