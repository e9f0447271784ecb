"""Public-transport timetables from GTFS feeds: the trips running on one date near one time window, grouped
into RAPTOR patterns.

The rules (docs/traveltimes.md, "Public transport feeds", says the same for users):

- **Service on a date**: a trip runs on a date when its service_id has the weekday's flag in calendar.txt and
  the date lies in its start_date..end_date, unless calendar_dates.txt removes that date (exception_type 2);
  calendar_dates.txt adds dates (exception_type 1).  A date outside a feed's first..last service date is an
  error naming every feed's dates (a feed that silently gave no trips would make transit look worse).
- **After midnight**: times are seconds after midnight of the service date, so 25:10:00 is 90,600 s; the
  previous date's trips are also taken, shifted by -86,400 s, so those still running past midnight reach a
  window early in the morning.
- **Empty times** (non-timepoints): filled linearly between the surrounding timed stops, by
  shape_dist_traveled when the trip gives it at every stop (never decreasing), else by the straight-line
  distance between consecutive stops, else (all those stops at one place) evenly by the count of stops.
- **frequencies.txt**: a trip listed there is a template; it departs every headway_secs from start_time while
  before end_time, keeping its stop times relative to its first departure (exact_times 0 or 1 alike: R5
  instead randomises the departures of exact_times 0 within the headway).
- **Patterns**: trips of one route calling at the same stops in the same order, sorted by departure; a pattern
  in which one trip overtakes another is split until each part is FIFO (no trip arrives anywhere before an
  earlier-departing trip of its pattern), which RAPTOR needs.
- **Stops**: only stops some trip calls at; ids are ``"feed:stop_id"`` so feeds merge.  A trip with fewer than
  two stop times is skipped (nothing to ride).

FeedInfo counts only the trips kept (running on the date, inside the window): ``interpolated`` is the stop
times of those trips that were filled in, ``from_frequencies`` those trips expanded from frequencies.txt.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.crs import check_lonlat
from allocator.inputs.gtfs_checks import (
    FeedSource,
    bad_rows,
    column_field,
    open_feed,
    parse_dates,
    parse_numbers,
    parse_times,
    read_table,
    unique_ids,
)

#: seconds in a service day
DAY_S = 86_400
#: the mean Earth radius in metres (IUGG), for straight-line distances between stops
EARTH_RADIUS_M = 6_371_008.8
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STOP_TIMES = "stop_times.txt"


@dataclass(frozen=True)
class Pattern:
    """Trips that call at the same stops in the same order (a RAPTOR route), sorted by departure at the first stop."""

    route: str                 # "feed:route_short_name or route_id", for reports
    stops: np.ndarray          # int32 (k,), indices into Timetable.stop_ids, in calling order
    arrivals: np.ndarray       # int32 (n_trips, k), seconds after midnight of the service date
    departures: np.ndarray     # int32 (n_trips, k), departures[t, i] >= arrivals[t, i]


@dataclass(frozen=True)
class FeedInfo:
    """What the report's data table and the notes say about one feed."""

    name: str                  # file name without suffix, e.g. "poa_eptc"
    first_date: datetime.date  # first service date in calendar/calendar_dates
    last_date: datetime.date
    trips: int                 # trips running on the chosen date inside the window
    interpolated: int          # stop times filled in (non-timepoints)
    from_frequencies: int      # trips expanded from frequencies.txt


@dataclass(frozen=True)
class Timetable:
    """The trips of one or more feeds running on one date, near one time window."""

    stop_ids: np.ndarray       # object (S,), "feed:stop_id" (unique across feeds)
    stop_lon: np.ndarray       # float64 (S,)
    stop_lat: np.ndarray       # float64 (S,)
    patterns: tuple[Pattern, ...]
    feeds: tuple[FeedInfo, ...]
    date: datetime.date


