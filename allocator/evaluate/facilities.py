"""The facilities table of a solved service: which open site serves each demand location, and how many people."""

from __future__ import annotations

import numpy as np
import pandas as pd


def facility_rows(site: np.ndarray, open_mask: np.ndarray) -> np.ndarray:
    """Turn site indices (from :func:`allocator.solve.models.assign`) into rows of the
    facilities table, which lists the open sites in site order; -1 stays -1."""
    return np.where(site >= 0, np.searchsorted(np.flatnonzero(open_mask), site), -1)


def served(demand: pd.DataFrame, n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """Population assigned to each open site and its population-weighted mean travel time (NaN: nobody)."""
    site = demand["assigned_facility"].to_numpy()
    ok = site >= 0
    pop = demand["population"].to_numpy(float)[ok]
    times = demand["time_after"].to_numpy(float)[ok]
    people = np.bincount(site[ok], weights=pop, minlength=n_sites)
    minutes = np.bincount(site[ok], weights=pop * times, minlength=n_sites)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(people > 0, minutes / people, np.nan)
    return people, mean
