"""Make email HTML safe for a 7bit part: ASCII only, and no line longer than SMTP allows.

mjml-python writes the whole body on one line. Lines are broken only where HTML treats
a line break like a space: in text, and between a tag's attributes. Comments (Outlook's
conditional blocks) and attribute values are never touched, so the unsubscribe token
slot inside an href always stays whole.
"""

from __future__ import annotations

import re

WIDTH = 200
SMTP_LINE_LIMIT = 998

_TOKEN = re.compile(r"<!--.*?-->|<[^>]*>|[^<]+", re.S)
_ATTRIBUTE_GAP = re.compile(r' (?=[A-Za-z_:][-A-Za-z0-9_:.]*=")')
_SPACE = re.compile(r" ")


def _break_points(line: str) -> list[int]:
    points: list[int] = []
    for match in _TOKEN.finditer(line):
        token = match.group()
        if token.startswith("<!--"):
            continue
        gaps = _ATTRIBUTE_GAP if token.startswith("<") else _SPACE
        points.extend(match.start() + gap.start() for gap in gaps.finditer(token))
    return points


def _fold_line(line: str, width: int) -> list[str]:
    pieces: list[str] = []
    start = 0
    previous: int | None = None
    for point in _break_points(line):
        if point - start > width and previous is not None and previous >= start:
            pieces.append(line[start:previous])
            start = previous + 1
        previous = point
    if len(line) - start > width and previous is not None and previous >= start:
        pieces.append(line[start:previous])
        start = previous + 1
    pieces.append(line[start:])
    return pieces


def fold_html(html: str, width: int = WIDTH) -> str:
    """`html` as ASCII (other characters become references) in lines of about `width`."""
    ascii_html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
    lines: list[str] = []
    for line in ascii_html.splitlines():
        lines.extend(_fold_line(line, width) if len(line) > width else (line,))
    return "\n".join(lines) + "\n"


def longest_line(text: str) -> int:
    """Length in bytes of the longest line, once encoded as UTF-8."""
    return max((len(line.encode("utf-8")) for line in text.splitlines()), default=0)
