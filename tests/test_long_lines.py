"""Lines past 998 characters: re-encoded so that every line fits and a reader decodes the
same message; refused where that cannot be done."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import Message

import pytest

from ccrlist.copies.long_lines import (
    LIMIT,
    MAX_DEPTH,
    LongLineError,
    fit_lines,
    has_long_line,
    unfit_reason,
)

LONG_TEXT = ("Bonjour à toutes et à tous, " * 60).strip()  # 1,679 characters, one line
LONG_HTML = "<p>" + "<a href=\"https://ccrweb.ca/fr/bulletin\">Bulletin</a> " * 40 + "</p>"
HEAD = "From: Jo <jo@example.org>\r\nTo: ccrlist@lists.example.org\r\nSubject: Hi\r\n"


def lines_fit(raw: bytes) -> bool:
    return all(len(line.rstrip(b"\r")) <= LIMIT for line in raw.split(b"\n"))


def readable(raw: bytes) -> list[tuple[str, str, object]]:
    """What a reader gets: each leaf part's type, its headers' unfolded values, its
    decoded content."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    found: list[tuple[str, str, object]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        headers = " | ".join(f"{k}: {' '.join(str(v).split())}" for k, v in part.items()
                             if k.lower() not in ("content-transfer-encoding",
                                                  "mime-version", "content-type"))
        found.append((part.get_content_type(), headers, _content(part)))
    return found


def _content(part: Message) -> object:
    payload = part.get_payload(decode=True)
    if part.get_content_type() == "message/rfc822":
        return part.get_payload()[0].as_bytes()
    return payload


@pytest.mark.parametrize("raw, long", [
    (b"", False),
    (b"a" * LIMIT, False),
    (b"a" * LIMIT + b"\r\n" + b"b" * LIMIT + b"\r\n", False),
    (b"a" * (LIMIT + 1), True),
    (b"x\r\n" + b"a" * (LIMIT + 1) + b"\r\n", True),
    (b"x\n" + b"a" * (LIMIT + 1) + b"\n", True),  # bare LF line ends count too
    (b"a" * LIMIT + b"\r", False),
])
def test_has_long_line(raw: bytes, long: bool) -> None:
    assert has_long_line(raw) is long


def multipart(*parts: str, preamble: str = "", boundary: str = "b1",
              kind: str = "mixed") -> str:
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts)
    return (f"MIME-Version: 1.0\r\nContent-Type: multipart/{kind}; boundary=\"{boundary}\"\r\n"
            f"\r\n{preamble}{body}--{boundary}--\r\n")


PLAIN_8BIT = f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" \
             f"\r\n{LONG_TEXT}\r\nshort line\r\n"
