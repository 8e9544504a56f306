"""Make an issue's listing: its entry in the index and the feeds of every language (pure)."""

from __future__ import annotations

from echronicle.listing.model import ListedEdition
from echronicle.reading.model import LANGS, Edition
from echronicle.rendering.feeds import feed_entries
from echronicle.rendering.pages import render_index_entry


def listed_edition(edition: Edition, root: str) -> ListedEdition:
    """`edition` as listed under the site root `root` (an absolute URL)."""
    primary = edition.primary
    # A version appears in the feeds of every language it stands in for: render it once.
    items = {v.lang: feed_entries(v, root) for v in edition.versions}
    return ListedEdition(
        id=edition.id, date=primary.date, volume=primary.volume, number=primary.number,
        index={lang: render_index_entry(edition, root, lang).encode() for lang in LANGS},
        rss={lang: items[edition.version(lang).lang][0] for lang in LANGS},
        atom={lang: items[edition.version(lang).lang][1] for lang in LANGS},
    )
