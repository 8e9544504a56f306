"""Make the HTML of an HTML-only post safe to show, and read its words (pure).

nh3 (the Ammonia sanitiser) keeps a short list of text tags and drops everything
active: scripts, styles, event handlers, forms, frames, images (remote images
track their readers) and links other than http, https and mailto.
"""

from __future__ import annotations

import html
import re

import nh3

TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
})
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"},
              "th": {"colspan", "rowspan"}}
SCHEMES = frozenset({"http", "https", "mailto"})
_BLANKS = re.compile(r"\n\s*\n\s*")
_LINK_REL = ' rel="nofollow noopener noreferrer"'
# An <a> whose link was dropped keeps no rel: rel without href is not valid HTML.
_NO_HREF = re.compile(r'<a((?:\s(?!href=)[a-z-]+="[^"]*")*)' + re.escape(_LINK_REL) + ">")


def sanitise_html(markup: str) -> str:
    """`markup` with only inert text markup left; links open nothing of ours."""
    clean = nh3.clean(markup, tags=set(TAGS),
                      attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                      url_schemes=set(SCHEMES), link_rel=_LINK_REL.split('"')[1],
                      strip_comments=True, clean_content_tags={"script", "style", "title", "head"})
    return _NO_HREF.sub(r"<a\1>", clean)


def html_to_text(markup: str) -> str:
    """The words of (sanitised) HTML, for search; quoted blocks left out like quoted lines."""
    without_quotes = re.sub(r"<blockquote>.*?</blockquote>", " ", markup, flags=re.S)
    blocks = re.sub(r"<(?:br|/p|/div|/li|/tr|/h\d)>", "\n", without_quotes)
    text = html.unescape(nh3.clean(blocks, tags=set()))
    return _BLANKS.sub("\n\n", text).strip()
