"""How the pages name a site: its place label, and for a grid cell what the point stands for.

A candidate read from a grid (an H3 cell id) is not a building but the centre
of a cell: the report and the map say so, with the cell's size ("the centre
of a 320 m cell near Rua X and Rua Y"), so an official looks for a plot in
that area rather than at that corner.
"""

from __future__ import annotations

from allocator.inputs.place_names import cell_size_m, coordinates
from allocator.outputs.labels import translate


def site_place(lang: str, place: str, site_id: str) -> str:
    """``place`` (:func:`allocator.inputs.place_names.name_sites`), or for a grid cell "the centre of a 320 m cell
    near ``place``" (its ", near" cross street joined with "and")."""
    size = cell_size_m(str(site_id))
    if size is None:
        return place
    return translate(lang, "cell_place", m=size, place=place.replace(", near ", translate(lang, "and")))


def site_at(row: dict) -> str:
    """A site's coordinates as the pages show them (4 decimals, about 10 m)."""
    return coordinates(float(row["lon"]), float(row["lat"]))
