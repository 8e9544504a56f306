"""What the indexes and feeds show of one issue: the facts they are ordered by and, for each
language, its ready-made index entry, RSS item and Atom entry, apart from the full model so
that it can be cached and read back without parsing or rendering the issue again (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ListedEdition:
    """One issue, in every language, as the index and the feeds of each language list it."""

    id: str
    date: date  # of the main version, as the order of the listing
    volume: int
    number: int
    # UTF-8, as written into the pages, which are joined from them byte for byte:
    index: Mapping[str, bytes]  # by the language of the index: its `<li>`
    # By the language of the feed: its `<item>` and its `<entry>`. Both empty for an issue
    # too old for the feeds, listed without them (`list_issues`' `feed_entries`).
    rss: Mapping[str, bytes]
    atom: Mapping[str, bytes]


def newest_first(editions: Iterable[ListedEdition]) -> list[ListedEdition]:
    return sorted(editions, key=lambda e: (e.date, e.volume, e.number, e.id), reverse=True)
