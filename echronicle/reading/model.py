"""The typed model of an issue: front matter, numbered items and their Markdown blocks
(pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")
# The archive's own language sits at the site root; every other one under "<lang>/".
ROOT_LANG: Lang = "en"

# A letter run, then digits, then optional "-part"s: vol12-2, vol12-2b, special2020-1.
# No dots, slashes or leading dashes, so an id can never name a path outside its folder,
# and requiring a digit keeps ids apart from the site's own names ("u", "feed", ...).
# Always a full match (`is_issue_id`): `$` would also match before a final newline.
ISSUE_ID = re.compile(r"[a-z]{1,20}[0-9]{1,6}(?:-[a-z0-9]{1,12}){0,4}")


def is_issue_id(text: str) -> bool:
    """True when all of `text` is an issue id: nothing before, nothing after."""
    return ISSUE_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class LineBreak:
    pass


@dataclass(frozen=True)
class Image:
    src: str
    alt: str


@dataclass(frozen=True)
class Link:
    href: str
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Emphasis:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Strong:
    children: tuple[Inline, ...]


Inline = Text | Code | LineBreak | Image | Link | Emphasis | Strong


@dataclass(frozen=True)
class Paragraph:
    inlines: tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside an item (`###` and deeper)."""

    level: int
    inlines: tuple[Inline, ...]


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[tuple[Block, ...], ...]


Block = Paragraph | Heading | ListBlock


@dataclass(frozen=True)
class Item:
    """A numbered article, started by a `## ` heading."""

    number: int
    title: str
    blocks: tuple[Block, ...]

    @property
    def anchor(self) -> str:
        return f"item-{self.number}"


@dataclass(frozen=True)
class Section:
    """An unnumbered closing section, started by a `# ` heading (e.g. "Join the CCR")."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Meeting:
    name: str
    start: date
    end: date | None = None
    place: str = ""


@dataclass(frozen=True)
class Issue:
    """One language version of one issue, exactly as the editor wrote it."""

    id: str
    lang: Lang
    primary: bool
    title: str
    volume: int
    number: int
    date: date
    summary: str
    source: str
    intro: tuple[Block, ...] = ()
    items: tuple[Item, ...] = ()
    sections: tuple[Section, ...] = ()
    meetings: tuple[Meeting, ...] = ()
    image: str = ""
    image_alt: str = ""

    @property
    def path(self) -> str:
        """Where the issue lives under the site root, with a trailing slash."""
        return f"{self.id}/" if self.primary else f"{self.id}/{self.lang}/"


@dataclass(frozen=True)
class Edition:
    """An issue in every language it was written in; the primary version comes first."""

    id: str
    versions: tuple[Issue, ...]

    @property
    def primary(self) -> Issue:
        return self.versions[0]

    def version(self, lang: str) -> Issue:
        """The version in `lang`, or the primary one when there is none."""
        for issue in self.versions:
            if issue.lang == lang:
                return issue
        return self.primary

    def has(self, lang: str) -> bool:
        return any(issue.lang == lang for issue in self.versions)

    def disagreements(self) -> list[str]:
        """Where a translation's volume, number or date differs from the primary version."""
        found: list[str] = []
        first = self.primary
        for other in self.versions[1:]:
            for field, mine, theirs in (("volume", first.volume, other.volume),
                                        ("number", first.number, other.number),
                                        ("date", first.date, other.date)):
                if mine != theirs:
                    found.append(f"{other.source} says {field} {theirs} but {first.source} "
                                 f"says {mine}")
        return found


def lang_prefix(lang: str) -> str:
    """Where a language's index and feeds live under the site root: "" or "fr/"."""
    return "" if lang == ROOT_LANG else f"{lang}/"
