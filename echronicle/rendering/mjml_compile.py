"""Compile MJML to email HTML with mjml-python; the only module that imports `mjml`."""

from __future__ import annotations

from mjml import mjml2html


class MjmlError(Exception):
    """mjml-python refused the MJML our template produced (a bug in the template)."""


def compile_mjml(source: str) -> str:
    """The HTML for `source`; no fonts are fetched, so no Google Fonts links are added."""
    try:
        html: str = mjml2html(source, disable_comments=True, fonts={})
    except Exception as exc:  # mjml-python raises plain exceptions from Rust
        raise MjmlError(str(exc)) from exc
    return html
