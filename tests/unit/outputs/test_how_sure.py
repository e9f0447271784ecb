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
def test_h3_cell_size_is_the_width_the_site_labels_give(resolution: int) -> None:
    """H3 cells: the width across flats of a regular hexagon of the cell's area, sqrt(2A/sqrt(3)), as the sites'
    labels say it (one figure on the page)."""
    centre = h3.latlng_to_cell(-30.03, -51.2, resolution)
    cells = list(h3.grid_disk(centre, 2))
    shapes = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    demand = gpd.GeoDataFrame({"id": cells}, geometry=shapes, crs="EPSG:4326")
    expected = statistics.median(math.sqrt(2 * h3.cell_area(c, unit="m^2") / math.sqrt(3)) for c in cells)
    assert cell_size_m(SimpleNamespace(demand=demand)) == pytest.approx(expected, abs=5)


def test_other_cells_measure_the_side_of_their_area() -> None:
    """Square pixels (no H3 ids): the side of a square of their median area."""
    side = 0.002   # degrees, about 190 x 220 m at this latitude
    shapes = [Polygon([(x, -30.0), (x + side, -30.0), (x + side, -30.0 + side), (x, -30.0 + side)])
              for x in (-51.2, -51.198, -51.196)]
    demand = gpd.GeoDataFrame({"id": ["p1", "p2", "p3"]}, geometry=shapes, crs="EPSG:4326")
    metric = demand.to_crs(demand.estimate_utm_crs())
    expected = math.sqrt(statistics.median(metric.area))
    assert cell_size_m(SimpleNamespace(demand=demand)) == pytest.approx(expected, rel=1e-6)


def test_points_have_no_cell_size() -> None:
    demand = gpd.GeoDataFrame({"id": ["a"]}, geometry=gpd.points_from_xy([-51.2], [-30.0]), crs="EPSG:4326")
    assert cell_size_m(SimpleNamespace(demand=demand)) is None
