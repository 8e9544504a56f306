"""The plain-text digest, RFC 1153 (pure): one text/plain body with the masthead and
contents, a line of 70 hyphens, then each post's chosen header lines and its text,
posts separated by lines of 30 hyphens, and the closing line of asterisks."""

from __future__ import annotations

from ccrlist.catalogue import Messages
from ccrlist.digests.content import (
    DigestSpec,
    attachment_note,
    crlf,
    masthead,
    text_lines,
)

PREAMBLE_END = "-" * 70
BETWEEN = "-" * 30


def _guarded(line: str) -> str:
    """A post's own line that reads as one of our separators is shifted by a space, as
    RFC 1153 asks, so that a digest reader never splits a post there."""
    return " " + line if line in (PREAMBLE_END, BETWEEN) else line


def plain_body(spec: DigestSpec, t: Messages) -> bytes:
    lines = [*masthead(spec, t), "", PREAMBLE_END]
    for post in spec.posts:
        lines.append("")
        lines += [f"{name}: {value}" for name, value in post.headers]
        lines.append("")
        text = post.text or (t.digest_no_text if not post.attachments else "")
        lines += [_guarded(line) for line in text_lines(text)] if text else []
        lines += [attachment_note(a, t) for a in post.attachments]
        lines += ["", BETWEEN]
    end = t.digest_end.format(list=spec.list_name, volume=spec.volume, number=spec.number)
    lines += ["", end, "*" * len(end)]
    return crlf(lines)
