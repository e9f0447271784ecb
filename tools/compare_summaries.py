"""Compare two sets of summary.json files run for run: same values apart from timings.

Used to prove that a change of code that should not change results does not:
run the scenarios (or the test suite with ``ALLOCATOR_SUMMARY_DUMP=DIR``, see
``tests/conftest.py``) once with each version, then::

    python tools/compare_summaries.py OLD_DIR NEW_DIR

Every ``summary.json`` under OLD_DIR is paired with the one at the same
relative path under NEW_DIR.  Timings, paths of temporary folders and the
schema name are ignored; ``allocator.summary/1`` documents are brought to
``allocator.summary/2`` first (docs/outputs.md: /2 no longer repeats the
access metrics of ``before``/``after`` inside ``equity.overall``).  Numbers
are compared to a relative 1e-9.  Exit status 0: all equal; 1: differences
(listed); 2: bad arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

IGNORED = {"timings", "schema", "file", "source", "allocator_version"}
REL_TOL = 1e-9


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """An allocator.summary/1 document in the form of /2: each service's ``equity.overall.before``/``after``
    without the keys of the service's ``before``/``after`` (the access metrics, which /1 repeated)."""
    if doc.get("schema") != "allocator.summary/1":
        return doc
    for service in doc.get("services", []):
        overall = service.get("equity", {}).get("overall", {})
        for when in ("before", "after"):
            block = overall.get(when)
            if isinstance(block, dict):
                for key in service.get(when, {}):
                    block.pop(key, None)
    return doc


def differences(old: Any, new: Any, where: str) -> list[str]:
    """Where ``old`` and ``new`` differ (ignoring the keys of IGNORED)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if key in IGNORED:
                continue
            if key not in old or key not in new:
                out.append(f"{where}.{key}: only in {'new' if key in new else 'old'}")
                continue
            out += differences(old[key], new[key], f"{where}.{key}")
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items before, {len(new)} after"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{where}[{i}]")]
    if isinstance(old, float | int) and isinstance(new, float | int) and not isinstance(old, bool):
        if math.isclose(old, new, rel_tol=REL_TOL, abs_tol=1e-12):
            return []
        return [f"{where}: {old!r} -> {new!r}"]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if not args.old.is_dir() or not args.new.is_dir():
        print("both arguments must be folders", file=sys.stderr)
        return 2
    compared, failed = 0, 0
    for path in sorted(args.old.rglob("summary.json")):
        rel = path.relative_to(args.old)
        other = args.new / rel
        if not other.is_file():
            print(f"{rel}: missing in {args.new}")
            failed += 1
            continue
        old = upgrade(json.loads(path.read_text()))
        new = upgrade(json.loads(other.read_text()))
        found = differences(old, new, "")
        compared += 1
        if found:
            failed += 1
            print(f"{rel}: {len(found)} difference(s)")
            for line in found[:20]:
                print(f"    {line}")
    extra = [p.relative_to(args.new) for p in args.new.rglob("summary.json") if not (args.old / p.relative_to(args.new)).is_file()]
    for rel in extra:
        print(f"{rel}: only in {args.new}")
    print(f"{compared} summaries compared, {failed} differ, {len(extra)} new")
    return 1 if failed or extra else 0


if __name__ == "__main__":
    sys.exit(main())
