"""What loading a road network read, kept and assumed (:func:`allocator.traveltime.network.load_network`),
and the version of the rules that made it (part of every network cache key, :mod:`allocator.traveltime.cache`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: Bump whenever a rule of :mod:`allocator.traveltime.network` changes: it invalidates cached graphs.
RULES_VERSION = 1


@dataclass(frozen=True)
class NetworkReport:
    """What :func:`load_network` read, kept and assumed, for the run summary."""

    source: str
    mode: str
    ways_read: int
    ways_without_highway: int
    nodes_loaded: int
    edges_loaded: int
    nodes_kept: int
    edges_kept: int
    dropped_node_share: float
    edges_default_speed: int
    from_cache: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-serialisable values."""
        return dataclasses.asdict(self)
