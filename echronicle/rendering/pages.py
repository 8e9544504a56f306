"""Render the archive's HTML pages (one index per language, one page per issue version)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from echronicle.reading.model import LANGS, Edition, Issue, lang_prefix
from echronicle.rendering.labels import issue_label, words
from echronicle.rendering.templates import environment


@dataclass(frozen=True)
class Alternate:
    """The same page in one language: a `hreflang` link and an entry of the language switch."""

    lang: str
    href: str


def _chrome(lang: str, root: str, canonical: str, alternates: Sequence[Alternate]
            ) -> dict[str, object]:
    """What every page's frame needs: its own language's home and feeds, and its alternates."""
    return {
        "lang": lang, "root": root, "home": root + lang_prefix(lang), "canonical": canonical,
        "alternates": alternates,
        "switch": [a for a in alternates if a.href != canonical],
    }


def render_issue_page(edition: Edition, issue: Issue, root: str) -> str:
    """The permanent page of one version of an issue; `root` is the absolute base URL."""
    label = issue_label(issue.volume, issue.number, issue.lang)
    alternates = [Alternate(v.lang, root + v.path) for v in edition.versions]
    return environment().get_template("issue.html.j2").render(
        issue=issue, page_title=f"{issue.title} | {words(issue.lang).newsletter} {label}",
        description=issue.summary,
        **_chrome(issue.lang, root, root + issue.path, alternates),
    )


def render_index_entry(edition: Edition, root: str, lang: str) -> str:
    """One issue's entry in the index of `lang`: in that language where it exists, with links
    to its other versions. Entries are made apart, so that the listing cache can keep them."""
    issue = edition.version(lang)
    return environment().get_template("index_entry.html.j2").render(
        issue=issue, others=[v for v in edition.versions if v is not issue], root=root,
        lang=lang)


# Where the entries go in the index page: a character no page can hold (pages are made from
# issue files, which may not contain control characters).
_ENTRIES = "\x00"


def render_index(entries: Sequence[bytes], root: str, lang: str) -> bytes:
    """The index page of `lang`, listing `entries` (from `render_index_entry`, UTF-8) newest
    first (the caller orders them); they are put in as they are."""
    alternates = [Alternate(other, root + lang_prefix(other)) for other in LANGS]
    page = environment().get_template("index.html.j2").render(
        entries=Markup(_ENTRIES), page_title=words(lang).archive, description="",
        **_chrome(lang, root, root + lang_prefix(lang), alternates),
    ).encode()
    head, tail = page.split(_ENTRIES.encode())
    return b"".join((head, *entries, tail))


def render_issue_content(issue: Issue) -> str:
    """The issue's banner and body, for feed entries."""
    return environment().get_template("feed_entry.html.j2").render(issue=issue)
