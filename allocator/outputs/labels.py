"""Number formatting shared by the report, the comparison and the console."""

from __future__ import annotations


def amount(value: float) -> str:
    """Money: 12, 11.5, 1,250.25."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")