def read_timetable(paths: Sequence[Path], date: datetime.date, start_s: int, end_s: int) -> Timetable:
    """Trips of the feeds at `paths` (GTFS .zip or folder) running on `date` that can be ridden between
    `start_s` and `end_s` (seconds after midnight): trips whose last arrival >= start_s and first departure <= end_s
    (the caller passes end_s = window end + the longest trip it allows). AllocatorError (exit 2) naming file and field
    on a broken feed, and naming the feeds' service dates when `date` is outside every calendar."""
    feeds = [open_feed(Path(path)) for path in paths]
    names = [feed.name for feed in feeds]
    for feed in feeds:
        if names.count(feed.name) > 1:
            raise AllocatorError(f"two feeds are named {feed.name!r}: stop ids would clash", file=feed.path,
                                 fix="rename one of the feed files (its name prefixes its stop ids)")
    calendars = [_read_calendar(feed) for feed in feeds]
    _check_date(feeds, calendars, date)
    stop_ids: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    patterns: list[Pattern] = []
    infos: list[FeedInfo] = []
    for feed, calendar in zip(feeds, calendars, strict=True):
        part = _feed_timetable(feed, calendar, date, start_s, end_s, stop_offset=sum(len(ids) for ids in stop_ids))
        stop_ids.append(part.stop_ids)
        lons.append(part.stop_lon)
        lats.append(part.stop_lat)
        patterns.extend(part.patterns)
        infos.append(part.feeds[0])
    return Timetable(stop_ids=np.concatenate(stop_ids).astype(object) if stop_ids else np.empty(0, object),
                     stop_lon=np.concatenate(lons) if lons else np.empty(0),
                     stop_lat=np.concatenate(lats) if lats else np.empty(0),
                     patterns=tuple(patterns), feeds=tuple(infos), date=date)


# ---------------------------------------------------------------- calendars


@dataclass(frozen=True)
class _Calendar:
    """A feed's services: weekly rules (calendar.txt) and dated exceptions (calendar_dates.txt)."""

    weekly: pd.DataFrame       # service_id, start, end (datetime64[D]), one bool column per weekday
    exceptions: pd.DataFrame   # service_id, date (datetime64[D]), added (bool: exception_type 1)
    first: datetime.date
    last: datetime.date


def _read_calendar(feed: FeedSource) -> _Calendar:
    """calendar.txt and/or calendar_dates.txt of ``feed`` (one of them is required), checked."""
    if not feed.has("calendar.txt") and not feed.has("calendar_dates.txt"):
        raise AllocatorError("the GTFS feed has neither calendar.txt nor calendar_dates.txt", file=feed.path,
                             field="calendar.txt", fix="a GTFS feed says on which dates its trips run in "
                                                       "calendar.txt, calendar_dates.txt or both")
    weekly = pd.DataFrame({"service_id": pd.Series(dtype=str), "start": np.empty(0, "datetime64[D]"),
                           "end": np.empty(0, "datetime64[D]")})
    if feed.has("calendar.txt"):
        txt = "calendar.txt"
        frame = read_table(feed, txt, ("service_id", *_WEEKDAYS, "start_date", "end_date"))
        weekly = pd.DataFrame({"service_id": frame["service_id"],
                               "start": parse_dates(feed, txt, "start_date", frame["start_date"]),
                               "end": parse_dates(feed, txt, "end_date", frame["end_date"])})
        for day in _WEEKDAYS:
            bad_rows(feed, txt, day, ~frame[day].isin(["0", "1"]).to_numpy(), frame[day], "a flag other than 0 or 1",
                     f"{day} is 1 when the service runs on that weekday, else 0")
            weekly[day] = frame[day] == "1"
    exceptions = pd.DataFrame({"service_id": pd.Series(dtype=str), "date": np.empty(0, "datetime64[D]"),
                               "added": np.empty(0, bool)})
    if feed.has("calendar_dates.txt"):
        txt = "calendar_dates.txt"
        frame = read_table(feed, txt, ("service_id", "date", "exception_type"))
        bad_rows(feed, txt, "exception_type", ~frame["exception_type"].isin(["1", "2"]).to_numpy(),
                 frame["exception_type"], "an exception_type other than 1 or 2",
                 "exception_type is 1 when the date is added to the service, 2 when it is removed")
        exceptions = pd.DataFrame({"service_id": frame["service_id"],
                                   "date": parse_dates(feed, txt, "date", frame["date"]),
                                   "added": frame["exception_type"] == "1"})
    dates = np.concatenate([weekly["start"].to_numpy("datetime64[D]"), weekly["end"].to_numpy("datetime64[D]"),
                            exceptions["date"][exceptions["added"]].to_numpy("datetime64[D]")])
    if not len(dates):
        raise AllocatorError("the GTFS feed has no service dates (calendar.txt and calendar_dates.txt give none)",
                             file=feed.path, field="calendar.txt",
                             fix="give the feed as published: its calendar says on which dates trips run")
    return _Calendar(weekly, exceptions, dates.min().astype(datetime.date), dates.max().astype(datetime.date))


