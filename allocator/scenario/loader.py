"""Reading a scenario file: YAML with line numbers, validated by :mod:`allocator.scenario.schema`.

Every problem is reported as an :class:`~allocator.errors.AllocatorError`
naming the file, the line, the field and what is allowed; unknown keys get the
closest valid key as a suggestion.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from allocator.errors import AllocatorError
from allocator.files import MAX_SCENARIO_BYTES, checked_file, expand_home, read_text
from allocator.scenario import catalog
from allocator.scenario.paths import NETWORK, OSM_SUFFIXES, LayerFiles, Origin
from allocator.scenario.schema import DemandLayer, LayerSpec, MatrixSpec, NetworkSpec, Scenario


class ScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e6`` as a number as YAML 1.2 does (YAML 1.1 needs ``1.0e6``)."""


ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))

#: deepest nesting of lists and mappings a scenario may have
MAX_DEPTH = 50
#: most values a scenario may hold with its aliases expanded
MAX_NODES = 100_000


class LoadedScenario(BaseModel):
    """A validated scenario with the file it came from (paths resolve against it).

    Its methods resolve the files the scenario names, for the readers of the
    later stages (:mod:`allocator.scenario.paths`): they get the sections'
    specs, these paths and an :class:`~allocator.scenario.paths.Origin`, not
    the scenario.
    """

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
                return checked_file(catalog.resolve(source), field=field)
            except AllocatorError as exc:
                exc.field = exc.field or field
                raise (exc.with_file(self.path) if exc.file is None else exc) from None
        path = self.local_path(source, field)
        if not os.path.lexists(path):   # never raises (a name too long for the system is not there either)
            raise AllocatorError(
                f"file not found: {path}", file=self.path, field=field,
                fix="check the path (relative paths start at the scenario file's folder) or use catalog:<key>",
            )
        return checked_file(path, field=field)

    def local_path(self, given: str, field: str) -> Path:
        """A path the scenario names, ``~`` expanded first (:func:`allocator.files.expand_home`), relative to the
        scenario's folder."""
        try:
            return self.base_dir / expand_home(given, field)
        except AllocatorError as exc:
            raise exc.with_file(self.path) from None

    def origin(self, field: str) -> Origin:
        """Where the section at ``field`` came from: this scenario's file."""
        return Origin(field, self.path)

    def osm_path(self, ref: str, field: str) -> Path:
        """The OSM file an ``osm:`` field names: a path, ``catalog:<key>``, or ``network`` (the network's file)."""
        if ref == NETWORK:
            network = self.spec.network
            if network is None or not isinstance(network.source, str):
                raise AllocatorError("'network' names the scenario's network file, but the network is not a file",
                                     file=self.path, field=field,
                                     fix="give the OpenStreetMap file itself (.osm.pbf), e.g. one from Geofabrik")
            ref = network.source
        path = self.resolve_path(ref, field)
        if not path.name.lower().endswith(OSM_SUFFIXES):
            raise AllocatorError(f"not an OpenStreetMap file: {path.name}", file=self.path, field=field,
                                 fix="give an .osm.pbf (or .osm, .osm.bz2) extract, e.g. from Geofabrik or BBBike")
        return path

    def layer_files(self, spec: LayerSpec, field: str) -> LayerFiles:
        """The files of the layer at ``field``: its source (or ``osm:`` file), a raster's zones, a demand layer's
        buildings."""
        if spec.osm is not None:
            source = self.osm_path(spec.osm, f"{field}.osm")
        else:
            source = self.resolve_path(str(spec.source), f"{field}.source")
        if not isinstance(spec, DemandLayer):
            return LayerFiles(source)
        zones = spec.raster.zones if spec.raster is not None else None
        return LayerFiles(
            source, zones=self.resolve_path(zones, f"{field}.raster.zones") if zones is not None else None,
            buildings=self.osm_path(spec.dasymetric.osm, f"{field}.dasymetric.osm") if spec.dasymetric else None)

    def district_file(self) -> Path | None:
        """The file ``districts`` reads: its polygons, its OSM boundaries or (``column``) the first demand
        layer's file; ``None`` for H3 parents or without districts."""
        spec = self.spec.districts
        if spec is None or spec.h3_parent is not None:
            return None
        if spec.column is not None:
            return self.resolve_path(str(self.spec.demand[0].source), "demand[0].source")
        if spec.osm is not None:
            return self.osm_path(spec.osm, "districts.osm")
        return self.resolve_path(str(spec.source), "districts.source")

    @property
    def travel_spec(self) -> NetworkSpec | MatrixSpec:
        """Where travel times come from: the ``matrix`` section, else the ``network`` (the schema asks for one)."""
        return self.spec.matrix if self.spec.matrix is not None else cast(NetworkSpec, self.spec.network)

    def travel_source(self) -> Path | dict[str, Any]:
        """The file of :attr:`travel_spec` resolved, or the network's online query as it is."""
        source = self.travel_spec.source
        field = "matrix.source" if isinstance(self.travel_spec, MatrixSpec) else "network.source"
        return self.resolve_path(source, field) if isinstance(source, str) else source

    def feed_files(self) -> list[Path]:
        """The GTFS feeds of a ``mode: transit`` network, resolved and checked (none for other sources)."""
        network = self.spec.network
        if self.spec.matrix is not None or network is None or network.gtfs is None:
            return []
        return [self.resolve_path(feed, f"network.gtfs[{i}]") for i, feed in enumerate(network.gtfs)]

    @property
    def output_dir(self) -> Path:
        """``<output.dir>/<name>``, absolute: ``output.dir`` resolves against the scenario's folder, ``~``
        expanded as in input paths; without it, ``maps/`` under the current folder."""
        given = self.spec.output.dir
        try:
            root = Path.cwd() / "maps" if given is None else self.local_path(given, "output.dir")
            return (root / self.spec.name).resolve()
        except (OSError, RuntimeError) as exc:   # RuntimeError: a symlink loop (Python < 3.13), or no home for ~user
            raise AllocatorError(f"cannot use this output folder ({exc})", file=self.path, field="output.dir",
                                 fix="give a folder path you can write to, without symlink loops") from None


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario YAML file (safe loader; no Python objects)."""
    path = Path(path)
    text = read_text(path, max_bytes=MAX_SCENARIO_BYTES)
    try:
        raw, lines = _parse(text, path)
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
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:60] + f"... ({len(shown):,} characters)"
    got = f" (got {shown})" if loc and not isinstance(value, (dict, list)) else ""
    return AllocatorError(f"{message}{got}{more}", file=path, field=field or "scenario", line=line,
                          fix=(err["type"] in BOUND_ERRORS and _description(loc)) or "see the scenario reference in README.md")


#: pydantic's error types for a number out of its bounds: the fix quotes the field's description, which says why
BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _description(loc: tuple) -> str | None:
    """'key: description' of the field at ``loc`` (its bounds and their reason), when the schema gives one."""
    names = tuple(part for part in loc if not _is_tag(part))
    model = _model_at(names[:-1]) if names else None
    info = model.model_fields.get(str(names[-1])) if model else None
    return f"{names[-1]}: {info.description}" if info and info.description else None


def _is_tag(part: Any) -> bool:
    """A part of a pydantic location that names a validator or a member of a union, not a key."""
    return isinstance(part, str) and (part.startswith(("function-", "constrained-")) or part in {"str", "dict[str,any]"})


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _is_tag(part):
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


def _parse(text: str, path: Path) -> tuple[Any, dict[tuple, int]]:
    """The YAML document of ``text`` and the line of each key path, within bounds.

    Nesting is checked on the event stream (which PyYAML reads without
    recursion) before the document is composed, and the size of the document
    with every alias expanded is counted before anything walks it, so deep
    nesting and alias bombs end in a message instead of a RecursionError or
    gigabytes of memory.  A key given twice in one mapping is an error.
    """
    depth = 0
    for event in yaml.parse(text, Loader=ScenarioLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise AllocatorError(
                    f"the YAML is nested more than {MAX_DEPTH} levels deep", file=path,
                    line=event.start_mark.line + 1 if event.start_mark else None, fix="a scenario is a few levels of keys and lists; check the file")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    loader = ScenarioLoader(text)
    try:
        node = loader.get_single_node()
        expanded = _expanded_size(node, {})
        if expanded > MAX_NODES:
            raise AllocatorError(
                f"the YAML expands to {expanded:,} values with its aliases (*name), above the limit of {MAX_NODES:,}",
                file=path, fix="use anchors and aliases only to repeat small sections")
        lines = _line_numbers(node, path)
        return (loader.construct_document(node) if node is not None else None), lines
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node | None, memo: dict[int, int]) -> int:
    """The number of nodes of the document with every alias expanded (each shared node counted once per use)."""
    if node is None:
        return 0
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1   # a recursive alias counts once instead of looping
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = min(size, MAX_NODES + 1)
    return memo[id(node)]


def _line_numbers(root: yaml.Node | None, path: Path) -> dict[tuple, int]:
    """Map each key path of a composed YAML document to its 1-based line; reject duplicate keys.

    A node reached again through an alias is not walked again (its keys keep
    the lines of their first use).
    """
    out: dict[tuple, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())] if root is not None else []
    while stack:
        node, prefix = stack.pop()
        out.setdefault(prefix, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            children: list[tuple[yaml.Node, tuple]] = []
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    raise AllocatorError(
                        f"key '{key.value}' is given twice in the same section, on lines {first[key.value]} and {line}",
                        file=path, line=line, field=_dotted(prefix + (key.value,)) or None,
                        fix="keep one of them (YAML would silently use the last)")
                first[key.value] = line
                out[prefix + (key.value,)] = line
                children.append((value, prefix + (key.value,)))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, prefix + (i,)) for i, item in reversed(list(enumerate(node.value))))
    return out


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    """The line of the deepest part of ``loc`` present in the YAML."""
    keys = tuple(p for p in loc if isinstance(p, (str, int)))
    while keys:
        if keys in lines:
            return lines[keys]
        keys = keys[:-1]
    return None
