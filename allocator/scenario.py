"""The scenario file: a YAML document validated by a pydantic schema.

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

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from . import catalog
from .errors import AllocatorError

Objective = Literal["p_median", "max_coverage", "min_underserved", "set_cover", "p_center", "weighted_p_center"]
#: objectives that take the plan rules (budget, closures, capacities, max_time, floors)
PLAN_OBJECTIVES = ("p_median", "max_coverage", "min_underserved", "set_cover")
#: a number for every site, or the name of a numeric column of the layer
PerSite = Annotated[float, Field(ge=0)] | str
Mode = Literal["walk", "bike", "drive"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerSpec(Strict):
    """A table or vector file of locations (demand, existing facilities or candidate sites).

    Locations come from an H3 column (cell polygons are rebuilt from the id),
    from lon/lat columns (WGS84), or from the file's own geometry (vector files;
    polygons are located at a point inside them).
    """

    source: str = Field(description="file path (relative to the scenario) or catalog:<key>")
    layer: str | None = Field(None, description="layer name inside a GeoPackage")
    id: str | None = Field(None, description="column of unique ids (default: row number)")
    h3: str | None = Field(None, description="column of H3 cell ids")
    lon: str | None = Field(None, description="longitude column (WGS84), with lat")
    lat: str | None = Field(None, description="latitude column (WGS84), with lon")
    name_column: str | None = Field(None, description="column of display names")

    @model_validator(mode="after")
    def _lon_lat_together(self) -> "LayerSpec":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both 'lon' and 'lat' columns, or neither")
        if self.h3 is not None and self.lon is not None:
            raise ValueError("give either an 'h3' column or 'lon'/'lat' columns, not both")
        return self


class DemandLayer(LayerSpec):
    """A population layer: each location's demand is ``population * weight``."""

    name: str = Field("demand", pattern=NAME_PATTERN, description="layer name, used by services[].demand_weights")
    population: str = Field(description="column holding the population (>= 0)")
    weight: Annotated[float, Field(gt=0)] = 1.0


class FacilityLayer(LayerSpec):
    """Existing facilities: each row (or each row with ``count`` > 0) is a site."""

    count: str | None = Field(None, description="column with the number of facilities per row; rows with 0 are skipped")
    closable: bool = Field(False, description="the plan may close existing sites (each closure saves 'saving')")
    saving: PerSite | None = Field(None, description="budget freed by closing a site (number or column)")
    capacity: PerSite | None = Field(None, description="people a site can serve (number or column)")
    upgrade_capacity: PerSite | None = Field(None, description="extra people after an upgrade (number or column)")
    upgrade_cost: PerSite | None = Field(None, description="cost of an upgrade (number or column)")

    @model_validator(mode="after")
    def _rules_consistent(self) -> "FacilityLayer":
        if self.saving is not None and not self.closable:
            raise ValueError("'saving' needs 'closable: true'")
        if (self.upgrade_capacity is None) != (self.upgrade_cost is None):
            raise ValueError("give both 'upgrade_capacity' and 'upgrade_cost', or neither")
        if self.upgrade_capacity is not None and self.capacity is None:
            raise ValueError("upgrades raise a capacity: give 'capacity' too")
        return self


class CandidateLayer(LayerSpec):
    """Candidate sites for new facilities."""

    exclude_existing: bool = Field(True, description="drop candidates at the location of an existing facility")
    cost: PerSite | None = Field(None, description="cost of opening a site, for budgets (number or column; default 1)")
    capacity: PerSite | None = Field(None, description="people a new site can serve (number or column)")


