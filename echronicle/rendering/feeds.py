"""Render the RSS 2.0 and Atom feeds of one language with feedgen: one entry per issue.

Each language has its own feeds under its own folder ("" or "fr/"), with its own id,
self link and `language`; an issue with no version in that language appears in the
version it has, as subscribers get it by email.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from echronicle.reading.model import Edition, lang_prefix
from echronicle.rendering.email_message import published_at
from echronicle.rendering.labels import words
from echronicle.rendering.pages import render_issue_content

GENERATOR = "ccr-mail echronicle"


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
