"""The archive's pure parts, by tables: reading posts, threads, search queries, bodies,
mailboxes and the feed."""

from __future__ import annotations

import io
import mailbox
from pathlib import Path

import feedparser
import pytest

from ccrlist.archive.body import highlighted, mask_addresses, person, text_body
from ccrlist.archive.feed import atom_feed
from ccrlist.archive.links import asks_not_to_be_archived
from ccrlist.archive.mbox import import_problem, mbox_entry, sane_date, split_mailbox
from ccrlist.archive.reading import part_bytes, read_post
from ccrlist.archive.sanitise import sanitise_html
from ccrlist.archive.search import SearchForm, SearchFormError, match_expression, search_query
from ccrlist.archive.texts import archive_texts
from ccrlist.archive.threads import base_subject, place
from subscribers.archive_models import (
    HIT_END,
    HIT_START,
    ArchivedPost,
    ArchiveEntry,
    KnownMessage,
    ThreadingFacts,
    ThreadSummary,
)

EN = archive_texts("en")


def post(headers: str, body: bytes | str = "Hello\r\n") -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + data


@pytest.mark.parametrize(("headers", "body", "kind", "text"), [
    ("From: a@example.org\nSubject: x\n", "Hello\r\n", "text", "Hello"),
    ("From: a@example.org\nContent-Type: text/plain; charset=iso-8859-1\n"
     "Content-Transfer-Encoding: quoted-printable\n", "R=E9fugi=E9s\r\n", "text", "Réfugiés"),
    ("From: a@example.org\nContent-Transfer-Encoding: base64\n", "UsOpdW5pb24=\r\n", "text",
     "Réunion"),
    ("From: a@example.org\nContent-Type: text/plain; charset=x-unknown\n", "ok\r\n", "text",
     "ok"),
    ("From: a@example.org\nContent-Transfer-Encoding: base64\n", "!!!not base64\r\n", "text",
     "!!!not base64"),  # what cannot be decoded is shown as it came
    ("From: a@example.org\nContent-Type: text/plain\n", "a\x00b\x1bc\r\n", "text", "abc"),
])
def test_single_part_bodies(headers: str, body: str, kind: str, text: str) -> None:
    entry = read_post(post(headers, body), "ccrlist", 1.0)
    assert entry.body_kind == kind
    assert entry.body == text


def test_alternative_prefers_text_and_html_only_is_sanitised() -> None:
    alternative = post(
        'From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/alternative; '
        'boundary="b"\n',
        "--b\r\nContent-Type: text/plain\r\n\r\nplain words\r\n--b\r\nContent-Type: text/html"
        "\r\n\r\n<p>html words</p>\r\n--b--\r\n")
    entry = read_post(alternative, "ccrlist", 1.0)
    assert (entry.body_kind, entry.body, entry.attachments) == ("text", "plain words", ())
    html_only = post("From: a@example.org\nContent-Type: text/html; charset=utf-8\n",
                     '<p onclick="x()">Bonjour <b>tous</b></p><script>evil()</script>'
                     '<blockquote>old</blockquote>\r\n')
    entry = read_post(html_only, "ccrlist", 1.0)
    assert entry.body_kind == "html"
    assert entry.body == "<p>Bonjour <b>tous</b></p><blockquote>old</blockquote>"
    assert entry.search_text == "Bonjour tous"  # the quote is not searched


@pytest.mark.parametrize(("markup", "kept"), [
    ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
    ('<a title="t" href="vbscript:x">x</a>', '<a title="t">x</a>'),
    ('<a href="https://ccrweb.ca/" onclick="x">x</a>',
     '<a href="https://ccrweb.ca/" rel="nofollow noopener noreferrer">x</a>'),
    ('<img src="https://t.example/p.gif" onerror="alert(1)">', ""),
    ("<svg><script>alert(1)</script></svg>", ""),
    ('<iframe src="https://evil.example/"></iframe>', ""),
    ("<style>p{}</style><p style='color:red'>x</p>", "<p>x</p>"),
    ("<table><tr><td colspan=2 onmouseover=x>c</td></tr></table>",
     '<table><tbody><tr><td colspan="2">c</td></tr></tbody></table>'),
    ('<form action="https://evil.example/"><input name=p></form>', ""),
    ('<a href="data:text/html,<script>x</script>">d</a>', "<a>d</a>"),
])
def test_sanitiser_keeps_nothing_active(markup: str, kept: str) -> None:
    assert sanitise_html(markup) == kept


