"""The base of every scenario section (:mod:`allocator.scenario.schema`, :mod:`allocator.scenario.sweep`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
