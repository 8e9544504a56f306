"""Digest messages (pure): the MIME form's structure, the plain form (RFC 1153) readable,
French labels, the token slot, and posts that are hard to read."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from ccrlist.delivery.tokens import personalise
from ccrlist.digests.compose import compose_digest
from ccrlist.digests.content import DigestSpec, read_post
from ccrlist.digests.plain import BETWEEN, PREAMBLE_END

SLOT = "CCR-TOKEN-0123456789abcdef0123456789abcdef"
TOKEN = "Tok3n_of-the-member-42"
AT = datetime(2026, 12, 1, 13, tzinfo=UTC).timestamp()  # 8:00 in Toronto, a Tuesday

PLAIN = (b"Received: from mx.example.org by lists.example.org\r\n"
         b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from; b=xyz\r\n"
         b"Authentication-Results: lists.example.org; dkim=pass\r\n"
         b"From: Alice Smith <alice@example.org>\r\n"
         b"To: ccrlist@lists.example.org\r\n"
         b"Subject: Meeting on Thursday\r\n"
         b"Date: Mon, 30 Nov 2026 10:00:00 -0500\r\n"
         b"Message-ID: <alice-1@example.org>\r\n\r\n"
         b"Hello all,\r\n\r\n" + BETWEEN.encode() + b"\r\n" + PREAMBLE_END.encode()
         + b"\r\nSee you.\r\n")
FRENCH = ("From: =?utf-8?q?Luc_C=C3=B4t=C3=A9?= <luc@example.ca>\r\n"
          "Subject: =?utf-8?q?R=C3=A9union_de_d=C3=A9cembre?=\r\n"
          "Message-ID: <luc-1@example.ca>\r\n"
          "MIME-Version: 1.0\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Transfer-Encoding: 8bit\r\n\r\n"
          "Bonjour à tous, voici l'ordre du jour.\r\n").encode()
HTML_ONLY = (b"From: bob@example.org\r\nSubject: Report\r\nMessage-ID: <bob-1@example.org>\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
             b"--zz\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
             b"<html><head><style>p{}</style></head><body><p>The <b>report</b> is "
             b"<a href=\"https://example.org/r\">here</a>.</p><ul><li>one</li><li>two</li>"
             b"</ul></body></html>\r\n"
             b"--zz\r\nContent-Type: application/pdf; name=report.pdf\r\n"
             b"Content-Disposition: attachment; filename=report.pdf\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--zz--\r\n")
# A post quoting what looks like a token slot must not collect anyone's token.
SNEAKY = (b"From: eve@example.org\r\nSubject: links\r\nMessage-ID: <eve-1@example.org>\r\n\r\n"
          b"https://lists.example.org/u/CCR-TOKEN-SLOT-0f3a9c and CCR-TOKEN-deadbeef\r\n")


def spec(raws: list[bytes], lang: str = "en", fmt: str = "mime",
         mode: str = "daily") -> DigestSpec:
    return DigestSpec(
        list_name="ccrlist", domain="lists.example.org", lang=lang,  # type: ignore[arg-type]
        mode=mode, digest_format=fmt, volume=3, number=42, at=AT,  # type: ignore[arg-type]
        zone=ZoneInfo("America/Toronto"), subject_prefix="[ccrlist]",
        archive_url="https://lists.example.org/archive/ccrlist/",
        manage_url=f"https://lists.example.org/u/{SLOT}",
        message_id="<digest.3.42.k.ccrlist@lists.example.org>",
        posts=tuple(read_post(raw) for raw in raws))


def text_of(part: EmailMessage) -> str:
    """A text part's content with line ends as Python writes them (8bit keeps CRLF)."""
    return str(part.get_content()).replace("\r\n", "\n")


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_mime_digest_structure() -> None:
    raws = [PLAIN, FRENCH, HTML_ONLY, SNEAKY]
    raw = compose_digest(spec(raws))
    msg = parse(raw)
    assert msg["Subject"] == "[ccrlist] Digest, Vol 3, Issue 42"
    assert msg["From"] == "ccrlist <ccrlist-request@lists.example.org>"
    assert msg["Message-ID"] == "<digest.3.42.k.ccrlist@lists.example.org>"
    assert msg["Date"] == "Tue, 01 Dec 2026 08:00:00 -0500"
    assert msg["Content-Language"] == "en"
    assert msg["List-Id"] == "<ccrlist.lists.example.org>"
    assert msg["Precedence"] == "list" and msg["X-Loop"] == "ccrlist@lists.example.org"
    assert msg.get_content_type() == "multipart/mixed"
    toc, digest, footer = msg.iter_parts()
    assert toc.get_content_type() == "text/plain"
    assert digest.get_content_type() == "multipart/digest"
    assert footer.get_content_type() == "text/plain"
    parts = list(digest.iter_parts())
    assert [p.get_content_type() for p in parts] == ["message/rfc822"] * len(raws)
    inner = [p.get_content() for p in parts]
    assert [m["Message-ID"] for m in inner] == ["<alice-1@example.org>", "<luc-1@example.ca>",
                                                "<bob-1@example.org>", "<eve-1@example.org>"]
    # Posts go in as they came, less the fields about their way here.
    assert inner[0]["Received"] is None and inner[0]["DKIM-Signature"] is None
    assert inner[0]["Authentication-Results"] is None
    assert inner[1]["Subject"] == "Réunion de décembre"
    assert "Bonjour à tous" in text_of(inner[1])
    assert [p.get_content_type() for p in inner[2].walk()] == [
        "multipart/mixed", "text/html", "application/pdf"]
    assert PLAIN.split(b"\r\n\r\n", 1)[1] in raw  # the body byte for byte
    # The table of contents, in order, with authors.
    text = text_of(toc)
    assert re.search(r"1\. Meeting on Thursday \(Alice Smith\)\n\s+2\. Réunion de décembre "
                     r"\(Luc Côté\)\n\s+3\. Report \(bob@example.org\)", text), text
    assert "Daily digest, Tuesday 1 December 2026, 4 messages" in text
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_every_copy_holds_its_members_token_and_no_other() -> None:
    raw = compose_digest(spec([PLAIN, SNEAKY]))
    assert raw.count(SLOT.encode()) == 3  # List-Unsubscribe, the contents, the footer
    copy = personalise(raw, TOKEN, SLOT.encode())
    msg = parse(copy)
    assert msg["List-Unsubscribe"] == (f"<https://lists.example.org/u/{TOKEN}>, "
                                       "<mailto:ccrlist-leave@lists.example.org>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    toc = next(msg.iter_parts())
    assert f"https://lists.example.org/u/{TOKEN}" in text_of(toc)
    assert SLOT.encode() not in copy
    # The post's own look-alike slots are left alone.
    assert b"CCR-TOKEN-SLOT-0f3a9c and CCR-TOKEN-deadbeef" in copy


def test_plain_digest_is_rfc1153_and_readable() -> None:
    raw = compose_digest(spec([PLAIN, FRENCH, HTML_ONLY], fmt="plain"))
    msg = parse(raw)
    assert msg.get_content_type() == "text/plain"
    assert msg["Content-Transfer-Encoding"] == "8bit"
    text = text_of(msg)
    head, _, rest = text.partition("\n" + PREAMBLE_END + "\n")
    assert "In this issue:" in head and "1. Meeting on Thursday (Alice Smith)" in head
    posts = rest.split("\n" + BETWEEN + "\n")
    assert len(posts) == 4  # three posts, then the trailer
    first = posts[0].strip("\n").split("\n")
    assert first[:5] == ["Date: Mon, 30 Nov 2026 10:00:00 -0500",
                         "From: Alice Smith <alice@example.org>",
                         "To: ccrlist@lists.example.org", "Subject: Meeting on Thursday",
                         "Message-ID: <alice-1@example.org>"]
    # The post's own separator lines cannot end it early.
    assert f" {BETWEEN}" in first and f" {PREAMBLE_END}" in first
    assert "Received" not in posts[0] and "DKIM" not in posts[0]
    assert "Subject: Réunion de décembre" in posts[1]
    assert "Bonjour à tous" in posts[1]
    # An HTML-only post is made readable; its attachment is named, not included.
    assert "The report is here <https://example.org/r>." in posts[2]
    assert "- one\n- two" in posts[2]
    assert "<p>" not in posts[2] and "p{}" not in posts[2]
    assert "[Attachment not included: report.pdf, application/pdf, 9 B]" in posts[2]
    assert "JVBERi0" not in text
    trailer = posts[3].strip("\n").split("\n")
    assert trailer == ["End of ccrlist Digest, Vol 3, Issue 42", "*" * 38]


def test_french_labels() -> None:
    raw = compose_digest(spec([PLAIN], lang="fr", mode="weekly"))
    msg = parse(raw)
    assert msg["Subject"] == "[ccrlist] Condensé, vol. 3, numéro 42"
    assert msg["Content-Language"] == "fr"
    toc = text_of(next(msg.iter_parts()))
    assert toc.startswith("Condensé de ccrlist, vol. 3, numéro 42\n"
                          "Condensé hebdomadaire, mardi 1er décembre 2026, 1 message\n")
    assert "Votre abonnement" in toc and "Dans ce numéro :" in toc
    assert "Ceci est un condensé au format MIME" in raw.decode()
    plain = text_of(parse(compose_digest(spec([PLAIN], lang="fr", fmt="plain"))))
    assert "Fin du condensé de ccrlist, vol. 3, numéro 42" in plain


def test_last_digest_of_a_member_back_to_each_post_says_so() -> None:
    toc = text_of(next(parse(compose_digest(spec([PLAIN], mode="each"))).iter_parts()))
    assert "Your last digest: from now on you receive each post" in toc


def test_without_a_subject_prefix_the_list_name_leads() -> None:
    s = spec([PLAIN])
    raw = compose_digest(DigestSpec(**{**s.__dict__, "subject_prefix": ""}))
    assert parse(raw)["Subject"] == "ccrlist Digest, Vol 3, Issue 42"


@pytest.mark.parametrize("raw", [
    # MIME nested deeper than anyone reads, a charset nobody knows, no body at all,
    # a header-only post without a final line end, 8-bit garbage.
    b"From: x@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    + b"".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode()
               for i in range(60)) + b"Content-Type: text/plain\r\n\r\ndeep text\r\n",
    b"From: y@example.org\r\nSubject: odd\r\nContent-Type: text/plain; charset=x-nonesuch\r\n"
    b"\r\ncaf\xe9\r\n",
    b"From: z@example.org\r\nSubject: empty\r\n\r\n",
    b"From: w@example.org\r\nSubject: headers only",
    b"From: v@example.org\r\nSubject: \xff\xfe\r\nContent-Type: text/plain; charset=\"\x00\"\r\n"
    b"\r\n\xff\xfe\xfd\r\n",
], ids=["deep", "unknown-charset", "no-body", "no-line-end", "garbage"])
@pytest.mark.parametrize("fmt", ["mime", "plain"])
def test_a_post_hard_to_read_still_goes_in(raw: bytes, fmt: str) -> None:
    digest = compose_digest(spec([PLAIN, raw], fmt=fmt))
    msg = parse(digest)
    if fmt == "mime":
        parts = list(list(msg.iter_parts())[1].iter_parts())
        assert len(parts) == 2
    else:
        assert text_of(msg).count("\n" + BETWEEN + "\n") == 2
    assert b"Subject: " in digest
    assert max(len(line) for line in digest.split(b"\r\n")) <= 998
