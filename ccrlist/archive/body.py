"""Show a post's body and the people in it as HTML: paragraphs, links, quoted text folded
in `<details>` (no JavaScript needed), addresses cut short on public archives (pure)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from ccrlist.archive.texts import ArchiveTexts
from subscribers.archive_models import HIT_END, HIT_START

_ADDRESS = re.compile(r"([A-Za-z0-9._%+=-]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]")
_QUOTED = re.compile(r"^[ \t]*>")
# Where Outlook and friends start the message they answer, quoted without '>' marks.
_REPLY_TAIL = re.compile(
    r"^\s*(?:-{3,}\s*(?:original message|message d'origine|message original)\s*-{3,}"
    r"|_{20,})\s*$", re.IGNORECASE)
_LINK_REL = "nofollow noopener noreferrer"


def mask_addresses(text: str) -> str:
    """`jo@example.org` becomes `jo@…`: public archives show no address's domain."""
    return _ADDRESS.sub(lambda m: f"{m.group(1)}@…", text)


def person(name: str, address: str, public: bool) -> str:
    """How an author is shown: `Name <address>`, or on a public archive `Name (jo@…)`."""
    shown = mask_addresses(address) if public else address
    if not name:
        return shown
    if public:
        return f"{mask_addresses(name)} ({shown})" if shown else mask_addresses(name)
    return f"{name} <{shown}>" if shown else name


def linked(text: str) -> Markup:
    """`text` escaped, with its http(s) URLs as links."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(str(escape(text[last:match.start()])))
        url = escape(match.group(0))
        out.append(f'<a href="{url}" rel="{_LINK_REL}">{url}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def _lines(lines: list[str]) -> str:
    return "<br>\n".join(linked(line) for line in lines)


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """("para" | "quote", lines) in order: runs of '>' lines, and everything from an
    Outlook-style reply header on, are quotes; blank lines end paragraphs."""
    blocks: list[tuple[str, list[str]]] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _REPLY_TAIL.match(line):
            blocks.append(("quote", lines[i:]))
            break
        kind = "quote" if _QUOTED.match(line) else "para"
        if kind == "para" and not line.strip():
            blocks.append(("para", []))
            continue
        if blocks and blocks[-1][0] == kind and (kind == "quote" or blocks[-1][1]):
            blocks[-1][1].append(line)
        else:
            blocks.append((kind, [line]))
    return [(kind, lines) for kind, lines in blocks if lines]


def text_body(text: str, t: ArchiveTexts, public: bool) -> Markup:
    """A plain-text body as paragraphs, its quotes folded away."""
    if public:
        text = mask_addresses(text)
    out: list[str] = []
    for kind, lines in _blocks(text):
        if kind == "para":
            out.append(f"<p>{_lines(lines)}</p>")
        else:
            summary = escape(t.quoted.format(n=len(lines)))
            out.append(f"<details><summary>{summary}</summary><blockquote><p>"
                       f"{_lines(lines)}</p></blockquote></details>")
    return Markup("\n".join(out))


def html_body(sanitised: str, t: ArchiveTexts, public: bool) -> Markup:
    """A body sanitised at archiving time, its blockquotes folded away."""
    if public:
        sanitised = mask_addresses(sanitised)
    summary = f"<details><summary>{escape(t.quoted_html)}</summary><blockquote>"
    return Markup(sanitised.replace("<blockquote>", summary)
                  .replace("</blockquote>", "</blockquote></details>"))


def highlighted(text: str, public: bool) -> Markup:
    """Search output: escaped, with the matched words in `<mark>`."""
    if public:
        text = mask_addresses(text)
    return Markup(str(escape(text)).replace(HIT_START, "<mark>").replace(HIT_END, "</mark>"))
