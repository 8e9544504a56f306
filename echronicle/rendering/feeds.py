"""Render the RSS 2.0 and Atom feeds of one language with feedgen: one entry per issue.

Each language has its own feeds under its own folder ("" or "fr/"), with its own id,
self link and `language`; an issue with no version in that language appears in the
version it has, as subscribers get it by email.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time

from feedgen.feed import FeedGenerator

from echronicle.reading.model import Edition, Issue, lang_prefix
from echronicle.rendering.labels import words
from echronicle.rendering.pages import render_issue_content

GENERATOR = "ccr-mail echronicle"
# Feed dates are noon UTC of the issue date: the same calendar day everywhere in Canada,
# and never the clock of the machine that builds, so a rebuild gives the same bytes.
PUBLISH_TIME = time(12, 0, tzinfo=UTC)


def published_at(issue: Issue) -> datetime:
    return datetime.combine(issue.date, PUBLISH_TIME)


def feed_url(root: str, lang: str, name: str) -> str:
    """Where a language's feed lives: root + "feed.xml", root + "fr/atom.xml"."""
    return root + lang_prefix(lang) + name


def _feed(editions: Sequence[Edition], root: str, lang: str, self_url: str) -> FeedGenerator:
    w = words(lang)
    home = root + lang_prefix(lang)
    fg = FeedGenerator()
    fg.id(home)
    fg.title(w.masthead)
    fg.description(w.archive)
    fg.subtitle(w.archive)
    fg.link(href=self_url, rel="self")
    fg.link(href=home, rel="alternate")  # last, because RSS's channel <link> takes the last
    fg.language(lang)
    fg.generator(GENERATOR)
    if editions:
        newest = published_at(editions[0].primary)
        fg.lastBuildDate(newest)
        fg.pubDate(newest)
        fg.updated(newest)
    for edition in editions:
        issue = edition.version(lang)
        permalink = root + issue.path
        when = published_at(issue)
        entry = fg.add_entry(order="append")
        entry.id(permalink)
        entry.guid(permalink, permalink=True)
        entry.title(issue.title)
        entry.link(href=permalink, rel="alternate")
        entry.description(issue.summary)
        entry.summary(issue.summary)  # Atom reads the summary, RSS the description
        entry.content(render_issue_content(issue), type="CDATA")
        entry.pubDate(when)
        entry.updated(when)
    return fg


def render_rss(editions: Sequence[Edition], root: str, lang: str) -> bytes:
    """RSS 2.0 of `editions`, which come newest first."""
    feed = _feed(editions, root, lang, feed_url(root, lang, "feed.xml"))
    rss: bytes = feed.rss_str(pretty=True)
    return rss


def render_atom(editions: Sequence[Edition], root: str, lang: str) -> bytes:
    """Atom of `editions`, which come newest first."""
    feed = _feed(editions, root, lang, feed_url(root, lang, "atom.xml"))
    atom: bytes = feed.atom_str(pretty=True)
    return atom