def _check_date(feeds: Sequence[FeedSource], calendars: Sequence[_Calendar], date: datetime.date) -> None:
    """An error naming every feed's service dates when ``date`` is outside one of them."""
    outside = [feed for feed, calendar in zip(feeds, calendars, strict=True)
               if not calendar.first <= date <= calendar.last]
    if not outside:
        return
    spans = "; ".join(f"{feed.name} {calendar.first.isoformat()} to {calendar.last.isoformat()}"
                      for feed, calendar in zip(feeds, calendars, strict=True))
    raise AllocatorError(f"the date {date.isoformat()} is outside the service dates of {outside[0].name} "
                         f"(feeds: {spans})", file=outside[0].path, field="calendar.txt: start_date/end_date",
                         fix="choose a departure date inside every feed's service dates, or feeds for that date")


def _services_on(calendar: _Calendar, day: datetime.date) -> set[str]:
    """The service ids running on ``day``: calendar.txt's weekday and date range, then calendar_dates.txt."""
    when = np.datetime64(day, "D")
    weekly = calendar.weekly
    runs = weekly[_WEEKDAYS[day.weekday()]] & (weekly["start"] <= when) & (weekly["end"] >= when) \
        if len(weekly) else pd.Series(dtype=bool)
    services = set(weekly["service_id"][runs])
    today = calendar.exceptions[calendar.exceptions["date"] == when]
    return (services | set(today["service_id"][today["added"]])) - set(today["service_id"][~today["added"]])


# ---------------------------------------------------------------- stop times


@dataclass(frozen=True)
class _StopTimes:
    """Every trip's stop times, sorted by trip and stop_sequence, with every time filled in."""

    stop: np.ndarray           # int (n,), row of stops.txt
    arrival: np.ndarray        # int64 (n,), seconds after midnight
    departure: np.ndarray      # int64 (n,)
    interpolated: np.ndarray   # bool (n,), filled in here
    start: np.ndarray          # int (trips,), first row of each trip of trips.txt
    count: np.ndarray          # int (trips,), its stop times


def _read_stop_times(feed: FeedSource, trip_ids: pd.Series, stop_ids: pd.Series, lon: np.ndarray,
                     lat: np.ndarray) -> _StopTimes:
    """stop_times.txt checked (known trips and stops, stop_sequence, times) and filled in (module docstring)."""
    txt = _STOP_TIMES
    frame = read_table(feed, txt, ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
                       ("shape_dist_traveled",))

    def where(row: int) -> str:
        return f"trip {frame['trip_id'].iat[row]}, stop_sequence {frame['stop_sequence'].iat[row]}"

    trip = pd.Index(trip_ids).get_indexer(frame["trip_id"])
    bad_rows(feed, txt, "trip_id", trip < 0, frame["trip_id"], "a trip_id that trips.txt does not list",
             "every trip_id of stop_times.txt needs its row in trips.txt")
    stop = pd.Index(stop_ids).get_indexer(frame["stop_id"])
    bad_rows(feed, txt, "stop_id", stop < 0, frame["stop_id"], "a stop_id that stops.txt does not list",
             "every stop_id of stop_times.txt needs its row in stops.txt", where)
    sequence = parse_numbers(feed, txt, "stop_sequence", frame["stop_sequence"], what="whole number")
    bad_rows(feed, txt, "stop_sequence", sequence != np.floor(sequence), frame["stop_sequence"],
             "a stop_sequence that is not a whole number", "stop_sequence counts a trip's stops: 1, 2, 3...", where)
    arrival = parse_times(feed, txt, "arrival_time", frame["arrival_time"], where)
    departure = parse_times(feed, txt, "departure_time", frame["departure_time"], where)
    order = np.lexsort((sequence, trip))
    trip, stop, sequence = trip[order], stop[order], sequence[order]
    first = np.r_[True, trip[1:] != trip[:-1]]
    last = np.r_[trip[1:] != trip[:-1], True]
    rows = len(order)

    def in_file_order(flags: np.ndarray) -> np.ndarray:
        flagged = np.zeros(rows, bool)
        flagged[order[flags]] = True
        return flagged

    bad_rows(feed, txt, "stop_sequence", in_file_order(~first & (sequence == np.r_[np.nan, sequence[:-1]])),
             frame["stop_sequence"], "a stop_sequence used twice in one trip",
             "each stop of a trip needs its own stop_sequence", where)
    arrival, departure = arrival[order], departure[order]
    arrival, departure = np.where(np.isnan(arrival), departure, arrival), np.where(np.isnan(departure), arrival,
                                                                                   departure)
    timed = ~np.isnan(arrival)
    bad_rows(feed, txt, "arrival_time", in_file_order((first | last) & ~timed), frame["arrival_time"],
             "no time at the first or last stop of a trip",
             "give the arrival_time and departure_time of every trip's first and last stop", where)
    along = _distance_along(feed, frame, order, first, lon[stop], lat[stop], trip)
    arrival, departure = _interpolate(arrival, departure, timed, along)
    # filled times lie between their timed neighbours: where times go backwards, a timed stop does
    backwards = (departure < arrival) | (~first & (arrival < np.r_[0, departure[:-1]]))
    bad_rows(feed, txt, "arrival_time", in_file_order(backwards & timed), frame["arrival_time"],
             "times that go backwards along the trip (before the previous timed stop's)",
             "each stop's arrival_time must be at or after the previous stop's departure_time, and its "
             "departure_time at or after its arrival_time", where)
    count = np.bincount(trip, minlength=len(trip_ids))
    return _StopTimes(stop=stop, arrival=arrival.astype(np.int64), departure=departure.astype(np.int64),
                      interpolated=~timed, start=np.cumsum(count) - count, count=count)


