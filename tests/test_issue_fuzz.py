"""Mutated issue files: each either renders or is refused with an editor's error naming
the file, never another exception (the editor would read "unexpected error").

A bounded, seeded run: the same 150 mutants of the real Vol. 12 no. 2 every time.
A longer run found the control-character cases pinned in test_chronicle_parse.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ccrlist_helpers import make_settings
from mutation import mutants

from echronicle.reading.errors import IssueError
from echronicle.reading.parse import parse_issue
from echronicle.rendering.email import render_email

QUEUED = datetime(2026, 11, 24, 12, tzinfo=UTC)
ISSUE = Path(__file__).parent.parent / "issues" / "vol12-2.md"
PIECES = ["---\n", "#", "## ", "* ", "1. ", "[", "]", "(", ")", "**", "_", "`", "<", ">", "&",
          "\"", ":", "date: ", "2026-13-45", "volume: x", "lang: xx", "meetings:\n", "  - ",
          "\t", "\n\n", "![", "](http://", "javascript:", "\x00", "\x1b", "\\e", "\u202e", "é",
          "{{", "{%", "<script>", "> ", "    code\n", "%01", "<https://x.org/%1B>", "&#27;"]


def test_mutated_issues_render_or_are_editor_errors(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)
    rendered = refused = 0
    for text in mutants([ISSUE.read_text(encoding="utf-8")], PIECES, 150, 20261124, 20000):
        try:
            render_email(parse_issue("vol12-2.md", text), settings, QUEUED)
            rendered += 1
        except IssueError as exc:
            assert str(exc).startswith("vol12-2.md")
            refused += 1
    assert rendered > 30 and refused > 30  # both ways were really tried
