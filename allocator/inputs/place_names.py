"""Names a person recognises for sites and districts: a given name, else the nearest named streets.

A site without a name (no ``name_column``, or an empty cell) is labelled from
the road network's edge ``name`` tags: the nearest named street, and the
nearest *other* named street as a cross reference ("Avenida Ipiranga, near Rua
Santana"). An OpenStreetMap feature without a name carries only its type word
(:func:`unnamed`): it gets the same street label with the type as a suffix
("Mannerheimintie, near Arkadiankatu — building"). Districts without a name
(H3 parents, bare codes) are named by the OpenStreetMap place (suburb,
neighbourhood, quarter) at their population centre when the extract has one
(:attr:`StreetIndex.places`), else by their streets, so no page shows a bare
code alone. Without a road network (a matrix run) the label is the point's
coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

#: A street farther than this from the point does not name it (metres).
NAME_RADIUS_M = 400.0
#: The cross street must be this near the point (metres).
CROSS_RADIUS_M = 250.0
#: A place node (suburb, neighbourhood) farther than this from a district's centre does not name it (metres).
PLACE_RADIUS_M = 1_500.0
_M_PER_DEG_LAT = 110_574.0
#: How the name cell of an unnamed OpenStreetMap feature starts: the rest is its type word (:func:`unnamed`).
UNNAMED = "— "


@dataclass(frozen=True, eq=False)
class StreetIndex:
    """Midpoints of the road network's named edges, in a local metric frame, for nearest-street look-ups."""

    names: np.ndarray   # str, one per midpoint
    tree: cKDTree
    lat0: float
    #: OpenStreetMap places (``name``, ``geometry``: suburb, neighbourhood and quarter areas or nodes;
    #: :func:`allocator.inputs.osm_districts.read_places`), or None when the network has no OSM file
    places: gpd.GeoDataFrame | None = None

    def _xy(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        scale = _M_PER_DEG_LAT * math.cos(math.radians(self.lat0))
        return np.column_stack([np.asarray(lon, float) * scale, np.asarray(lat, float) * _M_PER_DEG_LAT])

    def label(self, lon: float, lat: float) -> str:
        """"Street, near Cross street", "Street", or "" when no named street is within NAME_RADIUS_M."""
        k = min(32, len(self.names))
        dist, idx = self.tree.query(self._xy(np.array([lon]), np.array([lat]))[0], k=k)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        if not len(dist) or dist[0] > NAME_RADIUS_M:
            return ""
        first = str(self.names[idx[0]])
        cross = next((str(self.names[i]) for d, i in zip(dist, idx)
                      if d <= CROSS_RADIUS_M and str(self.names[i]) != first), None)
        return f"{first}, near {cross}" if cross else first

    def place(self, lon: float, lat: float) -> str:
        """The OpenStreetMap place of a point: the smallest place area holding it, else the nearest place node
        within PLACE_RADIUS_M, else ""."""
        places = self.places
        if places is None or not len(places):
            return ""
        point = shapely.Point(lon, lat)
        geoms = places.geometry.to_numpy()
        areas = shapely.area(geoms)
        inside = np.flatnonzero((areas > 0) & shapely.contains(geoms, point))
        if len(inside):
            return str(places["name"].iloc[inside[np.argmin(areas[inside])]])
        nodes = np.flatnonzero(areas == 0)
        if not len(nodes):
            return ""
        xy = self._xy(shapely.get_x(geoms[nodes]), shapely.get_y(geoms[nodes]))
        dist = np.hypot(*(xy - self._xy(np.array([lon]), np.array([lat]))[0]).T)
        best = int(np.argmin(dist))
        return str(places["name"].iloc[nodes[best]]) if dist[best] <= PLACE_RADIUS_M else ""


def street_index(graph: nx.MultiDiGraph, places: gpd.GeoDataFrame | None = None) -> StreetIndex | None:
    """The named edges of a road graph (nodes with ``x``/``y`` lon/lat), or None when no edge has a name.

    ``places``: the OpenStreetMap places that name districts (:attr:`StreetIndex.places`)."""
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
    return StreetIndex(probe.names, cKDTree(probe._xy(np.asarray(lon), np.asarray(lat))), lat0, places)


def coordinates(lon: float, lat: float) -> str:
    """A point as "-30.0335, -51.2180" (latitude, longitude; about 10 m)."""
    return f"{lat:.4f}, {lon:.4f}"


def unnamed(kind: str) -> str:
    """The name cell of a feature that has only a type ("building"): labelled by :func:`place_labels` from its
    streets, with the type as a suffix."""
    return f"{UNNAMED}{kind}"


def place_labels(frame: pd.DataFrame, streets: StreetIndex | None) -> pd.Series:
    """One label per row of ``frame`` (``name``, ``lon``, ``lat``): its name, else its streets, else its coordinates
    (an :func:`unnamed` feature's type word after them: "Rua X, near Rua Y — building")."""
    out = []
    for name, lon, lat in zip(frame["name"].astype(str), frame["lon"].astype(float), frame["lat"].astype(float)):
        given = "" if name.strip().lower() in ("", "nan", "none") else name.strip()
        if given and not given.startswith(UNNAMED):
            out.append(given)
            continue
        where = (streets.label(lon, lat) if streets is not None else "") or coordinates(lon, lat)
        out.append(f"{where} {given}" if given else where)
    return pd.Series(out, index=frame.index, dtype=object)


def cell_size_m(site_id: str) -> float | None:
    """The size of the grid cell a site stands for (an H3 cell id: its width across flats, from its own area,
    rounded to 10 m), None for a site that is not a cell."""
    if not h3.is_valid_cell(site_id):
        return None
    return round(math.sqrt(2 * h3.cell_area(site_id, unit="m^2") / math.sqrt(3)), -1)


def district_labels(demand: pd.DataFrame, keys: pd.Series, names: pd.Series,
                    streets: StreetIndex | None) -> pd.Series:
    """Display names of districts: the given name, else a label built from the data (never a bare code alone).

    A district whose name is its key (H3 parents, a code column) is named by
    the OpenStreetMap place at its population centre (:meth:`StreetIndex.place`; several districts in one
    place add their street: "Kamppi, around Bulevardi"), else by the streets there, "around Avenida X"; without a road
    network, by its compass sector from the study area's centre and its rank by
    population ("north-east 2"). Two districts with one label keep their keys in brackets.
    """
    pop = demand["population"].to_numpy(float)
    lon, lat = demand["lon"].to_numpy(float), demand["lat"].to_numpy(float)
    weights = np.where(pop.sum() > 0, pop, 1.0)
    mid = (float(np.average(lon, weights=weights)), float(np.average(lat, weights=weights)))
    labels: dict[str, str] = {}
    bare = [k for k in pd.unique(keys) if (names[keys == k].iloc[0] == k)]
    ranked = sorted(bare, key=lambda k: -pop[(keys == k).to_numpy()].sum())
    sectors: dict[str, int] = {}
    streets_of: dict[str, str] = {}   # "around <street>" of the districts named by a place
    for key in ranked:
        rows = (keys == key).to_numpy()
        w = pop[rows] if pop[rows].sum() > 0 else np.ones(rows.sum())
        # the populated location nearest the centre of the district's people
        cx, cy = float(np.average(lon[rows], weights=w)), float(np.average(lat[rows], weights=w))
        at = np.argmin((lon[rows] - cx) ** 2 + (lat[rows] - cy) ** 2)
        place = streets.place(float(lon[rows][at]), float(lat[rows][at])) if streets is not None else ""
        street = streets.label(float(lon[rows][at]), float(lat[rows][at])) if streets is not None else ""
        around = f"around {street.split(', near ')[0]}" if street else ""
        if place:
            labels[key] = place
            streets_of[key] = around
        elif street:
            labels[key] = around
        else:
            sector = compass(cx - mid[0], cy - mid[1])
            sectors[sector] = sectors.get(sector, 0) + 1
            labels[key] = f"{sector} {sectors[sector]}"
    taken = pd.Series(list(labels.values())).value_counts()   # one place, several districts: their streets tell apart
    labels = {k: f"{v}, {streets_of[k]}" if taken[v] > 1 and streets_of.get(k) else v for k, v in labels.items()}
    taken = pd.Series(list(labels.values())).value_counts()
    labels = {k: f"{v} [{k}]" if taken[v] > 1 else v for k, v in labels.items()}   # same street: the key tells apart
    return pd.Series([labels.get(k, n) for k, n in zip(keys, names)], index=keys.index, dtype=str)


def compass(dx: float, dy: float) -> str:
    """The eight-point compass sector of an offset (east = +dx, north = +dy); "centre" for none."""
    if abs(dx) < 1e-12 and abs(dy) < 1e-12:
        return "centre"
    sectors = ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east")
    return sectors[int(((math.degrees(math.atan2(dy, dx)) + 22.5) % 360) // 45)]


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
