"""Population rasters (GeoTIFF): people per pixel read window by window into demand locations.

A pixel's value is the number of people living in it, as GDAL reads it
(``value * scale + offset`` when the band has a scale or offset). Pixels
outside the band's mask (its nodata value, an internal mask or an alpha band)
and pixels with 0 people are skipped; every other value must be a finite
number >= 0, and the raster's total at most :data:`allocator.inputs.layers.MAX_VALUE`.
Complex-valued bands are refused.

The file is opened as a GeoTIFF only (GDAL's ``GTiff`` driver, no sibling
files, no ``/vsi`` path), so a ``.tif`` that is really a VRT or another format
cannot make GDAL read other files or URLs. Before any pixel is read, the
decoded size the file declares (width x height x bands x bytes per value) must
be under :func:`allocator.files.decoded_limit` of its size: a small file
declaring billions of pixels, or many tiles pointing at one compressed tile,
is refused at once. A read that fails (a truncated or damaged file) is an
input error naming the file. The raster is read one block window at a time
(``rasterio``'s ``block_windows``, a block larger than
:data:`MAX_WINDOW_PIXELS` in bands of rows), so a country's 100 m raster is
never held in memory whole: only the populated pixels of the current window,
and the running sums per H3 cell or zone (GDAL's block cache is capped at
:data:`GDAL_CACHE_MB` while reading).

Three ways to turn pixels into demand locations (``raster.aggregate``):

``pixel``
    one location per populated pixel, at the pixel's centre (id ``r<row>c<col>``,
    drawn as the pixel's square);
``h3``
    the pixels summed per H3 cell of ``h3_resolution``: a pixel counts whole
    in the cell holding its centre (``h3.latlng_to_cell``); at most
    :data:`MAX_PIXELS` cells, like pixels;
``polygons``
    the pixels summed per zone polygon (``zones``): a pixel counts whole in the
    zone holding its centre (a centre on a shared border goes to the first such
    zone in the file); the people of pixels whose centre lies in no zone are
    reported, not spread.

No pixel is split, so the locations' populations add up to the raster's
total exactly, up to the order of float64 additions (``polygons``: the total
less the people outside every zone, which the run notes give).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from shapely.geometry import Polygon

from allocator.errors import AllocatorError
from allocator.files import decoded_limit, decoded_size_error, megabytes
from allocator.inputs.layers import COLUMNS, MAX_VALUE, read_layer
from allocator.scenario.schema import DemandLayer, LayerSpec, RasterSpec

#: most populated pixels (or H3 cells) one layer may give as demand points (beyond that the matrix would not fit)
MAX_PIXELS = 200_000
#: most pixels read at once: a block larger than this (a striped file written as one strip) is read in row bands
MAX_WINDOW_PIXELS = 1 << 22
#: GDAL's block cache while reading (MB): decoded blocks are read once, so a small cache bounds memory
GDAL_CACHE_MB = 64
#: GDAL's configuration while a raster is read: the block cache, no sibling files (``.ovr``, ``.aux.xml``),
#: no Python code in VRT pixel functions, no HTTP (the file itself is opened with the GTiff driver only)
GDAL_OPTIONS = {"GDAL_CACHEMAX": GDAL_CACHE_MB, "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
                "GDAL_VRT_ENABLE_PYTHON": "NO", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none"}
#: how to write a raster GDAL reads again (the fix of a damaged or oddly built file)
REEXPORT = "re-export the raster as a tiled GeoTIFF, e.g. gdal_translate -co TILED=YES -co COMPRESS=DEFLATE in.tif out.tif"


@dataclass(frozen=True)
class RasterRead:
    """What reading a raster found: the run note's figures and the proof of windowed reading."""

    total: float          # people in every valid pixel
    pixels: int           # populated pixels
    windows: int          # windows read
    largest_window: int   # pixels in the largest window read (the most held in memory at once)
    outside_zones: float  # people in pixels whose centre lies in no zone (aggregate: polygons)

    def note(self, path: Path) -> str:
        """The run note: how many people the raster held and where they went."""
        text = (f"raster {path.name}: {self.total:,.0f} people in {self.pixels:,} populated pixels "
                f"(read in {self.windows:,} window{'' if self.windows == 1 else 's'})")
        if self.outside_zones:
            text += f"; {self.outside_zones:,.0f} of them in pixels outside every zone, left out"
        return text


@dataclass
class _Pixels:
    """The populated pixels of one window: centres in lon/lat, values, and raster row/col."""

    rows: np.ndarray
    cols: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    value: np.ndarray


