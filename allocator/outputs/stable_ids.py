"""Reproducible HTML from folium: its random element ids renamed in order of appearance.

folium names every element ``<kind>_<uuid4 hex>`` (``map_3f2a...``,
``geo_json_...``), so two identical runs write different ``map.html`` files.
:func:`stable_ids` replaces each distinct 32-hex id by its rank of first
appearance (as 32 hex digits, so lengths and the id pattern stay the same),
which makes the page a function of its content only.
"""

from __future__ import annotations

import re

_FOLIUM_ID = re.compile(r"\b([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*?_)([0-9a-f]{32})(?![0-9A-Za-z])")


def stable_ids(html: str) -> str:
    """``html`` with folium's uuid element ids numbered in order of first appearance."""
    rank: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        number = rank.setdefault(match.group(2), f"{len(rank):032x}")
        return match.group(1) + number

    return _FOLIUM_ID.sub(renumber, html)
