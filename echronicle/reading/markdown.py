"""Turn an issue body (Markdown) into typed blocks, checking links and images as it goes and
noting every mistake (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from echronicle.reading.errors import Findings
from echronicle.reading.model import (
    Block,
    Code,
    Emphasis,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListBlock,
    Paragraph,
    Strong,
    Text,
)

LINK_SCHEMES = ("https://", "http://", "mailto:")
IMAGE_SCHEMES = ("https://", "http://")
# Schemes that run code or carry a whole document; markdown-it would quietly print such a
# link as text, so the reader asks it to make them all, and refuses them by name.
REFUSED_SCHEMES = ("javascript", "vbscript", "data")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")


@dataclass(frozen=True)
class RawSection:
    """Blocks under one top-level heading: level 0 (intro), 1 (closing) or 2 (item)."""

    level: int
    title: str
    line: int
    blocks: tuple[Block, ...]


# Characters XML (so MJML, the web pages and RSS) cannot carry; most editors show nothing.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def parse_body(body: str, first_line: int, found: Findings) -> list[RawSection]:
    """Parse the Markdown body; `first_line` is the file line the body starts on. Every
    mistake goes to `found`, and reading goes on past it."""
    md = MarkdownIt("commonmark", {"html": False})
    md.validateLink = _every_link  # type: ignore[method-assign]
    tokens = md.parse(body)
    reader = _Reader(tokens, first_line, found)
    return reader.sections()


class _Reader:
    def __init__(self, tokens: Sequence[Token], first_line: int, found: Findings) -> None:
        self.tokens = tokens
        self.first_line = first_line
        self.found = found
        self.pos = 0

    def line(self, token: Token) -> int:
        return self.first_line + (token.map[0] if token.map else 0)

    def fail(self, line: int, message: str) -> None:
        self.found.add(line, message)

    def sections(self) -> list[RawSection]:
        out = [RawSection(0, "", self.first_line, ())]
        blocks: list[Block] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.type == "heading_open" and token.tag in ("h1", "h2"):
                out[-1] = RawSection(out[-1].level, out[-1].title, out[-1].line,
                                       tuple(blocks))
                inline = self.tokens[self.pos + 1]
                title = _plain(self.inlines(inline)).strip()
                if not title:
                    self.fail(self.line(token), "a heading needs some text")
                out.append(RawSection(int(token.tag[1]), title, self.line(token), ()))
                blocks = []
                self.pos += 3
            else:
                blocks.extend(self.block())
        out[-1] = RawSection(out[-1].level, out[-1].title, out[-1].line, tuple(blocks))
        return out

    def block(self) -> tuple[Block, ...]:
        """The block at `pos` (none for one we do not support, which is noted and skipped)."""
        token = self.tokens[self.pos]
        if token.type == "paragraph_open":
            paragraph = Paragraph(self.inlines(self.tokens[self.pos + 1]))
            self.pos += 3
            return (paragraph,)
        if token.type == "heading_open":
            heading = Heading(int(token.tag[1]), self.inlines(self.tokens[self.pos + 1]))
            self.pos += 3
            return (heading,)
        if token.type in ("bullet_list_open", "ordered_list_open"):
            return (self.list_block(token),)
        kind = token.type.removesuffix("_open").replace("_", " ")
        self.fail(self.line(token), f"this kind of Markdown ({kind}) is not supported in "
                  "an issue: use paragraphs, lists, links, emphasis and images")
        self.skip()
        return ()

    def skip(self) -> None:
        """Move past the token at `pos` and everything nested in it."""
        depth = 0
        while True:
            depth += self.tokens[self.pos].nesting
            self.pos += 1
            if depth <= 0:
                return

    def list_block(self, opener: Token) -> ListBlock:
        close = opener.type.replace("_open", "_close")
        start = int(opener.attrGet("start") or 1)
        self.pos += 1
        items: list[tuple[Block, ...]] = []
        while self.tokens[self.pos].type != close:
            self.pos += 1  # list_item_open
            blocks: list[Block] = []
            while self.tokens[self.pos].type != "list_item_close":
                blocks.extend(self.block())
            self.pos += 1
            items.append(tuple(blocks))
        self.pos += 1
        return ListBlock(opener.type == "ordered_list_open", start, tuple(items))

    def inlines(self, inline: Token) -> tuple[Inline, ...]:
        line = self.line(inline)
        stack: list[tuple[str, str, list[Inline]]] = [("", "", [])]
        for child in inline.children or []:
            out = stack[-1][2]
            kind = child.type
            if kind in ("text", "code_inline", "image"):
                self.check_characters(child.content, line)
            if kind == "text":
                if child.content:
                    out.append(Text(child.content))
            elif kind == "code_inline":
                out.append(Code(child.content))
            elif kind == "softbreak":
                out.append(Text("\n"))
                line += 1
            elif kind == "hardbreak":
                out.append(LineBreak())
                line += 1
            elif kind == "image":
                out.append(self.image(child, line))
            elif kind in ("link_open", "em_open", "strong_open"):
                href = str(child.attrGet("href") or "")
                if kind == "link_open":
                    self.check_url(href, LINK_SCHEMES, "link", line)
                stack.append((kind, href, []))
            elif kind in ("link_close", "em_close", "strong_close"):
                opened, href, children = stack.pop()
                built = tuple(children)
                node: Inline = (Link(href, built) if opened == "link_open"
                                else Emphasis(built) if opened == "em_open" else Strong(built))
                stack[-1][2].append(node)
            else:
                self.fail(line, f"unsupported Markdown ({kind})")
        return tuple(stack[0][2])

    def image(self, token: Token, line: int) -> Image:
        src = str(token.attrGet("src") or "")
        self.check_url(src, IMAGE_SCHEMES, "image", line)
        alt = token.content.strip()
        if not alt:
            self.fail(line, f"the image {src} has no alt text: write ![what it shows]({src})")
        return Image(src, alt)

    def check_characters(self, text: str, line: int) -> None:
        """The file itself has none (`parse.parse_issue` checks), but a percent escape
        in an autolink (`<https://x.org/%1B>`) decodes to one in the link's text.
        (markdown-it already turns entities like `&#27;` into U+FFFD.)"""
        control = CONTROL.search(text)
        if control is not None:
            self.fail(line, f"this line makes the invisible control character "
                      f"U+{ord(control.group()):04X} (from an escape like %1B in a link); "
                      "remove it: email, web pages and feeds cannot carry it")

    def check_url(self, url: str, schemes: tuple[str, ...], what: str, line: int) -> None:
        problem = url_problem(url, schemes, what)
        if problem:
            self.fail(line, problem)


def _every_link(url: str) -> bool:
    """Let markdown-it make every link, so that `url_problem` sees (and names) each one."""
    return True


def url_problem(url: str, schemes: tuple[str, ...], what: str) -> str:
    """Why a link or image URL will not be made, or "" when it is an absolute URL we allow."""
    lowered = url.strip().lower()
    scheme = _SCHEME.match(lowered)
    if scheme is not None and scheme.group(1) in REFUSED_SCHEMES:
        return (f"the {what} '{url}' will not be made: {scheme.group(1)}: links can run code "
                "in readers' browsers and mail programs; link to an https:// page instead")
    if lowered.startswith("//"):
        return (f"the {what} '{url}' is protocol-relative, which a mail program cannot "
                "follow: write it with https://")
    if not lowered.startswith(schemes) or lowered in schemes:
        return (f"the {what} '{url}' is not an absolute URL: "
                f"it must start with {', '.join(schemes)}")
    return ""


def _plain(inlines: Sequence[Inline]) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text | Code):
            parts.append(node.text)
        elif isinstance(node, LineBreak):
            parts.append(" ")
        elif isinstance(node, Image):
            parts.append(node.alt)
        else:
            parts.append(_plain(node.children))
    return "".join(parts)


plain_text = _plain
