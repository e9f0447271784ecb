"""The travel-time source a scenario section names: its matrix file, else its road (or transit) network."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from allocator.scenario.paths import Origin
from allocator.scenario.schema import MatrixSpec, NetworkSpec
from allocator.traveltime.matrix_source import MatrixSource
from allocator.traveltime.network_source import NetworkSource
from allocator.traveltime.source import TravelTimeSource
from allocator.traveltime.transit_source import TransitSource


def open_source(spec: NetworkSpec | MatrixSpec, source: Path | dict[str, Any], log: Callable[[str], None],
                scenario: Path | None = None, feeds: Sequence[Path] = ()) -> TravelTimeSource:
    """The source of ``spec``: ``source`` is its file resolved (or a network's online query, as it is);
    ``feeds``: a ``mode: transit`` network's GTFS feeds, resolved.

    ``scenario`` is the scenario file, for error messages
    (:attr:`allocator.scenario.loader.LoadedScenario.travel_spec` and
    :meth:`~allocator.scenario.loader.LoadedScenario.travel_source` give the other two).
    """
    if isinstance(spec, MatrixSpec):
        if not isinstance(source, Path):
            raise TypeError(f"a matrix is read from a file, not {source!r}")
        return MatrixSource.open(spec, source, Origin("matrix", scenario), log)
    if spec.mode == "transit":
        if not isinstance(source, Path):
            raise TypeError(f"public transport walks on a network file, not {source!r}")
        return TransitSource.open(spec, source, feeds, Origin("network", scenario), log)
    return NetworkSource.open(spec, source, Origin("network", scenario), log)
