"""XFORWARD: its attributes read by a table, and a real session that offers it to trusted
relays only and forgets it after each transaction."""

from __future__ import annotations

import ipaddress
import smtplib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from ccrlist_helpers import free_port

from ccrlist.intake import replies
from ccrlist.intake.protocol import ListSMTP
from ccrlist.intake.xforward import Forwarded, XforwardError, client_of, parse_xforward

# What Postfix 3.7's smtpd sends its before-queue proxy (seen in a real session).
POSTFIX = ("NAME=[UNAVAILABLE] ADDR=192.0.2.25 PORT=36944 HELO=mail.example.net "
           "IDENT=[UNAVAILABLE] PROTO=ESMTP SOURCE=REMOTE")


@pytest.mark.parametrize("arg, current, expected", [
    (POSTFIX, None, Forwarded(addr="192.0.2.25", port="36944", proto="ESMTP",
                              helo="mail.example.net", source="REMOTE")),
    ("addr=IPV6:2001:DB8::1 helo=[2001:db8::1]", None,
     Forwarded(addr="2001:db8::1", helo="[2001:db8::1]")),
    ("HELO=a+2Bb+3Dc.example", None, Forwarded(helo="a+b=c.example")),
    ("NAME=mx.example.org", Forwarded(addr="192.0.2.1"),
     Forwarded(addr="192.0.2.1", name="mx.example.org")),  # attributes arrive incrementally
    ("ADDR=[unavailable]", Forwarded(addr="192.0.2.1", helo="h"), Forwarded(helo="h")),
    ("ADDR=192.0.2.1 ADDR=192.0.2.2", None, Forwarded(addr="192.0.2.2")),
])
def test_attributes_are_read(arg: str, current: Forwarded | None,
                             expected: Forwarded) -> None:
    assert parse_xforward(arg, current) == expected


@pytest.mark.parametrize("arg, why", [
    ("", "no attributes"),
    ("ADDR", "unknown attribute 'ADDR'"),
    ("COLOUR=blue", "unknown attribute 'COLOUR'"),
    ("ADDR=mail.example.net", "is not an IP address"),
    ("ADDR=192.0.2.1+", "bad xtext"),
    ("HELO=a+zzb", "bad xtext"),
    ("HELO=a+0Ab", "control, space or non-ASCII"),
    ("HELO=caf\u00e9.example", "control, space or non-ASCII"),
    ("HELO=" + "a" * 256, "longer than 255"),
    ("PORT=http", "is not a port number"),
    ("PORT=65536", "is not a port number"),
])
def test_malformed_attributes_are_refused(arg: str, why: str) -> None:
    with pytest.raises(XforwardError, match=why.replace("(", r"\(").replace("+", r"\+")):
        parse_xforward(arg, None)


@pytest.mark.parametrize("forwarded, client", [
    (None, ("127.0.0.1", "mx.lists.example.org")),
    (Forwarded(addr="192.0.2.25", helo="mail.example.net"), ("192.0.2.25", "mail.example.net")),
    # never the relay's HELO with the client's address (XFORWARD_README, note 4)
    (Forwarded(addr="192.0.2.25"), ("192.0.2.25", "")),
    # ADDR unavailable: the relay submitted the mail itself
    (Forwarded(helo="mail.example.net", name="x"), ("127.0.0.1", "mx.lists.example.org")),
])
def test_the_client_is_the_forwarded_one_when_there_is_one(
        forwarded: Forwarded | None, client: tuple[str, str]) -> None:
    assert client_of(forwarded, "127.0.0.1", "mx.lists.example.org") == client


class _Recorder:
    def __init__(self) -> None:
        self.forwarded: list[Forwarded | None] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.forwarded.append(getattr(envelope, "forwarded", "missing"))
        return "250 OK"


class _Controller(Controller):
    def __init__(self, handler: _Recorder, trusted: str | None) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=free_port())
        self.trusted = () if trusted is None else (ipaddress.ip_network(trusted),)

    def factory(self) -> ListSMTP:
        return ListSMTP(self.handler, forwarders=self.trusted, hostname="lists.example.org")


@pytest.fixture
def recorder() -> _Recorder:
    return _Recorder()


def _session(recorder: _Recorder, trusted: str | None) -> Iterator[smtplib.SMTP]:
    controller = _Controller(recorder, trusted)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=10) as client:
            yield client
    finally:
        controller.stop()


@pytest.fixture
def relay_session(recorder: _Recorder) -> Iterator[smtplib.SMTP]:
    """A session from a trusted relay (the client is on 127.0.0.1)."""
    yield from _session(recorder, "127.0.0.0/8")


def reply(answer: tuple[int, bytes]) -> str:
    return f"{answer[0]} {answer[1].decode()}"


def test_a_trusted_relay_is_offered_xforward_and_it_lasts_one_transaction(
        relay_session: smtplib.SMTP, recorder: _Recorder) -> None:
    client = relay_session
    client.ehlo("mx.lists.example.org")
    assert client.esmtp_features["xforward"] == "NAME ADDR PORT PROTO HELO IDENT SOURCE"
    assert reply(client.docmd("XFORWARD", "ADDR=192.0.2.25 NAME=[UNAVAILABLE]")) == \
        replies.XFORWARD_OK
    assert reply(client.docmd("XFORWARD", "HELO=mail.example.net")) == replies.XFORWARD_OK
    client.sendmail("a@example.net", ["ccrlist@lists.example.org"], b"Subject: 1\r\n\r\nx\r\n")
    client.sendmail("a@example.net", ["ccrlist@lists.example.org"], b"Subject: 2\r\n\r\nx\r\n")
    # RSET ends what XFORWARD said too
    client.docmd("XFORWARD", "ADDR=192.0.2.26")
    client.rset()
    client.sendmail("a@example.net", ["ccrlist@lists.example.org"], b"Subject: 3\r\n\r\nx\r\n")
    assert recorder.forwarded == [Forwarded(addr="192.0.2.25", helo="mail.example.net"),
                                  None, None]


def test_xforward_is_refused_inside_a_transaction_and_when_malformed(
        relay_session: smtplib.SMTP, recorder: _Recorder) -> None:
    client = relay_session
    assert client.docmd("XFORWARD", "ADDR=192.0.2.25")[0] == 503  # EHLO first
    client.ehlo("mx.lists.example.org")
    assert reply(client.docmd("XFORWARD", "ADDR=not-an-ip")) == replies.XFORWARD_BAD.format(
        reason="ADDR 'not-an-ip' is not an IP address")
    client.mail("a@example.net")
    assert reply(client.docmd("XFORWARD", "ADDR=192.0.2.25")) == \
        replies.XFORWARD_IN_TRANSACTION
    client.rcpt("ccrlist@lists.example.org")
    client.data(b"Subject: 1\r\n\r\nx\r\n")
    assert recorder.forwarded == [None]


def test_anyone_else_is_neither_offered_xforward_nor_believed(recorder: _Recorder) -> None:
    for trusted in (None, "192.0.2.0/24"):
        for client in _session(recorder, trusted):
            client.ehlo("mx.example.net")
            assert "xforward" not in client.esmtp_features
            assert reply(client.docmd("XFORWARD", "ADDR=192.0.2.25")) == \
                replies.XFORWARD_REFUSED
            client.sendmail("a@example.net", ["ccrlist@lists.example.org"],
                            b"Subject: 1\r\n\r\nx\r\n")
    assert recorder.forwarded == [None, None]
