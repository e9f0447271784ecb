"""Reading CSV files with pandas so that every failure names the file, the line and the fix.

pandas takes a first data row with one field too many as a row label and
shifts every column by one; ``index_col=False`` (in :data:`CSV_OPTIONS`) stops
that, and :func:`reading_csv` turns the warning it then gives, the tokenizer's
"expected N fields" error, a file that is not UTF-8 and a damaged ``.gz``
into an :class:`~allocator.errors.AllocatorError`.
"""

from __future__ import annotations

import csv
import gzip
import re
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.errors import AllocatorError

#: options every pd.read_csv of an input file takes (see the module docstring)
CSV_OPTIONS: dict[str, Any] = {"index_col": False}
_SAW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@contextmanager
def reading_csv(path: Path, field: str) -> Iterator[None]:
    """Turn the failures of the ``pd.read_csv(path, **CSV_OPTIONS, ...)`` calls inside into input errors."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="Length of header", category=pd.errors.ParserWarning)
            yield
    except pd.errors.ParserWarning:
        line, expected, saw = ragged_line(path)
        raise _ragged(path, field, line, expected, saw) from None
    except pd.errors.ParserError as exc:
        match = _SAW.search(str(exc))
        if match:
            expected, line, saw = (int(g) for g in match.groups())
            raise _ragged(path, field, line, expected, saw) from None
        raise AllocatorError(f"cannot read CSV ({exc})", file=path, field=field,
                             fix="give a comma-separated file with a header row") from None
    except UnicodeDecodeError as exc:
        raise AllocatorError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path,
                             field=field, fix="save the file as UTF-8 (in a spreadsheet: CSV UTF-8)") from None
    except (OSError, ValueError, EOFError, zlib.error) as exc:   # a damaged .gz: BadGzipFile, EOFError, zlib.error
        raise AllocatorError(f"cannot read CSV ({exc})", file=path, field=field,
                             fix="give a complete comma-separated file with a header row (check the download)") from None


def ragged_line(path: Path) -> tuple[int, int, int]:
    """The first line whose field count differs from the header's: (line, header fields, fields there)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for row in reader:
            if row and len(row) != len(header):
                return reader.line_num, len(header), len(row)
    return 0, len(header), len(header)


def _ragged(path: Path, field: str, line: int, expected: int, saw: int) -> AllocatorError:
    return AllocatorError(f"line {line} has {saw} fields but the header has {expected}", file=path,
                          line=line or None, field=field,
                          fix="every row needs as many fields as the header; quote values that contain commas")
