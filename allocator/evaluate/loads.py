"""New sites serving few people: under a share of the median open site's people served.

A plan's report and the comparison page flag them: a site serving far fewer
people than a typical one may not be worth building.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.inputs.sites import SiteStatus

#: a new site serving fewer people than this share of the median open site's is flagged as a small load
SMALL_LOAD_SHARE = 0.25


def small_limit(facilities: pd.DataFrame) -> float:
    """The small-load limit (people): :data:`SMALL_LOAD_SHARE` of the median open site's people served."""
    open_rows = facilities[facilities["status"] != SiteStatus.CLOSED]
    if not len(open_rows):
        return 0.0
    return SMALL_LOAD_SHARE * float(np.nanmedian(open_rows["assigned_population"].to_numpy(float)))


def small_loads(facilities: pd.DataFrame, limit: float) -> pd.DataFrame:
    """The new sites (rows of ``facilities``) serving fewer people than ``limit`` (:func:`small_limit`)."""
    new = facilities[facilities["status"] == SiteStatus.NEW]
    return new[new["assigned_population"].to_numpy(float) < limit]
