"""Coordinates and shapes at the input boundary: longitudes and latitudes checked for range, invalid
polygons repaired, and the metric CRS distances and areas are measured in.

Every reader converts its data to WGS84 (EPSG:4326) and checks the result
with :func:`check_lonlat` (vector files and polygons: :func:`wgs84_shapes`,
which also repairs invalid shapes such as self-intersecting "bowties" with
shapely's ``make_valid``, so GEOS never fails on them later, when the map
dissolves them after the solve). A layer whose coordinates fall outside
-180..180 / -90..90 almost always carries the wrong CRS (metres declared as
degrees, or none converted), and pyproj would otherwise fail later without
naming the file. :func:`metric_crs` is the WGS 84 / UTM zone of a point, as
geopandas' ``estimate_utm_crs`` picks it, except where UTM is not defined
(north of 84°N or south of 80°S), where it is a Lambert azimuthal
equal-area projection centred on the point, so polar data is measured rather
than failing.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pyproj.aoi
import pyproj.database
import shapely
from shapely.errors import ShapelyError

from allocator.errors import AllocatorError


def check_lonlat(lon: np.ndarray, lat: np.ndarray, *, file: str | Path, field: str) -> None:
    """An :class:`AllocatorError` naming ``file`` and ``field`` when a finite ``lon``/``lat`` (one per row of
    the file) is out of range; non-finite values are left to the caller (an empty cell is another error)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    raise AllocatorError(
        f"{int(bad.sum()):,} rows have coordinates out of range for longitude/latitude "
        f"(first: row {first + 1} at lon={lon[first]:g}, lat={lat[first]:g})", file=file, field=field,
        fix="is the layer's CRS right? Longitudes must lie in -180..180 and latitudes in -90..90 once converted "
            "to WGS84 (EPSG:4326); set the CRS the coordinates are really in (e.g. in QGIS) and save the file again")


def metric_crs(lon: float, lat: float) -> str:
    """A CRS in metres around (``lon``, ``lat``) in degrees: its UTM zone, else (near a pole) a local
    equal-area projection (see the module docstring)."""
    if not (np.isfinite(lon) and np.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise ValueError(f"metric_crs needs a checked longitude/latitude, got ({lon}, {lat})")
    found = pyproj.database.query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=pyproj.aoi.AreaOfInterest(lon, lat, lon, lat))
    if found:
        return f"{found[0].auth_name}:{found[0].code}"
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"


def shapes_metric_crs(geometry: gpd.GeoSeries) -> str:
    """:func:`metric_crs` at the centre of the bounds of ``geometry`` (in EPSG:4326), where geopandas'
    ``estimate_utm_crs`` looks; Web Mercator for no shapes (nothing is measured then)."""
    west, south, east, north = geometry.to_crs("EPSG:4326").total_bounds
    centre = ((west + east) / 2, (south + north) / 2)
    return metric_crs(*centre) if np.isfinite(centre).all() else "EPSG:3857"


def wgs84_shapes(frame: gpd.GeoDataFrame, *, file: str | Path, field: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The rows of ``frame`` with a shape (their index kept), in EPSG:4326, checked in range and made valid;
    and the run notes.

    A missing or unusable CRS, coordinates out of range or not finite, or a shape
    GEOS cannot repair is an :class:`AllocatorError` naming ``file`` and ``field``;
    repaired shapes are told in a note.
    """
    if frame.crs is None:
        raise AllocatorError("the layer has no CRS", file=file, field=field,
                             fix="set the layer's CRS (e.g. in QGIS, or geopandas .set_crs) and save it again")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    try:
        frame = frame.to_crs("EPSG:4326")
    except pyproj.exceptions.ProjError as exc:
        raise AllocatorError(f"cannot convert the layer's CRS to WGS84 ({exc})", file=file, field=field,
                             fix="is the layer's CRS right? Give it a CRS with a known relation to WGS84 "
                                 "(e.g. an EPSG code) and save it again") from None
    coords, row = shapely.get_coordinates(frame.geometry.to_numpy(), return_index=True)
    unknown = np.unique(row[~np.isfinite(coords).all(axis=1)])
    if unknown.size:
        raise AllocatorError(f"{unknown.size:,} rows have coordinates that are not finite numbers (first: row "
                             f"{int(unknown[0]) + 1})", file=file, field=field,
                             fix="fix or remove those shapes (NaN or infinite coordinates)")
    bounds = frame.geometry.bounds.to_numpy(float)   # minx, miny, maxx, maxy
    extreme = [np.where(np.abs(bounds[:, lo]) > np.abs(bounds[:, hi]), bounds[:, lo], bounds[:, hi])
               for lo, hi in ((0, 2), (1, 3))]
    check_lonlat(extreme[0], extreme[1], file=file, field=field)
    invalid = ~frame.geometry.is_valid.to_numpy()
    if invalid.any():
        try:
            repaired = shapely.make_valid(frame.geometry.to_numpy()[invalid])
        except ShapelyError as exc:
            raise AllocatorError(f"cannot repair {int(invalid.sum()):,} invalid shapes ({exc})", file=file,
                                 field=field, fix="fix the shapes (e.g. in QGIS: Vector > Geometry Tools > "
                                                  "Check Validity) and save the layer again") from None
        frame = frame.copy()
        frame.loc[invalid, frame.geometry.name] = repaired
    notes = [f"{field}: {int(invalid.sum()):,} invalid shapes in {Path(file).name} (e.g. self-intersecting) "
             f"were repaired with make_valid"] if invalid.any() else []
    return frame, notes
