"""The base of every scenario section (:mod:`allocator.scenario.schema`, :mod:`allocator.scenario.sweep`,
:mod:`allocator.scenario.counters`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

#: the largest number (in size) any field takes
MAX_NUMBER = 1e15
#: the longest text any field takes (title, description, labels, paths), characters
MAX_TEXT = 10_000


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, not silently ignored; types are strict.

    ``strict``: ``true`` is not the number 1 and ``"3"`` not 3 (an int is
    still a valid float); ``allow_inf_nan=False``: ``.nan`` and ``.inf`` are
    errors in every number field (a NaN bound is never met, an infinite
    budget is no budget).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _sane_magnitude(cls, value: Any) -> Any:
        """Numbers beyond ±MAX_NUMBER are data errors (a 1e308 budget overflows the solver's arithmetic)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
            raise ValueError(f"numbers here are at most {MAX_NUMBER:g} in size")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _text_length(cls, value: Any) -> Any:
        """Text fields are short: a 30 MB title would be copied into every output."""
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValueError(f"text here is at most {MAX_TEXT:,} characters (got {len(value):,})")
        return value
