"""The frame of the report and comparison pages (``templates/page.html``): target status words, footer."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from allocator.outputs.labels import cjk_font, name, translate
from allocator.outputs.templates import render
from allocator.solve.run_info import ATTRIBUTION


@dataclass(frozen=True)
class Status:
    """A target's state as the pages show it: its CSS class (met, miss, na) and its word."""

    cls: str
    text: str


def target_status(lang: str, met: bool | None) -> Status:
    """Met, not met, or not applicable (``None``), in ``lang``."""
    if met is None:
        return Status("na", translate(lang, "n_a"))
    return Status("met" if met else "miss", translate(lang, "met" if met else "not_met"))


def html_page(title: str, subtitle: str, body: Markup, lang: str, footer: list[str]) -> str:
    """The whole page around ``body`` (markup from the section templates)."""
    return render("page.html", lang_tag="zh-Hans" if lang == "zh" else "en", title=title, subtitle=subtitle,
                  body=body, footer=footer) + "\n"


def footer_lines(lang: str, credits: list[str] | None = None) -> list:
    """The page's footer: the credit lines of the data used (``RunInfo.attributions``; OpenStreetMap when none)."""
    lines = [translate(lang, "data_credit", credits=name("; ".join(credits or [ATTRIBUTION])))]
    if lang == "zh" and cjk_font() is None:
        lines.insert(0, translate(lang, "font_note"))
    return lines
