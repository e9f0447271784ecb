"""The pages' HTML templates (``allocator/outputs/templates/``): one Jinja2 environment for every writer.

Autoescape is on, so every value a writer passes in is escaped unless it is
already :class:`markupsafe.Markup` (another template's output); a name in a
template that the writer did not pass raises (``StrictUndefined``) instead of
printing nothing. Writers compute plain values (words from
:mod:`allocator.outputs.labels`, formatted numbers) and templates hold the
markup. Data for a page's script goes in as JSON made by
:func:`allocator.outputs.map_cells.payload` (safe inside ``<script>``), and the
script sets it as text (``textContent``); the only HTML a script shows is a
template's output (a facility's popup), escaped here.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from allocator.outputs.labels import name

ENVIRONMENT = Environment(
    loader=PackageLoader("allocator.outputs", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

ENVIRONMENT.filters["name"] = name   # {{ place|name }}: a name from the data (allocator.outputs.labels.name)


def render(template: str, /, **context: Any) -> Markup:
    """The ``template`` (a path under ``templates/``) filled with ``context``, as safe markup."""
    return Markup(ENVIRONMENT.get_template(template).render(**context))


def template_names() -> list[str]:
    """Every page template (the macro library excluded), for tests and checks."""
    return [n for n in ENVIRONMENT.list_templates(extensions=["html"]) if n != "macros.html"]
