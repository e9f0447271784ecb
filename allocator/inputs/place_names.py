"""Names a person recognises for sites and districts: a given name, else the nearest named streets.

A site without a name (no ``name_column``, or an empty cell) is labelled from
the road network's edge ``name`` tags: the nearest named street, and the
nearest *other* named street as a cross reference ("Avenida Ipiranga, near Rua
Santana"). Districts without a name (H3 parents, bare codes) get the same kind
of label at their population centre, so no page shows a bare code alone.
Without a road network (a matrix run) the label is the point's coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

#: A street farther than this from the point does not name it (metres).
NAME_RADIUS_M = 400.0
#: The cross street must be this near the point (metres).
CROSS_RADIUS_M = 250.0
_M_PER_DEG_LAT = 110_574.0
#: the words a built label is made of, per report language (names stay as the data gives them)
PLACE_WORDS = {
    "en": {"near": "{first}, near {cross}", "around": "around {street}", "sector": "{sector} {n}",
           "sectors": ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east"),
           "centre": "centre"},
    "zh": {"near": "{first}（靠近{cross}）", "around": "{street}一带", "sector": "{sector}{n}区",
           "sectors": ("东部", "东北部", "北部", "西北部", "西部", "西南部", "南部", "东南部"), "centre": "中心"},
}


def place_words(language: str) -> dict:
    """:data:`PLACE_WORDS` of ``language`` (English for a language without its own)."""
    return PLACE_WORDS.get(language, PLACE_WORDS["en"])


@dataclass(frozen=True, eq=False)
class StreetIndex:
    """Midpoints of the road network's named edges, in a local metric frame, for nearest-street look-ups."""

    names: np.ndarray   # str, one per midpoint
    tree: cKDTree
    lat0: float
    language: str = "en"   # of the connecting words ("near"), :data:`PLACE_WORDS`

    def _xy(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        scale = _M_PER_DEG_LAT * math.cos(math.radians(self.lat0))
        return np.column_stack([np.asarray(lon, float) * scale, np.asarray(lat, float) * _M_PER_DEG_LAT])

    def streets(self, lon: float, lat: float) -> tuple[str, str | None] | None:
        """The nearest named street and the nearest other one within CROSS_RADIUS_M (or None), or None when no
        named street is within NAME_RADIUS_M."""
        k = min(32, len(self.names))
        dist, idx = self.tree.query(self._xy(np.array([lon]), np.array([lat]))[0], k=k)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        if not len(dist) or dist[0] > NAME_RADIUS_M:
            return None
        first = str(self.names[idx[0]])
        cross = next((str(self.names[i]) for d, i in zip(dist, idx)
                      if d <= CROSS_RADIUS_M and str(self.names[i]) != first), None)
        return first, cross

    def label(self, lon: float, lat: float) -> str:
        """"Street, near Cross street" (in :attr:`language`), "Street", or "" when no named street is near."""
        found = self.streets(lon, lat)
        if found is None:
            return ""
        first, cross = found
        return place_words(self.language)["near"].format(first=first, cross=cross) if cross else first


def street_index(graph: nx.MultiDiGraph, language: str = "en") -> StreetIndex | None:
    """The named edges of a road graph (nodes with ``x``/``y`` lon/lat), or None when no edge has a name;
    its labels connect the names in ``language``."""
    names, lon, lat = [], [], []
    nodes = graph.nodes
    for u, v, data in graph.edges(data=True):
        name = data.get("name")
        if isinstance(name, list):   # osmnx merges the tags of simplified ways through a set: any order
            name = min((n.strip() for n in name if isinstance(n, str) and n.strip()), default=None)
        if not isinstance(name, str) or not name.strip():
            continue
        names.append(name.strip())
        lon.append((nodes[u]["x"] + nodes[v]["x"]) / 2)
        lat.append((nodes[u]["y"] + nodes[v]["y"]) / 2)
    if not names:
        return None
    lat0 = float(np.mean(lat))
    probe = StreetIndex(np.asarray(names, dtype=object), cKDTree(np.zeros((1, 2))), lat0)
    return StreetIndex(probe.names, cKDTree(probe._xy(np.asarray(lon), np.asarray(lat))), lat0, language)


def coordinates(lon: float, lat: float) -> str:
    """A point as "-30.03350, -51.21800" (latitude, longitude; about 1 m)."""
    return f"{lat:.5f}, {lon:.5f}"


def place_labels(frame: pd.DataFrame, streets: StreetIndex | None) -> pd.Series:
    """One label per row of ``frame`` (``name``, ``lon``, ``lat``): its name, else its streets, else its coordinates."""
    out = []
    for name, lon, lat in zip(frame["name"].astype(str), frame["lon"].astype(float), frame["lat"].astype(float)):
        given = "" if name.strip().lower() in ("", "nan", "none") else name.strip()
        out.append(given or (streets.label(lon, lat) if streets is not None else "") or coordinates(lon, lat))
    return pd.Series(out, index=frame.index, dtype=object)


def district_labels(demand: pd.DataFrame, keys: pd.Series, names: pd.Series,
                    streets: StreetIndex | None, language: str | None = None) -> pd.Series:
    """Display names of districts: the given name, else a label built from the data (never a bare code alone).

    A district whose name is its key (H3 parents, a code column) is named by
    the streets at its population centre, "around Avenida X"; without a road
    network, by its compass sector from the study area's centre and its rank by
    population ("north-east 2"). Two districts with one label keep their keys in brackets. The words are in
    ``language`` (default: the street index's, else English).
    """
    words = place_words(language or (streets.language if streets is not None else "en"))
    pop = demand["population"].to_numpy(float)
    lon, lat = demand["lon"].to_numpy(float), demand["lat"].to_numpy(float)
    weights = np.where(pop.sum() > 0, pop, 1.0)
    mid = (float(np.average(lon, weights=weights)), float(np.average(lat, weights=weights)))
    labels: dict[str, str] = {}
    bare = [k for k in pd.unique(keys) if (names[keys == k].iloc[0] == k)]
    ranked = sorted(bare, key=lambda k: -pop[(keys == k).to_numpy()].sum())
    sectors: dict[str, int] = {}
    for key in ranked:
        rows = (keys == key).to_numpy()
        w = pop[rows] if pop[rows].sum() > 0 else np.ones(rows.sum())
        # the populated location nearest the centre of the district's people
        cx, cy = float(np.average(lon[rows], weights=w)), float(np.average(lat[rows], weights=w))
        at = np.argmin((lon[rows] - cx) ** 2 + (lat[rows] - cy) ** 2)
        found = streets.streets(float(lon[rows][at]), float(lat[rows][at])) if streets is not None else None
        if found is not None:
            labels[key] = words["around"].format(street=found[0])
        else:
            sector = compass(cx - mid[0], cy - mid[1], words)
            sectors[sector] = sectors.get(sector, 0) + 1
            labels[key] = words["sector"].format(sector=sector, n=sectors[sector])
    taken = pd.Series(list(labels.values())).value_counts()
    labels = {k: f"{v} [{k}]" if taken[v] > 1 else v for k, v in labels.items()}   # same street: the key tells apart
    return pd.Series([labels.get(k, n) for k, n in zip(keys, names)], index=keys.index, dtype=str)


def compass(dx: float, dy: float, words: dict | None = None) -> str:
    """The eight-point compass sector of an offset (east = +dx, north = +dy); "centre" for none (``words``:
    :data:`PLACE_WORDS` of the page's language; default English)."""
    words = words or PLACE_WORDS["en"]
    if abs(dx) < 1e-12 and abs(dy) < 1e-12:
        return str(words["centre"])
    return str(words["sectors"][int(((math.degrees(math.atan2(dy, dx)) + 22.5) % 360) // 45)])


def name_sites(facilities: pd.DataFrame, demand: pd.DataFrame, streets: StreetIndex | None) -> pd.DataFrame:
    """``facilities`` with ``place`` (a label a person recognises) and ``district`` (of the nearest demand location).

    A new frame; ``facilities`` is left as it is.
    """
    out = facilities.copy()
    out["place"] = place_labels(out, streets) if len(out) else pd.Series(dtype=object)
    if "district_name" not in demand or not len(demand) or not len(out):
        out["district"] = ""
        return out
    tree = cKDTree(np.column_stack([demand["lon"].to_numpy(float), demand["lat"].to_numpy(float)]))
    _, nearest = tree.query(np.column_stack([out["lon"].to_numpy(float), out["lat"].to_numpy(float)]))
    out["district"] = demand["district_name"].astype(str).to_numpy()[nearest]
    return out