def test_attachments_are_listed_with_safe_names_and_can_be_fetched() -> None:
    raw = post(
        'From: a@example.org\nContent-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        "--m\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n"
        "Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n"
        "--m\r\nContent-Type: text/html\r\nContent-Disposition: attachment; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9.html\r\n\r\n<script>x</script>\r\n"
        "--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.org\r\nSubject: fwd\r\n"
        "\r\nforwarded\r\n--m--\r\n")
    entry = read_post(raw, "ccrlist", 1.0)
    assert entry.body == "see attached"
    assert [(a.part, a.filename, a.content_type) for a in entry.attachments] == [
        (3, "passwd", "application/pdf"), (4, "résumé.html", "text/html"),
        (5, "part-5.eml", "message/rfc822")]
    found = part_bytes(raw, 3)
    assert found is not None and found[1] == b"%PDF"
    assert part_bytes(raw, 99) is None


@pytest.mark.parametrize("raw", [
    b"",
    b"\r\n\r\n",
    b"From: a@example.org\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n",
    b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
    + b"".join(b"--z\r\nContent-Type: multipart/mixed; boundary=z%d\r\n\r\n" % i
               for i in range(200)),
    b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
    + b"--z\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 2000 + b"--z--\r\n",
    b"From: =?utf-8?b?!!!?= <a@example.org>\r\nSubject: =?x-bad?q?=FF?=\r\n\r\nbody\r\n",
    b"From: a@example.org\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + b"<div>" * 5000,
    bytes(range(256)) * 20,
])
def test_reading_never_fails_on_hostile_input(raw: bytes) -> None:
    entry = read_post(raw, "ccrlist", 1.0)
    assert entry.message_id.startswith("<")
    assert "\x02" not in entry.search_text and "\x03" not in entry.search_text


def test_thread_fields_author_and_date() -> None:
    entry = read_post(post(
        "From: =?utf-8?q?Jos=C3=A9e?= <Josee@Example.ORG>\nSubject: Re: [ccrlist] Réunion\n"
        "Message-ID: <c@x>\nReferences: <a@x>\n <b@x>\nIn-Reply-To: <b@x>\n"
        "Date: Tue, 05 Mar 2019 10:00:00 -0500\nX-No-Archive: Yes\n"), "ccrlist", None)
    assert entry.author == "Josee@example.org" and entry.author_name == "Josée"
    assert entry.references == ("<a@x>", "<b@x>") and entry.is_reply
    assert entry.subject == "Re: Réunion" and entry.base_subject == "réunion"
    assert entry.date == 1551798000.0
    assert entry.left_out


@pytest.mark.parametrize(("subject", "base"), [
    ("Réunion", "réunion"), ("Re: Réunion", "réunion"), ("RE: re: Fwd: Réunion", "réunion"),
    ("Re: [ccrlist] Re: [CCRLIST] Budget 2027", "budget 2027"), ("AW: Sv: TR: RÉF : x", "x"),
    ("Re[2]: x", "x"), ("Réponse", "réponse"), ("  Re:   spaced   out ", "spaced out"),
])
def test_base_subject(subject: str, base: str) -> None:
    assert base_subject(subject, "ccrlist") == base


def entry(message_id: str, refs: tuple[str, ...] = (), subject: str = "s",
          reply: bool = False, date: float = 1000.0) -> ArchiveEntry:
    return ArchiveEntry(message_id, refs, subject, subject.lower(), reply or bool(refs), "",
                        "a@x", date, "text", "", "")


def test_threads_by_references_subject_and_orphans() -> None:
    facts = ThreadingFacts({"<old@x>": KnownMessage(1, 1)},
                           {"<late@x>": [KnownMessage(2, 2)]}, {"budget": (7, 900.0)})
    plan = place([
        (10, entry("<r1@x>", ("<gone@x>", "<old@x>"))),  # nearest known reference
        (11, entry("<r2@x>", ("<r1@x>",))),  # a reply within the batch
        (12, entry("<b1@x>", subject="Budget", reply=True)),  # by subject, in the window
        (13, entry("<b2@x>", subject="Budget", reply=False)),  # not a reply: its own thread
        (14, entry("<b3@x>", subject="Budget", reply=True, date=900.0 + 61 * 86400)),
        (15, entry("<late@x>")),  # the parent arriving after its reply (post 2)
        (16, entry("<o1@x>", ("<o2@x>",), "Other")),  # a reply before its parent, one batch
        (17, entry("<o2@x>", subject="Other")),
    ], facts)
    assert [(p.parent_id, p.thread_id) for p in plan.placements] == [
        (1, 1), (10, 1), (None, 7), (None, 13), (None, 14), (None, 15), (None, 17),
        (None, 17)]
    assert plan.merges == {2: 15, 16: 17}
    assert plan.adopted == {2: 15, 16: 17}