def read_raster_layer(path: Path, spec: LayerSpec, field: str, zones: Path | None = None) -> gpd.GeoDataFrame:
    """A demand layer from a GeoTIFF, its zones read when it aggregates to polygons.

    ``zones`` is the file of ``raster.zones`` resolved (without it the path is
    taken as the scenario gives it). The run note is in the frame's ``attrs["notes"]``.
    """
    options = spec.raster if isinstance(spec, DemandLayer) and spec.raster is not None else RasterSpec()
    zone_frame = None
    if options.zones is not None:
        zone_field = f"{field}.raster.zones"
        zone_frame = read_layer(zones if zones is not None else Path(options.zones),
                                LayerSpec(source=options.zones, layer=options.zones_layer, id=options.zones_id,
                                          name_column=options.zones_name),
                                value_column=None, field=zone_field)
    frame, read = read_raster(path, options, field, zone_frame)
    frame.attrs["notes"] = [read.note(path)]
    return frame


def read_raster(path: Path, spec: RasterSpec, field: str,
                zones: gpd.GeoDataFrame | None = None) -> tuple[gpd.GeoDataFrame, RasterRead]:
    """Demand locations of a population raster (see the module docstring) and what was read.

    ``zones`` (EPSG:4326, with ``id``, ``lon``, ``lat`` and polygon ``geometry``)
    is needed for ``aggregate: polygons``. The frame has the layer columns
    :data:`allocator.inputs.layers.COLUMNS`.
    """
    if str(path).startswith("/vsi"):
        raise AllocatorError("a GDAL virtual path is not read as a raster", file=path, field=f"{field}.source",
                             fix="give the path of a GeoTIFF file on this computer")
    with rasterio.Env(**GDAL_OPTIONS):
        try:
            src = rasterio.open(path, driver="GTiff")
        except (RasterioError, OSError) as exc:
            raise AllocatorError(f"cannot read the raster ({exc})", file=path, field=f"{field}.source",
                                 fix="give a GeoTIFF (.tif) with people per pixel") from None
        with src:
            _check(src, spec, path, field)
            try:
                return _read(src, path, spec, field, zones)
            except (RasterioError, MemoryError) as exc:   # a truncated or damaged block, a block too large
                detail = exc.__cause__ or exc
                raise AllocatorError(f"cannot read the raster's pixels ({type(detail).__name__}: {detail})",
                                     file=path, field=f"{field}.source", fix=REEXPORT) from None


def _read(src: rasterio.DatasetReader, path: Path, spec: RasterSpec, field: str,
          zones: gpd.GeoDataFrame | None) -> tuple[gpd.GeoDataFrame, RasterRead]:
    to_wgs84 = pyproj.Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    totals = _Totals(spec, zones, path, field, src)
    windows = largest = 0
    total = 0.0
    for pixels, size in _windows(src, spec.band, to_wgs84, path, field):
        windows += 1
        largest = max(largest, size)
        total += float(pixels.value.sum())
        if not total <= MAX_VALUE:
            raise AllocatorError(f"the raster holds more than {MAX_VALUE:g} people (its largest pixel: "
                                 f"{pixels.value.max():g})", file=path, field=f"{field}.source",
                                 fix="people per pixel are counts of people: check the band, its scale and "
                                     "its nodata value")
        totals.add(pixels)
    frame = totals.frame(src)
    read = RasterRead(total=total, pixels=totals.pixels, windows=windows, largest_window=largest,
                      outside_zones=totals.outside)
    if frame.empty:
        raise AllocatorError("the raster has no populated pixel" + (" inside the zones" if zones is not None else ""),
                             file=path, field=f"{field}.source",
                             fix="check the band (raster.band), the nodata value and that the zones overlap the raster")
    return frame, read


