"""Write the plain-text part of the email from the model: numbered items, links as full URLs."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from echronicle.reading.model import (
    Block,
    Code,
    Emphasis,
    Heading,
    Image,
    Inline,
    Issue,
    LineBreak,
    Link,
    ListBlock,
    Paragraph,
    Strong,
    Text,
)
from echronicle.rendering.labels import format_date, issue_label, meeting_when, words

WIDTH = 72
RULE = "-" * WIDTH


def inline_text(inlines: Sequence[Inline]) -> str:
    """Inline content as text; a link's URL follows its words unless the words are the URL."""
    out: list[str] = []
    for node in inlines:
        if isinstance(node, Text | Code):
            out.append(node.text)
        elif isinstance(node, LineBreak):
            out.append("\n")
        elif isinstance(node, Image):
            out.append(f"[{node.alt}]")
        elif isinstance(node, Link):
            words = inline_text(node.children)
            bare = node.href.removeprefix("mailto:")
            out.append(bare if words.strip() in (node.href, bare) else f"{words} <{node.href}>")
        elif isinstance(node, Emphasis):
            out.append(f"_{inline_text(node.children)}_")
        elif isinstance(node, Strong):
            out.append(f"*{inline_text(node.children)}*")
    return "".join(out)


def _wrap(text: str, first: str = "", rest: str = "") -> str:
    lines: list[str] = []
    for n, hard_line in enumerate(text.split("\n\x00")):  # hard breaks survive re-wrapping
        lines.extend(textwrap.wrap(
            " ".join(hard_line.split()), width=WIDTH, initial_indent=first if n == 0 else rest,
            subsequent_indent=rest, break_long_words=False, break_on_hyphens=False,
        ))
    return "\n".join(lines)


def _paragraph(inlines: Sequence[Inline], first: str = "", rest: str = "") -> str:
    hard = [i if not isinstance(i, LineBreak) else Text("\n\x00") for i in inlines]
    return _wrap(inline_text(hard), first, rest)


def blocks_text(blocks: Sequence[Block], indent: str = "") -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            parts.append(_paragraph(block.inlines, indent, indent))
        elif isinstance(block, Heading):
            parts.append(_paragraph(block.inlines, indent, indent).upper())
        elif isinstance(block, ListBlock):
            parts.append(_list_text(block, indent))
    return "\n\n".join(p for p in parts if p)


def _list_text(block: ListBlock, indent: str) -> str:
    entries: list[str] = []
    for n, item in enumerate(block.items, start=block.start):
        marker = f"{n}. " if block.ordered else "* "
        first = f"{indent}  {marker}"
        rest = " " * len(first)
        pieces: list[str] = []
        for i, sub in enumerate(item):
            if isinstance(sub, Paragraph):
                pieces.append(_paragraph(sub.inlines, first if i == 0 else rest, rest))
            else:
                pieces.append(blocks_text((sub,), rest))
        entries.append("\n".join(pieces))
    return "\n".join(entries)


def render_text(issue: Issue, archive_url: str, unsubscribe_url: str) -> str:
    """The whole text part; it reads well on its own."""
    w = words(issue.lang)
    out = [
        w.masthead,
        f"{issue_label(issue.volume, issue.number, issue.lang)}, "
        f"{format_date(issue.date, issue.lang)}",
        "",
        _wrap(issue.title),
        "",
        f"{w.view_in_browser}{w.colon.rstrip()}\n{archive_url}",
    ]
    if issue.intro:
        out += ["", blocks_text(issue.intro)]
    out += ["", w.in_this_issue.upper(), ""]
    out += [_wrap(item.title, f"{item.number:>2}. ", "    ") for item in issue.items]
    for item in issue.items:
        out += ["", RULE, _wrap(f"{item.number}. {item.title}"), RULE, "",
                blocks_text(item.blocks)]
    if issue.meetings:
        out += ["", RULE, w.meetings.upper(), RULE]
        for meeting in issue.meetings:
            out += ["", _wrap(meeting.name), meeting_when(meeting, issue.lang)]
            if meeting.place:
                out.append(meeting.place)
    for section in issue.sections:
        out += ["", RULE, section.title.upper(), RULE, "", blocks_text(section.blocks)]
    out += ["", "-- ", _wrap(w.why), f"{w.unsubscribe}{w.colon}{unsubscribe_url}", w.address]
    return "\n".join(out) + "\n"
