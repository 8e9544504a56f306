"""Parsing issue files: the real vol12-2 issue, localised dates, and every editor error."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from echronicle.reading.errors import IssueError, UnknownIssue
from echronicle.reading.library import check_id, issue_ids, load_edition
from echronicle.reading.model import Link, ListBlock, Paragraph
from echronicle.reading.parse import parse_issue, split_file_name
from echronicle.rendering.labels import format_date, format_range

ROOT = Path(__file__).resolve().parent.parent
GOOD = """---
title: A title
volume: 1
number: 2
date: 2020-01-31
summary: Short.
---

## Item

Text.
"""


def test_real_issue_has_all_seed_content() -> None:
    issue = parse_issue("vol12-2.md", (ROOT / "issues" / "vol12-2.md").read_text("utf-8"))
    assert (issue.volume, issue.number, issue.date, issue.lang) == (12, 2, date(2017, 10, 3), "en")
    assert [i.title.split(":")[0] for i in issue.items] == [
        "New campaign to promote welcoming attitudes towards refugees", "Take Action",
        "How Canada must respond to refugee claimants crossing the Canada-US border",
        "UN Global Compact on Refugees and Global Compact for Migration", "Ways to support"]
    assert [m.name for m in issue.meetings] == [
        "CCR Fall Consultation", "Niagara forum on migrant worker issues",
        "National forum on human trafficking", "Winter Working Group meetings",
        "International Refugee Rights Conference"]
    assert [s.title for s in issue.sections] == ["Join the CCR"]
    bullets = [b for b in issue.items[0].blocks if isinstance(b, ListBlock)]
    assert len(bullets[0].items) == 3
    assert issue.image_alt == "CCR Chronicle"


def test_links_are_parsed_with_their_urls() -> None:
    issue = parse_issue("vol1-2.md", GOOD.replace("Text.", "See [CCR](https://ccrweb.ca/)."))
    paragraph = issue.items[0].blocks[0]
    assert isinstance(paragraph, Paragraph)
    assert Link("https://ccrweb.ca/", (paragraph.inlines[1].children[0],)) == paragraph.inlines[1]


@pytest.mark.parametrize(("day", "lang", "expected"), [
    (date(2017, 10, 3), "en", "3 October 2017"),
    (date(2017, 10, 1), "fr", "1er octobre 2017"),
    (date(2018, 2, 23), "fr", "23 février 2018"),
])
def test_format_date(day: date, lang: str, expected: str) -> None:
    assert format_date(day, lang) == expected


@pytest.mark.parametrize(("start", "end", "expected"), [
    (date(2017, 12, 3), None, "3 December 2017"),
    (date(2018, 2, 23), date(2018, 2, 24), "23\u201324 February 2018"),
    (date(2017, 11, 30), date(2017, 12, 2), "30 November \u2013 2 December 2017"),
    (date(2017, 12, 30), date(2018, 1, 2), "30 December 2017 \u2013 2 January 2018"),
])
def test_format_range(start: date, end: date | None, expected: str) -> None:
    assert format_range(start, end, "en") == expected


ERRORS = [
    ("unknown field", GOOD.replace("summary:", "colour: red\nsummary:"), 6,
     "unknown field 'colour'"),
    ("missing title", GOOD.replace("title: A title\n", ""), None, "no 'title'"),
    ("missing date", GOOD.replace("date: 2020-01-31\n", ""), None, "no 'date'"),
    ("bad date text", GOOD.replace("2020-01-31", "31 January 2020"), 5, "bad date"),
    ("impossible date", GOOD.replace("2020-01-31", "2020-13-45"), 5, "bad date"),
    ("image without alt", GOOD.replace("summary:", "image: https://x.org/a.png\nsummary:"), 6,
     "needs an 'image_alt'"),
    ("body image without alt", GOOD.replace("Text.", "![](https://x.org/a.png)"), 11,
     "has no alt text"),
    ("relative link", GOOD.replace("Text.", "Line one\nsee [here](/about)."), 12,
     "'/about' is not an absolute URL"),
    ("relative image", GOOD.replace("Text.", "![A cat](cat.png)"), 11,
     "'cat.png' is not an absolute URL"),
    # Links markdown-it would quietly print as text are refused by name (issue 19).
    ("javascript link", GOOD.replace("Text.", "Line one\n[a](javascript:alert)"), 12,
     "'javascript:alert' will not be made: javascript: links"),
    ("javascript in capitals", GOOD.replace("Text.", "[a](JavaScript:alert(1))"), 11,
     "will not be made: javascript:"),
    ("javascript from an entity", GOOD.replace("Text.", "[a](&#106;avascript:alert(1))"), 11,
     "will not be made: javascript:"),
    ("javascript autolink", GOOD.replace("Text.", "<javascript:alert(1)>"), 11,
     "will not be made: javascript:"),
    ("vbscript reference link", GOOD.replace("Text.", "[a][r]\n\n[r]: vbscript:msgbox"), 11,
     "will not be made: vbscript:"),
    ("data link", GOOD.replace("Text.", "[a](data:text/html;base64,PHNjcmlwdD4=)"), 11,
     "will not be made: data:"),
    ("data image", GOOD.replace("Text.", "![A dot](data:image/png;base64,iVBORw0KGgo=)"), 11,
     "the image 'data:image/png;base64,iVBORw0KGgo=' will not be made: data:"),
    ("data banner", GOOD.replace("summary:", "image: data:image/png;base64,AA\nimage_alt: x\n"
                                 "summary:"), 6, "will not be made: data:"),
    ("protocol-relative link", GOOD.replace("Text.", "[a](//evil.example/x)"), 11,
     "'//evil.example/x' is protocol-relative"),
    ("tab inside a scheme", GOOD.replace("Text.", "[a](<java\tscript:alert(1)>)"), 11,
     "is not an absolute URL"),
    ("bad lang", GOOD.replace("summary:", "lang: de\nsummary:"), 6, "'lang' must be en or fr"),
    ("volume not a number", GOOD.replace("volume: 1", "volume: twelve"), 3, "whole number"),
    ("no front matter", "## Item\n", 1, "must start with a '---'"),
    ("unclosed front matter", "---\ntitle: x\n", 1, "not closed"),
    ("bad yaml", GOOD.replace("title: A title", "title: [oops"), None, "not valid YAML"),
    ("meeting unknown field", GOOD.replace("summary: Short.", "summary: Short.\nmeetings:\n"
     "  - name: M\n    start: 2020-02-01\n  - name: N\n    start: 2020-02-02\n    room: 4"), 10,
     "meeting 2: unknown field 'room'"),
    ("meeting bad date", GOOD.replace("summary: Short.", "summary: Short.\nmeetings:\n"
     "  - name: M\n    start: soon"), 8, "bad date 'soon'"),
    ("unsupported markdown", GOOD.replace("Text.", "> quoted"), 11, "not supported"),
    ("item after closing", GOOD + "\n# Join\n\nx\n\n## Late\n", 17, "must come before"),
    # Control characters: MJML, the pages and RSS are XML and cannot carry them (found by
    # fuzzing: the editor got "unable to parse next template in root template").
    ("control character in the text", GOOD.replace("Text.", "Te\x1bxt."), 11,
     "control character U+001B"),
    ("NUL in the front matter", GOOD.replace("title: A title", "title: A\x00 title"), 2,
     "control character U+0000"),
    ("control character from a YAML escape", GOOD.replace("title: A title",
                                                        'title: "A \\e title"'), 2,
     "'title' contains the invisible control character U+001B"),
    ("control character from an autolink escape",
     GOOD.replace("Text.", "<https://ccrweb.ca/a%01b>"), 11, "control character U+0001"),
]


@pytest.mark.parametrize(("case", "text", "line", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_editor_errors_name_file_and_line(case: str, text: str, line: int | None,
                                          message: str) -> None:
    with pytest.raises(IssueError) as caught:
        parse_issue("vol1-2.md", text)
    error = caught.value
    assert message in error.message
    if line is not None:
        assert error.line == line
    assert str(error).startswith("vol1-2.md")


BAD_IDS = ["../etc", "vol12-2/../../x", "Vol12", "vol-2", "u", ".md", "vol12-2.md", "vol12_2", "",
           # `$` matches before a final newline: every check is a full match.
           "vol13-1\n", "\nvol13-1", "vol13-1\r", "vol13-1\x00", "vol13-1 ", "vol13-1/",
           "vol13-1\n.fr", "vol1-1" + "-a" * 5000]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_are_validated(bad: str) -> None:
    with pytest.raises(UnknownIssue):
        check_id(bad)


@pytest.mark.parametrize("bad", BAD_IDS)
def test_file_names_need_a_whole_id(bad: str) -> None:
    with pytest.raises(IssueError, match="must be named"):
        split_file_name(bad + ".md")


@pytest.mark.parametrize("good", ["vol12-2", "vol1-1", "vol12-2b", "special2020-1"])
def test_good_ids(good: str) -> None:
    assert check_id(good) == good


def test_unknown_id_lists_existing_ids(tmp_path: Path) -> None:
    (tmp_path / "vol1-2.md").write_text(GOOD, "utf-8")
    (tmp_path / "README.md").write_text("not an issue", "utf-8")
    assert issue_ids(tmp_path) == ["vol1-2"]
    with pytest.raises(UnknownIssue) as caught:
        load_edition(tmp_path, "vol9-9")
    assert "vol9-9" in str(caught.value) and "issues: vol1-2" in str(caught.value)


def test_translation_must_be_another_language(tmp_path: Path) -> None:
    (tmp_path / "vol1-2.md").write_text(GOOD, "utf-8")
    (tmp_path / "vol1-2.fr.md").write_text(GOOD.replace("summary:", "lang: en\nsummary:"),
                                           "utf-8")
    with pytest.raises(IssueError, match="named for 'fr'"):
        load_edition(tmp_path, "vol1-2")


def test_a_byte_order_mark_from_a_windows_editor_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "vol1-2.md").write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load_edition(tmp_path, "vol1-2").primary.title == "A title"


def test_non_utf8_file_is_an_editor_error(tmp_path: Path) -> None:
    (tmp_path / "vol1-2.md").write_bytes(GOOD.encode("utf-8") + b"\xff\xfe")
    with pytest.raises(IssueError, match="not UTF-8"):
        load_edition(tmp_path, "vol1-2")
