"""What the later stages need to know about a run's scenario, as one small frozen record.

:class:`RunInfo` is built once, when a scenario is prepared
(:func:`run_info`), and travels with the problem and the result, so the
evaluate and write stages never see the loaded scenario: its name and words,
where its file and outputs are, the shared budget, the targets, the district
grouping, how travel times were obtained, and the data it read (each source
with its description, licence and credit line, :class:`DataSource`; the
files for the manifest, :class:`InputFile`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.scenario import catalog
from allocator.scenario.loader import LoadedScenario
from allocator.scenario.paths import NETWORK
from allocator.scenario.robustness import RobustnessSpec
from allocator.scenario.schema import LABEL_MAX, DistrictSpec, LayerSpec, TargetSpec
from allocator.scenario.sweep import SweepSpec
from allocator.traveltime.network import BIKE_SPEED_KPH, WALK_SPEED_KPH

#: the credit line OpenStreetMap data needs wherever it is shown
ATTRIBUTION = "© OpenStreetMap contributors"
#: the assumed speed of each network mode with a fixed speed (km/h; driving uses the roads' own speeds)
MODE_SPEEDS_KPH = {"walk": WALK_SPEED_KPH, "bike": BIKE_SPEED_KPH}


def mode_speed(mode: str | None) -> float:
    """The report's speed of a network ``mode`` (km/h): public transport's is the walking speed to and from stops;
    0 for driving (the roads' own speeds) or no network."""
    if mode == "transit":
        mode = "walk"
    return MODE_SPEEDS_KPH.get(mode, 0) if mode is not None else 0

#: district key and display name of each demand location (allocator.inputs.districts.assign_districts;
#: its run notes in the keys' ``attrs["notes"]``)
DistrictAssigner = Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]]


@dataclass(frozen=True)
class DataSource:
    """One input: its role in the scenario, what it is, its licence and credit line ("" when unknown)."""

    role: str
    name: str
    description: str
    licence: str
    attribution: str
    year: str = ""


@dataclass(frozen=True)
class InputFile:
    """A local file the run read: its role (``demand[0]``, ``network``, ...), the scenario's reference and its path."""

    role: str
    source: str
    path: Path


@dataclass(frozen=True)
class RunInfo:
    """A run's scenario as the solve, evaluate and write stages see it (built by :func:`run_info`)."""

    name: str
    title: str                       # the scenario's title, else its name
    description: str
    language: str
    path: Path                       # the scenario file (named in messages)
    output_dir: Path                 # <output.dir>/<name>, resolved
    tiles: bool                      # output.tiles: a basemap under the maps
    shared_budget: float | None
    targets: tuple[TargetSpec, ...]  # the targets of every service
    districts: DistrictSpec | None
    travel_times: str                # "network" or "matrix": where the travel times come from
    mode: str | None                 # the network's mode (None: a matrix file)
    speed_kph: float                 # its assumed speed (0: the roads' own speeds, or a matrix)
    max_snap_m: float | None         # the network's snapping limit (None: a matrix file)
    matrix_file: str | None          # the matrix file's name (None: a network)
    demand_layers: tuple[str, ...]   # the demand layers' names, in scenario order
    sources: tuple[DataSource, ...]  # every distinct input, in scenario order
    inputs: tuple[InputFile, ...]    # every local file read (manifest.json)
    resolved: dict[str, Any] = field(repr=False)   # the scenario with its defaults (manifest.json)
    sweep: SweepSpec | None = None
    currency: str | None = None      # ISO 4217 code of every cost (None: plain units)
    robustness: RobustnessSpec | None = None
    assign_districts: DistrictAssigner | None = field(default=None, repr=False, compare=False)
    label: str = ""                  # the short plan label of a comparison (:func:`plan_label`)

    @property
    def attributions(self) -> list[str]:
        """The credit lines of the data the run used (sorted, each once)."""
        return sorted({d.attribution for d in self.sources if d.attribution})


def run_info(scenario: LoadedScenario, assign_districts: DistrictAssigner | None = None) -> RunInfo:
    """The :class:`RunInfo` of a loaded scenario (``assign_districts``: its district grouping, when it has one)."""
    spec = scenario.spec
    network = spec.network
    return RunInfo(
        name=spec.name, title=spec.title or spec.name, description=spec.description, language=spec.language,
        path=scenario.path, output_dir=scenario.output_dir, tiles=spec.output.tiles,
        shared_budget=spec.shared_budget, targets=tuple(spec.targets), districts=spec.districts,
        travel_times="network" if spec.matrix is None else "matrix",
        mode=network.mode if network is not None else None,
        speed_kph=mode_speed(network.mode if network is not None else None),
        max_snap_m=network.max_snap_m if network is not None else None,
        matrix_file=Path(spec.matrix.source).name if spec.matrix is not None else None,
        demand_layers=tuple(d.name for d in spec.demand), sources=tuple(data_sources(scenario)),
        inputs=tuple(input_files(scenario)), resolved=spec.model_dump(mode="json"), sweep=spec.sweep,
        currency=spec.currency, robustness=spec.robustness, assign_districts=assign_districts,
        label=spec.label or plan_label(spec.name))


