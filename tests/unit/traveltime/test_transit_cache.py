"""The transit-matrix cache: a stored matrix comes back only for the same key and points, and a damaged file is
discarded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from allocator.traveltime.transit_cache import read_matrix, write_matrix

KEY = ("engine 1", "osm sha", "feed sha", "settings")
POINTS = (np.array([-51.2, -51.1]), np.array([-30.0, -30.1]), np.array([-51.15]), np.array([-30.05]))
COST = np.array([[12.5], [np.inf]])


def test_a_stored_matrix_comes_back_for_the_same_key_and_points(tmp_path: Path) -> None:
    write_matrix(tmp_path, KEY, POINTS, COST)
    np.testing.assert_array_equal(read_matrix(tmp_path, KEY, POINTS), COST)
    assert read_matrix(tmp_path, (*KEY[:-1], "other settings"), POINTS) is None
    moved = (POINTS[0] + 1e-6, *POINTS[1:])
    assert read_matrix(tmp_path, KEY, moved) is None


def test_a_damaged_file_is_discarded(tmp_path: Path) -> None:
    write_matrix(tmp_path, KEY, POINTS, COST)
    (path,) = tmp_path.glob("transit-*.npz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert read_matrix(tmp_path, KEY, POINTS) is None
    assert not path.exists()


def test_a_file_of_other_points_under_this_name_is_discarded(tmp_path: Path) -> None:
    other = (POINTS[0], POINTS[1], np.array([-51.0, -51.3]), np.array([-30.0, -30.2]))
    write_matrix(tmp_path, KEY, other, np.zeros((2, 2)))
    (path,) = tmp_path.glob("transit-*.npz")
    write_matrix(tmp_path, KEY, POINTS, COST)
    (target,) = set(tmp_path.glob("transit-*.npz")) - {path}
    path.replace(target)   # the other matrix now sits under this key's name
    assert read_matrix(tmp_path, KEY, POINTS) is None
    assert not target.exists()
