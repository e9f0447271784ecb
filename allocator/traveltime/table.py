"""Precomputed travel times: read and write a long CSV travel-time matrix.

A scenario's ``matrix:`` section replaces the road network by travel times
made elsewhere (r5py, OSRM, a survey), so results can be compared with other
tools on the same times.  The file is a CSV (``.gz``/``.zip`` compression is
inferred from the name) with one row per (origin, destination) pair:

- **ids**: origins are demand location ids (the demand layers' ``id`` values;
  where layers share a location it keeps the first layer's id, see
  :func:`allocator.inputs.layers.combine_layers`), destinations are site ids (the
  ``id`` values of existing facilities and candidates); all are compared as
  text, exactly (``"007"`` is not ``"7"``);
- **minutes**: a number from 0 to :data:`MAX_MINUTES`; an empty cell or ``inf`` marks the pair
  unreachable, and so does a pair missing from the file.  Text such as
  ``NaN`` or ``n/a``, negative times, empty ids and the same pair twice with
  different minutes are errors naming the line;
- rows naming ids outside a scenario are ignored (one file can serve several
  scenarios); a demand or site id with no row at all is unreachable.

:func:`read_matrix_csv` checks the file once; :func:`cost_matrix` then looks
up one service's demand x site minutes in it; :func:`write_matrix_csv` writes
any matrix (allocator's own, for instance) in the same format.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.inputs.csvfile import CSV_OPTIONS, reading_csv
from allocator.inputs.files import checked_file
from allocator.scenario.schema import MatrixSpec

# pandas 2 parses floats fast but not always to the nearest double; "round_trip" is exact (pandas 3 always is,
# and deprecates the option), so that a matrix written by write_matrix_csv reads back bit for bit
#: the longest finite trip a matrix may give, minutes (100,000 min is ten weeks; larger is a unit or data error)
MAX_MINUTES = 100_000.0
_EXACT_FLOATS: dict[str, Any] = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


@dataclass(frozen=True)
class MatrixReport:
    """What :func:`read_matrix_csv` read: a matrix run's stand-in for
    :class:`allocator.traveltime.network.NetworkReport` in the log, summary and headlines."""

    source: str
    rows: int
    """data rows read (blank lines aside)"""
    pairs: int
    """distinct (origin, destination) pairs, repeated identical rows counted once"""
    unreachable: int
    """pairs marked unreachable (empty or ``inf`` minutes)"""
    origins: int
    destinations: int
    seconds: float

    mode: ClassVar[str] = "matrix"
    """how travel is labelled in headlines (a network run shows walk, bike or drive)"""

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-serialisable values."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class TravelTimeTable:
    """A matrix file's distinct pairs, ids stored once and referred to by position."""

    path: Path
    origins: pd.Index
    """distinct origin ids (text)"""
    destinations: pd.Index
    """distinct destination ids (text)"""
    origin_code: np.ndarray
    """per pair: position of its origin in ``origins``"""
    destination_code: np.ndarray
    """per pair: position of its destination in ``destinations``"""
    minutes: np.ndarray
    """per pair; ``inf`` = unreachable"""


@dataclass(frozen=True, eq=False)
class MatrixLookup:
    """One service's costs looked up in a :class:`TravelTimeTable`."""

    cost: np.ndarray
    """minutes, origin rows x site columns; ``inf`` where the file has no finite time"""
    pairs_used: int
    """pairs of the file that filled a cell (the rest name ids outside the request)"""
    origin_absent: np.ndarray
    """per origin row: True when its id is no origin of the file at all"""
    site_absent: np.ndarray
    """per site column: True when its id is no destination of the file at all"""


