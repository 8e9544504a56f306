"""The SMTP session's short way for plain paths gives aiosmtpd's own answers."""

from __future__ import annotations

import random
import smtplib
from typing import ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from ccrlist_helpers import free_port

from ccrlist.intake.protocol import ListLMTP, ListSMTP, plain_path


class _Handler:
    pass


Answer = tuple[str | None, str | None] | str  # a str names the exception raised


def aiosmtpd_answer(arg: str, limit: int = 0) -> Answer:
    session = SMTP(_Handler(), hostname="lists.example.org")
    session.local_part_limit = limit
    try:
        return SMTP._getaddr(session, arg)
    except Exception as exc:  # aiosmtpd's parser has bugs of its own; ours must share them
        return type(exc).__name__


def ours(arg: str, limit: int = 0) -> Answer:
    session = ListSMTP(_Handler(), hostname="lists.example.org")
    session.local_part_limit = limit
    try:
        return session._getaddr(arg)
    except Exception as exc:
        return type(exc).__name__


@pytest.mark.parametrize("arg, short", [
    ("<member@example.org>", ("member@example.org", "")),
    ("<member@example.org> SIZE=5120", ("member@example.org", "SIZE=5120")),
    ("<Jo.Member+ccr@Example.ORG>  BODY=8BITMIME SMTPUTF8",
     ("Jo.Member+ccr@Example.ORG", "BODY=8BITMIME SMTPUTF8")),
    ("<o'brien@ex-ample.org>\tSIZE=1", ("o'brien@ex-ample.org", "SIZE=1")),
    ("<a@b.c>SIZE=1", ("a@b.c", "SIZE=1")),
    # the long way: aiosmtpd decides
    ("<>", None),
    ("<a@b.c> (comment) SIZE=1", None),
    ("<a@b.c>   ", None),
    ('<"quoted local"@example.org>', None),
    ("<@relay.example:a@b.c>", None),
    ("<a@[127.0.0.1]>", None),
    ("<jos\u00e9@exemple.ca>", None),
    ("<a..b@example.org>", None),
    ("<a@-bad.example>", None),
    ("a@b.c", None),
    (" <a@b.c>", None),
    ("<a@b.c", None),
    ("<a@b.c>>", ("a@b.c", ">")),  # aiosmtpd's answer too: MAIL then refuses the parameter
    ("<a@localhost>", None),
    # Found in review: aiosmtpd decodes an encoded word in the local part, and skips any
    # white space str.lstrip() knows after the blank that follows the path.
    ("<=?utf-8?q?ccrlist?=@lists.example.org>", None),
    ("<jo.=?utf-8?q?x?=@example.org>", None),
    ("<a@b.c> \x0cSIZE=10", ("a@b.c", "SIZE=10")),
    ("<a@b.c> \xa0 SIZE=10", ("a@b.c", "SIZE=10")),
    ("<a@b.c>\x0cSIZE=10", ("a@b.c", "\x0cSIZE=10")),
])
def test_plain_paths_take_the_short_way_and_agree_with_aiosmtpd(
        arg: str, short: tuple[str, str] | None) -> None:
    assert plain_path(arg, 0) == short
    assert ours(arg) == aiosmtpd_answer(arg)


def test_the_local_part_limit_still_applies() -> None:
    arg = "<" + "x" * 65 + "@example.org>"
    assert plain_path(arg, 64) is None
    assert ours(arg, 64) == aiosmtpd_answer(arg, 64) == (None, None)
    assert ours(arg, 0) == aiosmtpd_answer(arg, 0)


def test_generated_paths_agree_with_aiosmtpd() -> None:
    """Paths built from the characters that matter to the grammar, some plain, most not."""
    rng = random.Random(20261124)
    pieces = ["a", "Z", "0", ".", "..", "-", "+", "'", "_", "@", "@", "ex", "org", " ",
              "\t", "(", ")", '"', "\\", "[", "]", ":", ",", ";", "<", ">", "\u00e9", "=", "/",
              "?", "=?utf-8?q?", "?=", "\x0c", "\xa0"]
    short = 0
    local_plain = ["a", "Z", "0", "jo", ".", "+", "'", "_", "-", "=?utf-8?q?", "?="]
    label_plain = ["a", "Z", "0", "ex", "-"]
    for _ in range(3000):
        nearly_plain = rng.random() < 0.5
        local = "".join(rng.choice(local_plain if nearly_plain else pieces)
                        for _ in range(rng.randint(0, 6)))
        domain = ".".join("".join(rng.choice(label_plain if nearly_plain else pieces)
                                  for _ in range(rng.randint(1, 3)))
                          for _ in range(rng.randint(1, 3)))
        tail = rng.choice(["", " SIZE=10", "  BODY=8BITMIME", "(c) SIZE=1", "\tX", " ", ">",
                           " \x0cSIZE=1", "\x0cX", " \xa0X", " (c)"])
        arg = f"<{local}@{domain}>{tail}"
        short += plain_path(arg, 0) is not None
        assert ours(arg) == aiosmtpd_answer(arg), arg
    assert short > 150  # the short way was really tried (214 with this seed)


def test_both_protocols_read_paths_the_short_way() -> None:
    assert ListLMTP._getaddr is not SMTP._getaddr
    assert ListSMTP._getaddr is not SMTP._getaddr


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str], list[str]]] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.seen.append((envelope.mail_from or "", list(envelope.rcpt_tos),
                          list(envelope.mail_options)))
        return "250 OK"


class _CountingSMTP(ListSMTP):
    """Counts the paths aiosmtpd hands to `_getaddr`: if a new aiosmtpd stopped calling
    it, the short way would silently never run."""

    paths: ClassVar[list[str]] = []

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        self.paths.append(arg)
        return super()._getaddr(arg)


class _ListController(Controller):
    def factory(self) -> ListSMTP:
        return _CountingSMTP(self.handler, hostname="lists.example.org")


def test_a_real_session_reads_paths_and_parameters() -> None:
    recorder = _Recorder()
    _CountingSMTP.paths.clear()
    port = free_port()
    controller = _ListController(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("test")
            client.sendmail("Jo@Example.org", ["ccrlist@lists.example.org"],
                            b"Subject: x\r\n\r\nhi\r\n", mail_options=["BODY=8BITMIME"])
            assert client.docmd("MAIL FROM:<a@b.c> SIZE=x")[0] == 501
            client.rset()
            assert client.docmd('MAIL FROM:<"a b"@example.org>')[0] == 250
            client.rset()
            assert client.docmd("MAIL FROM:<a@b@c.d>")[0] == 553
    finally:
        controller.stop()
    mail, rcpt = _CountingSMTP.paths[:2]  # smtplib adds size=N before our option
    assert mail.startswith("<Jo@Example.org> ") and mail.endswith(" BODY=8BITMIME")
    assert rcpt == "<ccrlist@lists.example.org>"
    assert plain_path(mail, 0) and plain_path(rcpt, 0)
    [(mail_from, rcpt_tos, options)] = recorder.seen
    assert (mail_from, rcpt_tos) == ("Jo@Example.org", ["ccrlist@lists.example.org"])
    assert "BODY=8BITMIME" in options