SHORT_PART = "Content-Type: text/plain; charset=us-ascii\r\n\r\nA short part.\r\n"
HTML_PART = f"Content-Type: text/html; charset=us-ascii\r\n\r\n{LONG_HTML}\r\n"
BASE64_PART = ("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.b64encode(bytes(range(256)) * 6).decode() + "\r\n")
QP_PART = ("Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           + "caf=C3=A9 " * 150 + "=\r\nend\r\n")

CASES = {
    "no MIME at all, ASCII": HEAD + "\r\n" + "word " * 300 + "\r\n",
    "no MIME at all, 8-bit UTF-8": HEAD + "\r\n" + LONG_TEXT + "\r\n",
    "text/plain in 8bit": HEAD + "MIME-Version: 1.0\r\n" + PLAIN_8BIT,
    "multipart/alternative": HEAD + multipart(SHORT_PART, HTML_PART, kind="alternative"),
    "base64 never wrapped": HEAD + multipart(SHORT_PART, BASE64_PART),
    "quoted-printable without soft breaks": HEAD + "MIME-Version: 1.0\r\n" + QP_PART,
    "a forwarded message": HEAD + multipart(
        SHORT_PART, "Content-Type: message/rfc822\r\n\r\n" + HEAD + "MIME-Version: 1.0\r\n"
        + PLAIN_8BIT),
    "nested multiparts": HEAD + multipart(
        "Content-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\n" + SHORT_PART
        + "\r\n--b2\r\n" + HTML_PART + "\r\n--b2--", boundary="b1"),
    "a long header field": HEAD.replace("Subject: Hi", "Subject: " + "mot " * 400)
                           + "\r\nshort\r\n",
    "a long References field": HEAD + "References: " + " ".join(
        f"<{i}.thread@example.org>" for i in range(80)) + "\r\n\r\nshort\r\n",
    "a long preamble": HEAD + multipart(SHORT_PART, preamble="p" * 2000 + "\r\n"),
    "no close delimiter": HEAD + multipart(HTML_PART).removesuffix("--b1--\r\n"),
}


@pytest.mark.parametrize("name", CASES)
def test_long_lines_are_re_encoded_and_read_the_same(name: str) -> None:
    raw = CASES[name].encode()
    assert has_long_line(raw)
    fitted = fit_lines(raw)
    assert lines_fit(fitted)
    assert readable(fitted) == readable(raw)
    assert unfit_reason(raw) == ""
    assert fit_lines(fitted) == fitted  # nothing left to do


def test_parts_without_long_lines_are_kept_byte_for_byte() -> None:
    raw = (HEAD + multipart(SHORT_PART, HTML_PART, BASE64_PART.replace(
        base64.b64encode(bytes(range(256)) * 6).decode(), "AAEC"))).encode()
    fitted = fit_lines(raw)
    assert fitted.startswith(raw.split(b"<p>")[0].rsplit(b"--b1", 1)[0])
    assert SHORT_PART.encode() in fitted and b"AAEC\r\n" in fitted
    assert b"Content-Type: text/html; charset=us-ascii\r\n" \
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>" in fitted


def test_a_message_without_mime_becomes_mime_with_its_charset() -> None:
    fitted = fit_lines(CASES["no MIME at all, 8-bit UTF-8"].encode())
    msg = email.message_from_bytes(fitted, policy=email.policy.default)
    assert msg["MIME-Version"] == "1.0"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content() == LONG_TEXT + "\r\n"


def test_bare_lf_messages_keep_their_line_ends() -> None:
    raw = CASES["text/plain in 8bit"].replace("\r\n", "\n").encode()
    fitted = fit_lines(raw)
    assert b"\r" not in fitted and lines_fit(fitted)
    assert readable(fitted) == readable(raw)


NESTED = "".join(f"Content-Type: multipart/mixed; boundary=n{i}\r\n\r\n--n{i}\r\n"
                 for i in range(MAX_DEPTH + 2))


@pytest.mark.parametrize("raw, why", [
    (HEAD.replace("Subject: Hi", "Subject: " + "x" * 1200) + "\r\nbody\r\n",
     "the subject header has a line longer than 998 characters with no space"),
    (HEAD + "X-Padding: a" + " " * 1200 + "\r\n\r\nbody\r\n", "no space to fold it at"),
    (HEAD + "Content-Transfer-Encoding: x-uuencode\r\n\r\n" + "M" * 1200 + "\r\n",
     "'x-uuencode' transfer encoding"),
    (HEAD + "Content-Type: multipart/mixed; boundary=zz\r\n\r\n" + "y" * 1200 + "\r\n",
     "boundary of a multipart/mixed part with a long line never comes"),
    (HEAD + "Content-Type: multipart/mixed\r\n\r\n" + "y" * 1200 + "\r\n",
     "has no boundary"),
    (HEAD + NESTED + "Content-Type: text/plain\r\n\r\n" + "z" * 1200 + "\r\n",
     "too deep in nested parts"),
])
def test_where_a_long_line_cannot_be_re_encoded_it_says_why(raw: str, why: str) -> None:
    with pytest.raises(LongLineError, match=why):
        fit_lines(raw.encode())
    assert why in unfit_reason(raw.encode())
