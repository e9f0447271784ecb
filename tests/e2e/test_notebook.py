"""Every notebook in examples/ runs from top to bottom in a fresh kernel without a cell error.

The notebooks run as Jupyter runs them, from their own folder, on the data mirror, importing allocator
from this tree.  A failed ``assert`` in a cell (the Porto Alegre notebook checks that the Python API
opens the same sites as the YAML run) fails the test like any other cell error.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from conftest import mirrored_env
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "examples").glob("*.ipynb"))
#: seconds one cell may take (the Porto Alegre walk network and its matrix take about 20 s)
CELL_TIMEOUT_S = 600


def test_the_clinics_notebook_is_collected() -> None:
    assert REPO / "examples" / "poa_clinics.ipynb" in NOTEBOOKS


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_without_errors(path: Path, mirror: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with mirrored_env(mirror, tmp_path / "cache"):
        pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        client.execute(env={**os.environ, "PYTHONPATH": pythonpath})   # raises CellExecutionError on any error
