"""The objective of a chosen plan on the exact travel times (``solver.round_s``).

A service solved on rounded times (:func:`allocator.traveltime.rounding.round_times`)
is proven optimal for those times only; the pipeline measures the same plan on
the exact times (``Objective.value_of`` of the catalogue, :mod:`allocator.solve.objectives`) and
:class:`RoundingEffect` reports both values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoundingEffect:
    """One service solved on rounded times: the objective proven there and the same plan's on the exact times."""

    round_s: float
    objective_rounded: float
    objective_exact: float

    def as_dict(self) -> dict:
        """summary.json's ``rounding`` block of a service."""
        return {"round_s": self.round_s, "objective_rounded": self.objective_rounded,
                "objective_exact": self.objective_exact}

    @property
    def note(self) -> str:
        """The plain statement for the notes (summary.json, console)."""
        return (f"travel times were rounded to multiples of {self.round_s:g} s for the solve (solver.round_s): "
                f"status, gap and optimality hold for the rounded times, objective {self.objective_rounded:,.2f}; "
                f"on the exact times the same plan gives {self.objective_exact:,.2f}, and every indicator "
                f"reported uses the exact times")
