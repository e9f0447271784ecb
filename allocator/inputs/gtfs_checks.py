"""Reading the tables of a GTFS feed (a ``.zip`` file or a folder) through the file gate.

Every failure is an :class:`~allocator.errors.AllocatorError` whose ``file`` is the feed (the ``.zip`` or the
folder) and whose ``field`` is :func:`column_field` (``"stop_times.txt: arrival_time"``); rows are named by
their number among the file's data rows (the header is not counted) and, in stop_times.txt, by trip and
stop_sequence.  Values are read as text, stripped, then parsed here: times (:func:`parse_times`, hours may pass
24), dates (:func:`parse_dates`) and numbers (:func:`parse_numbers`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.files import checked_file
from allocator.inputs.csvfile import CSV_OPTIONS

#: what a GTFS time looks like: H:MM:SS or HH:MM:SS (hours past 24 for trips after midnight)
TIME_PATTERN = r"^(\d{1,3}):([0-5]\d):([0-5]\d)$"
_SPEC = "see https://gtfs.org/documentation/schedule/reference/"


@dataclass(frozen=True)
class FeedSource:
    """A GTFS feed on disk: a ``.zip`` file that passed the file gate, or a folder of ``.txt`` files."""

    path: Path
    name: str   # the file name without suffix (or the folder's name), e.g. "poa_eptc"

    def has(self, txt: str) -> bool:
        """Whether the feed holds the file ``txt`` (at the top level of the zip or folder)."""
        if self.path.is_dir():
            return (self.path / txt).exists()
        with zipfile.ZipFile(self.path) as archive:
            return txt in archive.namelist()


def open_feed(path: Path) -> FeedSource:
    """``path`` as a feed: a folder, or a ``.zip`` file checked by the file gate (size, complete members,
    decoded-size cap); any other file is an error."""
    if path.is_dir():
        return FeedSource(path, path.name)
    if path.suffix.lower() != ".zip":
        checked_file(path)   # a missing file or a pipe gets the gate's message first
        raise AllocatorError("a GTFS feed is a .zip file or a folder of .txt files", file=path,
                             fix="give the feed's .zip file as published, or the folder it unzips to")
    return FeedSource(checked_file(path), path.stem)


def column_field(txt: str, column: str) -> str:
    """The ``field`` of an error about ``column`` of the feed's file ``txt``."""
    return f"{txt}: {column}"


def read_table(feed: FeedSource, txt: str, required: tuple[str, ...],
               optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """The ``required`` and present ``optional`` columns of ``txt`` as stripped text (empty cells are "").

    Header names are stripped too (some feeds write ``" agency_name"``); a missing file or required column
    is an error naming both.
    """
    if not feed.has(txt):
        raise AllocatorError(f"the GTFS feed has no {txt}", file=feed.path, field=txt,
                             fix=f"a GTFS feed needs {txt} at the top level of its .zip or folder ({_SPEC})")
    wanted = set(required) | set(optional)
    options: dict[str, Any] = {**CSV_OPTIONS, "dtype": str, "keep_default_na": False, "na_filter": False, "encoding": "utf-8-sig",
                               "usecols": lambda name: name.strip() in wanted}
    try:
        if feed.path.is_dir():
            frame = pd.read_csv(checked_file(feed.path / txt), **options)
        else:
            with zipfile.ZipFile(feed.path) as archive, archive.open(txt) as handle:
                frame = pd.read_csv(handle, **options)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise AllocatorError(f"cannot read {txt} as CSV ({str(exc)[:300]})", file=feed.path, field=txt,
                             fix=f"{txt} must be comma-separated UTF-8 text with a header row ({_SPEC})") from None
    frame.columns = [str(name).strip() for name in frame.columns]
    for column in required:
        if column not in frame.columns:
            raise AllocatorError(f"{txt} has no column {column}", file=feed.path, field=column_field(txt, column),
                                 fix=f"add the column {column} to {txt} (its header row names the columns; "
                                     f"{_SPEC})")
    return frame.apply(lambda values: values.astype(str).str.strip()).reset_index(drop=True)


def bad_rows(feed: FeedSource, txt: str, column: str, bad: np.ndarray, values: pd.Series | np.ndarray,
             what: str, fix: str, where: Callable[[int], str] | None = None) -> None:
    """An error when ``bad`` (one flag per data row of ``txt``) holds: the count, and the first bad row with
    its ``values`` and, when given, ``where(row)`` (e.g. "trip T1, stop_sequence 3")."""
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    place = f" ({where(first)})" if where is not None else ""
    raise AllocatorError(f"{int(bad.sum()):,} rows of {txt} have {what} (first: row {first + 1}{place}, "
                         f"{column} {str(np.asarray(values)[first])[:80]!r})", file=feed.path,
                         field=column_field(txt, column), fix=fix)


def parse_times(feed: FeedSource, txt: str, column: str, values: pd.Series,
                where: Callable[[int], str] | None = None) -> np.ndarray:
    """Seconds after midnight of the service day (float, NaN for an empty cell) of GTFS times such as
    ``"25:10:00"``; anything else is an error naming the row."""
    empty = (values == "").to_numpy()
    parts = values.str.extract(TIME_PATTERN)
    bad_rows(feed, txt, column, ~empty & parts[0].isna().to_numpy(), values, "a time that is not HH:MM:SS",
             f"write times as HH:MM:SS (hours may pass 24 for trips after midnight, e.g. 25:10:00; {_SPEC})",
             where)
    numbers = parts.astype(float).to_numpy()
    return numbers[:, 0] * 3600 + numbers[:, 1] * 60 + numbers[:, 2]


def parse_dates(feed: FeedSource, txt: str, column: str, values: pd.Series) -> np.ndarray:
    """The dates (``datetime64[D]``) of GTFS ``YYYYMMDD`` values; anything else is an error naming the row."""
    parsed = pd.to_datetime(values, format="%Y%m%d", errors="coerce")
    bad_rows(feed, txt, column, parsed.isna().to_numpy(), values, "a date that is not YYYYMMDD",
             f"write dates as YYYYMMDD, e.g. 20190513 ({_SPEC})")
    return parsed.to_numpy().astype("datetime64[D]")


def parse_numbers(feed: FeedSource, txt: str, column: str, values: pd.Series, *, allow_empty: bool = False,
                  what: str = "a number") -> np.ndarray:
    """The float values of a numeric column (NaN for empty cells when ``allow_empty``); an error naming the
    row otherwise."""
    numbers = pd.to_numeric(values.where(values != ""), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers) & ((values != "").to_numpy() | (not allow_empty))
    bad_rows(feed, txt, column, bad, values, f"a value that is not {what}",
             f"give {what} in every row of {column}{' that has a value' if allow_empty else ''} ({_SPEC})")
    return numbers


def unique_ids(feed: FeedSource, txt: str, column: str, ids: pd.Series) -> None:
    """An error naming the first id of ``column`` that appears twice in ``txt``."""
    bad_rows(feed, txt, column, ids.duplicated().to_numpy(), ids, "an id used by an earlier row",
             f"every row of {txt} needs its own {column}")