def _distance_along(feed: FeedSource, frame: pd.DataFrame, order: np.ndarray, first: np.ndarray, lon: np.ndarray,
                    lat: np.ndarray, trip: np.ndarray) -> np.ndarray:
    """Each sorted stop time's distance along its trip: shape_dist_traveled where the trip gives it at every
    stop, never decreasing; else the straight-line metres from stop to stop."""
    step = _great_circle_m(np.r_[lon[:1], lon[:-1]], np.r_[lat[:1], lat[:-1]], lon, lat)
    step[first] = 0.0
    along = np.cumsum(step)
    along -= np.maximum.accumulate(np.where(first, along, 0.0))
    if "shape_dist_traveled" not in frame.columns:
        return along
    shape = parse_numbers(feed, _STOP_TIMES, "shape_dist_traveled", frame["shape_dist_traveled"],
                          allow_empty=True)[order]
    unusable = np.isnan(shape) | (~first & (shape < np.r_[shape[:1], shape[:-1]]))
    trip_unusable = np.bincount(trip, weights=unusable, minlength=trip.max(initial=0) + 1) > 0
    return np.where(trip_unusable[trip], along, shape)


def _great_circle_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Haversine distances in metres between points in degrees."""
    lon1, lat1, lon2, lat2 = (np.radians(values) for values in (lon1, lat1, lon2, lat2))
    half = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0)))


def _interpolate(arrival: np.ndarray, departure: np.ndarray, timed: np.ndarray,
                 along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empty times filled linearly in ``along`` between the timed stops around them (the first and last stop
    of every trip are timed), evenly by stop count where ``along`` does not grow; whole seconds."""
    position = np.arange(len(timed))
    before = np.maximum.accumulate(np.where(timed, position, 0))
    after = np.minimum.accumulate(np.where(timed, position, len(timed) - 1)[::-1])[::-1]
    span = along[after] - along[before]
    grows = span > 0
    share = np.where(grows, (along - along[before]) / np.where(grows, span, 1.0),
                     (position - before) / np.maximum(after - before, 1))
    filled = np.rint(departure[before] + share * (arrival[after] - departure[before]))
    return np.where(timed, arrival, filled), np.where(timed, departure, filled)


# ---------------------------------------------------------------- trips running in the window


@dataclass(frozen=True)
class _Runs:
    """Trip runs on the date: a template trip (row of trips.txt) shifted by a number of seconds."""

    trip: np.ndarray           # int
    shift: np.ndarray          # int64, seconds added to the template's times
    from_frequencies: np.ndarray  # bool


