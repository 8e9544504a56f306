"""Pure email-command parsing: admin addresses, commands and automatic-message detection."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from ccrlist.admin.mail_commands import find_command, from_address, is_automatic, message_id
from ccrlist.automail import build_mail
from ccrlist.names import AdminAddress, admin_target, parse_admin_local


@pytest.mark.parametrize(("local", "expected"), [
    ("ccrlist-request", AdminAddress("ccrlist", "request")),
    ("CCRList-Join", AdminAddress("ccrlist", "join")),
    ("ccrlist-leave", AdminAddress("ccrlist", "leave")),
    ("ccrlist-owner", AdminAddress("ccrlist", "owner")),
    ("ccrlist-bounces", AdminAddress("ccrlist", "bounces")),
    ("ccrlist-bounces+jo=example.org", AdminAddress("ccrlist", "bounces", "jo=example.org")),
    ("ccrlist-confirm+AbC-d_9", AdminAddress("ccrlist", "confirm", "AbC-d_9")),
    ("my-list-request", AdminAddress("my-list", "request")),
    ("ccrlist-confirm", None),
    ("ccrlist-request+x", None),
    ("ccrlist", None),
    ("-request", None),
    ("ccrlist-admin", None),
])
def test_parse_admin_local(local: str, expected: AdminAddress | None) -> None:
    assert parse_admin_local(local) == expected


def test_admin_target_checks_domain() -> None:
    assert admin_target("ccrlist-join@Lists.Example.org", "lists.example.org") == \
        AdminAddress("ccrlist", "join")
    assert admin_target("ccrlist-join@elsewhere.org", "lists.example.org") is None


@pytest.mark.parametrize(("subject", "body", "expected"), [
    ("subscribe", "", "subscribe"),
    ("Re: unsubscribe", "", "unsubscribe"),
    ("HELP", "", "help"),
    ("Désabonner", "", "unsubscribe"),
    ("", "\n\nsubscribe\n", "subscribe"),
    ("hello", "please\nunsubscribe me\n", "unsubscribe"),
    ("", "a\nb\nc\nd\ne\nsubscribe\n", None),
    ("", "-- \nsubscribe\n", None),
    ("", "> subscribe\n", None),
    ("question about the list", "what is this?", None),
])
def test_find_command(subject: str, body: str, expected: str | None) -> None:
    assert find_command(subject, body) == expected


def _msg(headers: str) -> EmailMessage:
    msg = email.message_from_string(headers + "\n\nbody\n", policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize(("headers", "sender", "automatic"), [
    ("From: jo@example.org", "jo@example.org", False),
    ("From: jo@example.org\nAuto-Submitted: no", "jo@example.org", False),
    ("From: jo@example.org", "", True),
    ("From: jo@example.org", "<>", True),
    ("From: jo@example.org\nAuto-Submitted: auto-replied", "jo@example.org", True),
    ("From: jo@example.org\nAuto-Submitted: auto-generated", "jo@example.org", True),
    ("From: jo@example.org\nPrecedence: bulk", "jo@example.org", True),
    ("From: jo@example.org\nPrecedence: List", "jo@example.org", True),
    ("From: jo@example.org\nPrecedence: junk", "jo@example.org", True),
    ("From: jo@example.org\nX-Autoreply: yes", "jo@example.org", True),
    ("From: jo@example.org\nList-Id: <other.example.org>", "jo@example.org", True),
    ("From: daemon@example.org", "MAILER-DAEMON@example.org", True),
    ("From: x@example.org", "other-list-request@example.org", True),
])
def test_is_automatic(headers: str, sender: str, automatic: bool) -> None:
    assert is_automatic(_msg(headers), sender) is automatic


@pytest.mark.parametrize(("headers", "expected"), [
    ("From: Jo <jo@example.org>", "jo@example.org"),
    ("From: a@x.org, b@y.org", None),
    ("From: a@x.org\nFrom: b@y.org", None),
    ("Subject: none", None),
    ("From: =?utf-8?q?Jo=0D=0ABcc:_x@y.org?= <jo@example.org>", None),  # CR/LF in the name
    ("From: =?=?\"<@>\"@", None),  # IndexError in CPython's header parser
    ("From: a:b;a@:=?utf-8?q?", None),  # AttributeError there
])
def test_from_address(headers: str, expected: str | None) -> None:
    assert from_address(_msg(headers)) == expected


@pytest.mark.parametrize(("headers", "expected"), [
    ("Message-ID: <m-1.2@example.org>", "<m-1.2@example.org>"),
    ("Message-ID:   <m@example.org>  ", "<m@example.org>"),
    ("Subject: no id", None),
    ("Message-ID: =?utf-8?q?<a@b>=0D=0AX:_y?=", None),  # decodes to a CR/LF
    ("Message-ID: <a b@example.org>", None),
    ("Message-ID: <caf=C3=A9@example.org>", "<caf=C3=A9@example.org>"),
    ("Message-ID: <café@example.org>", None),
    ("Message-ID: <@b=?", None),  # IndexError in CPython's header parser
    ("Message-ID: <a@b>\nMessage-ID: <c@d>", None),
    ("Message-ID: <" + "x" * 300 + "@example.org>", None),
])
def test_message_id_safe_to_quote(headers: str, expected: str | None) -> None:
    assert message_id(_msg(headers)) == expected


@pytest.mark.parametrize(("in_reply_to", "quoted"), [
    ("<m-1@example.org>", "<m-1@example.org>"),
    ("<a@b>\r\nX-Injected: y", None),
    ("<a@b>\nBcc: x@y.org", None),
    ("not an id", None),
    (None, None),
])
def test_reply_quotes_only_a_plain_message_id(in_reply_to: str | None,
                                              quoted: str | None) -> None:
    raw = build_mail(list_name="ccrlist", domain="lists.example.org", to=("jo@example.org",),
                     subject="ccrlist: help", body="Help.\n", lang="en", now=0.0,
                     auto="auto-replied", in_reply_to=in_reply_to)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["In-Reply-To"] == quoted and msg["References"] == quoted
    assert "X-Injected" not in msg and "Bcc" not in msg
