"""Pre-send checks of a rendered issue: what an editor must fix before it goes out (pure).

Each check takes rendered output (email HTML, text part, feed XML) and returns
`Problem`s; an empty list means the issue may be sent. Placeholders are looked for in the
issue files themselves (`checks/source.py`), where each has a line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import feedparser
from lxml import html as lxml_html  # type: ignore[import-untyped]

GMAIL_SAFE_BYTES = 90 * 1024
MIN_TEXT_CHARS = 200
_PURE_BLACK = re.compile(r"#000|#000000|black|rgb\(\s*0\s*,\s*0\s*,\s*0\s*\)", re.I)
_PURE_WHITE = re.compile(r"#fff|#ffffff|white|rgb\(\s*255\s*,\s*255\s*,\s*255\s*\)", re.I)

# lxml (already needed by feedgen) parses a 60 KB email in a few milliseconds and imports
# quickly, which keeps `chronicle publish` fast; elements are untyped, hence `Any`.
Element = Any


@dataclass(frozen=True)
class Problem:
    part: str  # "email (en)", "text (fr)", "feed.xml", "links", or an issue file's name
    message: str
    line: int | None = None  # the line of the issue file

    def __str__(self) -> str:
        where = self.part if self.line is None else f"{self.part}:{self.line}"
        return f"{where}: {self.message}"


def _style(tag: Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for declaration in str(tag.get("style") or "").split(";"):
        name, colon, value = declaration.partition(":")
        if colon:
            found[name.strip().lower()] = value.replace("!important", "").strip()
    return found


def _background(tag: Element) -> str:
    style = _style(tag)
    bg = style.get("background-color") or style.get("background", "")
    return bg or str(tag.get("bgcolor") or "")


def _effective_background(tag: Element) -> str:
    node: Element | None = tag
    while node is not None:
        bg = _background(node)
        if bg:
            return bg
        node = node.getparent()
    return "#ffffff"  # what mail clients paint when nothing says otherwise


def _text(node: Element) -> str:
    return str(node.text_content()).strip()


def check_email_html(html: str, *, limit: int = GMAIL_SAFE_BYTES) -> list[Problem]:
    """Size, language, title, preheader, alt text, link schemes, dark mode."""
    problems: list[Problem] = []
    size = len(html.encode("utf-8"))
    if size >= limit:
        problems.append(Problem("email", f"HTML is {size:,} bytes; keep it under {limit:,} "
                                         "so Gmail does not clip it"))
    root = lxml_html.document_fromstring(html)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]  # no comments
    if not root.get("lang"):
        problems.append(Problem("email", "the <html> element has no lang attribute"))
    if not any(_text(e) for e in root.iter("title")):
        problems.append(Problem("email", "the email has no <title>"))
    if not _has_preheader(root):
        problems.append(Problem("email", "the email has no preheader (hidden preview text)"))
    for img in root.iter("img"):
        if not str(img.get("alt") or "").strip():
            problems.append(Problem("email", f"image {img.get('src', '?')} has no alt text"))
    anchors = {str(e.get("id")) for e in elements if e.get("id") is not None}
    anchors |= {str(a.get("name")) for a in root.iter("a") if a.get("name") is not None}
    for link in root.iter("a"):
        if link.get("href") is None:
            continue
        href = str(link.get("href")).strip()
        if href.startswith("#"):
            # The table of contents jumps within the message.
            if href[1:] not in anchors:
                problems.append(Problem("email", f"link {href!r} points to no item"))
        elif not re.match(r"^(https:|mailto:)", href):
            problems.append(Problem("email", f"link {href!r} is not an absolute https: or "
                                             "mailto: link"))
    for tag in elements:
        color = _style(tag).get("color", "")
        if _PURE_BLACK.fullmatch(color) and _PURE_WHITE.fullmatch(_effective_background(tag)):
            problems.append(Problem("email", f"pure black text on pure white in <{tag.tag}>; "
                                             "dark-mode inversion makes it unreadable"))
            break
    return problems


def _has_preheader(root: Element) -> bool:
    return any(_style(div).get("display") == "none" and _text(div) for div in root.iter("div"))


def check_text_part(text: str) -> list[Problem]:
    """The plain-text part exists and says something."""
    if len(text.strip()) < MIN_TEXT_CHARS:
        return [Problem("text", f"plain-text part is missing or shorter than {MIN_TEXT_CHARS} "
                                "characters")]
    return []


def check_feed(xml: bytes, name: str = "feed") -> list[Problem]:
    """The feed parses cleanly with feedparser (bozo == 0) and has entries."""
    parsed = feedparser.parse(xml)
    if parsed.bozo:
        return [Problem(name, f"does not parse cleanly: {parsed.bozo_exception}")]
    if not parsed.entries:
        return [Problem(name, "has no entries")]
    return []