@pytest.mark.parametrize(("words", "author", "expression"), [
    ("refugie", "", '({subject body} : "refugie"*)'),
    ("ccr", "", '({subject body} : "ccr")'),
    ('"réunion de juin" budget', "", '({subject body} : "réunion de juin") AND '
     '({subject body} : "budget"*)'),
    ("a* NEAR(x y) OR col:x", "", '({subject body} : "a"*) AND ({subject body} : "NEAR x") '
     'AND ({subject body} : "y") AND ({subject body} : "OR") AND ({subject body} : "col x")'),
    ('"unbalanced', "", '({subject body} : "unbalanced"*)'),
    ("*** ---", "", None),
    ("", "jo@example.org", '(author : "jo example org")'),
])
def test_search_expressions_are_never_fts_syntax(words: str, author: str,
                                                 expression: str | None) -> None:
    assert match_expression(words, author) == expression


def test_search_dates_and_pages() -> None:
    query = search_query("ccrlist", SearchForm("x", date_from="2026-03-01",
                                               date_to="2026-03-31", page=3))
    assert (query.date_from, query.date_to) == (1772323200.0, 1775001600.0)
    assert (query.offset, query.limit) == (40, 21)
    with pytest.raises(SearchFormError):
        search_query("ccrlist", SearchForm("x", date_from="31/03/2026"))


def test_text_bodies_fold_quotes_and_escape_everything() -> None:
    html = str(text_body(
        "Hi <b>all</b> https://ccrweb.ca/x?a=1&b=2.\n\nOn Monday jo@example.org wrote:\n"
        "> quoted <script>\n> more\nafter\n-----Original Message-----\nFrom: x\nold",
        EN, public=True))
    assert html.startswith("<p>Hi &lt;b&gt;all&lt;/b&gt; <a href=\"https://ccrweb.ca/x?a=1&amp;"
                           "b=2\" rel=\"nofollow noopener noreferrer\">")
    assert "jo@…" in html and "example.org" not in html
    assert html.count("<details>") == 2
    assert "<summary>Quoted text (2 lines)</summary><blockquote><p>&gt; quoted &lt;script&gt;" \
        in html
    assert "<summary>Quoted text (3 lines)</summary>" in html


@pytest.mark.parametrize(("name", "address", "public", "shown"), [
    ("Jo", "jo@example.org", False, "Jo <jo@example.org>"),
    ("Jo", "jo@example.org", True, "Jo (jo@…)"),
    ("", "jo@example.org", True, "jo@…"),
    ("jo@example.org", "jo@example.org", True, "jo@… (jo@…)"),
])
def test_people_shown(name: str, address: str, public: bool, shown: str) -> None:
    assert person(name, address, public) == shown


def test_highlights_are_escaped() -> None:
    text = f"<i>{HIT_START}réfugié{HIT_END}</i> jo@example.org"
    assert str(highlighted(text, True)) == "&lt;i&gt;<mark>réfugié</mark>&lt;/i&gt; jo@…"
    assert mask_addresses("a.b+c@sub.example.org") == "a.b+c@…"


@pytest.mark.parametrize(("fields", "left_out"), [
    ([("x-no-archive", b" yes")], True), ([("x-no-archive", b" Yes\r\n")], True),
    ([("x-archive", b" no")], True), ([("x-archive", b" yes")], False),
    ([("x-no-archive", b" no")], False), ([], False),
])
def test_no_archive_fields(fields: list[tuple[str, bytes]], left_out: bool) -> None:
    assert asks_not_to_be_archived(fields) == left_out


MAILBOX = b"""From alice@example.org Tue Mar  5 10:00:00 2019
From: Alice <alice@example.org>
Subject: one

Hello
>From the start
From here on

From bob at example.org  Wed Mar  6 11:00:00 2019
From: bob@example.org

two
From 1657800000000000000@xxx Thu Jan 01 00:00:00 +0000 2024
From: c@example.org

three
"""


def test_mailbox_split_keeps_body_from_lines() -> None:
    found = list(split_mailbox(io.BytesIO(MAILBOX)))
    assert [(m.number, m.line) for m in found] == [(1, 1), (2, 9), (3, 13)]
    assert found[0].raw.endswith(b"Hello\r\nFrom the start\r\nFrom here on\r\n")
    assert found[1].envelope_date == 1551870000.0
    assert found[2].raw == b"From: c@example.org\r\n\r\nthree\r\n"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 1 << 22])
