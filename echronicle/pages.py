"""Render the archive's HTML pages (index and one page per issue version) from the model."""

from __future__ import annotations

from collections.abc import Sequence

from echronicle.labels import LABELS, issue_label
from echronicle.model import Edition, Issue
from echronicle.templates import environment


def render_issue_page(edition: Edition, issue: Issue, root: str) -> str:
    """The permanent page of one version of an issue; `root` is the absolute base URL."""
    label = issue_label(issue.volume, issue.number, issue.lang)
    return environment().get_template("issue.html.j2").render(
        lang=issue.lang, issue=issue, root=root, canonical=root + issue.path,
        others=[v for v in edition.versions if v is not issue],
        page_title=f"{issue.title} | {LABELS[issue.lang]['newsletter']} {label}",
        description=issue.summary,
    )


def render_index(editions: Sequence[Edition], root: str, lang: str) -> str:
    """Every issue, newest first (the caller orders them)."""
    return environment().get_template("index.html.j2").render(
        lang=lang, editions=editions, root=root, canonical=root,
        page_title=LABELS[lang]["archive"], description="",
    )


def render_issue_content(issue: Issue) -> str:
    """The issue's body alone, for feed entries."""
    return environment().get_template("issue_body.html.j2").render(issue=issue)