class NetworkSpec(Strict):
    """The road network and how people travel on it."""

    source: str | dict[str, Any] = Field(
        description="a .osm.pbf/.osm/.osm.bz2/.graphml file, catalog:<key>, "
        "or an online osmnx query {place: ...} | {bbox: [w, s, e, n]} | {point: [lat, lon], dist: m}"
    )
    mode: Mode = "walk"
    max_snap_m: Annotated[float, Field(gt=0)] = 500.0

    @field_validator("source")
    @classmethod
    def _online_query(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        if isinstance(value, dict):
            keys = set(value)
            if not (keys in ({"place"}, {"bbox"}, {"point", "dist"})):
                raise ValueError("an online source is {place: NAME}, {bbox: [west, south, east, north]} or {point: [lat, lon], dist: METRES}")
        return value


class MatrixSpec(Strict):
    """Precomputed travel times (r5py, OSRM, a survey, ...) instead of a road network.

    A long CSV, one row per (demand id, site id) pair: origins are the demand
    layers' ``id`` values, destinations the ``id`` values of existing
    facilities and candidates, both compared as text; a missing pair is
    unreachable.  :mod:`allocator.matrix` reads it.
    """

    source: str = Field(description="CSV file (relative to the scenario) or catalog:<key>")
    origin: str = Field("origin", description="column of demand location ids")
    destination: str = Field("destination", description="column of site ids")
    minutes: str = Field("minutes", description="column of travel minutes (empty or inf: unreachable)")


class DistrictSpec(Strict):
    """How demand locations are grouped into districts for equity reporting (one form only).

    - ``{source: FILE, id: COL, name_column: COL}``: polygons; each demand point
      takes the polygon it falls in (points outside every polygon: "outside");
    - ``{h3_parent: 6}``: the demand point's resolution-9 H3 cell (from its
      lon/lat, h3.latlng_to_cell) grouped by its parent at that resolution;
    - ``{column: COL}``: a column of the demand layer's own file, matched by id.
    """

    source: str | None = Field(None, description="polygon layer (GeoPackage, GeoJSON, Shapefile, FlatGeobuf)")
    layer: str | None = None
    id: str | None = Field(None, description="polygon id column (default: row number)")
    name_column: str | None = None
    h3_parent: Annotated[int, Field(ge=0, le=9)] | None = None
    column: str | None = Field(None, description="district column of the demand layer file")

    @model_validator(mode="after")
    def _one_form(self) -> "DistrictSpec":
        forms = [self.source is not None, self.h3_parent is not None, self.column is not None]
        if sum(forms) != 1:
            raise ValueError("districts is one of {source: FILE, id: COL}, {h3_parent: RES} or {column: COL}")
        return self


TargetMetric = Literal["within_share", "underserved_share", "mean_min", "median_min", "p90_min", "max_min",
                       "gini", "theil", "theil_between", "theil_within", "p90_median_ratio",
                       "worst_decile_ratio", "access_e2sfca_mean", "access_2sfca_mean",
                       "access_e2sfca_gini", "access_2sfca_gini"]


class TargetSpec(Strict):
    """A policy target checked after the change, e.g. {metric: within_share, min: 0.95}."""

    metric: TargetMetric
    min: float | None = None
    max: float | None = None
    per_district: bool = Field(False, description="every district must meet it (needs 'districts')")
    label: str | None = None

    @model_validator(mode="after")
    def _bound(self) -> "TargetSpec":
        if (self.min is None) == (self.max is None):
            raise ValueError("a target needs exactly one of 'min' or 'max'")
        return self


class Service(Strict):
    """One service type (clinics, schools, ...) and the question asked about it."""

    name: str = Field(pattern=NAME_PATTERN)
    kind: str = Field("facility", description="clinic, school, service_counter, or any label")
    objective: Objective
    threshold_min: Annotated[float, Field(gt=0, le=600)]
    p: Annotated[int, Field(ge=0)] | None = Field(
        None, description="new sites to open (not for set_cover); with plan rules: at most p")
    budget: float | None = Field(None, description="most this service may spend: opening costs + upgrades - savings")
    relocate: bool = Field(False, description="closing an existing site frees one of the p new sites")
    max_time_min: Annotated[float, Field(gt=0)] | None = Field(
        None, description="p_median: everyone who can be within this many minutes must be")
    district_floor: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="every district at least this share of its people within threshold_min")
    priority: Annotated[float, Field(gt=0)] = Field(1.0, description="weight of this service in a shared-budget plan")
    demand_weights: dict[str, Annotated[float, Field(ge=0)]] | None = Field(
        None, description="weight per demand layer name for this service (default: every layer, weight 1)"
    )
    existing: FacilityLayer | None = None
    candidates: CandidateLayer
    targets: list[TargetSpec] = Field(default_factory=list, description="targets for this service only")

    @model_validator(mode="after")
    def _p_matches_objective(self, info: ValidationInfo) -> "Service":
        shared = bool((info.context or {}).get("shared_budget"))   # set by load_scenario
        if self.objective == "set_cover":
            if self.p is not None:
                raise ValueError("set_cover finds the cheapest set of sites itself: remove 'p'")
        elif self.p is None and self.budget is None and not shared:
            raise ValueError(f"objective {self.objective} needs 'p' (the number of new sites), a 'budget' "
                             "or a top-level 'shared_budget'")
        if self.objective not in PLAN_OBJECTIVES and self.uses_plan_rules:
            raise ValueError(f"{self.objective} takes only 'p' and kept existing sites; budgets, closures, "
                             "capacities, max_time_min and district_floor work with "
                             + ", ".join(PLAN_OBJECTIVES))
        if self.relocate and not (self.existing and self.existing.closable and self.p is not None):
            raise ValueError("relocate needs 'p' and existing.closable: true")
        if self.max_time_min is not None and self.objective != "p_median":
            raise ValueError("max_time_min applies to p_median (coverage models already use threshold_min)")
        return self

    @property
    def uses_plan_rules(self) -> bool:
        """True when the plan model (allocator.plans) is needed rather than the fast classic models."""
        ex, cand = self.existing, self.candidates
        return (self.budget is not None or self.max_time_min is not None or self.district_floor is not None
                or cand.capacity is not None or cand.cost is not None
                or (ex is not None and (ex.closable or ex.capacity is not None)))