def test_mailbox_split_does_not_depend_on_how_the_file_is_read(size: int) -> None:
    from test_archive_cli import HISTORY

    for data in (MAILBOX, HISTORY, b"=" * 73 + b"\nFrom: a\n\nx\n" + b"=" * 73 + b"\nFrom: b\n",
                 b"\n\nFrom: a@x\n\nno From_ line\n", b"", b"\n\n\n"):
        whole = [(m.number, m.line, m.raw, m.from_line) for m in split_mailbox([data])]
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        assert [(m.number, m.line, m.raw, m.from_line) for m in split_mailbox(pieces)] == whole
    assert [m.raw for m in split_mailbox([b"\n\nFrom: a@x\n\nbody\n"])] == [
        b"From: a@x\r\n\r\nbody\r\n"]


def test_listserv_notebook() -> None:
    notebook = (b"=" * 73 + b"\nDate: Thu, 1 Jan 1998 08:18:14 -0800\nFrom: Jill <j@x.org>\n"
                b"Subject: Happy\n\nHappy New Year\n" + b"=" * 73 + b"\nDate: Fri, 2 Jan 1998"
                b" 08:18:14 -0800\nFrom: John <jo@x.org>\n\nWhat?\n")
    found = list(split_mailbox(io.BytesIO(notebook)))
    assert [(m.line, m.raw.split(b"\r\n")[1]) for m in found] == [
        (2, b"From: Jill <j@x.org>"), (8, b"From: John <jo@x.org>")]


def test_export_is_read_back_unchanged(tmp_path: Path) -> None:
    raws = [b"From: a@x\r\nSubject: s\r\n\r\nFrom the start\r\n>From quoted\r\nend\r\n",
            b"From: b@x\r\n\r\nno final newline"]
    path = tmp_path / "out.mbox"
    path.write_bytes(b"".join(mbox_entry(r, "a@x", 1e9) for r in raws))
    # Python's own reader finds the same messages (it leaves the >From escapes in place).
    assert [m["From"] for m in mailbox.mbox(path)] == ["a@x", "b@x"]
    again = list(split_mailbox(io.BytesIO(path.read_bytes())))
    assert [m.raw for m in again] == [raws[0], raws[1] + b"\r\n"]


@pytest.mark.parametrize(("raw", "problem"), [
    (b"From: a@x\r\n\r\nok\r\n", ""),
    (b"just text\r\n", "it does not start with a header field: 'just text'"),
    (b"Subject: x\r\n\r\nno author\r\n", "it has no From field"),
    (b"From: a@x\r\n\r\nnul \x00\r\n", "it holds NUL bytes"),
    (b"From: a@x\r\n\r\n" + b"x" * 200, "it is larger than [limits] max_message_bytes "
     "(213 > 100 bytes)"),
])
def test_import_problems(raw: bytes, problem: str) -> None:
    from ccrlist.archive.mbox import MboxMessage

    assert import_problem(MboxMessage(1, 1, raw, None), 100) == problem


@pytest.mark.parametrize(("found", "envelope", "date"), [
    (1e9, 2e9, 1e9), (None, 2e9, 2e9), (0.0, None, None), (5e9, 1e9, 1e9), (None, None, None),
])
def test_sane_dates(found: float | None, envelope: float | None, date: float | None) -> None:
    assert sane_date(found, envelope, now=3e9) == date


def test_feed_parses_and_masks_on_public_archives() -> None:
    thread = ThreadSummary(7, "Réunion <b>", "Jo", "jo@example.org", 1e9, 1e9 + 10, 2)
    first = ArchivedPost(7, "ccrlist", "ccrlist/x", "<a@x>", None, 7, 1e9, "Réunion <b>", "Jo",
                         "jo@example.org", "text", "Write to jo@example.org", ())
    body = atom_feed(title="ccrlist archive", home="https://l.example/archive/ccrlist/",
                     self_url="https://l.example/archive/ccrlist/atom.xml", lang="fr",
                     threads=[(thread, "https://l.example/archive/ccrlist/thread/7/", first)],
                     public=True, now=2e9, untitled="(none)")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.language == "fr" if "language" in parsed.feed else True
    [item] = parsed.entries
    assert item.title == "Réunion <b>" and item.link.endswith("/thread/7/")
    assert item.summary == "Write to jo@…"
