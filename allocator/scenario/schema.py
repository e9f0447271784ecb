"""The scenario schema: every section of the YAML file as a pydantic model.

A scenario names its demand layers, where travel times come from (a road
network, or a precomputed travel-time matrix) and one or more services
(clinics, schools, service counters, ...), each with existing facilities,
candidate sites and an objective.  Relative paths resolve against the YAML
file's folder; ``catalog:<key>`` names a data set of ``data/catalog.yaml``.

Every problem is reported as an :class:`~allocator.errors.AllocatorError`
naming the file, the line, the field and what is allowed; unknown keys get the
closest valid key as a suggestion.  The README has the full field reference.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from allocator.scenario.base import Strict
from allocator.scenario.counters import CountersSpec
from allocator.scenario.money import check_currency
from allocator.scenario.objective_names import CHOOSE_COUNT, PLAN_MODEL, TAKE_MAX_TIME, Objective
from allocator.scenario.phases import PHASED_OBJECTIVES, PhaseSpec, phase_problem
from allocator.scenario.robustness import RobustnessSpec
from allocator.scenario.sweep import SweepSpec

#: a number for every site, or the name of a numeric column of the layer
PerSite = Annotated[float, Field(ge=0)] | str
Mode = Literal["walk", "bike", "drive"]
#: a network's modes: a road mode, or public transport with walking (GTFS feeds on the walk network)
NetworkMode = Literal["walk", "bike", "drive", "transit"]
#: the keys of a network section that only public transport reads
TRANSIT_KEYS = ("gtfs", "departure", "window_min", "percentile", "max_transfers", "max_walk_min")
#: sources read as population rasters
RASTER_SUFFIXES = (".tif", ".tiff")
#: an OSM tag value; YAML reads a bare yes/no as a boolean, which here means the tag value "yes"/"no"
OsmValue = Annotated[str, Field(min_length=1),
                     BeforeValidator(lambda v: {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else v)]
#: an OpenStreetMap tag query: {key: [values]}, e.g. {amenity: [clinic, doctors]}
OsmTags = Annotated[dict[Annotated[str, Field(min_length=1)], Annotated[list[OsmValue], Field(min_length=1)]],
                    Field(min_length=1)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
#: a short plan label's longest length (``label:``; the comparison's columns and chart)
LABEL_MAX = 24
#: most solver threads a scenario or --threads may ask for (HiGHS allocates per thread: 100000 ends in bad_alloc)
MAX_THREADS = 256


class LayerSpec(Strict):
    """A table or vector file of locations (demand, existing facilities or candidate sites).

    Locations come from an H3 column (cell polygons are rebuilt from the id),
    from lon/lat columns (WGS84), or from the file's own geometry (vector files;
    polygons are located at a point inside them).
    """

    source: str | None = Field(default=None, description="file path (relative to the scenario) or catalog:<key> (or give 'osm')")
    layer: str | None = Field(default=None, description="layer name inside a GeoPackage")
    id: str | None = Field(default=None, description="column of unique ids (default: row number)")
    h3: str | None = Field(default=None, description="column of H3 cell ids")
    lon: str | None = Field(default=None, description="longitude column (WGS84), with lat")
    lat: str | None = Field(default=None, description="latitude column (WGS84), with lon")
    name_column: str | None = Field(default=None, description="column of display names")
    attribution: str | None = Field(default=None, description="credit line for this file, shown in the report and summary")
    osm: str | None = Field(default=None, description="sites from OpenStreetMap: an .osm.pbf/.osm file, catalog:<key>, "
                            "or 'network' for the scenario's network file (with 'tags')")
    tags: OsmTags | None = Field(default=None, description="with osm: {key: [values]}; a feature matches any listed pair")

    @model_validator(mode="after")
    def _one_source(self) -> LayerSpec:
        if self.source is None and self.osm is None:
            raise ValueError("required field is missing: add 'source' (a file), or 'osm' with 'tags' "
                             "(features from OpenStreetMap)")
        if self.source is not None and self.osm is not None:
            raise ValueError("give 'source' (a file) or 'osm' with 'tags' (features from OpenStreetMap), not both")
        if (self.osm is None) != (self.tags is None):
            raise ValueError("'osm' and 'tags' go together, e.g. osm: network, tags: {amenity: [clinic]}")
        what = "OSM features" if self.osm is not None else "a GeoTIFF" if self.is_raster else None
        table_keys = [k for k in ("layer", "id", "h3", "lon", "lat", "name_column") if getattr(self, k) is not None]
        if what and table_keys:
            raise ValueError(f"with {what} the ids, names and locations come from the data: remove "
                             f"{', '.join(table_keys)}")
        columns = [k for k in ("count", "saving", "capacity", "upgrade_capacity", "upgrade_cost", "cost", "running_cost")
                   if isinstance(getattr(self, k, None), str)]
        if what and columns:
            raise ValueError(f"with {what} there are no columns: give {', '.join(columns)} as numbers "
                             "(one for every site)")
        return self

    @property
    def is_raster(self) -> bool:
        """True for a GeoTIFF source (people per pixel, or a candidate site per populated pixel)."""
        return str(self.source).lower().endswith(RASTER_SUFFIXES)

    @model_validator(mode="after")
    def _lon_lat_together(self) -> LayerSpec:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both 'lon' and 'lat' columns, or neither")
        if self.h3 is not None and self.lon is not None:
            raise ValueError("give either an 'h3' column or 'lon'/'lat' columns, not both")
        return self


class RasterSpec(Strict):
    """How a population GeoTIFF becomes demand locations (:mod:`allocator.inputs.raster`).

    A pixel belongs whole to the H3 cell or zone holding its centre, so every
    zonal sum plus the population outside every zone is the raster's total.
    """

    band: Annotated[int, Field(ge=1)] = Field(default=1, description="band holding people per pixel")
    aggregate: Literal["pixel", "h3", "polygons"] = Field(
        default="pixel", description="one demand point per populated pixel, per H3 cell, or per zone polygon")
    h3_resolution: Annotated[int, Field(ge=0, le=15)] | None = Field(default=None, description="with aggregate: h3")
    zones: str | None = Field(default=None, description="with aggregate: polygons: the zone polygon file or catalog:<key>")
    zones_layer: str | None = Field(default=None, description="layer inside the zones GeoPackage")
    zones_id: str | None = Field(default=None, description="zone id column (default: row number)")
    zones_name: str | None = Field(default=None, description="zone display name column")

    @model_validator(mode="after")
    def _aggregate_options(self) -> RasterSpec:
        if (self.aggregate == "h3") != (self.h3_resolution is not None):
            raise ValueError("aggregate: h3 and h3_resolution go together (e.g. h3_resolution: 9)")
        if (self.aggregate == "polygons") != (self.zones is not None):
            raise ValueError("aggregate: polygons and zones go together (zones: a polygon file)")
        if self.zones is None and (self.zones_layer or self.zones_id or self.zones_name):
            raise ValueError("zones_layer, zones_id and zones_name need zones")
        return self


class DasymetricSpec(Strict):
    """Spread each demand location's people over the OSM buildings inside it, by footprint area."""

    osm: str = Field(description="an .osm.pbf/.osm file, catalog:<key>, or 'network' for the network file")
    buildings: list[OsmValue] = Field(
        min_length=1, description="building=* values that house people, e.g. [residential, house, apartments, yes]")


