"""Every CSV the outputs write (sites, districts, targets, sweep, comparison), safe to open in a spreadsheet.

A text cell from data such as ``=HYPERLINK("http://x","y")``, ``+cmd|' /C calc'!A0`` or ``@SUM(1+1)`` would
run as a formula in Excel, LibreOffice or Google Sheets. As OWASP advises for CSV exports, a text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading ``'``, which
spreadsheets show as text; dropping that one ``'`` gives the original back. Numbers stay numbers: numeric
columns, and text cells that are a plain number (a negative id such as ``-12``), are written as they are.
Rows end in CRLF as RFC 4180 has it, so a cell holding a carriage return is quoted and stays one cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: the first characters that make a spreadsheet read a cell as a formula (or hide one after a control character)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_text(value: object) -> object:
    """``value`` as a spreadsheet shows it as text: a ``'`` before a formula-like text cell; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (no index) to ``path`` with every text cell passed through :func:`spreadsheet_text`."""
    safe = frame.copy()
    for i, dtype in enumerate(safe.dtypes):
        if not pd.api.types.is_numeric_dtype(dtype):
            safe.isetitem(i, safe.iloc[:, i].map(spreadsheet_text).to_numpy())
    safe.columns = [spreadsheet_text(str(c)) for c in safe.columns]
    safe.to_csv(path, index=False, lineterminator="\r\n")   # RFC 4180: a cell holding a lone CR is then quoted
