"""What the readers get from a scenario: resolved files and where each spec came from.

The scenario stage resolves every path a scenario names (``catalog:<key>``,
paths relative to the YAML file, ``network`` in an ``osm:`` field; see
:class:`allocator.scenario.loader.LoadedScenario`); the readers of
:mod:`allocator.inputs` and :mod:`allocator.traveltime` take the section's
spec, these resolved paths and an :class:`Origin` for their error messages,
never the scenario itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: the word an ``osm:`` field uses for "the network's own OpenStreetMap file"
NETWORK = "network"
#: the names an OpenStreetMap file may end with
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2")


@dataclass(frozen=True)
class Origin:
    """Where a spec came from, for error messages: its field and the scenario file holding it.

    ``scenario`` is ``None`` for a spec built in Python rather than read from a file.
    """

    field: str
    scenario: Path | None = None

    def at(self, name: str) -> Origin:
        """The origin of the sub-field ``name`` (``services[0]`` -> ``services[0].candidates``)."""
        return Origin(f"{self.field}.{name}", self.scenario)


@dataclass(frozen=True)
class LayerFiles:
    """The files one layer spec names, resolved and checked (:func:`allocator.files.checked_file`)."""

    source: Path
    """the layer's data: its ``source`` file, or its ``osm:`` file for OpenStreetMap features"""
    zones: Path | None = None
    """a population raster's zone polygons (``raster.zones``)"""
    buildings: Path | None = None
    """the OpenStreetMap file of a demand layer's buildings (``dasymetric.osm``)"""
