"""Render the RSS 2.0 and Atom feeds of one language with feedgen: one entry per issue, each
written once per issue version and put in place.

Each language has its own feeds under its own folder ("" or "fr/"), with its own id,
self link and `language`; an issue with no version in that language appears in the
version it has, as subscribers get it by email.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from feedgen.feed import FeedGenerator

from echronicle.reading.model import Issue, lang_prefix
from echronicle.rendering.labels import words
from echronicle.rendering.pages import render_issue_content

GENERATOR = "ccr-mail echronicle"
# Feed dates are noon UTC of the issue date: the same calendar day everywhere in Canada,
# and never the clock of the machine that builds, so a rebuild gives the same bytes.
PUBLISH_TIME = time(12, 0, tzinfo=UTC)


def published_at(day: date) -> datetime:
    return datetime.combine(day, PUBLISH_TIME)


def feed_url(root: str, lang: str, name: str) -> str:
    """Where a language's feed lives: root + "feed.xml", root + "fr/atom.xml"."""
    return root + lang_prefix(lang) + name


def _feed(root: str, lang: str, self_url: str, newest: date | None) -> FeedGenerator:
    """The feed of `lang` without its entries; its dates are those of the newest issue."""
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
    if newest is not None:
        fg.lastBuildDate(published_at(newest))
        fg.pubDate(published_at(newest))
        fg.updated(published_at(newest))
    return fg


def _with_entry(issue: Issue, root: str) -> FeedGenerator:
    fg = _feed(root, issue.lang, feed_url(root, issue.lang, "feed.xml"), issue.date)
    permalink = root + issue.path
    when = published_at(issue.date)
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


# A feed's entries, as feedgen writes them with pretty=True: the same bytes whichever feed
# they are in, so each is written once per issue version, kept, and put between the feed's
# own lines (`_splice`), giving the bytes feedgen gives for the whole feed.
_RSS_ITEM = (b"    <item>\n", b"    </item>\n", b"  </channel>\n")
_ATOM_ENTRY = (b"  <entry>\n", b"  </entry>\n", b"</feed>\n")


def _cut(xml: bytes, marks: tuple[bytes, bytes, bytes]) -> bytes:
    return xml[xml.index(marks[0]):xml.rindex(marks[1]) + len(marks[1])]


def feed_entries(issue: Issue, root: str) -> tuple[bytes, bytes]:
    """The RSS `<item>` and the Atom `<entry>` of one issue version."""
    feed = _with_entry(issue, root)
    return (_cut(feed.rss_str(pretty=True), _RSS_ITEM),
            _cut(feed.atom_str(pretty=True), _ATOM_ENTRY))


def _splice(xml: bytes, entries: Sequence[bytes], marks: tuple[bytes, bytes, bytes]) -> bytes:
    at = xml.rindex(marks[2])
    return b"".join((xml[:at], *entries, xml[at:]))


def render_rss(items: Sequence[bytes], root: str, lang: str, newest: date | None) -> bytes:
    """RSS 2.0 of `lang` with `items` (from `rss_item`, newest first; `newest` is the date of
    the first)."""
    head: bytes = _feed(root, lang, feed_url(root, lang, "feed.xml"), newest).rss_str(
        pretty=True)
    return _splice(head, items, _RSS_ITEM)


def render_atom(entries: Sequence[bytes], root: str, lang: str, newest: date | None) -> bytes:
    """Atom of `lang` with `entries` (from `atom_entry`, newest first; `newest` is the date of
    the first)."""
    head: bytes = _feed(root, lang, feed_url(root, lang, "atom.xml"), newest).atom_str(
        pretty=True)
    return _splice(head, entries, _ATOM_ENTRY)