def _check(src: rasterio.DatasetReader, spec: RasterSpec, path: Path, field: str) -> None:
    """The declared size fits the decoded-size budget, the band exists and holds real numbers, and the
    CRS has units (degrees or a length)."""
    decoded = src.width * src.height * sum(np.dtype(dtype).itemsize for dtype in src.dtypes)
    limit = decoded_limit(path.stat().st_size)
    if decoded > limit:
        raise decoded_size_error(path, f"the raster declares {src.width:,} x {src.height:,} pixels x {src.count} "
                                 f"band(s), {megabytes(decoded)} MB decoded:", limit, f"{field}.source",
                                 fix="if it is, crop it to the area planned for (gdal_translate -projwin) "
                                     "or split it into smaller files")
    if spec.band > src.count:
        raise AllocatorError(f"the raster has {src.count} band(s), not band {spec.band}", file=path,
                             field=f"{field}.raster.band", fix=f"choose a band from 1 to {src.count}")
    if np.dtype(src.dtypes[spec.band - 1]).kind == "c":
        raise AllocatorError(f"band {spec.band} holds complex numbers ({src.dtypes[spec.band - 1]}), not people",
                             file=path, field=f"{field}.raster.band",
                             fix="give a band of real numbers (people per pixel), e.g. gdal_translate -ot Float32")
    crs = src.crs
    if crs is None:
        raise AllocatorError("the raster has no CRS", file=path, field=f"{field}.source",
                             fix="set it, e.g. gdal_edit.py -a_srs EPSG:4326 FILE.tif (WorldPop and GHSL files have one)")
    if not (crs.is_geographic or (crs.is_projected and crs.linear_units not in ("", "unknown"))):
        raise AllocatorError(f"the raster's CRS has no units ({crs.to_string()[:80]})", file=path,
                             field=f"{field}.source",
                             fix="give the raster a geographic or projected CRS, e.g. gdal_edit.py -a_srs EPSG:4326")


def _windows(src: rasterio.DatasetReader, band: int, to_wgs84: pyproj.Transformer, path: Path,
             field: str) -> Iterator[tuple[_Pixels, int]]:
    """The populated pixels of each block window (scaled, masked), with the window's size in pixels."""
    nodata, scale, offset = src.nodatavals[band - 1], src.scales[band - 1], src.offsets[band - 1]
    for window in _bounded_windows(src, band):
        data = src.read(band, window=window).astype(np.float64) * scale + offset
        valid = src.read_masks(band, window=window) > 0
        bad = valid & ~np.isfinite(data)
        if bad.any():
            raise AllocatorError(f"the raster has {int(bad.sum())} empty (NaN) or infinite pixels in window "
                                 f"at row {window.row_off}, column {window.col_off}, and no nodata value for them",
                                 file=path, field=f"{field}.source",
                                 fix="declare the nodata value, e.g. gdal_edit.py -a_nodata nan FILE.tif")
        negative = valid & (data < 0)
        if negative.any():
            raise AllocatorError(f"the raster has negative values (e.g. {data[negative][0]:g}) that are not its "
                                 f"nodata value ({nodata})", file=path, field=f"{field}.source",
                                 fix="people per pixel are >= 0: declare the raster's nodata value "
                                     "(e.g. gdal_edit.py -a_nodata -99999 FILE.tif)")
        rows, cols = np.nonzero(valid & (data > 0))
        value = data[rows, cols]
        rows = rows + window.row_off
        cols = cols + window.col_off
        x, y = src.transform @ (cols + 0.5, rows + 0.5)
        lon, lat = to_wgs84.transform(np.asarray(x, float), np.asarray(y, float))
        if not ((np.abs(lon) <= 180).all() and (np.abs(lat) <= 90).all()):   # also false for NaN
            raise AllocatorError("pixel centres fall outside the Earth's longitudes and latitudes", file=path,
                                 field=f"{field}.source",
                                 fix="check the raster's CRS and geotransform (gdalinfo FILE.tif)")
        yield _Pixels(rows, cols, np.asarray(lon), np.asarray(lat), value), int(data.size)


