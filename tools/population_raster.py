"""Write a population GeoTIFF from population polygons (a grid, census tracts or H3 cells).

Each polygon's people are spread evenly over the pixels whose centre lies in
it (a polygon smaller than a pixel puts them all in the pixel holding its
representative point), so the raster's total is the polygons' total. Pixels
in no polygon are nodata (-99999, as WorldPop). The file is tiled (256 x 256
blocks by default), like the rasters allocator reads window by window.

Used by ``make demo`` to build the Helsinki raster from the HSY 250 m grid::

    python tools/population_raster.py catalog:helsinki/helsinki_population_grid_2020.gpkg \\
        maps/data/helsinki_population_250m.tif --crs EPSG:3879 --resolution 250

and by ``benchmarks/bench_raster_pmedian.py`` (the Porto Alegre H3 cells at 100 m).
A CSV input needs ``--h3 COLUMN`` (its H3 cells are the polygons).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
from shapely.geometry import Polygon

NODATA = -99999.0


def h3_polygons(table: pd.DataFrame, column: str) -> gpd.GeoSeries:
    """The H3 cells of ``column`` as polygons in EPSG:4326."""
    return gpd.GeoSeries([Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(str(c))]) for c in table[column]],
                         crs="EPSG:4326")


def write_population_raster(polygons: gpd.GeoSeries, population: np.ndarray, path: Path, *, crs: str,
                            resolution: float, block: int = 256) -> int:
    """Write the raster (see the module docstring); returns the number of populated pixels."""
    shapes = polygons.to_crs(crs).reset_index(drop=True)
    minx, miny, maxx, maxy = shapes.total_bounds
    left, top = math.floor(minx / resolution) * resolution, math.ceil(maxy / resolution) * resolution
    width = max(1, math.ceil((maxx - left) / resolution))
    height = max(1, math.ceil((top - miny) / resolution))
    transform = rasterio.Affine(resolution, 0.0, left, 0.0, -resolution, top)
    owner = rasterio.features.rasterize(((g, i + 1) for i, g in enumerate(shapes)), out_shape=(height, width),
                                        transform=transform, fill=0, dtype="int32")
    counts = np.bincount(owner.ravel(), minlength=len(shapes) + 1)[1:]
    values = np.asarray(population, dtype=np.float64)
    raster = np.full((height, width), NODATA)
    covered = owner > 0
    raster[covered] = values[owner[covered] - 1] / counts[owner[covered] - 1]
    for i in np.flatnonzero(counts == 0):   # smaller than a pixel: all in the pixel holding a point inside it
        point = shapes.iloc[i].representative_point()
        row, col = rasterio.transform.rowcol(transform, point.x, point.y)
        raster[row, col] = max(raster[row, col], 0.0) + values[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "height": height, "width": width, "count": 1, "dtype": "float64", "crs": crs,
               "transform": transform, "nodata": NODATA, "compress": "deflate"}
    if height >= block and width >= block:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    with rasterio.open(path, "w", **profile) as out:
        out.write(raster, 1)
    return int((raster > 0).sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="polygon layer (GeoPackage, GeoJSON, ...) or CSV with --h3; or catalog:<key>")
    parser.add_argument("output", type=Path, help="GeoTIFF to write")
    parser.add_argument("--population", default="population", help="population column (default population)")
    parser.add_argument("--h3", help="CSV input: the column of H3 cell ids")
    parser.add_argument("--crs", required=True, help="metric CRS of the raster, e.g. EPSG:3879")
    parser.add_argument("--resolution", type=float, required=True, help="pixel size in the CRS's units (metres)")
    args = parser.parse_args(argv)
    from allocator.errors import AllocatorError
    from allocator.scenario import catalog

    try:
        source = catalog.resolve(args.source) if catalog.is_catalog_ref(args.source) else Path(args.source)
    except AllocatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.h3:
        table = pd.read_csv(source, dtype={args.h3: str})
        polygons = h3_polygons(table, args.h3)
    else:
        table = gpd.read_file(source)
        polygons = table.geometry
    pixels = write_population_raster(polygons, table[args.population].to_numpy(float), args.output,
                                     crs=args.crs, resolution=args.resolution)
    print(f"{args.output}: {table[args.population].sum():,.0f} people in {pixels:,} populated pixels "
          f"of {args.resolution:g} m")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
