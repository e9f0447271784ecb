"""A scenario's public-transport network as a travel-time source: GTFS feeds ridden from the walk network.

:class:`TransitSource` reads the OpenStreetMap file as a walk network and the
feeds' trips of the departure date (:func:`allocator.inputs.gtfs.read_timetable`),
then gives each service the percentile over the window of the door-to-door
minutes (:mod:`.transit`), cached (:mod:`.transit_cache`) by everything that
decides them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.gtfs import Timetable, read_timetable
from allocator.inputs.place_names import StreetIndex, street_index
from allocator.scenario.paths import Origin
from allocator.scenario.schema import NetworkSpec, Service
from allocator.traveltime.graph import NetworkArrays, network_arrays, snap_points
from allocator.traveltime.network_report import NetworkReport
from allocator.traveltime.network_source import network_cache_dir, road_network, snap_service
from allocator.traveltime.source import ServiceTimes
from allocator.traveltime.transit import TransitSettings, transit_legs, window_percentiles
from allocator.traveltime.transit_cache import matrix_key, read_matrix, write_matrix

#: longest ride the window's last departure may still need, seconds: trips starting this long after it are not read
MAX_RIDE_S = 3 * 3600


def transit_settings(spec: NetworkSpec) -> TransitSettings:
    """The routing settings of a ``mode: transit`` network section (the unset ones at their defaults)."""
    assert spec.departure is not None
    start = spec.departure
    given = {key: getattr(spec, key) for key in ("window_min", "percentile", "max_transfers", "max_walk_min")
             if getattr(spec, key) is not None}
    return TransitSettings(departure_s=start.hour * 3600 + start.minute * 60 + start.second, **given)


def stops_off_network_note(timetable: Timetable, off: np.ndarray, max_snap_m: float) -> str | None:
    """How many stops lie beyond ``max_snap_m`` of the walk network, and the share of stop calls at them."""
    if not off.any():
        return None
    calls = np.zeros(len(off))
    for pattern in timetable.patterns:
        np.add.at(calls, pattern.stops, pattern.departures.shape[0])
    share = calls[off].sum() / calls.sum() if calls.sum() else 0.0
    return (f"{int(off.sum()):,} of {len(off):,} public-transport stops ({off.mean():.0%}) are more than "
            f"{max_snap_m:g} m from the walk network (outside the OpenStreetMap extract): nobody boards or leaves "
            f"there; {share:.0%} of the stop calls in the window are at them")


@dataclass(frozen=True, eq=False)
class TransitSource:
    """Public transport and walking (a TravelTimeSource): the walk network, the feeds' trips, the settings."""

    spec: NetworkSpec
    arrays: NetworkArrays
    timetable: Timetable
    report: NetworkReport
    key_parts: tuple[str, ...]   # what the cached matrices depend on besides the points
    stops_off: np.ndarray        # bool per stop: beyond the snapping limit of the walk network
    scenario: Path | None = None
    timing_key: str = "network_s"
    streets: StreetIndex | None = None

    @classmethod
    def open(cls, spec: NetworkSpec, source: Path, feeds: Sequence[Path], origin: Origin,
             log: Callable[[str], None]) -> TransitSource:
        """Read the walk network of ``source`` and the trips of ``feeds`` on the departure date."""
        try:
            road = road_network(source, "walk", log=log)
        except AllocatorError as exc:
            exc.field = exc.field or origin.at("source").field
            raise (exc if origin.scenario is None else exc.with_file(origin.scenario)) from None
        settings = transit_settings(spec)
        assert spec.departure is not None
        end_s = settings.departure_s + 60 * settings.window_min + MAX_RIDE_S
        try:
            timetable = read_timetable(list(feeds), spec.departure.date(), settings.departure_s, end_s)
        except AllocatorError as exc:
            exc.field = exc.field or origin.at("gtfs").field
            raise
        if not timetable.patterns:
            raise AllocatorError(
                f"no trip of the feeds runs on {spec.departure:%A %Y-%m-%d} between {spec.departure:%H:%M} and "
                f"{end_s // 3600:02d}:{end_s % 3600 // 60:02d}", file=origin.scenario, field=origin.at("departure").field,
                fix="choose a departure time when the feeds run (their trips' times are in stop_times.txt)")
        log(f"network (transit): {road.report.nodes_kept:,} walkable nodes; "
            + "; ".join(f"{f.name}: {f.trips:,} trips ({f.first_date}..{f.last_date})" for f in timetable.feeds))
        arrays = network_arrays(road.graph)
        off = ~snap_points(arrays, timetable.stop_lon, timetable.stop_lat, spec.max_snap_m).reachable
        report = dataclasses.replace(road.report, mode="transit")
        return cls(spec, arrays, timetable, report, matrix_key(source, feeds, spec), off, origin.scenario,
                   streets=street_index(road.graph))

    def service_times(self, service: Service, field: str, demand: pd.DataFrame, sites: pd.DataFrame) -> ServiceTimes:
        """The window's percentile of door-to-door minutes by public transport and walking."""
        spec = self.spec
        demand_snap, site_snap, notes = snap_service(self.arrays, spec.max_snap_m, service, field, demand, sites,
                                                     self.scenario)
        path = network_cache_dir() / "transit"
        points = (demand["lon"].to_numpy(), demand["lat"].to_numpy(), sites["lon"].to_numpy(), sites["lat"].to_numpy())
        cost = read_matrix(path, self.key_parts, points)
        if cost is None:
            settings = transit_settings(spec)
            legs = transit_legs(self.arrays, self.timetable, demand_snap, site_snap, settings, spec.max_snap_m)
            cost = window_percentiles(legs, settings, [settings.percentile])[0]
            write_matrix(path, self.key_parts, points, cost)
        note = stops_off_network_note(self.timetable, self.stops_off, spec.max_snap_m)
        return ServiceTimes(cost, notes + ([note] if note else []))
