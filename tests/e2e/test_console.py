"""The console of a run: notes in plain words, each fact once, with the population's name; the solver's detail
only with --verbose; a closing block listing exactly the pages written."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import mirrored_env

from allocator.cli import main
from allocator.outputs.files import COMPARE_FILES, OUTPUT_FILES

CELLS = {"source": "catalog:sao_paulo/spo_hexgrid.csv", "h3": "id", "id": "id"}
#: two plans like the demo's: a road network that leaves people out (max_snap_m), a p-median (bound notes),
#: a max-coverage plan with a sweep (dominated candidates)
SCENARIOS = {
    "spo_far": {
        "name": "spo_far", "title": "Far from the roads",
        "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 120},
        "demand": [{"name": "residents", **CELLS, "population": "population"}],
        "services": [{"name": "clinics", "kind": "clinic", "objective": "p_median", "threshold_min": 8, "p": 2,
                      "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
        "output": {"tiles": False},
    },
    "spo_cover": {
        "name": "spo_cover", "title": "Most people within 8 minutes",
        "network": {"source": "catalog:sao_paulo/spo_osm.pbf", "mode": "walk", "max_snap_m": 120},
        "demand": [{"name": "residents", **CELLS, "population": "population"}],
        "services": [{"name": "clinics", "kind": "clinic", "objective": "max_coverage", "threshold_min": 8, "p": 2,
                      "existing": {**CELLS, "count": "healthcare"}, "candidates": CELLS}],
        "sweep": {"parameter": "p", "values": [1, 2], "chosen": 2},
        "output": {"tiles": False},
    },
}
#: the solver's words, which only --verbose shows
SOLVER_WORDS = ("Lagrangian", "lower bound", "dominated", "client", "weight", "ruled out", "p_median", "max_coverage",
                "objective", "solver:")


def _console(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(argv)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mirror: Path) -> dict[str, tuple[Path, str]]:
    """The two scenarios with --compare, once plainly and once with --verbose: (output folder, console) each."""
    folder = tmp_path_factory.mktemp("console")
    paths = []
    for name, doc in SCENARIOS.items():
        paths.append(folder / f"{name}.yaml")
        paths[-1].write_text(yaml.safe_dump(doc))
    out = {}
    with mirrored_env(mirror, tmp_path_factory.mktemp("cache")):
        for how, extra in (("plain", []), ("verbose", ["--verbose"])):
            status, console = _console([*map(str, paths), "--out", str(folder / how), "--compare", "--workers", "1",
                                        *extra])
            assert status == 0, console
            out[how] = (folder / how, console)
    return out


@pytest.mark.slow
def test_solver_words_only_with_verbose(runs) -> None:
    _, plain = runs["plain"]
    _, verbose = runs["verbose"]
    assert [w for w in SOLVER_WORDS if w in plain] == []
    assert "lower bound" in verbose and "p_median" in verbose and "objective" in verbose
    assert "could never do better than another candidate" in verbose   # max coverage's dominated candidates


@pytest.mark.slow
def test_notes_say_each_fact_once_with_the_population_name(runs) -> None:
    folder, plain = runs["plain"]
    notes = json.loads((folder / "spo_far" / "summary.json").read_text())["services"][0]["notes"]
    far = next(n for n in notes if "from the road network: counted as underserved" in n)
    people = float(re.search(r"\(([\d,]+) people\)", far).group(1).replace(",", ""))
    block = plain.split("\nFar from the roads\n")[1].split("\n[")[0].split("\n\n")[0]   # until the next run
    said = f"{people:,.0f} residents live more than 120 m from the road network"
    assert block.count(said) == 1
    # the same people, in the model's words ("unreachable", "client(s) ... weight"), are not told again
    assert block.count(f"{people:,.0f} ") == 1 and "unreachable" not in block
    assert not re.search(r"\b1 existing sites\b|\b1 candidate sites\b|\(s\)", block)


@pytest.mark.slow
def test_closing_block_lists_exactly_the_pages_written(runs) -> None:
    for folder, console in runs.values():
        tail = console.split("open these pages:\n")
        assert len(tail) == 2, "one closing block, at the end"
        listed = [Path(line.strip()) for line in tail[1].splitlines() if line.startswith("  ")]
        on_disk = sorted(p for p in folder.rglob("*.html") if not p.name.startswith("pair_"))   # from comparison
        assert sorted(listed) == on_disk and len(set(listed)) == len(listed)
        assert {p.name for p in listed} == {"report.html", "map.html", "map_compare.html", "comparison.html"}
        assert tail[1].strip().splitlines()[-1].startswith("data ©")   # nothing after the block but the credit


@pytest.mark.slow
def test_the_writers_file_list_is_what_is_written(runs) -> None:
    """allocator.outputs.files.OUTPUT_FILES and COMPARE_FILES (which the docs are checked against) are the files a
    run writes, no more and no fewer."""
    folder, _ = runs["plain"]
    for name, doc in SCENARIOS.items():
        expected = {f.name for f in OUTPUT_FILES if f.when == "always" or f.when in doc}
        assert {p.name for p in (folder / name).iterdir()} == expected, name
    patterns = [re.sub(r"<[^>]+>", "*", f.name) for f in COMPARE_FILES]   # pair_<service>_<i>_<j>.html
    written = sorted(p.name for p in (folder / "compare").iterdir())
    assert sorted(next(x for x in patterns if fnmatch.fnmatch(name, x)) for name in written) == sorted(patterns)
    assert "pair_clinics_1_2.html" in written
