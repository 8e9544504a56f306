"""Render an issue to MJML source with the autoescaping Jinja2 template."""

from __future__ import annotations

from echronicle.reading.model import Issue
from echronicle.rendering.labels import issue_label, words
from echronicle.rendering.templates import environment


def email_subject(issue: Issue) -> str:
    """E-Chronicle Vol. 12 no. 2: <title>"""
    label = issue_label(issue.volume, issue.number, issue.lang)
    return f"{words(issue.lang).newsletter} {label}: {issue.title}"


def render_mjml(issue: Issue, archive_url: str, unsubscribe_url: str) -> str:
    """MJML for one issue; every value from the issue file is escaped."""
    template = environment().get_template("email.mjml.j2")
    return template.render(issue=issue, subject=email_subject(issue), archive_url=archive_url,
                           unsubscribe_url=unsubscribe_url)