class DemandLayer(LayerSpec):
    """A population layer: each location's demand is ``population * weight``."""

    name: str = Field(default="demand", pattern=NAME_PATTERN, description="layer name, used by services[].demand_weights")
    population: str | None = Field(default=None, description="column holding the population (>= 0); not for a GeoTIFF")
    weight: Annotated[float, Field(gt=0)] = 1.0
    raster: RasterSpec | None = Field(default=None, description="options for a GeoTIFF source (.tif, .tiff)")
    dasymetric: DasymetricSpec | None = Field(default=None, description="spread the people over residential buildings")

    @model_validator(mode="after")
    def _population_source(self) -> DemandLayer:
        if self.osm is not None:
            raise ValueError("a demand layer needs people: give 'source' (a table, vector file or GeoTIFF)")
        is_raster = self.is_raster
        if is_raster and self.population is not None:
            raise ValueError("a GeoTIFF holds people per pixel: remove 'population' (choose the band in raster.band)")
        if not is_raster and self.raster is not None:
            raise ValueError("'raster' options need a GeoTIFF source (.tif, .tiff)")
        return self


class FacilityLayer(LayerSpec):
    """Existing facilities: each row (or each row with ``count`` > 0) is a site."""

    count: str | None = Field(default=None, description="column with the number of facilities per row; rows with 0 are skipped")
    closable: bool = Field(default=False, description="the plan may close existing sites (each closure saves 'saving')")
    saving: PerSite | None = Field(default=None, description="budget freed by closing a site (number or column)")
    capacity: PerSite | None = Field(default=None, description="people a site can serve (number or column)")
    upgrade_capacity: PerSite | None = Field(default=None, description="extra people after an upgrade (number or column)")
    upgrade_cost: PerSite | None = Field(default=None, description="cost of an upgrade (number or column)")

    @model_validator(mode="after")
    def _not_a_raster(self) -> FacilityLayer:
        if self.is_raster:
            raise ValueError("a GeoTIFF holds people, not facilities: give existing facilities as a table, "
                             "a vector file or osm + tags")
        return self

    @model_validator(mode="after")
    def _rules_consistent(self) -> FacilityLayer:
        if self.saving is not None and not self.closable:
            raise ValueError("'saving' needs 'closable: true'")
        if (self.upgrade_capacity is None) != (self.upgrade_cost is None):
            raise ValueError("give both 'upgrade_capacity' and 'upgrade_cost', or neither")
        if self.upgrade_capacity is not None and self.capacity is None:
            raise ValueError("upgrades raise a capacity: give 'capacity' too")
        return self


