"""Plain text from the HTML part of a post that has no text part (pure), for the plain
digest: the words and the link targets, paragraphs and list items on lines of their own."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                     "blockquote", "pre", "table", "ul", "ol", "hr", "section", "article"})
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.out.append("\n- " if tag == "li" else "\n")
        elif tag == "a":
            self.href = dict(attrs).get("href") or None
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS and tag != "li":  # items follow each other line by line
            self.out.append("\n")
        elif tag == "a" and self.href:
            shown = "".join(self.link_text).strip()
            if self.href.startswith(("http:", "https:", "mailto:")) and self.href != shown:
                self.out.append(f" <{self.href}>")
            self.href = None

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data)
            if self.href is not None:
                self.link_text.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
