"""The "How sure" facts: the data year from the catalog, the grid's cell size, the money words."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import h3
import pytest
from shapely.geometry import Polygon

from allocator.outputs.how_sure import cell_size_m, data_year, is_grid
from allocator.scenario.loader import load_scenario
from allocator.solve.run_info import run_info

REPO = Path(__file__).resolve().parents[3]


def test_the_demo_states_its_census_year_and_grid() -> None:
    info = run_info(load_scenario(REPO / "scenarios" / "poa_clinics.yaml"))
    result = SimpleNamespace(info=info)
    assert data_year(result) == "2010 (census)"   # data/catalog.yaml's year of poa_hexgrid.csv
    assert is_grid(result)
    assert info.currency == "BRL" and info.robustness is not None


def test_a_layer_without_a_year_says_none() -> None:
    info = run_info(load_scenario(REPO / "scenarios" / "poa_clinics.yaml"))
    sources = tuple(s for s in info.sources if not s.role.startswith("demand: "))
    from dataclasses import replace
    assert data_year(SimpleNamespace(info=replace(info, sources=sources))) is None


@pytest.mark.parametrize("resolution", [8, 9])
def test_cell_size_is_the_side_of_the_cells_area(resolution: int) -> None:
    centre = h3.latlng_to_cell(-30.03, -51.2, resolution)
    cells = list(h3.grid_disk(centre, 2))
    shapes = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    demand = gpd.GeoDataFrame({"id": cells}, geometry=shapes, crs="EPSG:4326")
    expected = math.sqrt(statistics.median(h3.cell_area(c, unit="m^2") for c in cells))   # h3's geodesic areas
    assert cell_size_m(SimpleNamespace(demand=demand)) == pytest.approx(expected, rel=0.01)


def test_points_have_no_cell_size() -> None:
    demand = gpd.GeoDataFrame({"id": ["a"]}, geometry=gpd.points_from_xy([-51.2], [-30.0]), crs="EPSG:4326")
    assert cell_size_m(SimpleNamespace(demand=demand)) is None
