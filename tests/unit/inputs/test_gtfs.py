"""GTFS feeds -> Timetable (allocator/inputs/gtfs.py): calendars, times after midnight, interpolated
non-timepoints, frequencies, FIFO patterns and the errors of broken feeds, on tiny feeds written here
(expected times computed by hand in the comments), then invariants on the real feeds."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from allocator.errors import AllocatorError
from allocator.inputs.gtfs import DAY_S, Pattern, Timetable, read_timetable

MONDAY = datetime.date(2019, 5, 13)
WEEKDAYS = "monday,tuesday,wednesday,thursday,friday,saturday,sunday"
#: stops on the equator, so straight-line distances are proportional to longitude: A-B 1 part, B-C 2 parts
STOPS = "stop_id,stop_name,stop_lat,stop_lon\nA,a,0,0\nB,b,0,0.01\nC,c,0,0.03\n"
ST_HEADER = "trip_id,arrival_time,departure_time,stop_id,stop_sequence"


def hms(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def base_files(**replace: str) -> dict[str, str]:
    """A minimal valid feed: one weekday trip T1 of route R calling at A, B, C from 08:00 to 08:30."""
    files = {
        "stops.txt": STOPS,
        "routes.txt": "route_id,route_short_name,route_type\nR,10,3\n",
        "trips.txt": "route_id,service_id,trip_id\nR,WK,T1\n",
        "stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,B,2\n"
                          "T1,08:30:00,08:30:00,C,3\n",
        "calendar.txt": f"service_id,{WEEKDAYS},start_date,end_date\nWK,1,1,1,1,1,0,0,20190401,20190630\n",
    }
    files.update(replace)
    return {name: text for name, text in files.items() if text}


def write_feed(folder: Path, files: dict[str, str], name: str = "bus", as_zip: bool = True) -> Path:
    if as_zip:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for member, text in files.items():
                archive.writestr(member, text)
        return path
    path = folder / name
    path.mkdir()
    for member, text in files.items():
        (path / member).write_text(text, encoding="utf-8")
    return path


def without_column(text: str, column: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    keep = [i for i, name in enumerate(rows[0]) if name != column]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[row[i] for i in keep] for row in rows])
    return out.getvalue()


def read(tmp_path: Path, files: dict[str, str], date: datetime.date = MONDAY, start: str = "00:00:00",
         end: str = "30:00:00", as_zip: bool = True) -> Timetable:
    return read_timetable([write_feed(tmp_path, files, as_zip=as_zip)], date, hms(start), hms(end))


def trip_rows(timetable: Timetable) -> list[tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]]:
    """Every trip as (stop ids, arrivals, departures), sorted."""
    return sorted((tuple(timetable.stop_ids[p.stops]), tuple(map(int, arr)), tuple(map(int, dep)))
                  for p in timetable.patterns for arr, dep in zip(p.arrivals, p.departures, strict=True))


def assert_fifo(pattern: Pattern) -> None:
    assert (np.diff(pattern.departures[:, 0]) >= 0).all()
    assert (np.diff(pattern.arrivals, axis=0) >= 0).all() and (np.diff(pattern.departures, axis=0) >= 0).all()


def assert_times_increase(pattern: Pattern) -> None:
    assert (pattern.departures >= pattern.arrivals).all()
    assert (pattern.arrivals[:, 1:] >= pattern.departures[:, :-1]).all()


# ---------------------------------------------------------------- reading


def test_zip_and_folder_give_the_same_timetable(tmp_path: Path) -> None:
    (tmp_path / "z").mkdir()
    (tmp_path / "f").mkdir()
    as_zip = read(tmp_path / "z", base_files())
    as_folder = read(tmp_path / "f", base_files(), as_zip=False)
    assert list(as_zip.stop_ids) == list(as_folder.stop_ids) == ["bus:A", "bus:B", "bus:C"]
    assert trip_rows(as_zip) == trip_rows(as_folder) == [
        (("bus:A", "bus:B", "bus:C"), (hms("08:00:00"), hms("08:10:00"), hms("08:30:00")),
         (hms("08:00:00"), hms("08:10:00"), hms("08:30:00")))]
    pattern = as_zip.patterns[0]
    assert pattern.route == "bus:10" and pattern.stops.dtype == np.int32 and pattern.arrivals.dtype == np.int32
    assert as_zip.stop_lon.tolist() == [0, 0.01, 0.03] and as_zip.stop_lat.tolist() == [0, 0, 0]
    assert as_zip.feeds[0].name == "bus" and as_zip.date == MONDAY


def test_only_stops_that_trips_call_at_are_kept_and_headers_are_stripped(tmp_path: Path) -> None:
    files = base_files(**{"stops.txt": "stop_id, stop_lat ,stop_lon\nA,0,0\nB,0,0.01\nC,0,0.03\nSTATION,,\n"})
    timetable = read(tmp_path, files)
    assert list(timetable.stop_ids) == ["bus:A", "bus:B", "bus:C"]


def test_two_feeds_merge_with_prefixed_stop_ids(tmp_path: Path) -> None:
    bus = write_feed(tmp_path, base_files(), name="bus")
    metro = write_feed(tmp_path, base_files(**{
        "stops.txt": "stop_id,stop_lat,stop_lon\nA,1,1\nZ,1,1.5\n",
        "stop_times.txt": f"{ST_HEADER}\nT1,09:00:00,09:00:00,Z,1\nT1,09:05:00,09:05:00,A,2\n"}), name="metro")
    timetable = read_timetable([bus, metro], MONDAY, 0, DAY_S)
    assert list(timetable.stop_ids) == ["bus:A", "bus:B", "bus:C", "metro:A", "metro:Z"]
    metro_pattern = next(p for p in timetable.patterns if p.route == "metro:10")
    assert list(timetable.stop_ids[metro_pattern.stops]) == ["metro:Z", "metro:A"]
    assert timetable.stop_lon[metro_pattern.stops].tolist() == [1.5, 1.0]
    assert [feed.name for feed in timetable.feeds] == ["bus", "metro"]


def test_window_keeps_trips_that_overlap_it(tmp_path: Path) -> None:
    # T1 08:00-08:30, T2 09:00-09:30, T3 10:00-10:30; the window 08:20-09:00 overlaps T1 and T2 (first departure
    # 09:00 <= 09:00), not T3
    files = base_files(**{
        "trips.txt": "route_id,service_id,trip_id\nR,WK,T1\nR,WK,T2\nR,WK,T3\n",
        "stop_times.txt": ST_HEADER + "\n" + "".join(
            f"T{n},{h}:00:00,{h}:00:00,A,1\nT{n},{h}:30:00,{h}:30:00,C,2\n" for n, h in ((1, "08"), (2, "09"),
                                                                                         (3, "10")))})
    timetable = read(tmp_path, files, start="08:20:00", end="09:00:00")
    assert [row[1][0] for row in trip_rows(timetable)] == [hms("08:00:00"), hms("09:00:00")]
    assert timetable.feeds[0].trips == 2


# ---------------------------------------------------------------- calendars


CALENDAR_FILES = {
    # WK runs on weekdays but not on 2019-05-13 (removed); EX runs only on 2019-05-13 and 2019-07-05 (added)
    "trips.txt": "route_id,service_id,trip_id\nR,WK,TW\nR,EX,TX\n",
    "stop_times.txt": f"{ST_HEADER}\nTW,08:00:00,08:00:00,A,1\nTW,08:30:00,08:30:00,C,2\n"
                      "TX,09:00:00,09:00:00,A,1\nTX,09:30:00,09:30:00,C,2\n",
    "calendar_dates.txt": "service_id,date,exception_type\nWK,20190513,2\nEX,20190513,1\nEX,20190705,1\n",
}


@pytest.mark.parametrize(("date", "running"), [
    (MONDAY, [hms("09:00:00")]),                            # WK removed, EX added
    (datetime.date(2019, 5, 14), [hms("08:00:00")]),        # a plain Tuesday
    (datetime.date(2019, 5, 18), []),                       # Saturday: no weekday service
    (datetime.date(2019, 7, 5), [hms("09:00:00")]),         # after calendar.txt's end, added by calendar_dates
])
def test_calendar_and_exceptions(tmp_path: Path, date: datetime.date, running: list[int]) -> None:
    timetable = read(tmp_path, base_files(**CALENDAR_FILES), date=date)
    assert [row[1][0] for row in trip_rows(timetable)] == running
    info = timetable.feeds[0]
    assert (info.first_date, info.last_date) == (datetime.date(2019, 4, 1), datetime.date(2019, 7, 5))


def test_calendar_dates_alone_are_a_calendar(tmp_path: Path) -> None:
    files = base_files(**{"calendar.txt": "", **CALENDAR_FILES})
    timetable = read(tmp_path, files)
    assert [row[1][0] for row in trip_rows(timetable)] == [hms("09:00:00")]
    assert timetable.feeds[0].first_date == MONDAY


def test_date_outside_the_calendars_names_every_feeds_dates(tmp_path: Path) -> None:
    bus = write_feed(tmp_path, base_files(), name="bus")
    metro = write_feed(tmp_path, base_files(**{
        "calendar.txt": f"service_id,{WEEKDAYS},start_date,end_date\nWK,1,1,1,1,1,0,0,20190301,20191231\n"}),
                       name="metro")
    with pytest.raises(AllocatorError) as caught:
        read_timetable([bus, metro], datetime.date(2019, 9, 2), 0, DAY_S)
    message = str(caught.value)
    assert "2019-09-02" in message and "bus 2019-04-01 to 2019-06-30" in message
    assert "metro 2019-03-01 to 2019-12-31" in message
    assert caught.value.file == str(bus)


def test_trips_past_midnight_and_from_the_day_before(tmp_path: Path) -> None:
    # N runs 23:50 -> 24:20 every weekday; on Monday 00:00-01:00 Sunday's run is not there (no Sunday service),
    # on Tuesday 00:00-01:00 Monday's run is there shifted by a day: -600 s -> 1,200 s; 24:20:00 is 87,600 s
    files = base_files(**{"stop_times.txt": f"{ST_HEADER}\nT1,23:50:00,23:50:00,A,1\nT1,24:20:00,24:20:00,C,2\n"})
    assert trip_rows(read(tmp_path, files, start="00:00:00", end="01:00:00")) == []
    (tmp_path / "tue").mkdir()
    tuesday = read(tmp_path / "tue", files, date=datetime.date(2019, 5, 14), start="00:00:00", end="01:00:00")
    assert trip_rows(tuesday) == [(("bus:A", "bus:C"), (-600, 1200), (-600, 1200))]
    (tmp_path / "late").mkdir()
    late = read(tmp_path / "late", files, start="23:00:00", end="24:10:00")
    assert trip_rows(late) == [(("bus:A", "bus:C"), (hms("23:50:00"), 87_600), (hms("23:50:00"), 87_600))]


# ---------------------------------------------------------------- empty times


def test_interpolation_by_straight_line_distance(tmp_path: Path) -> None:
    # A-B is a third of A-C along the equator: B is reached a third of the way from 08:00 to 08:03 -> 08:01:00
    files = base_files(**{"stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,08:00:00,A,1\nT1,,,B,2\n"
                                            "T1,08:03:00,08:03:00,C,3\n"})
    timetable = read(tmp_path, files)
    assert trip_rows(timetable)[0][1] == (hms("08:00:00"), hms("08:01:00"), hms("08:03:00"))
    assert timetable.feeds[0].interpolated == 1


def test_interpolation_by_shape_dist_traveled(tmp_path: Path) -> None:
    # shape_dist_traveled 0, 900, 1000: B at 9/10 of 08:00 -> 08:10, i.e. 08:09:00 (straight lines would say 1/3)
    files = base_files(**{"stop_times.txt": f"{ST_HEADER},shape_dist_traveled\nT1,08:00:00,08:00:00,A,1,0\n"
                                            "T1,,,B,2,900\nT1,08:10:00,08:10:00,C,3,1000\n"})
    assert trip_rows(read(tmp_path, files))[0][1] == (hms("08:00:00"), hms("08:09:00"), hms("08:10:00"))


def test_interpolation_by_sequence_where_stops_share_a_place(tmp_path: Path) -> None:
    # four stops at one point: the empty two share 08:00 (departure of the first) -> 08:09 evenly: 08:03, 08:06;
    # a dwell at the first stop (arrival 07:59) does not count
    files = base_files(**{
        "stops.txt": "stop_id,stop_lat,stop_lon\nA,0,0\nB,0,0\nC,0,0\nD,0,0\n",
        "stop_times.txt": f"{ST_HEADER}\nT1,07:59:00,08:00:00,A,1\nT1,,,B,2\nT1,,,C,3\nT1,08:09:00,08:09:00,D,4\n"})
    timetable = read(tmp_path, files)
    _, arrivals, departures = trip_rows(timetable)[0]
    assert arrivals == (hms("07:59:00"), hms("08:03:00"), hms("08:06:00"), hms("08:09:00"))
    assert departures == (hms("08:00:00"), hms("08:03:00"), hms("08:06:00"), hms("08:09:00"))
    assert timetable.feeds[0].interpolated == 2


def test_a_stop_with_only_one_time_gets_it_for_both(tmp_path: Path) -> None:
    files = base_files(**{"stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,,A,1\nT1,,08:05:00,B,2\n"
                                            "T1,08:30:00,08:30:00,C,3\n"})
    assert trip_rows(read(tmp_path, files))[0][1:] == (
        (hms("08:00:00"), hms("08:05:00"), hms("08:30:00")), (hms("08:00:00"), hms("08:05:00"), hms("08:30:00")))


# ---------------------------------------------------------------- frequencies


@pytest.mark.parametrize("exact_times", ["0", "1"])
def test_frequencies_expand_into_departures_every_headway(tmp_path: Path, exact_times: str) -> None:
    # template 10:00, 10:05, 10:12 (0, +300, +720 s); every 600 s from 07:00 while before 07:30: 07:00, 07:10,
    # 07:20; the template's own 10:00 run is not a trip
    files = base_files(**{
        "stop_times.txt": f"{ST_HEADER}\nT1,10:00:00,10:00:00,A,1\nT1,10:05:00,10:05:00,B,2\n"
                          "T1,10:12:00,10:12:00,C,3\n",
        "frequencies.txt": f"trip_id,start_time,end_time,headway_secs,exact_times\n"
                           f"T1,07:00:00,07:30:00,600,{exact_times}\n"})
    timetable = read(tmp_path, files)
    starts = [hms("07:00:00"), hms("07:10:00"), hms("07:20:00")]
    expected = [(("bus:A", "bus:B", "bus:C"), (s, s + 300, s + 720), (s, s + 300, s + 720)) for s in starts]
    assert trip_rows(timetable) == expected
    assert len(timetable.patterns) == 1 and timetable.feeds[0].from_frequencies == 3
    assert timetable.feeds[0].trips == 3


def test_trips_without_two_stop_times_are_skipped(tmp_path: Path) -> None:
    # T2 has no stop times (and a frequency), T3 a single one: nothing to ride, no error
    files = base_files(**{
        "trips.txt": "route_id,service_id,trip_id\nR,WK,T1\nR,WK,T3\nR,WK,T2\n",
        "stop_times.txt": base_files()["stop_times.txt"] + "T3,09:00:00,09:00:00,A,1\n",
        "frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT2,07:00:00,08:00:00,600\n"})
    timetable = read(tmp_path, files)
    assert [row[1][0] for row in trip_rows(timetable)] == [hms("08:00:00")]
    assert timetable.feeds[0].from_frequencies == 0


# ---------------------------------------------------------------- patterns


def test_an_overtaking_trip_splits_the_pattern_into_fifo_parts(tmp_path: Path) -> None:
    # S leaves A 08:00, reaches C 08:30; the express E leaves 08:05 and overtakes it (C 08:20); L leaves 08:10,
    # reaches C 08:40 behind both. FIFO parts: [S, L] and [E].
    files = base_files(**{
        "trips.txt": "route_id,service_id,trip_id\nR,WK,S\nR,WK,E\nR,WK,L\n",
        "stop_times.txt": f"{ST_HEADER}\nS,08:00:00,08:00:00,A,1\nS,08:30:00,08:30:00,C,2\n"
                          "E,08:05:00,08:05:00,A,1\nE,08:20:00,08:20:00,C,2\n"
                          "L,08:10:00,08:10:00,A,1\nL,08:40:00,08:40:00,C,2\n"})
    timetable = read(tmp_path, files)
    parts = sorted(p.departures[:, 0].tolist() for p in timetable.patterns)
    assert parts == [[hms("08:00:00"), hms("08:10:00")], [hms("08:05:00")]]
    for pattern in timetable.patterns:
        assert_fifo(pattern)


def test_patterns_group_by_route_and_stops_sorted_by_departure(tmp_path: Path) -> None:
    # T2 (08:20) and T1 (08:00) share route and stops; T3 calls at A, C only; T4 is another route
    files = base_files(**{
        "routes.txt": "route_id,route_short_name\nR,10\nQ,\n",
        "trips.txt": "route_id,service_id,trip_id\nR,WK,T2\nR,WK,T1\nR,WK,T3\nQ,WK,T4\n",
        "stop_times.txt": ST_HEADER + "\n" + "".join(
            f"{trip},08:{m}:00,08:{m}:00,A,1\n{trip},08:{m + 5}:00,08:{m + 5}:00,B,2\n" for trip, m in
            (("T2", 20), ("T1", 10), ("T4", 30))) + "T3,08:00:00,08:00:00,A,1\nT3,08:09:00,08:09:00,C,2\n"})
    timetable = read(tmp_path, files)
    shapes = sorted((p.route, tuple(timetable.stop_ids[p.stops]), tuple(p.departures[:, 0])) for p in
                    timetable.patterns)
    assert shapes == [("bus:10", ("bus:A", "bus:B"), (hms("08:10:00"), hms("08:20:00"))),
                      ("bus:10", ("bus:A", "bus:C"), (hms("08:00:00"),)),
                      ("bus:Q", ("bus:A", "bus:B"), (hms("08:30:00"),))]


# ---------------------------------------------------------------- broken feeds


REQUIRED = [("stops.txt", "stop_id"), ("stops.txt", "stop_lat"), ("stops.txt", "stop_lon"),
            ("routes.txt", "route_id"), ("trips.txt", "route_id"), ("trips.txt", "service_id"),
            ("trips.txt", "trip_id"), ("stop_times.txt", "trip_id"), ("stop_times.txt", "stop_sequence"),
            ("stop_times.txt", "stop_id"), ("stop_times.txt", "arrival_time"),
            ("stop_times.txt", "departure_time"), ("calendar.txt", "service_id"), ("calendar.txt", "monday"),
            ("calendar.txt", "start_date"), ("calendar.txt", "end_date"),
            ("calendar_dates.txt", "exception_type"), ("frequencies.txt", "headway_secs")]


@pytest.mark.parametrize(("txt", "column"), REQUIRED)
def test_a_missing_column_names_the_feed_the_file_and_the_column(tmp_path: Path, txt: str, column: str) -> None:
    files = base_files(**{"calendar_dates.txt": "service_id,date,exception_type\nWK,20190513,2\n",
                          "frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,07:00:00,08:00:00,600\n"})
    files[txt] = without_column(files[txt], column)
    feed = write_feed(tmp_path, files)
    with pytest.raises(AllocatorError) as caught:
        read_timetable([feed], MONDAY, 0, DAY_S)
    assert caught.value.file == str(feed) and caught.value.field == f"{txt}: {column}"
    assert f"{txt} has no column {column}" in caught.value.message and caught.value.fix


@pytest.mark.parametrize("txt", ["stops.txt", "routes.txt", "trips.txt", "stop_times.txt"])
@pytest.mark.parametrize("as_zip", [True, False])
def test_a_missing_file_names_the_feed_and_the_file(tmp_path: Path, txt: str, as_zip: bool) -> None:
    files = base_files()
    del files[txt]
    feed = write_feed(tmp_path, files, as_zip=as_zip)
    with pytest.raises(AllocatorError) as caught:
        read_timetable([feed], MONDAY, 0, DAY_S)
    assert caught.value.file == str(feed) and caught.value.field == txt and txt in caught.value.message


def test_no_calendar_at_all_names_both_files(tmp_path: Path) -> None:
    with pytest.raises(AllocatorError, match="neither calendar.txt nor calendar_dates.txt"):
        read(tmp_path, base_files(**{"calendar.txt": ""}))


BROKEN = [
    # (files replaced, field, words of the message)
    ({"stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,08:00:00,A,1\nT1,25:6x:00,25:6x:00,B,2\n"},
     "stop_times.txt: arrival_time", ["not HH:MM:SS", "row 2", "trip T1, stop_sequence 2", "25:6x:00"]),
    ({"stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,X,2\n"},
     "stop_times.txt: stop_id", ["stops.txt does not list", "row 2", "'X'"]),
    ({"stop_times.txt": f"{ST_HEADER}\nT1,08:10:00,08:10:00,A,1\nT1,,,B,2\nT1,08:00:00,08:00:00,C,3\n"},
     "stop_times.txt: arrival_time", ["go backwards", "row 3", "trip T1, stop_sequence 3"]),
    ({"stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,B,2\nT1,,,C,3\n"},
     "stop_times.txt: arrival_time", ["first or last stop", "row 3"]),
    ({"stop_times.txt": f"{ST_HEADER}\nT1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,B,1\n"},
     "stop_times.txt: stop_sequence", ["used twice", "row 2"]),
    ({"stop_times.txt": f"{ST_HEADER}\nT9,08:00:00,08:00:00,A,1\n"},
     "stop_times.txt: trip_id", ["trips.txt does not list", "'T9'"]),
    ({"stops.txt": "stop_id,stop_lat,stop_lon\nA,0,0\nB,,\nC,0,0.03\n"},
     "stops.txt: stop_lat", ["no coordinates", "row 2", "'B'"]),
    ({"stops.txt": "stop_id,stop_lat,stop_lon\nA,0,0\nB,0,0.01\nA,0,0.03\n"},
     "stops.txt: stop_id", ["an id used by an earlier row", "row 3"]),
    ({"stops.txt": "stop_id,stop_lat,stop_lon\nA,0,0\nB,north,0.01\nC,0,0.03\n"},
     "stops.txt: stop_lat", ["not a coordinate", "row 2", "'north'"]),
    ({"trips.txt": "route_id,service_id,trip_id\nNOPE,WK,T1\n"}, "trips.txt: route_id", ["routes.txt does not list"]),
    ({"calendar.txt": f"service_id,{WEEKDAYS},start_date,end_date\nWK,1,1,1,1,1,0,0,2019-04-01,20190630\n"},
     "calendar.txt: start_date", ["not YYYYMMDD", "row 1"]),
    ({"calendar.txt": f"service_id,{WEEKDAYS},start_date,end_date\nWK,1,1,1,yes,1,0,0,20190401,20190630\n"},
     "calendar.txt: thursday", ["other than 0 or 1"]),
    ({"calendar_dates.txt": "service_id,date,exception_type\nWK,20190513,3\n"},
     "calendar_dates.txt: exception_type", ["other than 1 or 2"]),
    ({"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,07:00:00,08:00:00,0\n"},
     "frequencies.txt: headway_secs", ["above 0"]),
    ({"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,07:00:00,,600\n"},
     "frequencies.txt: end_time", ["no end_time"]),
]


@pytest.mark.parametrize(("replace", "field", "words"), BROKEN)
def test_a_broken_feed_names_file_field_and_row(tmp_path: Path, replace: dict[str, str], field: str,
                                                 words: list[str]) -> None:
    feed = write_feed(tmp_path, base_files(**replace))
    with pytest.raises(AllocatorError) as caught:
        read_timetable([feed], MONDAY, 0, DAY_S)
    assert caught.value.file == str(feed) and caught.value.field == field and caught.value.fix
    for word in words:
        assert word in caught.value.message


def test_a_file_that_is_not_utf8_names_it(tmp_path: Path) -> None:
    feed = write_feed(tmp_path, base_files(), as_zip=False)
    (feed / "stops.txt").write_bytes("stop_id,stop_name,stop_lat,stop_lon\nA,São,0,0\n".encode("latin-1"))
    with pytest.raises(AllocatorError, match="cannot read stops.txt as CSV") as caught:
        read_timetable([feed], MONDAY, 0, DAY_S)
    assert caught.value.field == "stops.txt" and "UTF-8" in (caught.value.fix or "")


def test_a_feed_is_a_zip_or_a_folder_through_the_file_gate(tmp_path: Path) -> None:
    text = tmp_path / "feed.txt"
    text.write_text("stop_id\n")
    with pytest.raises(AllocatorError, match="a .zip file or a folder"):
        read_timetable([text], MONDAY, 0, DAY_S)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(AllocatorError, match="not a complete zip file"):
        read_timetable([broken], MONDAY, 0, DAY_S)
    with pytest.raises(AllocatorError, match="file not found"):
        read_timetable([tmp_path / "missing.zip"], MONDAY, 0, DAY_S)


def test_two_feeds_with_one_name_are_refused(tmp_path: Path) -> None:
    zipped = write_feed(tmp_path, base_files(), name="bus")
    folder = write_feed(tmp_path, base_files(), name="bus", as_zip=False)
    with pytest.raises(AllocatorError, match="two feeds are named 'bus'"):
        read_timetable([zipped, folder], MONDAY, 0, DAY_S)


# ---------------------------------------------------------------- real feeds


def check_real(timetable: Timetable) -> None:
    """Times increase along every trip, every pattern is FIFO, stop ids are unique, the counts add up."""
    assert len(set(timetable.stop_ids)) == len(timetable.stop_ids)
    assert np.isfinite(timetable.stop_lon).all() and np.isfinite(timetable.stop_lat).all()
    for pattern in timetable.patterns:
        assert_times_increase(pattern)
        assert_fifo(pattern)
        assert len(pattern.stops) >= 2 and (pattern.stops < len(timetable.stop_ids)).all()
    assert sum(len(p.arrivals) for p in timetable.patterns) == sum(feed.trips for feed in timetable.feeds)


@pytest.mark.slow
def test_porto_alegre_feeds(mirror: Path) -> None:
    feeds = [mirror / "porto_alegre" / "poa_eptc.zip", mirror / "porto_alegre" / "poa_trensurb.zip"]
    morning = read_timetable(feeds, MONDAY, hms("07:00:00"), hms("09:00:00"))
    check_real(morning)
    eptc, trensurb = morning.feeds
    assert (eptc.first_date, eptc.last_date) == (datetime.date(2019, 4, 15), datetime.date(2019, 7, 15))
    assert trensurb.trips > 0 and trensurb.interpolated == 0 and eptc.from_frequencies == 0
    # this EPTC extract only has trips from late morning to evening: the afternoon has buses, mostly non-timepoints
    afternoon = read_timetable(feeds, MONDAY, hms("14:00:00"), hms("16:00:00"))
    check_real(afternoon)
    assert afternoon.feeds[0].trips > 0 and afternoon.feeds[0].interpolated > afternoon.feeds[0].trips
    assert all(stop.startswith(("poa_eptc:", "poa_trensurb:")) for stop in afternoon.stop_ids)
    with pytest.raises(AllocatorError, match="poa_eptc 2019-04-15 to 2019-07-15"):
        read_timetable(feeds, datetime.date(2019, 9, 2), 0, DAY_S)


@pytest.mark.slow
def test_sao_paulo_frequency_feed(mirror: Path) -> None:
    timetable = read_timetable([mirror / "sao_paulo" / "spo_gtfs.zip"], MONDAY, hms("07:00:00"), hms("09:00:00"))
    check_real(timetable)
    info = timetable.feeds[0]
    assert info.trips > 0 and info.from_frequencies == info.trips
