"""Reading a country-sized population raster window by window: time and memory against reading it whole.

Instance: a synthetic tiled GeoTIFF (float32, deflate, 256 x 256 blocks) of
``--size`` x ``--size`` pixels of 100 m in UTM 32N (8,000 x 8,000: 800 x 800 km,
about Germany's extent), ``--populated`` of the pixels holding 1 to 50 people in
clusters, the rest nodata. allocator reads it with ``aggregate: h3`` at
``--h3-resolution`` (``allocator.inputs.raster.read_raster``). Peer, same file and
process: ``rasterio``'s whole-band read plus a numpy masked sum, what a
non-windowed reader does before it can aggregate anything. Printed: wall times,
the growth of the peak RSS over each step, and both totals (they must match).

Run::

    python benchmarks/bench_raster_read.py [--size 8000] [--populated 0.1] [--h3-resolution 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poa  # noqa: E402

from allocator.inputs.raster import read_raster  # noqa: E402
from allocator.scenario.schema import RasterSpec  # noqa: E402

NODATA = -99999.0


def write(path: Path, size: int, populated: float) -> None:
    """The synthetic raster, written block row by block row (never whole in memory)."""
    rng = np.random.default_rng(17)
    profile = {"driver": "GTiff", "height": size, "width": size, "count": 1, "dtype": "float32",
               "crs": "EPSG:32632", "transform": rasterio.Affine(100.0, 0.0, 300_000.0, 0.0, -100.0, 6_100_000.0),
               "nodata": NODATA, "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as out:
        for top in range(0, size, 256):
            rows = min(256, size - top)
            coarse = rng.random((rows // 16 + 1, size // 16 + 1)) < populated
            mask = np.kron(coarse, np.ones((16, 16), dtype=bool))[:rows, :size]
            band = np.where(mask, rng.integers(1, 51, size=(rows, size)), NODATA).astype("float32")
            out.write(band, 1, window=rasterio.windows.Window(0, top, size, rows))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=8000, help="pixels per side (default 8000)")
    ap.add_argument("--populated", type=float, default=0.1, help="share of populated pixels (default 0.1)")
    ap.add_argument("--h3-resolution", type=int, default=6)
    a = ap.parse_args(argv)
    _poa.header(f"raster read, {a.size:,} x {a.size:,} pixels, {a.populated:.0%} populated, h3 {a.h3_resolution}", 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "country.tif"
        t0 = time.perf_counter()
        write(path, a.size, a.populated)
        print(f"file    : {path.stat().st_size / 2**20:.0f} MB on disk, {a.size * a.size * 4 / 2**30:.2f} GB as float32 "
              f"in memory; written in {time.perf_counter() - t0:.1f} s; peak RSS {_poa.peak_rss_gb():.2f} GB")
        base = _poa.peak_rss_gb()
        t0 = time.perf_counter()
        frame, read = read_raster(path, RasterSpec(aggregate="h3", h3_resolution=a.h3_resolution), "demand[0]")
        t_alloc = time.perf_counter() - t0
        alloc_peak = _poa.peak_rss_gb()
        print(f"allocator: {read.total:,.0f} people in {read.pixels:,} pixels -> {len(frame):,} H3 cells; "
              f"{read.windows:,} windows of at most {read.largest_window:,} pixels; {t_alloc:.1f} s; "
              f"peak RSS grew by {alloc_peak - base:.2f} GB")
        t0 = time.perf_counter()
        with rasterio.open(path) as src:
            whole = src.read(1)
        peer_total = float(whole[whole != NODATA].astype(np.float64).sum())
        t_peer = time.perf_counter() - t0
        del whole
        peer_peak = _poa.peak_rss_gb()
        print(f"peer    : whole-band read + masked sum: {peer_total:,.0f} people; {t_peer:.1f} s; "
              f"peak RSS grew by {peer_peak - alloc_peak:.2f} GB more (it holds the band at once)")
        print(f"check   : totals match: {peer_total == read.total and peer_total == float(frame['value'].sum())}")
        print(f"ratio   : time allocator / peer {t_alloc / t_peer:.1f}x (allocator also aggregates to H3); "
              f"memory: allocator's growth {alloc_peak - base:.2f} GB vs the whole band's "
              f"{a.size * a.size * 4 / 2**30:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
