"""The data a run used: each source with its description, licence and credit line.

Only what the run read is listed: catalog entries named by the scenario
(``catalog:<key>``), the user's own files with their optional
``attribution:`` field, and OpenStreetMap whenever the road network was used
(a file or the online query). The report's data section and summary.json's
``attribution`` come from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allocator import ATTRIBUTION
from allocator.scenario import catalog
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.paths import NETWORK


@dataclass(frozen=True)
class DataSource:
    """One input: its role in the scenario, what it is, its licence and credit line ("" when unknown)."""

    role: str
    name: str
    description: str
    licence: str
    attribution: str
    year: str = ""


def _layers(scenario: LoadedScenario) -> list[tuple[str, str, str | None]]:
    """(role, source, attribution field) of every file the scenario reads."""
    spec = scenario.spec
    network = spec.network.source if spec.network is not None and isinstance(spec.network.source, str) else None

    def osm(ref: str) -> str:
        """An ``osm:`` field's file (``network``: the network's own file)."""
        return network if ref == NETWORK and network is not None else ref

    def layer(role: str, spec_) -> tuple[str, str, str | None]:
        if getattr(spec_, "osm", None) is not None and spec_.source is None:   # features read from OpenStreetMap
            return role, osm(spec_.osm), spec_.attribution or ATTRIBUTION
        return role, spec_.source, spec_.attribution

    out = [layer(f"demand: {d.name}", d) for d in spec.demand]
    out += [(f"demand: {d.name} (buildings)", osm(d.dasymetric.osm), ATTRIBUTION)
            for d in spec.demand if getattr(d, "dasymetric", None) is not None]
    for s in spec.services:
        if s.existing is not None:
            out.append(layer(f"{s.name}: existing", s.existing))
        out.append(layer(f"{s.name}: candidates", s.candidates))
    if spec.network is not None:
        out.append(("road network", network or "OpenStreetMap (online)", ATTRIBUTION))
    if spec.matrix is not None:
        out.append(("travel times", spec.matrix.source, None))
    if spec.districts is not None and spec.districts.source is not None:
        out.append(("districts", spec.districts.source, None))
    if spec.districts is not None and getattr(spec.districts, "osm", None) is not None:
        out.append(("districts", osm(spec.districts.osm), ATTRIBUTION))
    return out


def data_sources(scenario: LoadedScenario) -> list[DataSource]:
    """Every distinct input of the run, in scenario order."""
    entries = catalog.load_catalog()
    seen: dict[tuple[str, str], DataSource] = {}
    for role, source, credit in _layers(scenario):
        if catalog.is_catalog_ref(source):
            key = source.split(":", 1)[1]
            entry = entries.get(key)
            item = DataSource(role, key, entry.description if entry else "", entry.licence if entry else "",
                              credit or (entry.attribution if entry else ""), entry.year if entry else "")
        else:
            item = DataSource(role, Path(source).name, "", "", credit or "")
        if (item.name, item.attribution) in seen:
            old = seen[(item.name, item.attribution)]
            seen[(item.name, item.attribution)] = DataSource(f"{old.role}; {role}", old.name, old.description,
                                                             old.licence, old.attribution, old.year)
        else:
            seen[(item.name, item.attribution)] = item
    return list(seen.values())


def attributions(scenario: LoadedScenario) -> list[str]:
    """The credit lines of the data the run used (sorted, each once)."""
    return sorted({d.attribution for d in data_sources(scenario) if d.attribution})