class SolverSpec(Strict):
    """Solver control (HiGHS through PuLP).

    ``round_s`` trades exactness for speed like ``gap_rel``: the models solve
    on travel times rounded to that many seconds (:mod:`allocator.rounding`),
    and the chosen plan is measured on the exact times.
    """

    time_limit_s: Annotated[float, Field(gt=0)] | None = None
    gap_rel: Annotated[float, Field(ge=0, lt=1)] | None = None
    threads: Annotated[int, Field(ge=1)] | None = None
    round_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        0.0, description="round travel times half up to multiples of this many seconds before solving (0: exact)")


class OutputSpec(Strict):
    """Where results go: ``<dir>/<scenario name>/``.

    Without ``dir`` that is ``maps/`` under the current folder (the project's
    ``maps/`` when run from the project); a given ``dir`` resolves against the
    scenario file like every other path.
    """

    dir: str | None = None
    tiles: bool = Field(True, description="show a background tile layer in the map (needs internet to display)")


class Scenario(Strict):
    """A whole scenario file."""

    name: str = Field(pattern=NAME_PATTERN, description="also the output folder name")
    title: str | None = None
    description: str = ""
    network: NetworkSpec | None = Field(None, description="road network (or give 'matrix')")
    matrix: MatrixSpec | None = Field(None, description="precomputed travel times (or give 'network')")
    demand: list[DemandLayer] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    solver: SolverSpec = SolverSpec()
    output: OutputSpec = OutputSpec()
    districts: DistrictSpec | None = Field(None, description="groups of demand locations for equity reporting")
    targets: list[TargetSpec] = Field(default_factory=list, description="targets for every service")
    language: Literal["en", "zh"] = Field("en", description="language of report.html (en | zh)")
    shared_budget: float | None = Field(
        None, description="one budget for all services, solved together in one model (same objective)")

    @model_validator(mode="after")
    def _one_travel_time_source(self) -> "Scenario":
        if (self.network is None) == (self.matrix is None):
            raise ValueError("give exactly one of 'network' (a road network to compute travel times on) "
                             "or 'matrix' (a CSV of precomputed travel times)")
        return self

    @model_validator(mode="after")
    def _per_district_needs_districts(self) -> "Scenario":
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
    def _shared_budget_services(self) -> "Scenario":
        if self.shared_budget is not None:
            kinds = {"min_underserved" if s.objective == "max_coverage" else s.objective for s in self.services}
            if not kinds <= set(PLAN_OBJECTIVES) or len(kinds) > 1:
                got = ", ".join(f"{s.name}: {s.objective}" for s in self.services)
                raise ValueError(_at(("shared_budget",), "services sharing a budget are solved in one model and need one "
                                 "objective among p_median, max_coverage (= min_underserved) and set_cover; "
                                 f"got {got}"))
        return self

    @model_validator(mode="after")
    def _names_consistent(self) -> "Scenario":
        layer_names = [layer.name for layer in self.demand]
        if len(set(layer_names)) != len(layer_names):
            raise ValueError(f"demand layer names must be unique, got {layer_names}")
        service_names = [s.name for s in self.services]
        if len(set(service_names)) != len(service_names):
            raise ValueError(f"service names must be unique, got {service_names}")
        for i, service in enumerate(self.services):
            unknown = set(service.demand_weights or {}) - set(layer_names)
            if unknown:
                raise ValueError(
                    f"services[{i}].demand_weights names unknown layers {sorted(unknown)}; layers are {layer_names}"
                )
        return self


def _at(loc: tuple, message: str) -> str:
    """A whole-scenario rule's message that names the field at fault (pydantic puts such errors at the root)."""
    return "@" + ".".join(map(str, loc)) + "@ " + message