def read_matrix_csv(path: Path, spec: MatrixSpec, *, field: str = "matrix") -> tuple[TravelTimeTable, MatrixReport]:
    """Read and check a long travel-time CSV (see the module docstring for the rules).

    Ids are read as text and minutes as numbers by pandas' C parser, so a
    1.5-million-row file loads in a second or two; only when some minutes are
    not numbers is the file read again as text, to name the line.  ``field``
    names the scenario section in error messages.
    """
    started = time.perf_counter()
    checked_file(path, field=f"{field}.source")
    roles = {"origin": spec.origin, "destination": spec.destination, "minutes": spec.minutes}
    columns = list(dict.fromkeys(roles.values()))
    if len(columns) < len(roles):
        same = [role for role, column in roles.items() if list(roles.values()).count(column) > 1]
        raise AllocatorError(f"{field}.{same[0]} and {field}.{same[1]} name the same column {roles[same[0]]!r}",
                             field=f"{field}.{same[1]}",
                             fix=f"give {field}.origin, .destination and .minutes three different columns")
    options: dict[str, Any] = {**CSV_OPTIONS, "usecols": columns, "keep_default_na": False, "na_values": [""],
                               "skip_blank_lines": False,   # blank lines stay rows: row i is on line i + 2
                               **_EXACT_FLOATS}
    with reading_csv(path, f"{field}.source"):
        header = pd.read_csv(path, nrows=0, **CSV_OPTIONS).columns
        missing = [role for role, column in roles.items() if column not in header]
        if missing:
            raise AllocatorError(
                "column(s) " + ", ".join(repr(roles[r]) for r in missing) + " not found", file=path,
                field=f"{field}.{missing[0]}",
                fix="columns are: " + ", ".join(map(str, header))
                    + f"; name yours with {field}.origin / .destination / .minutes")
        try:
            raw = pd.read_csv(path, dtype={**dict.fromkeys(columns, str), spec.minutes: float}, **options)
        except ValueError as exc:   # some minutes are not numbers; parser and encoding errors go to reading_csv
            if isinstance(exc, (pd.errors.ParserError, UnicodeDecodeError)):
                raise
            raw = pd.read_csv(path, dtype=str, **options)

    raw = raw[~raw.isna().all(axis=1)]   # blank lines
    line = raw.index.to_numpy() + 2      # row 0 is on line 2, below the header
    origin, destination, given = raw[spec.origin], raw[spec.destination], raw[spec.minutes]

    def fail(mask: pd.Series | np.ndarray, role: str, message: str, fix: str) -> None:
        bad = np.flatnonzero(np.asarray(mask))
        if bad.size:
            more = f" ({bad.size:,} rows like this)" if bad.size > 1 else ""
            raise AllocatorError(message.format(value=given.iloc[bad[0]]) + more, file=path,
                                 line=int(line[bad[0]]), field=f"{field}.{role}", fix=fix)

    fail(origin.isna(), "origin", "empty origin id", "every row needs a demand location id")
    fail(destination.isna(), "destination", "empty destination id", "every row needs a site id")
    empty = given.isna().to_numpy()
    minutes = pd.to_numeric(given, errors="coerce").to_numpy(float, copy=True)
    fail(np.isnan(minutes) & ~empty, "minutes", "minutes {value!r} is not a number",
         "write minutes as numbers; for an unreachable pair leave the cell empty, write inf, or leave the row out")
    fail(minutes < 0, "minutes", "negative minutes {value}", "travel times must be >= 0")
    fail(np.isfinite(minutes) & (minutes > MAX_MINUTES), "minutes", f"minutes {{value}} above {MAX_MINUTES:,.0f}",
         "check the unit (minutes, not seconds or metres); for an unreachable pair leave the cell empty or write inf")
    minutes[empty] = np.inf

    origin_code, origins = pd.factorize(origin)
    destination_code, destinations = pd.factorize(destination)
    key = pd.Series(origin_code.astype(np.int64) * len(destinations) + destination_code)
    repeated = key.duplicated().to_numpy()
    if repeated.any():
        _check_repeats(key, minutes, line, origin, destination, path, field)
    keep = ~repeated
    table = TravelTimeTable(path=path, origins=pd.Index(origins, dtype=str),
                            destinations=pd.Index(destinations, dtype=str), origin_code=origin_code[keep],
                            destination_code=destination_code[keep], minutes=minutes[keep])
    report = MatrixReport(source=str(path), rows=len(line), pairs=int(keep.sum()),
                          unreachable=int(np.isinf(table.minutes).sum()), origins=len(origins),
                          destinations=len(destinations), seconds=time.perf_counter() - started)
    return table, report


def _check_repeats(key: pd.Series, minutes: np.ndarray, line: np.ndarray, origin: pd.Series,
                   destination: pd.Series, path: Path, field: str) -> None:
    """A pair may repeat with the same minutes (kept once), not with different ones."""
    rows = np.flatnonzero(key.duplicated(keep=False).to_numpy())
    same_pair = pd.DataFrame({"key": key.to_numpy()[rows], "minutes": minutes[rows]})
    conflict = same_pair.groupby("key")["minutes"].transform("nunique").to_numpy() > 1
    if not conflict.any():
        return
    first = rows[np.flatnonzero(conflict)[0]]
    other = rows[(same_pair["key"].to_numpy() == key.iloc[first]) & (minutes[rows] != minutes[first])][0]
    raise AllocatorError(
        f"pair ({origin.iloc[first]!r}, {destination.iloc[first]!r}) appears on lines {line[first]} and "
        f"{line[other]} with different minutes ({minutes[first]:g} and {minutes[other]:g})",
        file=path, line=int(line[other]), field=f"{field}.minutes",
        fix="keep one row per (origin, destination) pair")


def cost_matrix(table: TravelTimeTable, origin_ids: Sequence[str], site_ids: Sequence[str]) -> MatrixLookup:
    """Minutes from each origin id (rows) to each site id (columns), ``inf`` where the file has none.

    Ids may repeat (e.g. a site listed as existing and as candidate); each
    occurrence gets the same times.  Pairs naming other ids are skipped.
    """
    row_slot, row_of_origin, origin_absent = _match(origin_ids, table.origins)
    col_slot, col_of_destination, site_absent = _match(site_ids, table.destinations)
    rows = row_of_origin[table.origin_code]
    cols = col_of_destination[table.destination_code]
    used = (rows >= 0) & (cols >= 0)
    distinct = np.full((row_slot.max(initial=-1) + 1, col_slot.max(initial=-1) + 1), np.inf)
    distinct[rows[used], cols[used]] = table.minutes[used]
    return MatrixLookup(cost=distinct[np.ix_(row_slot, col_slot)], pairs_used=int(used.sum()),
                        origin_absent=origin_absent, site_absent=site_absent)


