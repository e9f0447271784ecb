"""Small numpy kernels every model shares."""

from __future__ import annotations

import numpy as np


def nearest_open(cost: np.ndarray, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site per client and its cost.

    ``open_sites`` is an array of site indices (or a bool mask).  Returns
    ``(site, minutes)``: ``site`` is -1 and ``minutes`` inf where no open site
    is reachable.  Ties go to the lowest site index.
    """
    c = np.asarray(cost, dtype=float)
    o = np.asarray(open_sites)
    if o.dtype == bool:
        o = np.flatnonzero(o)
    o = np.sort(o.astype(np.int64))
    n = c.shape[0]
    if o.size == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    sub = c[:, o]
    k = np.argmin(sub, axis=1)
    best = sub[np.arange(n), k]
    site = o[k]
    site = np.where(np.isfinite(best), site, -1)
    return site.astype(np.int64), best