class LoadedScenario(BaseModel):
    """A validated scenario with the file it came from (paths resolve against it)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    spec: Scenario
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve_path(self, source: str, field: str) -> Path:
        """A data path from the scenario: ``catalog:<key>`` or relative to the YAML file."""
        if catalog.is_catalog_ref(source):
            try:
                return catalog.resolve(source)
            except AllocatorError as exc:
                exc.field = exc.field or field
                raise exc.with_file(self.path) if exc.file is None else exc
        path = (self.base_dir / source).expanduser()
        if not path.exists():
            raise AllocatorError(
                f"file not found: {path}", file=self.path, field=field,
                fix="check the path (relative paths start at the scenario file's folder) or use catalog:<key>",
            )
        return path

    @property
    def output_dir(self) -> Path:
        root = Path.cwd() / "maps" if self.spec.output.dir is None else self.base_dir / self.spec.output.dir
        return (root / self.spec.name).resolve()


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario YAML file (safe loader; no Python objects)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AllocatorError("scenario file not found", file=path, fix="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AllocatorError(f"cannot read the scenario file ({exc})", file=path) from None
    try:
        raw = yaml.safe_load(text)
        lines = _line_numbers(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise AllocatorError(
            f"YAML syntax error: {problem}", file=path,
            line=mark.line + 1 if mark else None, fix="fix the YAML syntax at that line (indentation, colons, quotes)",
        ) from None
    if not isinstance(raw, dict):
        raise AllocatorError("a scenario is a YAML mapping (key: value lines)", file=path, fix="see scenarios/ for examples")
    try:
        spec = Scenario.model_validate(raw, context={"shared_budget": raw.get("shared_budget") is not None})
    except ValidationError as exc:
        raise _explain(exc, path, lines) from None
    return LoadedScenario(spec=spec, path=path.resolve())


def _explain(exc: ValidationError, path: Path, lines: dict[tuple, int]) -> AllocatorError:
    """Turn the first pydantic error into a message with field, line and fix.

    Unknown keys come first: a misspelt key also shows up as a missing one,
    and the misspelling is the cause worth naming.
    """
    err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = tuple(err["loc"])
    field = _dotted(loc)
    line = _line_of(loc, lines)
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    if err["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = sorted(_aliases(parent)) if parent else []
        guess = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        fix = f"did you mean '{guess[0]}'? " if guess else ""
        return AllocatorError(f"unknown key '{loc[-1]}'{more}", file=path, field=field, line=line,
                              fix=fix + ("valid keys here: " + ", ".join(valid) if valid else ""))
    if err["type"] == "missing":
        return AllocatorError(f"required field is missing{more}", file=path, field=field,
                              line=_line_of(loc[:-1], lines), fix=f"add '{loc[-1]}'")
    message = err["msg"].removeprefix("Value error, ")
    if not loc and message.startswith("@"):   # a rule of the whole scenario naming its field (see _at)
        at, _, message = message[1:].partition("@ ")
        loc = tuple(int(p) if p.isdigit() else p for p in at.split("."))
        field, line = _dotted(loc), _line_of(loc, lines)
    value = err.get("input")
    # a whole section (a model-level rule) is not worth echoing; a scalar is
    got = f" (got {value!r})" if loc and not isinstance(value, (dict, list)) else ""
    return AllocatorError(f"{message}{got}{more}", file=path, field=field or "scenario",
                          line=line, fix="see the scenario reference in README.md")


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not (isinstance(part, str) and (part.startswith("function-") or part in {"str", "dict[str,any]"})):
            out += ("." if out else "") + str(part)
    return out


def _aliases(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema model found at ``loc`` (to list the keys valid there)."""
    model: type[BaseModel] = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        if part not in fields:
            return None
        annotation = fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates for c in (c, *getattr(c, "__args__", ())) if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def _line_numbers(node: yaml.Node | None, prefix: tuple = ()) -> dict[tuple, int]:
    """Map each key path of a composed YAML document to its 1-based line."""
    out: dict[tuple, int] = {}
    if node is None:
        return out
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = prefix + (key.value,)
            out.update(_line_numbers(value, path))
            out[path] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_line_numbers(item, prefix + (i,)))
    return out


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    """The line of the deepest part of ``loc`` present in the YAML."""
    keys = tuple(p for p in loc if isinstance(p, (str, int)))
    while keys:
        if keys in lines:
            return lines[keys]
        keys = keys[:-1]
    return None