def _match(ids: Sequence[str], present: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match requested ``ids`` (repeats allowed) with a file's distinct ids ``present``.

    Returns each requested id's slot among the distinct requested ids, each
    file id's slot (-1: not requested) and, per requested id, whether the
    file lacks it.
    """
    slot, wanted = pd.factorize(pd.Index(ids, dtype=str))
    slot_of_present = pd.Index(wanted, dtype=str).get_indexer(present)
    absent = present.get_indexer(wanted) < 0
    return slot, slot_of_present, absent[slot]


def write_matrix_csv(path: str | Path, origin_ids: Sequence[str], site_ids: Sequence[str], cost: np.ndarray, *,
                     origin: str = "origin", destination: str = "destination", minutes: str = "minutes") -> int:
    """Write ``cost`` (origin rows x site columns, minutes) as a long CSV that ``matrix:`` reads.

    Only finite pairs are written: a missing pair means unreachable.  The
    column names default to those ``matrix:`` expects.  From a
    run: ``write_matrix_csv(path, s.demand["id"], s.site_columns["id"], s.cost)`` for
    a :class:`allocator.evaluate.result.ServiceResult` ``s``.  Returns the rows written.
    """
    cost = np.asarray(cost, dtype=float)
    origin_ids, site_ids = np.asarray(origin_ids, dtype=str), np.asarray(site_ids, dtype=str)
    if cost.shape != (len(origin_ids), len(site_ids)):
        raise AllocatorError(f"cost has shape {cost.shape} but there are {len(origin_ids)} origin ids and "
                             f"{len(site_ids)} site ids", field="cost",
                             fix="give one row per origin id and one column per site id")
    rows, cols = np.nonzero(np.isfinite(cost))
    pd.DataFrame({origin: origin_ids[rows], destination: site_ids[cols],
                  minutes: cost[rows, cols]}).to_csv(path, index=False)
    return len(rows)


@dataclass
class MatrixSource:
    """The scenario's precomputed travel-time matrix, read and checked once for every service (a TravelTimeSource)."""

    scenario: Any   # allocator.scenario.loader.LoadedScenario
    table: TravelTimeTable
    report: MatrixReport
    timing_key: ClassVar[str] = "matrix_s"

    @classmethod
    def open(cls, scenario: Any, log: Callable[[str], None]) -> MatrixSource:
        spec = scenario.spec.matrix
        table, report = read_matrix_csv(scenario.resolve_path(spec.source, "matrix.source"), spec)
        log(f"travel times from matrix {report.source}: {report.pairs:,} pairs ({report.origins:,} origins x "
            f"{report.destinations:,} destinations, {report.unreachable:,} marked unreachable) in {report.seconds:.1f}s")
        return cls(scenario, table, report)

    def service_times(self, service: Any, field: str, demand: pd.DataFrame, sites: pd.DataFrame) -> Any:
        """Minutes looked up by id in the matrix file, with notes on ids it lacks and rows it ignores."""
        from allocator.inputs.sites import check_site_ids_unique
        from allocator.traveltime.source import ServiceTimes, reachability_notes

        table = self.table
        check_site_ids_unique(sites, self.scenario, field)
        lookup = cost_matrix(table, demand["id"], sites["id"])
        name = table.path.name
        new = sites["status"].eq("new").to_numpy()
        if lookup.pairs_used == 0:
            raise AllocatorError(
                f"no row of the matrix pairs a demand id with a site id of service '{service.name}'",
                file=table.path, field="matrix.origin / matrix.destination",
                fix=f"origins must be demand ids (e.g. {_examples(demand['id'])}) and destinations site ids "
                    f"(e.g. {_examples(sites['id'])}); the matrix has origins like {_examples(table.origins)} "
                    f"and destinations like {_examples(table.destinations)}")
        if not np.isfinite(lookup.cost[:, new]).any():
            raise AllocatorError(
                f"no candidate site of service '{service.name}' has a travel time from any demand location "
                "in the matrix", file=table.path, field="matrix.destination",
                fix=f"add rows for the candidate ids (e.g. {_examples(sites['id'][new])}) "
                    f"of {field}.candidates to the matrix")
        notes = reachability_notes(demand, lookup.origin_absent, sites, lookup.site_absent,
                                   f"absent from the matrix {name}")
        ignored = len(table.minutes) - lookup.pairs_used
        if ignored:
            notes.append(f"{ignored:,} of {len(table.minutes):,} pairs in the matrix {name} name a demand or site "
                         f"id outside this service and were ignored")
        return ServiceTimes(lookup.cost, notes)


def _examples(ids: pd.Series | pd.Index, n: int = 3) -> str:
    """The first few ids, quoted, for messages."""
    first = [repr(str(i)) for i in list(ids)[:n]]
    return ", ".join(first) + (", ..." if len(ids) > n else "") if first else "none"
