"""Turn the search form into an FTS5 query the store runs (pure).

People type words, "a phrase" and word* prefixes; nothing they type is FTS5 syntax,
so no input can make a query fail or read another column. Words are ANDed, and a
word of PREFIX_FROM letters or more also finds the words it starts (French and English
plurals and feminines: refugie finds réfugié, réfugiés and réfugiée).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from subscribers.archive_models import SearchQuery

PAGE_SIZE = 20
MAX_TERMS = 12
PREFIX_FROM = 4  # a word this long also finds longer ones: refugie finds réfugiés
MAX_PAGE = 500
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchFormError(ValueError):
    """A date that is not YYYY-MM-DD."""


@dataclass(frozen=True)
class SearchForm:
    words: str = ""
    author: str = ""
    date_from: str = ""
    date_to: str = ""
    page: int = 1

    @property
    def empty(self) -> bool:
        return not (self.words.strip() or self.author.strip() or self.date_from.strip()
                    or self.date_to.strip())


def _phrase(text: str) -> str | None:
    """`text`'s words as one FTS5 string ("..."), None when it has none."""
    words = _WORD.findall(text)
    return '"' + " ".join(words) + '"' if words else None


def match_expression(words: str, author: str) -> str | None:
    """The FTS5 MATCH expression for the form's words and author, None for neither."""
    parts: list[str] = []
    for quoted, bare in _TERM.findall(words)[:MAX_TERMS]:
        if quoted:
            phrase = _phrase(quoted)
        else:
            phrase = _phrase(bare)
            if phrase and " " not in phrase and (bare.endswith("*")
                                                 or len(phrase) - 2 >= PREFIX_FROM):
                phrase += "*"
        if phrase:
            parts.append(f"{{subject body}} : {phrase}")
    author_phrase = _phrase(author)
    if author_phrase:
        parts.append(f"author : {author_phrase}")
    return " AND ".join(f"({p})" for p in parts) or None


def _day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SearchFormError(text) from None


def _start_of(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def search_query(list_name: str, form: SearchForm) -> SearchQuery:
    """The store's query for a page of the form's results (one more than a page, so the
    page knows whether another follows). Raises SearchFormError for a bad date."""
    first, last = _day(form.date_from), _day(form.date_to)
    page = min(max(form.page, 1), MAX_PAGE)
    return SearchQuery(
        list_name=list_name,
        match=match_expression(form.words, form.author),
        date_from=_start_of(first) if first else None,
        date_to=_start_of(last + timedelta(days=1)) if last else None,  # the whole day
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE + 1)