def plan_label(name: str) -> str:
    """A scenario's short plan label when it gives none: its name with ``_`` and ``-`` as spaces, cut to
    :data:`LABEL_MAX` characters at a word ("poa clinics kolm…")."""
    words = name.replace("_", " ").replace("-", " ").strip()
    if len(words) <= LABEL_MAX:
        return words
    cut = words[:LABEL_MAX - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _layers(scenario: LoadedScenario) -> list[tuple[str, str, str | None]]:
    """(role, source, attribution field) of every file the scenario reads."""
    spec = scenario.spec
    network = spec.network.source if spec.network is not None and isinstance(spec.network.source, str) else None

    def osm(ref: str) -> str:
        """An ``osm:`` field's file (``network``: the network's own file)."""
        return network if ref == NETWORK and network is not None else ref

    def layer(role: str, spec_: LayerSpec) -> tuple[str, str, str | None]:
        if getattr(spec_, "osm", None) is not None and spec_.source is None:   # features read from OpenStreetMap
            return role, osm(str(getattr(spec_, "osm", ""))), spec_.attribution or ATTRIBUTION
        return role, str(spec_.source), spec_.attribution

    out = [layer(f"demand: {d.name}", d) for d in spec.demand]
    out += [(f"demand: {d.name} (buildings)", osm(d.dasymetric.osm), ATTRIBUTION)
            for d in spec.demand if getattr(d, "dasymetric", None) is not None and d.dasymetric is not None]
    for s in spec.services:
        if s.existing is not None:
            out.append(layer(f"{s.name}: existing", s.existing))
        out.append(layer(f"{s.name}: candidates", s.candidates))
    if spec.network is not None:
        out.append(("road network", network or "OpenStreetMap (online)", ATTRIBUTION))
        out += [("public transport timetable (GTFS)", feed, None) for feed in spec.network.gtfs or []]
    if spec.matrix is not None:
        out.append(("travel times", spec.matrix.source, None))
    if spec.districts is not None and spec.districts.source is not None:
        out.append(("districts", spec.districts.source, None))
    if spec.districts is not None and getattr(spec.districts, "osm", None) is not None:
        out.append(("districts", osm(str(spec.districts.osm)), ATTRIBUTION))
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


def input_files(scenario: LoadedScenario) -> list[InputFile]:
    """Every local file the run read, with its role (``demand[0]``, ``network``, ...), in scenario order."""
    spec = scenario.spec
    refs: list[tuple[str, str | Path | None]] = [("scenario", scenario.path)]
    refs += [(f"demand[{i}]", layer.source) for i, layer in enumerate(spec.demand)]
    for i, service in enumerate(spec.services):
        if service.existing is not None:
            refs.append((f"services[{i}].existing", service.existing.source or service.existing.osm))
        refs.append((f"services[{i}].candidates", service.candidates.source or service.candidates.osm))
    refs += [(f"demand[{i}].raster.zones", layer.raster.zones) for i, layer in enumerate(spec.demand)
             if layer.raster is not None and layer.raster.zones is not None]
    refs += [(f"demand[{i}].dasymetric", layer.dasymetric.osm) for i, layer in enumerate(spec.demand)
             if layer.dasymetric is not None]
    if spec.districts is not None and spec.districts.osm is not None:
        refs.append(("districts", spec.districts.osm))
    refs = [(role, ref) for role, ref in refs if ref is not None and ref != NETWORK]   # 'network': listed below
    if spec.network is not None and isinstance(spec.network.source, str):
        refs.append(("network", spec.network.source))
        refs += [(f"network.gtfs[{i}]", feed) for i, feed in enumerate(spec.network.gtfs or [])]
    if spec.matrix is not None:
        refs.append(("matrix", spec.matrix.source))
    out = []
    for role, ref in refs:
        assert ref is not None
        path = ref if isinstance(ref, Path) else (
            catalog.resolve(ref) if catalog.is_catalog_ref(ref) else scenario.local_path(ref, role))
        out.append(InputFile(role, str(ref), path.resolve()))
    return out