def _read_frequencies(feed: FeedSource, trip_ids: pd.Series) -> pd.DataFrame:
    """frequencies.txt (if any) as trip (row of trips.txt), start, end, headway in seconds."""
    if not feed.has("frequencies.txt"):
        return pd.DataFrame({"trip": np.empty(0, int), "start": np.empty(0), "end": np.empty(0),
                             "headway": np.empty(0)})
    txt = "frequencies.txt"
    frame = read_table(feed, txt, ("trip_id", "start_time", "end_time", "headway_secs"))
    trip = pd.Index(trip_ids).get_indexer(frame["trip_id"])
    bad_rows(feed, txt, "trip_id", trip < 0, frame["trip_id"], "a trip_id that trips.txt does not list",
             "every trip_id of frequencies.txt needs its row in trips.txt")
    start, end = (parse_times(feed, txt, column, frame[column]) for column in ("start_time", "end_time"))
    for column, values in (("start_time", start), ("end_time", end)):
        bad_rows(feed, txt, column, np.isnan(values), frame[column], f"no {column}", f"give every row a {column}")
    headway = parse_numbers(feed, txt, "headway_secs", frame["headway_secs"], what="whole number of seconds")
    bad_rows(feed, txt, "headway_secs", (headway <= 0) | (headway != np.floor(headway)), frame["headway_secs"],
             "a headway that is not a whole number of seconds above 0", "headway_secs is the seconds between trips")
    return pd.DataFrame({"trip": trip, "start": start, "end": end, "headway": headway})


def _runs(calendar: _Calendar, service_ids: pd.Series, frequencies: pd.DataFrame, times: _StopTimes,
          date: datetime.date) -> _Runs:
    """The runs of the trips of ``date`` and, shifted by a day back, of the day before (module docstring)."""
    templated = np.zeros(len(service_ids), bool)
    templated[frequencies["trip"].to_numpy()] = True
    frequencies = frequencies[times.count[frequencies["trip"].to_numpy()] >= 2]
    count = np.where(frequencies["end"] > frequencies["start"],
                     np.ceil((frequencies["end"] - frequencies["start"]) / frequencies["headway"]), 0).astype(int)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    expanded_trip = np.repeat(frequencies["trip"].to_numpy(), count)
    departures = np.repeat(frequencies["start"].to_numpy(), count) + step * np.repeat(
        frequencies["headway"].to_numpy(), count)
    expanded_shift = departures.astype(np.int64) - times.departure[times.start[expanded_trip]]
    trips, shifts, expanded = [], [], []
    for day, day_shift in ((date, 0), (date - datetime.timedelta(days=1), -DAY_S)):
        running = service_ids.isin(_services_on(calendar, day)).to_numpy() & (times.count >= 2)
        scheduled = np.flatnonzero(running & ~templated)
        from_frequencies = running[expanded_trip]
        trips += [scheduled, expanded_trip[from_frequencies]]
        shifts += [np.full(len(scheduled), day_shift, np.int64), expanded_shift[from_frequencies] + day_shift]
        expanded += [np.zeros(len(scheduled), bool), np.ones(int(from_frequencies.sum()), bool)]
    return _Runs(np.concatenate(trips), np.concatenate(shifts), np.concatenate(expanded))


def _fifo_parts(arrivals: np.ndarray, departures: np.ndarray) -> list[np.ndarray]:
    """Row sets of a pattern's trips (sorted by departure) in which no trip overtakes an earlier one: each trip
    joins the first part whose last trip it never arrives or departs before."""
    parts: list[list[int]] = []
    for row in range(len(arrivals)):
        for part in parts:
            if (arrivals[part[-1]] <= arrivals[row]).all() and (departures[part[-1]] <= departures[row]).all():
                part.append(row)
                break
        else:
            parts.append([row])
    return [np.asarray(part) for part in parts]


# ---------------------------------------------------------------- one feed


