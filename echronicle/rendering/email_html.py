"""The HTML part of the newsletter email: the MJML template rendered (autoescaped), compiled
with mjml-python, and folded for a 7bit part. The only module that imports `mjml`."""

from __future__ import annotations

from mjml import mjml2html

from echronicle.reading.model import Issue
from echronicle.rendering.htmlfold import fold_html
from echronicle.rendering.labels import email_subject
from echronicle.rendering.templates import environment


class MjmlError(Exception):
    """mjml-python refused the MJML our template produced (a bug in the template)."""


def render_mjml(issue: Issue, archive_url: str, unsubscribe_url: str) -> str:
    """MJML for one issue; every value from the issue file is escaped."""
    template = environment().get_template("email.mjml.j2")
    return template.render(issue=issue, subject=email_subject(issue), archive_url=archive_url,
                           unsubscribe_url=unsubscribe_url)


def compile_mjml(source: str) -> str:
    """The HTML for `source`; no fonts are fetched, so no Google Fonts links are added."""
    try:
        html: str = mjml2html(source, disable_comments=True, fonts={})
    except Exception as exc:  # mjml-python raises plain exceptions from Rust
        raise MjmlError(str(exc)) from exc
    return html


def render_html(issue: Issue, archive_url: str, unsubscribe_url: str) -> str:
    """The email's HTML part: ASCII only, no line longer than SMTP allows."""
    return fold_html(compile_mjml(render_mjml(issue, archive_url, unsubscribe_url)))
