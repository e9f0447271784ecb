"""Population factors for a robustness variant: per district key (a mapping) or per demand id (a CSV file).

A factor multiplies the people of a demand location (1.1: ten per cent more);
locations not named keep theirs. Every bad value is an input error naming the
file (or field), the column and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from allocator.files import checked_file
from allocator.inputs.csvfile import CSV_OPTIONS, reading_csv
from allocator.inputs.layers import MAX_VALUE


def district_factors(demand: pd.DataFrame, factors: dict[str, float], field: str, scenario: Path) -> np.ndarray:
    """A factor per demand row from ``factors`` by district key (1 for the other districts)."""
    keys = demand["district"].astype(str)
    unknown = sorted(set(factors) - set(keys))
    if unknown:
        known = sorted(set(keys))
        raise AllocatorError(f"district key {unknown[0]!r} is not a district of the demand ({len(unknown)} such "
                             "key(s))", file=scenario, field=field,
                             fix=f"use keys of the districts.csv of a run, e.g. {', '.join(known[:3])}")
    return keys.map(factors).fillna(1.0).to_numpy(float)


def file_factors(demand: pd.DataFrame, path: Path, id_column: str, factor_column: str, field: str) -> np.ndarray:
    """A factor per demand row from the CSV ``path`` (demand id -> factor; 1 for the ids not listed)."""
    checked_file(path, field=f"{field}.file")
    with reading_csv(path, f"{field}.file"):
        table = pd.read_csv(path, dtype={id_column: str}, **CSV_OPTIONS)
    for column, key in ((id_column, "id"), (factor_column, "factor")):
        if column not in table:
            raise AllocatorError(f"no column '{column}' (columns: {', '.join(map(str, table.columns))})", file=path,
                                 field=f"{field}.{key}", fix=f"name the file's column in {field}.{key}")
    raw = table[factor_column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | ~(values >= 0) | ~(values <= MAX_VALUE)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise AllocatorError(f"column '{factor_column}' has a value that is not a factor >= 0 (first: "
                             f"{raw.iloc[row]!r}; {int(bad.sum()):,} such rows)", file=path, line=row + 2,
                             field=f"{field}.factor", fix="give every row a finite number >= 0 (1: no change)")
    ids = table[id_column].astype(str).str.strip()
    if ids.duplicated().any():
        raise AllocatorError(f"demand id {ids[ids.duplicated()].iloc[0]!r} is listed twice", file=path,
                             field=f"{field}.id", fix="give each demand id one factor")
    return demand["id"].astype(str).map(dict(zip(ids, values, strict=True))).fillna(1.0).to_numpy(float)
