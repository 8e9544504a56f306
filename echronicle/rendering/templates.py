"""The Jinja2 environment (autoescaping) that loads the email and archive templates."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from echronicle.rendering.blocks_html import blocks_html, inlines_html
from echronicle.rendering.labels import format_date, issue_label, meeting_when, only_in, words


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Built once per process: compiling templates is the costly part, and it never changes."""
    env = Environment(
        loader=PackageLoader("echronicle.rendering", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["blocks"] = blocks_html
    env.filters["inlines"] = inlines_html
    env.globals.update(words=words, format_date=format_date, issue_label=issue_label,
                       meeting_when=meeting_when, only_in=only_in)
    return env
