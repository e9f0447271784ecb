"""When (nearly) nothing is near the road network, stop and say why that usually happens.

A run where every person is "beyond 500 m of a road" is not a result: the
demand or the sites are somewhere else than the network (longitude and
latitude swapped, a layer in another CRS declared as WGS84, the extract of
another city).  :func:`check_reach` turns that into an input error with the
likely cause, instead of an "optimal" plan where everyone is underserved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.errors import AllocatorError
from allocator.traveltime.graph import NetworkArrays

#: share of the demand (people) that may be beyond the snapping limit before the run stops
MAX_UNREACHED_SHARE = 0.99


@dataclass(frozen=True, eq=False)
class Reach:
    """Points snapped to a road network: what they are, where, which snapped within the limit, and their weight."""

    what: str
    lon: np.ndarray
    lat: np.ndarray
    reachable: np.ndarray
    weight: np.ndarray | None = None
    """people per point; ``None``: every point counts the same"""


def check_reach(points: Reach, network: NetworkArrays, limit_m: float, *, file: str | None, field: str) -> None:
    """Raise when all (with a weight: over :data:`MAX_UNREACHED_SHARE` of the weight) of ``points`` is unreachable.

    ``points.reachable`` says whether each point snapped within ``limit_m``;
    the bounding box of the ``network``'s nodes tells whether swapped
    coordinates would have fitted.
    """
    what, lon, lat, reachable, weight = points.what, points.lon, points.lat, points.reachable, points.weight
    if not len(reachable):
        return
    if weight is None or not np.nansum(weight) > 0:
        share = float(np.mean(~reachable))
        blocked = share == 1.0
    else:
        share = float(np.sum(np.where(reachable, 0.0, weight)) / np.sum(weight))
        blocked = share > MAX_UNREACHED_SHARE
    if not blocked:
        return
    network_lon, network_lat = network.lon, network.lat
    west, east = float(np.min(network_lon)), float(np.max(network_lon))
    south, north = float(np.min(network_lat)), float(np.max(network_lat))
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    swapped = (lat >= west) & (lat <= east) & (lon >= south) & (lon <= north)
    if swapped.mean() > 0.5:
        cause = "longitude and latitude look swapped: swapped, they fall inside the network's area"
        fix = "exchange the lon: and lat: columns of this layer"
    elif inside.mean() > 0.5:
        cause = f"they lie inside the network's area but far from its roads for this mode (limit {limit_m:g} m)"
        fix = "check the travel mode and the network extract, or raise network.max_snap_m"
    else:
        cause = "they lie outside the network's area: a layer in another CRS than declared, or a network of another city"
        fix = (f"the network covers lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}; the points are around "
               f"lon {float(np.median(lon)):.4f}, lat {float(np.median(lat)):.4f}. Check the layer's CRS and the "
               "network source")
    raise AllocatorError(f"{share:.0%} of the {what} are more than {limit_m:g} m from the road network: {cause}",
                         file=file, field=field, fix=fix)
