"""Render the RSS 2.0 and Atom feeds with feedgen: one entry per issue, dated by the issues."""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from echronicle.labels import LABELS
from echronicle.message import published_at
from echronicle.model import Edition
from echronicle.pages import render_issue_content

GENERATOR = "ccr-mail echronicle"


def _feed(editions: Sequence[Edition], root: str, lang: str, self_url: str) -> FeedGenerator:
    words = LABELS[lang]
    fg = FeedGenerator()
    fg.id(root)
    fg.title(f"{words['org']} {words['newsletter']}")
    fg.description(words["archive"])
    fg.subtitle(words["archive"])
    fg.link(href=self_url, rel="self")
    fg.link(href=root, rel="alternate")  # last, because RSS's channel <link> takes the last
    fg.language(lang)
    fg.generator(GENERATOR)
    if editions:
        newest = published_at(editions[0].primary)
        fg.lastBuildDate(newest)
        fg.pubDate(newest)
        fg.updated(newest)
    for edition in editions:
        issue = edition.primary
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
    rss: bytes = _feed(editions, root, lang, root + "feed.xml").rss_str(pretty=True)
    return rss


def render_atom(editions: Sequence[Edition], root: str, lang: str) -> bytes:
    """Atom of `editions`, which come newest first."""
    atom: bytes = _feed(editions, root, lang, root + "atom.xml").atom_str(pretty=True)
    return atom
