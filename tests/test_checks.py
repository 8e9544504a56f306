"""Pre-send checks on rendered email HTML, the text part, feeds and the issue files' lines
(pure, table-driven)."""

from __future__ import annotations

import pytest

from echronicle.checks.rendered import check_email_html, check_feed, check_text_part
from echronicle.checks.source import placeholders
from echronicle.reading.edition import IssueFile

GOOD = """<!doctype html><html lang="en"><head><title>E-Chronicle</title></head>
<body style="background-color:#f4f1ea"><div style="display:none;max-height:0">Preview text</div>
<table><tr><td style="color:#1a1a1a;background-color:#ffffff">
<a href="#item-1">Item</a> <a id="item-1"></a>
<a href="https://ccrweb.ca/en/campaign">Campaign</a> <a href="mailto:info@ccrweb.ca">Mail</a>
<img src="https://ccrweb.ca/logo.png" alt="CCR logo"></td></tr></table></body></html>"""


def test_good_email_passes() -> None:
    assert check_email_html(GOOD) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('lang="en"', ""), "no lang attribute"),
        (("<title>E-Chronicle</title>", ""), "no <title>"),
        (("Preview text", ""), "no preheader"),
        (('alt="CCR logo"', ""), "has no alt text"),
        (('alt="CCR logo"', 'alt=" "'), "has no alt text"),
        (("https://ccrweb.ca/en/campaign", "/en/campaign"), "not an absolute https:"),
        (("https://ccrweb.ca/en/campaign", "http://ccrweb.ca/x"), "not an absolute https:"),
        (("https://ccrweb.ca/en/campaign", "javascript:alert(1)"), "not an absolute https:"),
        (('href="#item-1"', 'href="#item-9"'), "points to no item"),
        (("color:#1a1a1a", "color:#000"), "pure black text on pure white"),
        (("<table><tr><td style=\"color:#1a1a1a;background-color:#ffffff\"",
          "<table bgcolor=\"#FFF\"><tr><td style=\"color:black\""),
         "pure black text on pure white"),
    ],
)
def test_each_problem_is_found(change: tuple[str, str], expected: str) -> None:
    html = GOOD.replace(*change)
    assert html != GOOD
    messages = [str(p) for p in check_email_html(html)]
    assert any(expected in m for m in messages), messages


def test_black_on_dark_background_is_fine() -> None:
    html = GOOD.replace("color:#1a1a1a;background-color:#ffffff",
                        "color:#000000;background-color:#f4f1ea")
    assert check_email_html(html) == []


def test_size_limit() -> None:
    problems = check_email_html(GOOD, limit=100)
    assert [p.part for p in problems] == ["email"]
    assert "Gmail" in problems[0].message


@pytest.mark.parametrize(("text", "expected"), [
    ("A line\nTK: the figures\n", ["vol1-1.md:2: placeholder text 'TK' left in"]),
    ("TKO and ATKINS\n", []),
    ("title: TODO\n---\nfixme, Lorem Ipsum dolor\n", [
        "vol1-1.md:1: placeholder text 'TODO' left in",
        "vol1-1.md:3: placeholder text 'Lorem Ipsum' left in",
        "vol1-1.md:3: placeholder text 'fixme' left in"]),
    ("XXX XXX\n", ["vol1-1.md:1: placeholder text 'XXX' left in"]),  # once a line
])
def test_placeholders_are_found_by_line(text: str, expected: list[str]) -> None:
    assert [str(p) for p in placeholders(IssueFile.of("vol1-1.md", text.encode()))] == expected


def test_text_part_must_say_something() -> None:
    assert "shorter than" in str(check_text_part("  hi  ")[0])
    assert check_text_part("A real paragraph about refugees. " * 10) == []


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>E-Chronicle</title><link>https://ccrweb.ca/</link>
<description>News</description><item><title>Vol. 12 no. 2</title>
<link>https://ccrweb.ca/vol12-2/</link><guid>https://ccrweb.ca/vol12-2/</guid>
<pubDate>Tue, 03 Oct 2017 00:00:00 +0000</pubDate></item></channel></rss>"""


def test_feed_checks() -> None:
    assert check_feed(RSS) == []
    assert "does not parse cleanly" in check_feed(RSS.replace(b"</channel>", b""))[0].message
    empty = RSS[:RSS.index(b"<item>")] + b"</channel></rss>"
    assert check_feed(empty)[0].message == "has no entries"
