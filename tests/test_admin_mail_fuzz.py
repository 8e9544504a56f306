"""Mutated mail to the admin addresses: reading it never raises what the server would
answer with 451 (the sender's MTA would retry for days).

A bounded, seeded run: the same 600 mutants every time, about 3 seconds. A longer
run of the same mutations found the cases now pinned in test_mailcmd_service.py.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from mutation import mutants

from ccrlist.admin.handler import UNREADABLE, read_message
from ccrlist.bounces.dsn import parse_bounce

SAMPLES = Path(__file__).parent / "data" / "dsn"
COMMAND = (b"From: Jo <jo@example.org>\r\nSubject: subscribe\r\nMessage-ID: <a@b>\r\n"
           b"In-Reply-To: <x@y>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"subscribe\r\n")
RELATED = (b"From: Jo <jo@example.org>\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/related; boundary=\"b1\"; start=\"<c1>\"\r\n\r\n"
           b"--b1\r\nContent-ID: <c1>\r\nContent-Type: multipart/alternative; boundary=b2\r\n"
           b"\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhelp\r\n--b2\r\n"
           b"Content-Type: text/html\r\n\r\n<p>help</p>\r\n--b2--\r\n--b1\r\n"
           b"Content-Type: message/rfc822\r\n\r\nFrom: a@b\r\nSubject: inner\r\n\r\nbody\r\n"
           b"--b1--\r\n")
# Pieces that matter to the grammar of headers, MIME and encoded words.
PIECES = [b"=?utf-8?q?", b"=?", b"?=", b"\x00", b"\xff", b"\xe9", b"\r\n ", b"\"", b"<", b">",
          b"@", b"(", b")", b"\\", b";", b":", b",", b"=?x?b?====?=", b"charset*=''%ff",
          b"charset*=utf-8''%ff", b"charset*0=a; charset*=utf-8''b", b"boundary=", b"--",
          b"\r\n\r\n",
          b"Content-Type: message/rfc822\r\n", b"Content-Type: multipart/mixed; boundary=a\r\n",
          b"Content-Type: multipart/related; boundary=b\r\n",
          b"Content-Transfer-Encoding: base64\r\n", b"=?unknown-8bit?q?a?="]


def test_mutated_admin_mail_is_read_or_refused_as_unreadable() -> None:
    samples = [path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))] + [COMMAND, RELATED]
    for raw in mutants(samples, PIECES, 600, 20261124):
        for role in ("request", "owner", "confirm"):
            with contextlib.suppress(*UNREADABLE):  # answered 550 5.6.0: final
                read_message(raw, "jo@example.org", role)
        parse_bounce(raw)  # reports are read whatever they hold
