"""The package's stages import only downwards (docs/architecture.md).

Stage order, lowest first: base (``errors.py``, ``files.py``) < scenario <
inputs < traveltime < solve < evaluate < outputs < top (``pipeline.py``,
``api.py``, ``cli.py``, ``scale/``, ``__init__.py``).  Every import of every
module under ``allocator/`` is read with :mod:`ast` -- at module level, inside
functions and inside ``if TYPE_CHECKING:`` blocks alike -- and an import of a
higher stage fails the test, naming the file, the line and both stages.
The package root is the top stage; only its ``__version__`` may be imported
from below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "allocator"

#: the stages, lowest first
STAGES = ("base", "scenario", "inputs", "traveltime", "solve", "evaluate", "outputs", "top")
#: modules directly under allocator/ and the stage each belongs to
ROOT_MODULES = {"errors": "base", "files": "base", "pipeline": "top", "api": "top", "cli": "top",
                "__init__": "top", "__main__": "top"}
#: names of the package root that any stage may import (set before the root imports the stages)
BELOW_EVERY_STAGE = {"__version__"}


def stage_of(module: str) -> str:
    """The stage of a dotted module name inside the package (``allocator.solve.kernels`` -> ``solve``)."""
    parts = module.split(".")
    assert parts[0] == "allocator", module
    if len(parts) == 1:
        return "top"
    if parts[1] == "scale":
        return "top"
    if parts[1] in STAGES:
        return parts[1]
    if parts[1] in ROOT_MODULES:
        return ROOT_MODULES[parts[1]]
    raise AssertionError(f"allocator.{parts[1]} belongs to no stage: add it to STAGES or ROOT_MODULES")


def module_name(path: Path) -> str:
    """``allocator/solve/kernels.py`` -> ``allocator.solve.kernels`` (a package's ``__init__`` keeps its name)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else parts   # allocator/__init__ stays allocator.__init__
    return ".".join(parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree`` of a module inside the package."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:   # relative: resolve against the importing module's package
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name != "allocator":
                found.append((node.lineno, name))
                continue
            for alias in node.names:   # ``from allocator import pipeline``: a submodule, else a name of the root
                if alias.name in ROOT_MODULES or alias.name in STAGES or alias.name == "scale":
                    found.append((node.lineno, f"allocator.{alias.name}"))
                elif alias.name not in BELOW_EVERY_STAGE:
                    found.append((node.lineno, "allocator"))
    return [(line, name) for line, name in found if name == "allocator" or name.startswith("allocator.")]


def upward_imports() -> list[str]:
    """Every import that runs up the stage order, as "file:line: stage imports stage (module)"."""
    rank = {stage: i for i, stage in enumerate(STAGES)}
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        own = stage_of(module if module != "allocator.__init__" else "allocator")
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in imported(tree, module, path.name == "__init__.py"):
            other = stage_of(name)
            if rank[other] > rank[own]:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {own} imports {other} ({name})")
    return problems


def test_no_import_runs_up_the_stages() -> None:
    problems = upward_imports()
    assert not problems, "imports up the stage order:\n" + "\n".join(problems)


@pytest.mark.parametrize(("source", "expected"), [
    ("from allocator.outputs import files\n", ["allocator.outputs"]),
    ("from allocator import Problem, __version__, pipeline\n", ["allocator", "allocator.pipeline"]),
    ("def f():\n    from allocator.pipeline import run\n", ["allocator.pipeline"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import allocator.evaluate.access\n",
     ["allocator.evaluate.access"]),
])
def test_every_kind_of_import_is_seen(source: str, expected: list[str]) -> None:
    """Module-level, function-level and TYPE_CHECKING imports are all read."""
    names = [name for _, name in imported(ast.parse(source), "allocator.solve.kernels", False)]
    assert names == expected


def test_an_upward_import_is_named() -> None:
    """A solve module importing evaluate is reported with both stages."""
    tree = ast.parse("import numpy\nfrom allocator.evaluate.queueing import queue\n")
    (line, name), = imported(tree, "allocator.solve.staffing", False)
    assert (line, stage_of("allocator.solve.staffing"), stage_of(name)) == (2, "solve", "evaluate")