class CandidateLayer(LayerSpec):
    """Candidate sites for new facilities."""

    exclude_existing: bool = Field(default=True, description="drop candidates at the location of an existing facility")
    cost: PerSite | None = Field(default=None, description="cost of opening a site, for budgets (number or column; default 1), "
                                 "in the scenario's currency")
    capacity: PerSite | None = Field(default=None, description="people a new site can serve (number or column)")
    running_cost: PerSite | None = Field(default=None, description="yearly cost of running a new site (number or column; "
                                         "default 0), in the scenario's currency; reported, not used by the model")


def _local_time(value: Any) -> Any:
    """A date and time written as text (2019-05-13T14:00; YAML reads one without seconds as text)."""
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time: write it as 2019-05-13T14:00") from None
    return value


class NetworkSpec(Strict):
    """The road network and how people travel on it."""

    source: str | dict[str, Any] = Field(
        description="a .osm.pbf/.osm/.osm.bz2/.graphml file, catalog:<key>, "
        "or an online osmnx query {place: ...} | {bbox: [w, s, e, n]} | {point: [lat, lon], dist: m}"
    )
    mode: NetworkMode = "walk"
    max_snap_m: Annotated[float, Field(gt=0)] = 500.0
    gtfs: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = Field(
        default=None, description="with mode: transit: GTFS feeds (.zip or folder; paths or catalog:<key>)")
    departure: Annotated[datetime.datetime, BeforeValidator(_local_time)] | None = Field(
        default=None, description="with mode: transit: first departure of the window, e.g. 2019-05-13T14:00 "
        "(local time of the feeds)")
    window_min: Annotated[int, Field(ge=1, le=240)] | None = Field(
        default=None, description="with mode: transit: departures every minute for this many minutes (default 60)")
    percentile: Annotated[int, Field(ge=1, le=99)] | None = Field(
        default=None, description="with mode: transit: the percentile of the window's times used (default 50)")
    max_transfers: Annotated[int, Field(ge=0, le=8)] | None = Field(
        default=None, description="with mode: transit: most changes of vehicle (default 3)")
    max_walk_min: Annotated[float, Field(gt=0, le=60)] | None = Field(
        default=None, description="with mode: transit: longest walk to the first stop and from the last (default 20)")

    @model_validator(mode="after")
    def _transit_keys(self) -> NetworkSpec:
        given = [key for key in TRANSIT_KEYS if getattr(self, key) is not None]
        if self.mode != "transit" and given:
            raise ValueError(f"{', '.join(given)} apply only with mode: transit (this network's mode is {self.mode})")
        if self.mode == "transit":
            missing = [key for key in ("gtfs", "departure") if getattr(self, key) is None]
            if missing:
                raise ValueError(f"mode: transit needs {' and '.join(missing)}, e.g. gtfs: [catalog:porto_alegre/"
                                 "poa_eptc.zip], departure: 2019-05-13T14:00")
            if isinstance(self.source, dict):
                raise ValueError("mode: transit walks on an OpenStreetMap file: give source as a file or "
                                 "catalog:<key>, not an online query")
            if self.departure is not None and self.departure.tzinfo is not None:
                raise ValueError("departure is the feeds' local time: drop the time zone (e.g. 2019-05-13T14:00)")
        return self

    @field_validator("source")
    @classmethod
    def _online_query(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        if isinstance(value, dict):
            keys = set(value)
            if keys not in ({"place"}, {"bbox"}, {"point", "dist"}):
                raise ValueError("an online source is {place: NAME}, {bbox: [west, south, east, north]} or {point: [lat, lon], dist: METRES}")
        return value


class MatrixSpec(Strict):
    """Precomputed travel times (r5py, OSRM, a survey, ...) instead of a road network.

    A long CSV, one row per (demand id, site id) pair: origins are the demand
    layers' ``id`` values, destinations the ``id`` values of existing
    facilities and candidates, both compared as text; a missing pair is
    unreachable.  :mod:`allocator.traveltime.table` reads it.
    """

    source: str = Field(description="CSV file (relative to the scenario) or catalog:<key>")
    origin: str = Field(default="origin", description="column of demand location ids")
    destination: str = Field(default="destination", description="column of site ids")
    minutes: str = Field(default="minutes", description="column of travel minutes (empty or inf: unreachable)")


class DistrictSpec(Strict):
    """How demand locations are grouped into districts for equity reporting (one form only).

    - ``{source: FILE, id: COL, name_column: COL}``: polygons; each demand point
      takes the polygon it falls in (points outside every polygon: key "outside", named "outside every district": no district, so no
      district floor or per-district target applies to them);
    - ``{h3_parent: 6}``: the demand point's resolution-9 H3 cell (from its
      lon/lat, h3.latlng_to_cell) grouped by its parent at that resolution;
    - ``{column: COL}``: a column of the demand layer's own file, matched by id.
    """

    source: str | None = Field(default=None, description="polygon layer (GeoPackage, GeoJSON, Shapefile, FlatGeobuf)")
    layer: str | None = None
    id: str | None = Field(default=None, description="polygon id column (default: row number)")
    name_column: str | None = None
    h3_parent: Annotated[int, Field(ge=0, le=9)] | None = None
    column: str | None = Field(default=None, description="district column of the demand layer file")
    osm: str | None = Field(default=None, description="administrative boundaries from an OSM file, catalog:<key> or 'network'")
    admin_level: Annotated[int, Field(ge=1, le=12)] | None = Field(default=None, description="with osm: e.g. 8 (municipalities)")

    @model_validator(mode="after")
    def _one_form(self) -> DistrictSpec:
        forms = [self.source is not None, self.h3_parent is not None, self.column is not None, self.osm is not None]
        if sum(forms) != 1:
            raise ValueError("districts is one of {source: FILE, id: COL}, {h3_parent: RES}, {column: COL} "
                             "or {osm: FILE, admin_level: 8}")
        if (self.osm is None) != (self.admin_level is None):
            raise ValueError("osm and admin_level go together, e.g. {osm: network, admin_level: 8}")
        return self


TargetMetric = Literal["within_share", "underserved_share", "mean_min", "median_min", "p90_min", "max_min", "ede_min",
                       "gini", "theil", "theil_between", "theil_within", "p90_median_ratio",
                       "worst_decile_ratio", "access_e2sfca_mean", "access_2sfca_mean",
                       "access_e2sfca_gini", "access_2sfca_gini",
                       # with a counters section (allocator.evaluate.waits.WAIT_METRICS)
                       "wait_mean_min", "wait_within_share", "wait_worst_office_min", "travel_wait_mean_min"]


WAIT_PREFIX = ("wait_", "travel_wait_")   # the wait metrics need a counters section


class TargetSpec(Strict):
    """A policy target checked after the change, e.g. {metric: within_share, min: 0.95}."""

    metric: TargetMetric
    min: float | None = None
    max: float | None = None
    per_district: bool = Field(default=False, description="every district must meet it (needs 'districts')")
    label: str | None = Field(default=None, max_length=200)
    count_unreachable: bool = Field(
        default=True, description="max_min: people who cannot reach a site (beyond the snapping limit, no path) "
                                  "make the target missed; false judges the longest trip of those who reach one")

    @model_validator(mode="after")
    def _bound(self) -> TargetSpec:
        if (self.min is None) == (self.max is None):
            raise ValueError("a target needs exactly one of 'min' or 'max'")
        if self.per_district and self.metric.startswith(WAIT_PREFIX):
            raise ValueError(f"{self.metric} is measured per office, not per district: remove per_district")
        return self


class Service(Strict):
    """One service type (clinics, schools, ...) and the question asked about it."""

    name: str = Field(pattern=NAME_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=120,
                              description="the service's name on the pages (default: its name)")
    alternative_to: str | None = Field(
        default=None, pattern=NAME_PATTERN,
        description="the name of another service this one is an alternative plan for: the report gives each its "
                    "own section and the map shows one of them at a time")
    kind: str = Field(default="facility", description="clinic, school, service_counter, or any label")
    objective: Objective
    threshold_min: Annotated[float, Field(gt=0, le=600)]
    p: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="new sites to open (not for set_cover); with plan rules: at most p")
    budget: float | None = Field(default=None, description="most this service may spend: opening costs + upgrades - savings")
    relocate: bool = Field(default=False, description="closing an existing site frees one of the p new sites")
    max_time_min: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="p_median, kolm_pollak: everyone who can be within this many minutes must be")
    district_floor: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="every district at least this share of its people within threshold_min")
    priority: Annotated[float, Field(gt=0)] = Field(default=1.0, description="weight of this service in a shared-budget plan")
    epsilon: Annotated[float, Field(lt=0)] | None = Field(
        default=None, description="Kolm-Pollak inequality aversion for travel time (negative; default -1, "
                                  "Horton et al.): the EDE's and the kolm_pollak objective's")
    demand_weights: dict[str, Annotated[float, Field(ge=0)]] | None = Field(
        default=None, description="weight per demand layer name for this service (default: every layer, weight 1)"
    )
    existing: FacilityLayer | None = None
    candidates: CandidateLayer
    targets: list[TargetSpec] = Field(default_factory=list, description="targets for this service only")
    counters: CountersSpec | None = Field(default=None, description="service counters: visits, service time, staffing "
                                          "(allocator.scenario.counters, docs/counters.md)")
    phases: list[PhaseSpec] | None = Field(
        default=None, description="a plan built in phases, each keeping what the last opened "
                                  "(allocator.scenario.phases; replaces p and budget)")
    carry_over: bool = Field(default=False, description="with phases: budget and new sites a phase leaves unused "
                                                         "pass to the next (default: lost)")

    @field_validator("phases")
    @classmethod
    def _phases_ordered(cls, phases: list[PhaseSpec] | None) -> list[PhaseSpec] | None:
        if phases is not None and (problem := phase_problem(phases)):
            raise ValueError(problem)
        return phases

    @model_validator(mode="after")
    def _phases_fit(self, info: ValidationInfo) -> Service:
        if self.phases is None:
            if self.carry_over:
                raise ValueError("carry_over applies to phases: add 'phases' or remove carry_over")
            return self
        ex = self.existing
        conflicts = [name for name, on in (
            ("p", self.p is not None), ("budget", self.budget is not None), ("relocate", self.relocate),
            ("existing.closable", ex is not None and ex.closable),
            ("existing.capacity", ex is not None and ex.capacity is not None),
            ("candidates.capacity", self.candidates.capacity is not None),
            ("counters", self.counters is not None),
            ("shared_budget", bool((info.context or {}).get("shared_budget")))) if on]
        if conflicts:
            raise ValueError(f"phases replace p and budget and take new sites only: remove {', '.join(conflicts)}")
        if self.objective not in PHASED_OBJECTIVES:
            raise ValueError(f"phases work with {', '.join(PHASED_OBJECTIVES)}, not {self.objective}")
        return self

    @model_validator(mode="after")
    def _p_matches_objective(self, info: ValidationInfo) -> Service:
        shared = bool((info.context or {}).get("shared_budget"))   # set by load_scenario
        if self.objective in CHOOSE_COUNT:
            if self.p is not None:
                raise ValueError(f"{self.objective} finds the cheapest set of sites itself: remove 'p'")
        elif self.p is None and self.budget is None and self.phases is None and not shared:
            raise ValueError(f"objective {self.objective} needs 'p' (the number of new sites), a 'budget' "
                             "or a top-level 'shared_budget'")
        if self.objective not in PLAN_MODEL and self.uses_plan_rules:
            raise ValueError(f"{self.objective} takes only 'p' and kept existing sites; budgets, closures, "
                             "capacities, max_time_min and district_floor work with "
                             + ", ".join(PLAN_MODEL))
        if self.relocate and not (self.existing and self.existing.closable and self.p is not None):
            raise ValueError("relocate needs 'p' and existing.closable: true")
        if self.max_time_min is not None and self.objective not in TAKE_MAX_TIME:
            raise ValueError(f"max_time_min applies to {' and '.join(TAKE_MAX_TIME)} "
                             "(coverage models already use threshold_min)")
        if self.counters is not None:
            self.counters.check_service(self, bool((info.context or {}).get("shared_budget")))
        elif any(t.metric.startswith(WAIT_PREFIX) for t in self.targets):
            raise ValueError("wait targets need a 'counters' section (visits, service time, counters)")
        return self

    @property
    def display_title(self) -> str:
        """The service's name on the pages: its ``title``, else its ``name``."""
        return self.title or self.name

    @property
    def uses_plan_rules(self) -> bool:
        """True when the plan model (allocator.solve.plan.model) is needed rather than the fast classic models.

        Opening costs alone are not a rule: without a budget they only price the plan (allocator.evaluate.costs).
        """
        ex, cand = self.existing, self.candidates
        return (self.budget is not None or self.phases is not None or self.max_time_min is not None
                or self.district_floor is not None or cand.capacity is not None
                or (ex is not None and (ex.closable or ex.capacity is not None)))


