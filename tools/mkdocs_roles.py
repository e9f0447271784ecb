"""An mkdocs hook: Sphinx cross-reference roles in docstrings shown as plain code in the API reference.

The docstrings name other objects the Sphinx way (``:func:`resolve```, ``:mod:`allocator.scenario```);
mkdocstrings renders the role's name before the code (":func:resolve").  This hook drops the role name
from the rendered page, leaving the code.  mkdocs.yml lists it under ``hooks``.
"""

from __future__ import annotations

import re
from typing import Any

#: a rendered role: ":func:" (etc.) right before the code element mkdocstrings made of its target
ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|exc|obj|const):(?=<code>)")


def on_page_content(html: str, **_: Any) -> str:
    """The page's HTML without the role names before code elements."""
    return ROLE.sub("", html)
