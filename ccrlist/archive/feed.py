"""The Atom feed (RFC 4287) of a list's new threads: one entry per thread, newest first
(pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from ccrlist.archive.body import mask_addresses
from subscribers.archive_models import ArchivedPost, ThreadSummary
from subscribers.models import Timestamp

ATOM = "http://www.w3.org/2005/Atom"
SUMMARY_CHARS = 400


def _time(at: Timestamp) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str = "", **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text:
        element.text = text
    return element


def atom_feed(*, title: str, home: str, self_url: str, lang: str,
              threads: Sequence[tuple[ThreadSummary, str, ArchivedPost | None]],
              public: bool, now: Timestamp, untitled: str) -> bytes:
    """The feed; each thread comes with its page's absolute URL and its first post.

    On a public archive, addresses lose their domain as they do on the pages.
    """
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed",
                      {"{http://www.w3.org/XML/1998/namespace}lang": lang})
    _add(feed, "id", home)
    _add(feed, "title", title)
    _add(feed, "link", href=home, rel="alternate", type="text/html")
    _add(feed, "link", href=self_url, rel="self", type="application/atom+xml")
    _add(feed, "updated", _time(max((t.started for t, _, _ in threads), default=now)))
    _add(feed, "generator", "ccr-mail ccrlist")
    for thread, url, first in threads:
        entry = _add(feed, "entry")
        _add(entry, "id", url)
        _add(entry, "title", thread.subject or untitled)
        _add(entry, "link", href=url, rel="alternate", type="text/html")
        _add(entry, "published", _time(thread.started))
        _add(entry, "updated", _time(thread.started))
        author = _add(entry, "author")
        name = thread.author_name or thread.author.split("@")[0]
        _add(author, "name", mask_addresses(name) if public else name)
        if first is not None and first.body_kind == "text" and first.body:
            text = first.body[:SUMMARY_CHARS]
            _add(entry, "summary", mask_addresses(text) if public else text, type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
