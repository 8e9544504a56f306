"""Render typed Markdown blocks to escaped HTML, shared by the email, the pages and the feeds."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from echronicle.reading.model import (
    Block,
    Code,
    Emphasis,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    Paragraph,
    Strong,
    Text,
)

# Images inside items never overflow a 600 px email or a phone screen.
IMAGE_STYLE = "display:block;max-width:100%;height:auto;border:0"


def inlines_html(inlines: Sequence[Inline]) -> str:
    out: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            out.append(escape(node.text, quote=False))
        elif isinstance(node, Code):
            out.append(f"<code>{escape(node.text, quote=False)}</code>")
        elif isinstance(node, LineBreak):
            out.append("<br>\n")
        elif isinstance(node, Image):
            out.append(f'<img src="{escape(node.src)}" alt="{escape(node.alt)}" '
                       f'style="{IMAGE_STYLE}">')
        elif isinstance(node, Link):
            out.append(f'<a href="{escape(node.href)}">{inlines_html(node.children)}</a>')
        elif isinstance(node, Emphasis):
            out.append(f"<em>{inlines_html(node.children)}</em>")
        elif isinstance(node, Strong):
            out.append(f"<strong>{inlines_html(node.children)}</strong>")
    return "".join(out)


def _item_html(blocks: Sequence[Block]) -> str:
    # Tight list items hold one paragraph: render it bare, as Markdown does.
    if len(blocks) == 1 and isinstance(blocks[0], Paragraph):
        return inlines_html(blocks[0].inlines)
    return "".join(_block_html(b) for b in blocks)


def _block_html(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{inlines_html(block.inlines)}</p>\n"
    if isinstance(block, Heading):
        level = min(6, max(3, block.level))
        return f"<h{level}>{inlines_html(block.inlines)}</h{level}>\n"
    tag = "ol" if block.ordered else "ul"
    start = f' start="{block.start}"' if block.ordered and block.start != 1 else ""
    items = "".join(f"<li>{_item_html(item)}</li>\n" for item in block.items)
    return f"<{tag}{start}>\n{items}</{tag}>\n"


def blocks_html(blocks: Sequence[Block]) -> Markup:
    """HTML for a run of blocks; every piece of editor text is escaped."""
    return Markup("".join(_block_html(b) for b in blocks))