def _feed_timetable(feed: FeedSource, calendar: _Calendar, date: datetime.date, start_s: int, end_s: int, *,
                    stop_offset: int) -> Timetable:
    """The timetable of one feed, its stops numbered from ``stop_offset``."""
    stops = read_table(feed, "stops.txt", ("stop_id", "stop_lat", "stop_lon"))
    unique_ids(feed, "stops.txt", "stop_id", stops["stop_id"])
    lon, lat = (parse_numbers(feed, "stops.txt", column, stops[column], allow_empty=True, what="a coordinate")
                for column in ("stop_lon", "stop_lat"))
    check_lonlat(lon, lat, file=feed.path, field=column_field("stops.txt", "stop_lat/stop_lon"))
    routes = read_table(feed, "routes.txt", ("route_id",), ("route_short_name",))
    unique_ids(feed, "routes.txt", "route_id", routes["route_id"])
    trips = read_table(feed, "trips.txt", ("route_id", "service_id", "trip_id"))
    unique_ids(feed, "trips.txt", "trip_id", trips["trip_id"])
    route = pd.Index(routes["route_id"]).get_indexer(trips["route_id"])
    bad_rows(feed, "trips.txt", "route_id", route < 0, trips["route_id"], "a route_id that routes.txt does not list",
             "every route_id of trips.txt needs its row in routes.txt")
    times = _read_stop_times(feed, trips["trip_id"], stops["stop_id"], lon, lat)
    used = np.unique(times.stop)
    missing = np.zeros(len(stops), bool)
    missing[used] = ~(np.isfinite(lon[used]) & np.isfinite(lat[used]))
    bad_rows(feed, "stops.txt", "stop_lat", missing, stops["stop_id"], "no coordinates for a stop that trips call at",
             "give stop_lat and stop_lon of every stop in stop_times.txt")
    runs = _runs(calendar, trips["service_id"], _read_frequencies(feed, trips["trip_id"]), times, date)
    last = times.start[runs.trip] + times.count[runs.trip] - 1
    keep = (times.arrival[last] + runs.shift >= start_s) & (times.departure[times.start[runs.trip]] + runs.shift
                                                            <= end_s)
    runs = _Runs(runs.trip[keep], runs.shift[keep], runs.from_frequencies[keep])
    short = routes["route_short_name"] if "route_short_name" in routes.columns else routes["route_id"]
    label = np.where(short != "", short, routes["route_id"])
    stop_index = np.searchsorted(used, times.stop) + stop_offset
    patterns = _patterns(times, runs, route, [f"{feed.name}:{name}" for name in label], stop_index)
    filled = np.r_[0, np.cumsum(times.interpolated)]
    info = FeedInfo(name=feed.name, first_date=calendar.first, last_date=calendar.last, trips=len(runs.trip),
                    interpolated=int(filled[times.start + times.count][runs.trip].sum()
                                     - filled[times.start][runs.trip].sum()),
                    from_frequencies=int(runs.from_frequencies.sum()))
    return Timetable(stop_ids=np.array([f"{feed.name}:{stop}" for stop in stops["stop_id"].to_numpy()[used]],
                                       dtype=object),
                     stop_lon=lon[used], stop_lat=lat[used], patterns=tuple(patterns), feeds=(info,), date=date)


def _patterns(times: _StopTimes, runs: _Runs, route: np.ndarray, labels: list[str],
              stop_index: np.ndarray) -> list[Pattern]:
    """The runs grouped by route (``route``: row of routes.txt per trip, named by ``labels``) and stops,
    sorted by departure, split until FIFO."""
    keys: dict[tuple[int, bytes], list[int]] = {}
    for run, trip in enumerate(runs.trip):
        calls = stop_index[times.start[trip]:times.start[trip] + times.count[trip]]
        keys.setdefault((int(route[trip]), calls.tobytes()), []).append(run)
    patterns = []
    for (route_row, _), members in keys.items():
        chosen = np.asarray(members)
        trips, shift = runs.trip[chosen], runs.shift[chosen]
        cells = times.start[trips][:, None] + np.arange(times.count[trips[0]])
        arrivals = times.arrival[cells] + shift[:, None]
        departures = times.departure[cells] + shift[:, None]
        order = np.lexsort(departures.T[::-1])
        arrivals, departures = arrivals[order], departures[order]
        for part in _fifo_parts(arrivals, departures):
            patterns.append(Pattern(route=labels[route_row], stops=stop_index[cells[0]].astype(np.int32),
                                    arrivals=arrivals[part].astype(np.int32),
                                    departures=departures[part].astype(np.int32)))
    return patterns
