"""`set digest ...`, `set nomail` and `set mail` to <list>-request@: read (pure, by table)
and carried out on a real SQLite store, with the answer that links the member's page."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from webkit import FakeClock, admin_mail, installation_verp_key, queued, text_of

from ccrlist.admin.handler import AdminContext
from ccrlist.admin.mail_commands import find_command
from ccrlist.config.settings import CommandSettings, Settings
from ccrlist.intake import replies
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import Delivery, DeliveryChoice, NewMember


@pytest.mark.parametrize(("subject", "body", "expected"), [
    ("set digest daily", "", DeliveryChoice(mode="daily")),
    ("Set Digest Weekly", "", DeliveryChoice(mode="weekly")),
    ("set digest off", "", DeliveryChoice(mode="each")),
    ("set digest plain", "", DeliveryChoice(digest_format="plain")),
    ("set digest mime", "", DeliveryChoice(digest_format="mime")),
    ("set nomail", "", DeliveryChoice(pause=True)),
    ("set mail", "", DeliveryChoice(pause=False)),
    ("Re: set nomail", "", DeliveryChoice(pause=True)),
    ("régler condensé quotidien", "", DeliveryChoice(mode="daily")),
    ("regler condense hebdomadaire", "", DeliveryChoice(mode="weekly")),
    ("régler pause", "", DeliveryChoice(pause=True)),
    ("régler reprise", "", DeliveryChoice(pause=False)),
    ("", "Hello\nset digest weekly\n", DeliveryChoice(mode="weekly")),
    ("", "set nomail\nhelp\n", DeliveryChoice(pause=True)),  # the first command wins
    ("", "help\nset nomail\n", "help"),
    ("set digest", "", None),
    ("set digest hourly", "", None),
    ("set", "", None),
    ("set everything", "", None),
    ("", "> set nomail\n", None),  # quoted text is not a command
])
def test_find_set_commands(subject: str, body: str,
                           expected: DeliveryChoice | str | None) -> None:
    assert find_command(subject, body) == expected


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[AdminContext]:
    s = dataclasses.replace(settings, commands=CommandSettings(replies_per_day=20))
    conn = await open_database(s.database_path)
    store = MemberStore(conn)
    await store.add("ccrlist", [NewMember("jo@example.org", "Jo", "en"),
                                NewMember("luc@example.ca", "Luc", "fr")])
    await store.add("echronicle", [NewMember("jo@example.org")])
    yield AdminContext(conn, s, installation_verp_key(s), FakeClock())
    await conn.close()


def mail(subject: str, sender: str = "jo@example.org", from_: str | None = None) -> bytes:
    return (f"From: {from_ or sender}\r\nTo: ccrlist-request@lists.example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <m-{abs(hash(subject))}@example.org>\r\n"
            "\r\n\r\n").encode()


async def delivery(ctx: AdminContext, address: str = "jo@example.org",
                   list_name: str = "ccrlist") -> Delivery:
    member = await MemberStore(ctx.conn).find_member(list_name, address)
    assert member is not None
    return member.delivery


async def test_set_commands_change_delivery_and_answer_with_the_members_page(
        ctx: AdminContext) -> None:
    token = (await MemberStore(ctx.conn).find_member("ccrlist", "jo@example.org")).token  # type: ignore[union-attr]
    steps = [
        ("set digest daily", Delivery("daily", None, "daily"), "you receive one digest a day"),
        ("set digest plain", Delivery("daily", None, "daily", "plain"),
         "you receive one digest a day, in plain text"),
        ("set nomail", Delivery("nomail", None, "daily", "plain"),
         "delivery is paused until you resume it; then you receive one digest a day, "
         "in plain text"),
        ("set digest weekly", Delivery("nomail", None, "weekly", "plain"),
         "delivery is paused until you resume it; then you receive one digest a week, "
         "in plain text"),
        ("set mail", Delivery("weekly", None, "weekly", "plain"),
         "you receive one digest a week, in plain text"),
        ("set digest off", Delivery("each", None, "each", "plain"),
         "you receive each post as it is sent"),
    ]
    for n, (command, expected, state) in enumerate(steps, 1):
        assert await admin_mail("ccrlist-request", "jo@example.org", mail(command),
                                ctx) == replies.REQUEST_RECEIVED
        assert await delivery(ctx) == expected, command
        answers = await queued(ctx.conn)
        assert len(answers) == n
        answer, rcpts = answers[-1]
        assert rcpts == ["jo@example.org"]
        assert answer["Subject"] == "ccrlist: how you receive it"
        assert answer["Auto-Submitted"] == "auto-replied"
        text = text_of(answer)
        assert f"jo@example.org on ccrlist: {state}." in text, text
        assert f"https://lists.example.org/u/{token}" in text


async def test_answers_are_in_the_members_language(ctx: AdminContext) -> None:
    await admin_mail("ccrlist-request", "luc@example.ca", mail("set digest weekly",
                                                               "luc@example.ca"), ctx)
    [(answer, _)] = await queued(ctx.conn)
    assert answer["Subject"] == "ccrlist : votre mode de réception"
    assert "vous recevez un condensé par semaine" in text_of(answer)


async def test_a_forged_sender_changes_nothing_and_gets_no_answer(ctx: AdminContext) -> None:
    reply = await admin_mail("ccrlist-request", "spammer@example.net",
                             mail("set nomail", "spammer@example.net", "jo@example.org"), ctx)
    assert reply == replies.NOT_FROM_SENDER
    assert await delivery(ctx) == Delivery()
    assert await queued(ctx.conn) == []


async def test_a_stranger_is_told_they_are_not_a_member(ctx: AdminContext) -> None:
    await admin_mail("ccrlist-request", "stranger@example.net",
                     mail("set digest daily", "stranger@example.net"), ctx)
    [(answer, rcpts)] = await queued(ctx.conn)
    assert rcpts == ["stranger@example.net"]
    assert "stranger@example.net is not subscribed to ccrlist" in text_of(answer)
    assert await MemberStore(ctx.conn).find_member("ccrlist", "stranger@example.net") is None


async def test_the_newsletter_has_no_digests(ctx: AdminContext) -> None:
    reply = await admin_mail("echronicle-request", "jo@example.org",
                             mail("set digest daily"), ctx)
    assert reply == replies.REQUEST_RECEIVED
    assert await delivery(ctx, list_name="echronicle") == Delivery()
    [(answer, _)] = await queued(ctx.conn)
    assert "echronicle has no digests" in text_of(answer)
    await admin_mail("echronicle-request", "jo@example.org", mail("set nomail"), ctx)
    assert (await delivery(ctx, list_name="echronicle")).mode == "nomail"


async def test_past_the_daily_reply_limit_nothing_is_done(ctx: AdminContext) -> None:
    limited = dataclasses.replace(ctx, settings=dataclasses.replace(
        ctx.settings, commands=CommandSettings(replies_per_day=1)))
    await admin_mail("ccrlist-request", "jo@example.org", mail("set digest daily"), limited)
    await admin_mail("ccrlist-request", "jo@example.org", mail("set nomail"), limited)
    assert await delivery(ctx) == Delivery("daily", None, "daily")
    assert len(await queued(ctx.conn)) == 1