class SolverSpec(Strict):
    """Solver control (HiGHS through PuLP).

    ``round_s`` trades exactness for speed like ``gap_rel``: the models solve
    on travel times rounded to that many seconds (:mod:`allocator.traveltime.rounding`),
    and the chosen plan is measured on the exact times.
    """

    time_limit_s: Annotated[float, Field(gt=0)] | None = None
    gap_rel: Annotated[float, Field(ge=0, lt=1)] | None = None
    threads: Annotated[int, Field(ge=1, le=MAX_THREADS)] | None = None
    round_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        default=0.0, description="round travel times half up to multiples of this many seconds before solving (0: exact)")


class OutputSpec(Strict):
    """Where results go: ``<dir>/<scenario name>/``.

    Without ``dir`` that is ``maps/`` under the current folder (the project's
    ``maps/`` when run from the project); a given ``dir`` resolves against the
    scenario file like every other path.
    """

    dir: str | None = None
    tiles: bool = Field(default=True, description="show a background tile layer in the map (needs internet to display)")


class Scenario(Strict):
    """A whole scenario file."""

    name: str = Field(pattern=NAME_PATTERN, description="also the output folder name")
    title: str | None = Field(default=None, max_length=200)
    label: str | None = Field(default=None, min_length=1, max_length=LABEL_MAX, pattern=r"^[^\x00-\x1f\x7f]+$",
                              description="short plan label for --compare's tables, sentences and chart (at most 24 "
                                          "characters; default: the name, its _ and - as spaces)")
    description: str = Field(default="", max_length=5000)
    network: NetworkSpec | None = Field(default=None, description="road network (or give 'matrix')")
    matrix: MatrixSpec | None = Field(default=None, description="precomputed travel times (or give 'network')")
    demand: list[DemandLayer] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    solver: SolverSpec = SolverSpec()
    output: OutputSpec = OutputSpec()
    districts: DistrictSpec | None = Field(default=None, description="groups of demand locations for equity reporting")
    targets: list[TargetSpec] = Field(default_factory=list, description="targets for every service")
    language: Literal["en", "zh"] = Field(default="en", description="language of report.html (en | zh)")
    shared_budget: float | None = Field(
        default=None, description="one budget for all services, solved together in one model (same objective)")
    sweep: SweepSpec | None = Field(default=None, description="solve one service for many values of one parameter")
    currency: str | None = Field(default=None, description="ISO 4217 code (BRL, EUR, ...) of every cost and budget "
                                 "(default: plain units)")
    cost_note: str | None = Field(default=None, max_length=1000, description="where the costs come from, or that "
                                  "they are assumptions (shown with the spending in the report)")
    robustness: RobustnessSpec | None = Field(default=None, description="re-solve under stated changes of speed, "
                                              "threshold and population; the best plan without each chosen site")

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)

    @model_validator(mode="after")
    def _robustness_fits(self) -> Scenario:
        r = self.robustness
        if r is None:
            return self
        if self.sweep is not None or self.shared_budget is not None:
            raise ValueError(_at(("robustness",), "robustness re-solves one service on its own: remove 'sweep' or "
                                 "'shared_budget', or run the robustness check in a scenario without them"))
        try:
            service = self.services[r.service_index([s.name for s in self.services])]
        except ValueError as exc:
            raise ValueError(_at(("robustness", "service"), str(exc))) from None
        if r.threshold_min is not None and r.threshold_min >= service.threshold_min:
            raise ValueError(_at(("robustness", "threshold_min"), f"threshold_min {service.threshold_min:g} minus "
                                 f"{r.threshold_min:g} leaves no time: give fewer minutes than the threshold"))
        if self.districts is None and any(c.districts is not None for c in r.population):
            raise ValueError(_at(("robustness", "population"), "population factors by district need a top-level "
                                 "'districts' section (e.g. districts: {h3_parent: 6}), or give a factor file"))
        return self

    @model_validator(mode="after")
    def _one_travel_time_source(self) -> Scenario:
        if (self.network is None) == (self.matrix is None):
            raise ValueError("give exactly one of 'network' (a road network to compute travel times on) "
                             "or 'matrix' (a CSV of precomputed travel times)")
        return self

    @model_validator(mode="after")
    def _per_district_needs_districts(self) -> Scenario:
        targets = [*self.targets, *(t for s in self.services for t in s.targets)]
        if self.districts is None and any(t.per_district for t in targets):
            raise ValueError("a per_district target needs 'districts' (e.g. districts: {h3_parent: 6})")
        floors = [i for i, s in enumerate(self.services) if s.district_floor is not None]
        if self.districts is None and floors:
            raise ValueError(_at(("services", floors[0], "district_floor"),
                                 "district_floor needs a top-level 'districts' section to group the demand "
                                 "(e.g. districts: {h3_parent: 6})"))
        return self

    @model_validator(mode="after")
    def _shared_budget_services(self) -> Scenario:
        if self.shared_budget is not None:
            models = {PLAN_MODEL.get(s.objective) for s in self.services}
            if None in models or len(models) > 1:
                got = ", ".join(f"{s.name}: {s.objective}" for s in self.services)
                raise ValueError(_at(("shared_budget",), "services sharing a budget are solved in one model and need one "
                                 f"objective among {plan_families()}; got {got}"))
        return self

    @model_validator(mode="after")
    def _demand_has_population(self) -> Scenario:
        for i, layer in enumerate(self.demand):
            if layer.population is None and not layer.is_raster:
                raise ValueError(_at(("demand", i, "population"), "required field is missing: add 'population' (the "
                                     "population column), or give a GeoTIFF source (.tif) of people per pixel"))
        if self.districts is not None and self.districts.column is not None and self.demand[0].is_raster:
            raise ValueError(_at(("districts", "column"), "a GeoTIFF has no columns: group its pixels with "
                                 "districts: {h3_parent: RES}, {source: FILE} or {osm: FILE, admin_level: 8}"))
        return self

    @model_validator(mode="after")
    def _sweep_fits(self, info: ValidationInfo) -> Scenario:
        if self.sweep is not None and (problem := self.sweep.problem(self.services, info.context)):
            raise ValueError(_at(("sweep",), problem))
        return self

    @model_validator(mode="after")
    def _names_consistent(self) -> Scenario:
        layer_names = [layer.name for layer in self.demand]
        if len(set(layer_names)) != len(layer_names):
            raise ValueError(f"demand layer names must be unique, got {layer_names}")
        service_names = [s.name for s in self.services]
        if len(set(service_names)) != len(service_names):
            raise ValueError(f"service names must be unique, got {service_names}")
        for i, service in enumerate(self.services):
            if (problem := _alternative_problem(service, self.services, self.shared_budget)) is not None:
                raise ValueError(_at(("services", i, "alternative_to"), problem))
            unknown = set(service.demand_weights or {}) - set(layer_names)
            if unknown:
                raise ValueError(
                    f"services[{i}].demand_weights names unknown layers {sorted(unknown)}; layers are {layer_names}"
                )
        return self


