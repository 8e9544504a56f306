"""A corpus of varied posts by a member: each is delivered with its MIME structure intact, or
refused with a clear 5xx; none crashes the server or hangs."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    add_members,
    make_settings,
    start_relay,
    wait_for,
)

from ccrlist.copies.long_lines import has_long_line
from ccrlist.header_block import split_fields
from ccrlist.server import serve

AUTHOR = "Émilie Tremblay <emilie@example.org>"


def mail(headers: str, body: bytes, mid: str) -> bytes:
    head = f"From: {AUTHOR}\r\nTo: ccrlist@{DOMAIN}\r\nMessage-ID: <{mid}@example.org>\r\n"
    return (head + headers).replace("\n", "\r\n").replace("\r\r", "\r").encode() + b"\r\n" + body


PDF = base64.encodebytes(bytes(range(256)) * 8).replace(b"\n", b"\r\n")
CORPUS: dict[str, bytes] = {
    "plain": mail("Subject: plain\n", b"Hello list.\r\n", "plain"),
    "alternative": mail(
        "Subject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b1\n",
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nText\r\n--b1\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Text</p>\r\n--b1--\r\n", "alt"),
    "attachment": mail(
        "Subject: report\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"x y\"\n",
        b"--x y\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--x y\r\n"
        b"Content-Type: application/pdf; name=r.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=r.pdf\r\n\r\n" + PDF + b"--x y--\r\n", "att"),
    "nested": mail(
        "Subject: nested\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n",
        b"--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n"
        b"Content-Type: text/plain\r\n\r\nplain\r\n--i\r\nContent-Type: text/html\r\n\r\n"
        b"<b>html</b>\r\n--i--\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: x@example.net\r\nSubject: fwd\r\n\r\nforwarded\r\n--o\r\n"
        b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgo=\r\n--o--\r\n", "nested"),
    "8bit": mail("Subject: Réfugiés à Montréal\nMIME-Version: 1.0\n"
                 "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
                 "Bonjour à tous, l'été arrive.\r\n".encode(), "8bit"),
    "encoded-headers": mail(
        "Subject: =?utf-8?q?R=C3=A9union_du_CCR?=\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: "
        "quoted-printable\n", b"r=E9union=20\r\n", "encoded"),
    "long-ok-line": mail("Subject: long\n", b"a" * 990 + b"\r\n", "long-ok"),
    # Lines past 998 characters: re-encoded in the copy, or refused where they cannot be.
    "long-line": mail("Subject: too long\n", b"b" * 5000 + b"\r\n", "long"),
    "long-html-line": mail(
        "Subject: html\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b1\n",
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nText\r\n--b1\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "<p>Réunion</p>".encode() * 300 + b"\r\n--b1--\r\n", "long-html"),
    "long-unfoldable-header": mail("Subject: " + "h" * 1200 + "\n", b"x\r\n", "long-head"),
    "no-boundary": mail("Subject: nb\nContent-Type: multipart/mixed\n",
                        b"no boundary at all\r\n", "nb"),
    "unclosed-multipart": mail(
        "Subject: open\nContent-Type: multipart/mixed; boundary=z\n",
        b"--z\r\nContent-Type: text/plain\r\n\r\nnever closed\r\n", "unclosed"),
    "bad-base64": mail("Subject: b64\nContent-Type: application/octet-stream\n"
                       "Content-Transfer-Encoding: base64\n", b"!!!not base64***\r\n", "b64"),
    "garbage-content-type": mail("Subject: ct\nContent-Type: ;;;===\n", b"x\r\n", "ct"),
    "empty-body": mail("Subject: empty\n", b"", "empty"),
    "many-headers": mail("Subject: many\n" + "".join(f"X-H{i}: {i}\n" for i in range(300)),
                         b"x\r\n", "many"),
    "nul-byte": mail("Subject: nul\n", b"a\x00b\r\n", "nul"),
    "dot-lines": mail("Subject: dots\n", b".\r\n..\r\n.leading\r\n", "dots"),
    # Encoded words the email package raises on: bad base64, a charset name that is
    # not ASCII. Posts like these got 451 for days (found by fuzzing).
    "bad-encoded-subject": mail("Subject: =?utf-8?b?SGVsb?= list\n", b"x\r\n", "bad-ew"),
    "non-ascii-charset-subject": mail("Subject: =?ut\u00e9f-8?q?caf=C3=A9?=\n", b"x\r\n",
                                      "charset-ew"),
    # A line in the header block that is no field: refused with 554 5.6.0.
    "line-that-is-no-field": mail("Subject: no field\nthis is not a field\n", b"x\r\n",
                                  "nofield"),
}
# A NUL is refused with 554 5.6.0 too (issue 19: RFC 5322 2.3 allows none in a message).
REFUSED = {"long-unfoldable-header", "line-that-is-no-field", "nul-byte"}


def structure(msg: Message) -> list[tuple[str, bytes | None]]:
    parts = []
    for part in msg.walk():
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        parts.append((part.get_content_type(), payload if isinstance(payload, bytes) else None))
    return parts


@pytest.fixture(scope="module")
def relay() -> RecordingRelay:
    return RecordingRelay()


@pytest.fixture(scope="module")
def controller(relay: RecordingRelay) -> Iterator[Controller]:
    c = start_relay(relay)
    yield c
    c.stop()


@pytest.fixture
async def port(tmp_path: Path, controller: Controller) -> AsyncIterator[int]:
    settings = make_settings(tmp_path, controller.port)
    await add_members(settings, ["emilie@example.org"])
    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result))
    yield await asyncio.wait_for(listening, 10)
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_corpus_message(name: str, port: int, relay: RecordingRelay) -> None:
    raw = CORPUS[name]
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
    await smtp.connect()
    try:
        await smtp.sendmail("emilie@example.org", [f"ccrlist@{DOMAIN}"], raw)
        accepted = True
    except aiosmtplib.SMTPResponseException as exc:
        accepted = False
        assert 500 <= exc.code < 600, f"{name}: {exc.code} {exc.message}"
        assert exc.message.strip()
    finally:
        smtp.close()
    mid_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Message-ID:"))
    if not accepted:
        assert name in REFUSED, f"{name} was refused"
        return
    assert name not in REFUSED, f"{name} was accepted"

    def copy() -> bytes | None:
        for m in list(relay.messages):
            if mid_line in m.content:
                return m.content
        return None

    await wait_for(lambda: copy() is not None, what=f"delivery of {name}")
    delivered = copy()
    assert delivered is not None
    if has_long_line(raw):
        assert not has_long_line(delivered)
    else:
        assert split_fields(delivered)[1] == split_fields(raw)[1]
    before = message_from_bytes(raw, policy=policy.compat32)
    after = message_from_bytes(delivered, policy=policy.compat32)
    assert structure(after) == structure(before)
    assert after["List-Id"] == f"<ccrlist.{DOMAIN}>"
