"""Reading a scenario file: YAML with line numbers, validated by :mod:`allocator.scenario.schema`.

Every problem is reported as an :class:`~allocator.errors.AllocatorError`
naming the file, the line, the field and what is allowed; unknown keys get the
closest valid key as a suggestion.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from allocator.errors import AllocatorError
from allocator.scenario import catalog
from allocator.scenario.schema import Scenario


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
                raise (exc.with_file(self.path) if exc.file is None else exc) from None
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
