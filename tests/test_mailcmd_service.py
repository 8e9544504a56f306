"""Email commands through `handle_admin_message` on a real SQLite store."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from webkit import (
    FakeClock,
    admin_mail,
    confirm_token,
    installation_verp_key,
    queued,
    status_of,
    text_of,
)

from ccrlist.admin.handler import AdminContext
from ccrlist.config.settings import CommandSettings, Settings
from ccrlist.delivery.verp import verp_sender
from ccrlist.intake import replies
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember
from subscribers.owners import OwnerStore

DAY = 86400.0


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[AdminContext]:
    s = dataclasses.replace(settings, commands=CommandSettings(replies_per_day=3))
    conn = await open_database(s.database_path)
    yield AdminContext(conn, s, installation_verp_key(s), FakeClock())
    await conn.close()


def mail(subject: str, body: str = "", sender: str = "jo@example.org", extra: str = "") -> bytes:
    return (f"From: Jo <{sender}>\r\nTo: ccrlist-request@lists.example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <m-{abs(hash(subject + body))}@example.org>\r\n"
            f"{extra}\r\n{body}\r\n").encode()


async def test_subscribe_by_mail_confirmed_by_reply(ctx: AdminContext) -> None:
    reply = await admin_mail("ccrlist-request", "jo@example.org",
                                       mail("subscribe"), ctx)
    assert reply == replies.REQUEST_RECEIVED
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "pending"
    [(confirmation, rcpts)] = await queued(ctx.conn)
    assert rcpts == ["jo@example.org"]
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert confirmation["In-Reply-To"].startswith("<m-")
    token = confirm_token(confirmation)
    local = confirmation["Reply-To"].split("@")[0]
    assert local == f"ccrlist-confirm+{token}"
    # A vacation auto-reply to the confirmation must not confirm it.
    vacation = mail("Out of office", extra="Auto-Submitted: auto-replied\r\n")
    auto = await admin_mail(local, "jo@example.org", vacation, ctx)
    assert auto == replies.NOT_ANSWERED
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "pending"
    done = await admin_mail(local, "jo@example.org", mail("Re: Confirm"), ctx)
    assert done == replies.REQUEST_RECEIVED
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "active"
    welcome = (await queued(ctx.conn))[-1][0]
    assert "is now subscribed" in text_of(welcome)
    # Single use.
    again = await admin_mail(local, "jo@example.org", mail("Re: Confirm"), ctx)
    assert again == replies.BAD_TOKEN


async def test_confirmation_sent_to_another_list_is_refused_and_left_unused(
        ctx: AdminContext) -> None:
    await MemberStore(ctx.conn).create_list("other", "subscribers")
    await admin_mail("ccrlist-request", "jo@example.org", mail("subscribe"), ctx)
    [(confirmation, _)] = await queued(ctx.conn)
    token = confirm_token(confirmation)
    wrong = await admin_mail(f"other-confirm+{token}", "jo@example.org",
                                       mail("Re: Confirm"), ctx)
    assert wrong == replies.BAD_TOKEN
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "pending"
    assert await status_of(ctx.conn, "other", "jo@example.org") is None
    assert len(await queued(ctx.conn)) == 1  # no welcome
    right = await admin_mail(f"ccrlist-confirm+{token}", "jo@example.org",
                                       mail("Re: Confirm"), ctx)
    assert right == replies.REQUEST_RECEIVED
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "active"
    assert "is now subscribed" in text_of((await queued(ctx.conn))[-1][0])


async def test_leave_needs_confirmation(ctx: AdminContext) -> None:
    await MemberStore(ctx.conn).add("ccrlist", [NewMember("jo@example.org", "Jo", "fr")])
    await admin_mail("ccrlist-leave", "jo@example.org", mail("bye"), ctx)
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "active"
    [(confirmation, _)] = await queued(ctx.conn)
    assert confirmation["Subject"] == "Confirmez votre départ de ccrlist"
    local = confirmation["Reply-To"].split("@")[0]
    await admin_mail(local, "jo@example.org", mail("Re: confirm"), ctx)
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") == "unsubscribed"


async def test_help_answered_but_mail_without_a_command_is_not(ctx: AdminContext) -> None:
    quiet = await admin_mail("ccrlist-request", "jo@example.org",
                                       mail("what?", "hi, cheap pills"), ctx)
    assert quiet == replies.NO_COMMAND
    assert await queued(ctx.conn) == []
    assert await count(ctx.conn, "SELECT count(*) FROM rate_events") == 0
    await admin_mail("ccrlist-request", "jo@example.org", mail("what?", "help"), ctx)
    [(help_mail, _)] = await queued(ctx.conn)
    assert "ccrlist-join@lists.example.org" in text_of(help_mail)
    assert "subscribe/ccrlist" in text_of(help_mail)


@pytest.mark.parametrize(("local", "subject"), [
    ("ccrlist-request", "subscribe"), ("ccrlist-request", "help"),
    ("ccrlist-request", "unsubscribe"), ("ccrlist-join", ""), ("ccrlist-leave", ""),
])
async def test_forged_from_is_neither_acted_on_nor_answered(ctx: AdminContext, local: str,
                                                           subject: str) -> None:
    await MemberStore(ctx.conn).add("ccrlist", [NewMember("member@example.net", "M", "en")])
    for victim in ("victim@example.net", "member@example.net"):
        forged = mail(subject, sender=victim)
        reply = await admin_mail(local, "bulk@spammer.example", forged, ctx)
        assert reply == replies.NOT_FROM_SENDER
    assert await queued(ctx.conn) == []
    assert await count(ctx.conn, "SELECT count(*) FROM confirmations") == 0
    assert await count(ctx.conn, "SELECT count(*) FROM rate_events") == 0
    assert await status_of(ctx.conn, "ccrlist", "victim@example.net") is None
    # Mail with no single readable From is not answered either.
    no_from = b"To: ccrlist-request@lists.example.org\r\nSubject: help\r\n\r\n"
    assert await admin_mail(local, "jo@example.org", no_from,
                                      ctx) == replies.NOT_FROM_SENDER
    # Case does not matter; the answer goes to that one address.
    same = mail(subject or "help", sender="Jo@EXAMPLE.org")
    assert await admin_mail(local, "jo@example.org", same,
                                      ctx) == replies.REQUEST_RECEIVED
    [(answer, rcpts)] = await queued(ctx.conn)
    assert rcpts == ["jo@example.org"] and answer["To"] == "jo@example.org"


async def test_owner_forwarding_does_not_need_from_to_match(ctx: AdminContext) -> None:
    await OwnerStore(ctx.conn).add("ccrlist", "owner1@example.org")
    forwarded = await admin_mail("ccrlist-owner", "bulk@spammer.example",
                                           mail("Hello owners", sender="victim@example.net"),
                                           ctx)
    assert forwarded == replies.FORWARDED
    [(copy, rcpts)] = await queued(ctx.conn, "owner")
    assert rcpts == ["owner1@example.org"] and copy["From"] == "Jo <victim@example.net>"


@pytest.mark.parametrize(("sender", "extra"), [
    ("", ""),
    ("jo@example.org", "Auto-Submitted: auto-replied\r\n"),
    ("jo@example.org", "Precedence: bulk\r\n"),
    ("jo@example.org", "Precedence: list\r\n"),
    ("jo@example.org", "Precedence: junk\r\n"),
    ("MAILER-DAEMON@example.org", ""),
])
async def test_automatic_messages_never_answered(ctx: AdminContext, sender: str,
                                                 extra: str) -> None:
    for local in ("ccrlist-request", "ccrlist-join", "ccrlist-leave"):
        reply = await admin_mail(local, sender, mail("subscribe", extra=extra), ctx)
        assert reply == replies.NOT_ANSWERED
    assert await queued(ctx.conn) == []
    assert await status_of(ctx.conn, "ccrlist", "jo@example.org") is None


async def test_replies_rate_limited_per_day(ctx: AdminContext) -> None:
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    for i in range(5):
        await admin_mail("ccrlist-request", "jo@example.org", mail(f"help {i}"), ctx)
    assert len(await queued(ctx.conn)) == 3
    clock.advance(DAY + 1)
    await admin_mail("ccrlist-request", "jo@example.org", mail("help again"), ctx)
    assert len(await queued(ctx.conn)) == 4


async def test_unknown_list_and_bad_token(ctx: AdminContext) -> None:
    assert await admin_mail("nolist-request", "jo@example.org", mail("help"),
                                      ctx) == replies.NO_SUCH_ADDRESS
    assert await admin_mail("ccrlist-confirm+" + "A" * 32, "jo@example.org",
                                      mail("Re: x"), ctx) == replies.BAD_TOKEN


async def test_owner_forwarding(ctx: AdminContext) -> None:
    raw = mail("A question for the owners")
    assert await admin_mail("ccrlist-owner", "jo@example.org", raw,
                                      ctx) == replies.NO_OWNERS
    await OwnerStore(ctx.conn).add("ccrlist", "owner1@example.org")
    await OwnerStore(ctx.conn).add("ccrlist", "owner2@example.org")
    assert await admin_mail("ccrlist-owner", "jo@example.org", raw,
                                      ctx) == replies.FORWARDED
    [(forwarded, rcpts)] = await queued(ctx.conn, "owner")
    assert rcpts == ["owner1@example.org", "owner2@example.org"]
    assert forwarded["Subject"] == "A question for the owners"
    assert forwarded["X-CCR-Loop"] == "ccrlist-owner@lists.example.org"
    looped = b"X-CCR-Loop: ccrlist-owner@lists.example.org\r\n" + mail("again")
    assert await admin_mail("ccrlist-owner", "jo@example.org", looped,
                                      ctx) == replies.OWNER_LOOP


async def count(conn: Connection, sql: str) -> int:
    async with conn.execute(sql) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_message_id_with_encoded_crlf_is_not_quoted(ctx: AdminContext) -> None:
    raw = (b"From: Jo <jo@example.org>\r\nSubject: subscribe\r\n"
           b"Message-ID: =?utf-8?q?<a@b>=0D=0AX:_y?=\r\n\r\n")
    for _ in range(2):  # a retry is a new request, never a half-done one
        reply = await admin_mail("ccrlist-request", "jo@example.org", raw, ctx)
        assert reply == replies.REQUEST_RECEIVED
    assert await count(ctx.conn, "SELECT count(*) FROM confirmations") == 2
    assert await count(ctx.conn,
                       "SELECT count(*) FROM rate_events WHERE bucket LIKE 'reply:%'") == 2
    sent = await queued(ctx.conn)
    assert len(sent) == 2
    assert all("In-Reply-To" not in m and "X" not in m for m, _ in sent)


async def test_mail_the_email_package_cannot_parse_is_refused_for_good(
        ctx: AdminContext) -> None:
    """A NUL in an RFC 2231 parameter makes the parser itself raise: 550, not 451."""
    raw = (b"From: jo@example.org\r\nSubject: help\r\n"
           b"Content-Type: text/plain; name*=ut\x00f8''abc\r\n\r\nhelp\r\n")
    assert await admin_mail("ccrlist-request", "jo@example.org", raw, ctx) == \
        replies.UNREADABLE_ADMIN_MAIL
    assert await queued(ctx.conn) == []


@pytest.mark.parametrize(("local", "raw"), [
    # An encoded CR/LF in the display name, to each address that reads From.
    ("ccrlist-request",
     b"From: =?utf-8?q?Jo=0D=0AX:_y?= <jo@example.org>\r\nSubject: help\r\n\r\n"),
    ("ccrlist-join", b"From: =?utf-8?q?Jo=0D=0AX:_y?= <jo@example.org>\r\n\r\n"),
    # Malformed values CPython's header parser raises on.
    ("ccrlist-request", b"From: jo@example.org\r\nMessage-ID: <@b=?\r\nSubject: help\r\n\r\n"),
    ("ccrlist-request", b"From: =?=?\"<@>\"@\r\nSubject: help\r\n\r\n"),
    # A body in a charset nobody has, and MIME nested 3,000 deep.
    ("ccrlist-request", b"From: jo@example.org\r\nContent-Type: text/plain; charset=nonesuch"
                        b"\r\n\r\nhelp\r\n"),
    ("ccrlist-request", b"From: jo@example.org\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(3000)) + b"Content-Type: text/plain\r\n\r\nhelp\r\n"),
    ("ccrlist-bounces+SIGNED", b"From: MAILER-DAEMON@example.org\r\n"
                               b"Subject: failure notice\r\nContent-Type: text/plain; "
                               b"charset=\"ut\x00f8\"\r\n\r\n"
                               b"550 5.1.1 jo@example.org: unknown\r\n"),
    ("ccrlist-owner", b"From: =?utf-8?q?Jo=0D=0AX:_y?= <jo@example.org>\r\n"
                      b"Message-ID: =?utf-8?q?<a@b>=0D=0AX:_y?=\r\n\r\nhello\r\n"),
    # Found by fuzzing. A multipart/related part whose boundary never comes: CPython's
    # get_body walks into its text and fails.
    ("ccrlist-request", b"From: jo@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed; "
                        b"boundary=a\r\n\r\n--a\r\nContent-Type: multipart/related; "
                        b"boundary=b\r\n\r\n--c--\r\n"),
    # 8-bit text under a charset with a NUL in it, or given in RFC 2231 form: decoding
    # the part raised ValueError and TypeError.
    ("ccrlist-bounces+SIGNED", b"From: MAILER-DAEMON@example.org\r\n"
                               b"Content-Type: text/plain; charset=\"ut\x00f8\"\r\n\r\n"
                               b"\xe9t\xe9 550 5.1.1 jo@example.org\r\n"),
    ("ccrlist-bounces+SIGNED", b"From: MAILER-DAEMON@example.org\r\n"
                               b"Content-Type: text/plain; charset*=utf-8''%ff\r\n\r\n"
                               b"\xe9t\xe9 550 5.1.1 jo@example.org\r\n"),
    ("ccrlist-request", b"From: jo@example.org\r\nSubject: help\r\nContent-Type: text/plain; "
                        b"charset*=utf-8''%ff\r\n\r\n\xe9t\xe9\r\n"),
    # RFC 2231 pieces with and without a number: CPython cannot sort them (TypeError).
    ("ccrlist-bounces+SIGNED", b"From: MAILER-DAEMON@example.org\r\n"
                               b"Content-Type: text/plain; charset*0=us-ascii; "
                               b"charset*=utf-8''x\r\n\r\n550 5.1.1 jo@example.org\r\n"),
    ("ccrlist-bounces+SIGNED", b"From: MAILER-DAEMON@example.org\r\nContent-Type: "
                               b"multipart/report; boundary*0=a; boundary*=utf-8''b\r\n\r\n"
                               b"--a\r\n\r\n550 5.1.1 jo@example.org\r\n"),
])
async def test_hostile_admin_mail_gets_a_final_answer(ctx: AdminContext, local: str,
                                                      raw: bytes) -> None:
    await OwnerStore(ctx.conn).add("ccrlist", "owner1@example.org")
    if local.endswith("+SIGNED"):  # a VERP address of ours, so that the report is parsed
        local = verp_sender("ccrlist-bounces@x", "jo@example.org", ctx.verp_key).split("@")[0]
    reply = await admin_mail(local, "jo@example.org", raw, ctx)
    assert reply[0] in "25" and reply != replies.INTERNAL_ERROR