def _bounded_windows(src: rasterio.DatasetReader, band: int) -> Iterator[Window]:
    """The band's block windows, each cut into bands of rows of at most :data:`MAX_WINDOW_PIXELS` pixels."""
    for _, block in src.block_windows(band):
        rows = max(1, MAX_WINDOW_PIXELS // max(1, int(block.width)))
        for start in range(0, int(block.height), rows):
            yield Window(block.col_off, block.row_off + start, block.width, min(rows, int(block.height) - start))


def _h3_resolution_that_fits(src: rasterio.DatasetReader) -> int:
    """The finest H3 resolution at which at most MAX_PIXELS cells overlap the raster's extent (so however
    its pixels are populated, they fall in at most that many cells; resolution 0 has 122 cells)."""
    west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    west, east = max(west, -180.0), min(east, 180.0)
    south, north = max(south, -90.0), min(north, 90.0)
    extent = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    fits = 0
    for res in range(16):
        if len(h3.h3shape_to_cells_experimental(extent, res, contain="overlap")) > MAX_PIXELS:
            break
        fits = res
    return fits


class _Totals:
    """The running result: populated pixels kept, or people summed per H3 cell or per zone."""

    def __init__(self, spec: RasterSpec, zones: gpd.GeoDataFrame | None, path: Path, field: str,
                 src: rasterio.DatasetReader) -> None:
        self.spec, self.zones, self.path, self.field, self.src = spec, zones, path, field, src
        self.parts: list[_Pixels] = []
        self.cells: dict[str, float] = {}
        self.zone_sums = np.zeros(0 if zones is None else len(zones))
        self.tree = shapely.STRtree(zones.geometry.to_numpy()) if zones is not None else None
        self.pixels = 0
        self.outside = 0.0

    def add(self, pixels: _Pixels) -> None:
        self.pixels += len(pixels.value)
        if self.spec.aggregate == "pixel":
            if self.pixels > MAX_PIXELS:
                raise AllocatorError(f"the raster has more than {MAX_PIXELS:,} populated pixels: too many demand "
                                     "points for a travel-time matrix", file=self.path, field=f"{self.field}.raster",
                                     fix="aggregate them: raster: {aggregate: h3, h3_resolution: 9} (or polygons)")
            self.parts.append(pixels)
        elif self.spec.aggregate == "h3":
            res = int(self.spec.h3_resolution or 0)
            cells = pd.Series(pixels.value).groupby(
                [h3.latlng_to_cell(la, lo, res) for lo, la in zip(pixels.lon, pixels.lat)]).sum()
            for cell, value in cells.items():
                self.cells[str(cell)] = self.cells.get(str(cell), 0.0) + float(value)
            if len(self.cells) > MAX_PIXELS:
                raise AllocatorError(
                    f"h3_resolution {res} gives more than {MAX_PIXELS:,} populated cells: too many demand points "
                    "for a travel-time matrix", file=self.path, field=f"{self.field}.raster.h3_resolution",
                    fix=f"choose a coarser resolution: h3_resolution: {_h3_resolution_that_fits(self.src)} or less "
                        "gives at most that many cells over the raster")
        else:
            zone = self._zone_of(pixels)
            inside = zone >= 0
            self.zone_sums += np.bincount(zone[inside], weights=pixels.value[inside], minlength=len(self.zone_sums))
            self.outside += float(pixels.value[~inside].sum())

    def _zone_of(self, pixels: _Pixels) -> np.ndarray:
        """Index of the first zone holding each pixel centre; -1 for none."""
        zone = np.full(len(pixels.value), -1, dtype=np.int64)
        if self.tree is None or not len(zone):
            return zone
        point_index, zone_index = self.tree.query(shapely.points(pixels.lon, pixels.lat), predicate="intersects")
        order = np.lexsort((zone_index, point_index))
        point_index, zone_index = point_index[order], zone_index[order]
        first = np.ones(len(point_index), dtype=bool)
        first[1:] = point_index[1:] != point_index[:-1]
        zone[point_index[first]] = zone_index[first]
        return zone

    def frame(self, src: rasterio.DatasetReader) -> gpd.GeoDataFrame:
        if self.spec.aggregate == "pixel":
            return self._pixel_frame(src)
        if self.spec.aggregate == "h3":
            cells = list(self.cells)
            centres = [h3.cell_to_latlng(c) for c in cells]
            table = pd.DataFrame({"id": cells, "value": list(self.cells.values()), "name": "",
                                  "lon": [c[1] for c in centres], "lat": [c[0] for c in centres]})
            geometry = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
            return gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")[COLUMNS]
        assert self.zones is not None
        zones = self.zones.assign(value=self.zone_sums)
        return gpd.GeoDataFrame(zones[zones["value"] > 0][COLUMNS].reset_index(drop=True),
                                geometry="geometry", crs="EPSG:4326")

    def _pixel_frame(self, src: rasterio.DatasetReader) -> gpd.GeoDataFrame:
        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in self.parts]) if self.parts else np.zeros(0)

        rows, cols = joined("rows").astype(np.int64), joined("cols").astype(np.int64)
        left, top = src.transform @ (cols, rows)
        right, bottom = src.transform @ (cols + 1, rows + 1)
        squares = gpd.GeoSeries(shapely.box(left, bottom, right, top), crs=src.crs).to_crs("EPSG:4326")
        return gpd.GeoDataFrame({"id": [f"r{r}c{c}" for r, c in zip(rows, cols)], "value": joined("value"),
                                 "name": "", "lon": joined("lon"), "lat": joined("lat")},
                                geometry=squares.to_numpy(), crs="EPSG:4326")[COLUMNS]