def _alternative_problem(service: Service, services: list[Service], shared_budget: float | None) -> str | None:
    """What is wrong with a service's ``alternative_to`` (None: nothing). It names another service that is not
    itself an alternative (one first plan per group), and no shared budget solves the services together."""
    if service.alternative_to is None:
        return None
    names = {s.name: s for s in services}
    first = names.get(service.alternative_to)
    if first is None or first is service:
        others = [n for n in names if n != service.name]
        return (f"alternative_to names no other service: {service.alternative_to!r}; the services are "
                + (", ".join(others) or "none other"))
    if first.alternative_to is not None:
        return (f"{first.name} is itself an alternative to {first.alternative_to}: name the first plan "
                f"({first.alternative_to}) instead")
    if shared_budget is not None:
        return "services sharing one budget are solved together, not as alternatives: remove alternative_to"
    return None


def alternatives(services: list[Service]) -> dict[str, list[str]]:
    """The groups of alternative plans: each first plan's name -> the names of its group, first plan first
    (a service without alternatives is in no group)."""
    groups: dict[str, list[str]] = {}
    for s in services:
        if s.alternative_to is not None:
            groups.setdefault(s.alternative_to, [s.alternative_to]).append(s.name)
    return groups


def plan_families() -> str:
    """The plan models in words, each with the objectives it also solves:
    "p_median, max_coverage (= min_underserved) and set_cover"."""
    families: dict[str, list[str]] = {}
    for name, model in PLAN_MODEL.items():
        families.setdefault(model, []).extend([] if name == model else [name])
    words = [model + (f" (= {', '.join(others)})" if others else "") for model, others in families.items()]
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _at(loc: tuple, message: str) -> str:
    """A whole-scenario rule's message that names the field at fault (pydantic puts such errors at the root)."""
    return "@" + ".".join(map(str, loc)) + "@ " + message

