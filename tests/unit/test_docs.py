"""docs/running.md and maps/README.md cannot go stale: every demo command of the Makefile and every file the
writers' list (allocator.outputs.files.OUTPUT_FILES, COMPARE_FILES) names is in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allocator.outputs.files import COMPARE_FILES, OUTPUT_FILES, PAGES

REPO = Path(__file__).resolve().parents[2]


def demo_commands(makefile: str) -> list[str]:
    """The ``demo`` target's recipe lines, with ``$(BIN)`` as the docs write it (``.venv/bin``)."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert recipe is not None, "the Makefile has a demo target"
    return [line.strip().replace("$(BIN)", ".venv/bin") for line in recipe.group(1).splitlines()]


def scenario_folders(commands: list[str]) -> list[str]:
    """The output folders the demo writes, relative to maps/: one per scenario run, and compare/ for --compare,
    under the command's ``--out maps/<dir>`` when it gives one."""
    folders = []
    for command in commands:
        out = re.search(r"--out maps/(\S+)", command)
        base = f"{out.group(1)}/" if out else ""
        folders += [base + Path(p).stem for p in re.findall(r"scenarios/\S+\.yaml", command)]
        folders += [base + "compare"] if "--compare" in command else []
    return list(dict.fromkeys(folders))


def test_running_md_lists_every_demo_command_and_output_file() -> None:
    page = (REPO / "docs" / "running.md").read_text()
    commands = demo_commands((REPO / "Makefile").read_text())
    assert len(commands) >= 6
    missing = [c for c in commands if c not in page]
    assert missing == [], f"docs/running.md lacks these demo commands of the Makefile: {missing}"
    for f in (*OUTPUT_FILES, *COMPARE_FILES):
        assert f"| `{f.name}` |" in page, f"docs/running.md does not list {f.name}"
    for folder in scenario_folders(commands):
        assert f"maps/{folder}" in page, folder


def test_maps_readme_lists_every_output_file_and_demo_folder() -> None:
    page = (REPO / "maps" / "README.md").read_text()
    for f in (*OUTPUT_FILES, *COMPARE_FILES):
        assert f"- `{f.name}`" in page, f"maps/README.md does not list {f.name}"
    for folder in scenario_folders(demo_commands((REPO / "Makefile").read_text())):
        assert f"`{folder}`" in page, folder


def test_the_lists_catch_a_missing_command() -> None:
    """The check itself: a Makefile with one more demo command is not in the docs."""
    makefile = (REPO / "Makefile").read_text().replace(
        "\t$(BIN)/python run_scenario.py scenarios/poa_counters.yaml\n",
        "\t$(BIN)/python run_scenario.py scenarios/poa_counters.yaml\n\t$(BIN)/python run_scenario.py scenarios/new.yaml\n")
    page = (REPO / "docs" / "running.md").read_text()
    assert [c for c in demo_commands(makefile) if c not in page] == [".venv/bin/python run_scenario.py scenarios/new.yaml"]


@pytest.mark.parametrize("files", [OUTPUT_FILES, COMPARE_FILES])
def test_pages_come_from_the_file_lists(files) -> None:
    """Every page of a fixed name is one the console's closing block lists; the pairs of plans (a name pattern) are
    opened from comparison.html."""
    assert all((f.name in PAGES) == ("<" not in f.name) for f in files if f.name.endswith(".html"))
