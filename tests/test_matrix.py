"""Precomputed travel-time matrices: reading, checking and writing the long CSV."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.errors import AllocatorError
from allocator.matrix import cost_matrix, read_matrix_csv, write_matrix_csv
from allocator.scenario import MatrixSpec


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read(path: Path, **columns: str):
    return read_matrix_csv(path, MatrixSpec(source=path.name, **columns))


# --------------------------------------------------------------------------- #
# reading and writing the file                                                #
# --------------------------------------------------------------------------- #

def test_empty_or_inf_minutes_and_missing_pairs_are_unreachable(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "o,d,t,note\na,x,1.5,\n\nb,x,,r5py leaves it empty\n"
                                     "a,y,inf,\nb,y, 2 ,\nb,y,2,same value twice\nz,x,1,unknown origin\n")
    table, report = read(path, origin="o", destination="d", minutes="t")
    assert (report.rows, report.pairs, report.unreachable, report.origins, report.destinations) == (6, 5, 2, 3, 2)
    lookup = cost_matrix(table, ["a", "b", "c"], ["x", "y", "w", "x"])
    inf = np.inf
    np.testing.assert_array_equal(lookup.cost, [[1.5, inf, inf, 1.5], [inf, 2, inf, inf], [inf, inf, inf, inf]])
    assert lookup.origin_absent.tolist() == [False, False, True]
    assert lookup.site_absent.tolist() == [False, False, True, False]
    assert lookup.pairs_used == 4   # z -> x names an origin not asked for


def test_ids_are_text_compared_exactly(tmp_path: Path) -> None:
    table, _ = read(write(tmp_path / "m.csv", "origin,destination,minutes\n007,1,3\n7,1.0,4\n"))
    lookup = cost_matrix(table, ["007", "7"], ["1", "1.0"])
    np.testing.assert_array_equal(lookup.cost, [[3, np.inf], [np.inf, 4]])


@pytest.mark.parametrize("body, line, field, words", [
    ("a,x,1\nb,x,NaN\n", 3, "minutes", ["'NaN' is not a number", "empty, write inf"]),
    ("a,x,1\n\nb,x,abc\nc,x,n/a\n", 4, "minutes", ["'abc' is not a number", "(2 rows like this)"]),
    ("a,x,-0.5\n", 2, "minutes", ["negative minutes", ">= 0"]),
    ("a,x,1\nb,x,2\na,x,1.25\n", 4, "minutes", ["('a', 'x')", "lines 2 and 4", "1 and 1.25"]),
    (",x,1\n", 2, "origin", ["empty origin id"]),
    ("a,,1\n", 2, "destination", ["empty destination id"]),
])
def test_bad_rows_name_file_line_and_field(tmp_path: Path, body: str, line: int, field: str, words) -> None:
    with pytest.raises(AllocatorError) as info:
        read(write(tmp_path / "m.csv", "origin,destination,minutes\n" + body))
    error = info.value
    assert (Path(error.file).name, error.line, error.field) == ("m.csv", line, f"matrix.{field}")
    for word in words:
        assert word in str(error), str(error)


def test_missing_columns_name_the_columns_present(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError) as info:
        read(write(tmp_path / "m.csv", "from_id,to_id,travel_time\na,x,1\n"), origin="from_id")
    text = str(info.value)
    assert "m.csv" in text and "matrix.destination" in text and "'destination', 'minutes' not found" in text
    assert "columns are: from_id, to_id, travel_time" in text


def test_write_then_read_gives_the_same_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 60, (7, 5)) * np.pi
    cost[2, :] = np.inf
    cost[4, 1] = np.inf
    origins, sites = [f"o{i}" for i in range(7)], [f"s{j}" for j in range(5)]
    assert write_matrix_csv(tmp_path / "m.csv", origins, sites, cost, minutes="t") == 7 * 5 - 5 - 1
    table, report = read(tmp_path / "m.csv", minutes="t")
    assert report.unreachable == 0, "only finite pairs are written"
    np.testing.assert_array_equal(cost_matrix(table, origins, sites).cost, cost)   # bit for bit
    with pytest.raises(AllocatorError, match="shape"):
        write_matrix_csv(tmp_path / "x.csv", origins, sites[:4], cost)


def test_a_1227_by_1227_matrix_loads_in_seconds(tmp_path: Path) -> None:
    ids = np.array([f"89a8100c{i:04d}fff" for i in range(1227)])
    minutes = np.round(np.random.default_rng(0).uniform(0, 90, ids.size ** 2), 2)
    pd.DataFrame({"origin": np.repeat(ids, ids.size), "destination": np.tile(ids, ids.size),
                  "minutes": minutes}).to_csv(tmp_path / "m.csv", index=False)
    started = time.perf_counter()
    table, report = read(tmp_path / "m.csv")
    seconds = time.perf_counter() - started
    assert report.pairs == 1227 ** 2 == 1_505_529
    assert seconds < 10, f"{seconds:.1f}s"
    assert cost_matrix(table, ids[:3], ids[-2:]).cost[1, 0] == minutes[1 * 1227 + 1225]
