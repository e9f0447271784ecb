"""Public-transport timetables (GTFS): the interface the routing engine reads (the reader lands on its own branch)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np


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
