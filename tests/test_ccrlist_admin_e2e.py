"""End to end over real SMTP into `ccrlist serve`: email commands, owner mail, bounces (DSNs
to -bounces@ and to VERP addresses) and the one-click URL of a list copy over real HTTP.

The far side is a recording relay: every reply, notice and list copy the server sends is
captured there. The handler answers only after its changes are committed, so the database
is read right after each SMTP reply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    Running,
    free_port,
    make_settings,
    message,
    send,
    serving,
    wait_for,
)
from click.testing import CliRunner
from webkit import confirm_token, status_of, text_of

from ccrlist.config.settings import CommandSettings, Settings, WebSettings
from ccrlist.intake import replies
from cli import ccrlist
from subscribers.bounces import BounceStore
from subscribers.db import open_database
from subscribers.owners import OwnerStore

SAMPLES = Path(__file__).parent / "data" / "dsn"
DAY = 86400.0
MEMBERS = ["alice@example.org", "bob@example.org", "carol@example.net"]
REQUEST = f"ccrlist-request@{DOMAIN}"
OWNERS = ["owner1@example.org", "owner2@example.org"]


@pytest.fixture
def config(tmp_path: Path, controller: Controller) -> Settings:
    return dataclasses.replace(make_settings(tmp_path, controller.port),
                               web=WebSettings(port=free_port()),
                               commands=CommandSettings(replies_per_day=3))


@pytest.fixture
async def server(config: Settings, relay: RecordingRelay) -> AsyncIterator[Running]:
    async with serving(config, relay, MEMBERS) as running:
        yield running


def mail(sender: str, to: str, subject: str, body: str = "", extra: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: {make_msgid(domain='example.org')}\r\n{extra}\r\n{body}\r\n").encode()


def received_by(relay: RecordingRelay, address: str) -> list[EmailMessage]:
    """What the relay took for `address`, in order of arrival."""
    with relay.lock:
        contents = [m.content for m in relay.messages if address in m.rcpt_tos]
    found = []
    for content in contents:
        msg = message_from_bytes(content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


async def nth_received(relay: RecordingRelay, address: str, n: int) -> EmailMessage:
    await wait_for(lambda: len(received_by(relay, address)) >= n, what=f"mail {n} to {address}")
    return received_by(relay, address)[n - 1]


async def status(settings: Settings, address: str) -> str | None:
    conn = await open_database(settings.database_path)
    try:
        return await status_of(conn, "ccrlist", address)
    finally:
        await conn.close()


async def queued_count(settings: Settings, source: str, ref_like: str = "%",
                       recipient: str = "%") -> int:
    """Queued messages of `source` (notices, owner mail, list copies) to `recipient`."""
    conn = await open_database(settings.database_path)
    try:
        async with conn.execute(
            """SELECT count(*) FROM outgoing o JOIN deliveries d ON d.outgoing_id = o.id
                WHERE o.source = ? AND o.source_ref LIKE ? AND d.recipient LIKE ?""",
                (source, ref_like, recipient)) as cur:
            row = await cur.fetchone()
    finally:
        await conn.close()
    assert row is not None
    return int(row[0])


def full(reply: tuple[int, str]) -> str:
    return f"{reply[0]} {reply[1]}"


# --- email commands -------------------------------------------------------------------------

@pytest.mark.parametrize(("local", "sender", "subject", "body", "asks", "done", "final"), [
    ("ccrlist-request", "dana@example.net", "subscribe", "",
     "Confirm your subscription to ccrlist", "Welcome to ccrlist", "active"),
    ("ccrlist-request", "alice@example.org", "A question",
     "Hello,\r\n\r\nunsubscribe please\r\n-- \r\nsubscribe\r\n",
     "Confirm that you are leaving ccrlist", "You have left ccrlist", "unsubscribed"),
    ("ccrlist-join", "dana@example.net", "", "",
     "Confirm your subscription to ccrlist", "Welcome to ccrlist", "active"),
    ("ccrlist-leave", "bob@example.org", "bye", "",
     "Confirm that you are leaving ccrlist", "You have left ccrlist", "unsubscribed"),
])
async def test_command_confirmed_by_replying_to_the_confirm_address(
        server: Running, local: str, sender: str, subject: str, body: str, asks: str,
        done: str, final: str) -> None:
    before = await status(server.settings, sender)
    reply = await send(server.port, mail(sender, f"{local}@{DOMAIN}", subject, body),
                       sender=sender, rcpt=f"{local}@{DOMAIN}")
    assert full(reply) == replies.REQUEST_RECEIVED
    confirmation = await nth_received(server.relay, sender, 1)
    assert confirmation["Subject"] == asks
    assert confirmation["Auto-Submitted"] == "auto-replied"
    confirm = f"ccrlist-confirm+{confirm_token(confirmation)}@{DOMAIN}"
    assert confirmation["Reply-To"] == confirm
    assert await status(server.settings, sender) == ("pending" if before is None else before)

    answer = mail(sender, confirm, f"Re: {asks}", "> To confirm, open this link")
    assert full(await send(server.port, answer, sender=sender, rcpt=confirm)) == (
        replies.REQUEST_RECEIVED)
    assert await status(server.settings, sender) == final
    assert (await nth_received(server.relay, sender, 2))["Subject"] == done
    # The token works once.
    assert full(await send(server.port, answer, sender=sender, rcpt=confirm)) == (
        replies.BAD_TOKEN)

    # The next post goes to exactly the active members.
    assert full(await send(server.port, message(author="carol@example.net"),
                           sender="carol@example.net")) == replies.ACCEPTED
    active = {a for a in [*MEMBERS, "dana@example.net"]
              if await status(server.settings, a) == "active"}
    await wait_for(lambda: active <= set(server.relay.recipients()), what="the post")
    copies = {a for a in [*MEMBERS, "dana@example.net"]
              if await queued_count(server.settings, "post", recipient=a)}
    assert copies == active and (sender in copies) == (final == "active")


async def test_forged_confirm_address_refused(server: Running) -> None:
    forged = f"ccrlist-confirm+{'A' * 32}@{DOMAIN}"
    reply = await send(server.port, mail("dana@example.net", forged, "Re: confirm"),
                       sender="dana@example.net", rcpt=forged)
    assert full(reply) == replies.BAD_TOKEN
    assert await status(server.settings, "dana@example.net") is None


async def test_help_by_subject(server: Running) -> None:
    reply = await send(server.port, mail("dana@example.net", REQUEST, "help"),
                       sender="dana@example.net", rcpt=REQUEST)
    assert full(reply) == replies.REQUEST_RECEIVED
    answer = await nth_received(server.relay, "dana@example.net", 1)
    assert answer["Subject"] == "ccrlist: help"
    assert f"ccrlist-join@{DOMAIN}" in text_of(answer)
    assert "https://lists.example.org/subscribe/ccrlist" in text_of(answer)
    assert await status(server.settings, "dana@example.net") is None


async def test_replies_rate_limited_per_address_per_day(server: Running) -> None:
    for i in range(5):  # replies_per_day = 3
        reply = await send(server.port, mail("dana@example.net", REQUEST, f"help {i}"),
                           sender="dana@example.net", rcpt=REQUEST)
        assert full(reply) == replies.REQUEST_RECEIVED
    assert await queued_count(server.settings, "notice", recipient="dana@example.net") == 3
    # Another address is answered as usual.
    await send(server.port, mail("eve@example.net", REQUEST, "help"),
               sender="eve@example.net", rcpt=REQUEST)
    await nth_received(server.relay, "eve@example.net", 1)
    await nth_received(server.relay, "dana@example.net", 3)
    assert len(received_by(server.relay, "dana@example.net")) == 3


async def test_hostile_admin_mail_is_answered_once_and_for_all(server: Running) -> None:
    """Each of these used to raise inside the handler, so the sender got 451 and retried."""
    crlf_id = (b"From: dana@example.net\r\nTo: " + REQUEST.encode() + b"\r\n"
               b"Subject: subscribe\r\nMessage-ID: =?utf-8?q?<a@b>=0D=0AX:_y?=\r\n\r\n")
    reply = await send(server.port, crlf_id, sender="dana@example.net", rcpt=REQUEST)
    assert full(reply) == replies.REQUEST_RECEIVED
    confirmation = await nth_received(server.relay, "dana@example.net", 1)
    assert "In-Reply-To" not in confirmation and "X" not in confirmation
    bounces = f"ccrlist-bounces@{DOMAIN}"
    deep = (b"From: MAILER-DAEMON@example.org\r\nSubject: failure notice\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(3000)) + b"Content-Type: text/plain\r\n\r\n550 5.1.1 x\r\n")
    assert full(await send(server.port, deep, sender="", rcpt=bounces)) == (
        replies.BOUNCE_RECEIVED)
    charset = (b"From: MAILER-DAEMON@example.org\r\nSubject: failure notice\r\n"
               b"Content-Type: text/plain; charset=nonesuch\r\n\r\n550 5.1.1 x\r\n")
    assert full(await send(server.port, charset, sender="", rcpt=bounces)) == (
        replies.BOUNCE_RECEIVED)


@pytest.mark.parametrize(("sender", "extra"), [
    ("", ""),
    ("dana@example.net", "Auto-Submitted: auto-replied\r\n"),
    ("dana@example.net", "Auto-Submitted: auto-generated\r\n"),
    ("dana@example.net", "Precedence: bulk\r\n"),
    ("dana@example.net", "Precedence: list\r\n"),
    ("dana@example.net", "Precedence: junk\r\n"),
])
async def test_automatic_messages_never_answered(server: Running, sender: str,
                                                 extra: str) -> None:
    for local in ("ccrlist-request", "ccrlist-join", "ccrlist-leave"):
        rcpt = f"{local}@{DOMAIN}"
        reply = await send(server.port, mail("dana@example.net", rcpt, "subscribe", extra=extra),
                           sender=sender, rcpt=rcpt)
        assert full(reply) == replies.NOT_ANSWERED
    assert await queued_count(server.settings, "notice") == 0
    assert await status(server.settings, "dana@example.net") is None
    # A person's request after them is answered: the robots' would have gone first.
    await send(server.port, mail("eve@example.net", REQUEST, "help"),
               sender="eve@example.net", rcpt=REQUEST)
    await nth_received(server.relay, "eve@example.net", 1)
    assert [m.rcpt_tos for m in server.relay.messages] == [["eve@example.net"]]


async def test_no_backscatter_to_a_forged_from(server: Running) -> None:
    """Spam with a forged From and mail holding no command get no answer from us."""
    for local, subject in (("ccrlist-request", "subscribe"), ("ccrlist-join", "join"),
                           ("ccrlist-request", "help")):
        rcpt = f"{local}@{DOMAIN}"
        reply = await send(server.port, mail("victim@example.net", rcpt, subject),
                           sender="bulk@spammer.example", rcpt=rcpt)
        assert full(reply) == replies.NOT_FROM_SENDER
    spam = mail("dana@example.net", REQUEST, "Cheap pills", "Buy now")
    assert full(await send(server.port, spam, sender="dana@example.net", rcpt=REQUEST)) == (
        replies.NO_COMMAND)
    assert await status(server.settings, "victim@example.net") is None
    # A person's request after them is answered: any answer to those would have gone first.
    await send(server.port, mail("eve@example.net", REQUEST, "help"),
               sender="eve@example.net", rcpt=REQUEST)
    await nth_received(server.relay, "eve@example.net", 1)
    assert [m.rcpt_tos for m in server.relay.messages] == [["eve@example.net"]]


async def test_owner_mail_forwarded_to_the_list_owners(server: Running,
                                                       tmp_path: Path) -> None:
    toml = tmp_path / "ccr.toml"
    toml.write_text(f'data_dir = "{server.settings.data_dir}"\n', encoding="utf-8")
    for owner in OWNERS:
        # The command runs its own event loop, so CliRunner runs it on a worker thread.
        result = await asyncio.to_thread(CliRunner().invoke, ccrlist, [
            "--config", str(toml), "lists", "owners", "add", "ccrlist", owner])
        assert result.exit_code == 0, result.output
    owner_address = f"ccrlist-owner@{DOMAIN}"
    question = mail("dana@example.net", owner_address, "Who runs this list?", "Hello.")
    reply = await send(server.port, question, sender="dana@example.net", rcpt=owner_address)
    assert full(reply) == replies.FORWARDED
    await wait_for(lambda: len(server.relay.messages) == 1, what="the forwarded message")
    [forwarded] = server.relay.messages
    assert sorted(forwarded.rcpt_tos) == OWNERS
    assert forwarded.mail_from == f"ccrlist-bounces@{DOMAIN}"
    assert forwarded.content.endswith(question)  # unchanged but for the loop header
    msg = message_from_bytes(forwarded.content, policy=policy.default)
    assert msg["X-CCR-Loop"] == owner_address
    looped = b"X-CCR-Loop: " + owner_address.encode() + b"\r\n" + question
    reply = await send(server.port, looped, sender="dana@example.net", rcpt=owner_address)
    assert full(reply) == replies.OWNER_LOOP
    assert await queued_count(server.settings, "owner") == len(OWNERS)

    # A line longer than 998 characters is re-encoded on the way, as in list copies.
    long_one = mail("dana@example.net", owner_address, "Our report", "x" * 3000)
    reply = await send(server.port, long_one, sender="dana@example.net", rcpt=owner_address)
    assert full(reply) == replies.FORWARDED
    await wait_for(lambda: len(server.relay.messages) == 2, what="the second forward")
    content = server.relay.messages[1].content
    assert max(len(line) for line in content.split(b"\r\n")) <= 998
    assert message_from_bytes(content, policy=policy.default).get_content() == \
        "x" * 3000 + "\r\n"


async def add_owner(settings: Settings, tmp_path: Path, list_name: str, owner: str) -> None:
    toml = tmp_path / "ccr.toml"
    toml.write_text(f'data_dir = "{settings.data_dir}"\n', encoding="utf-8")
    result = await asyncio.to_thread(CliRunner().invoke, ccrlist, [
        "--config", str(toml), "lists", "owners", "add", list_name, owner])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("rcpt", [f"postmaster@{DOMAIN}", f"PostMaster@{DOMAIN.upper()}",
                                  "Postmaster", f"abuse@{DOMAIN}"])
async def test_postmaster_and_abuse_reach_the_owners_of_every_list(
        server: Running, tmp_path: Path, rcpt: str) -> None:
    """RFC 5321 4.5.1: postmaster@ (and a bare <Postmaster>) must be taken; RFC 2142 abuse@.
    With no [posting] owners they go to every list's owners, once each, from the null
    sender, marked against loops."""
    await add_owner(server.settings, tmp_path, "ccrlist", OWNERS[0])
    await add_owner(server.settings, tmp_path, "echronicle", OWNERS[1])
    await add_owner(server.settings, tmp_path, "echronicle", OWNERS[0].upper())
    report = mail("admin@remote.example", rcpt, "Your server sends spam?", "Look at this.")
    assert full(await send(server.port, report, sender="admin@remote.example",
                           rcpt=rcpt)) == replies.FORWARDED_SITE
    await wait_for(lambda: len(server.relay.messages) == 1, what="the forwarded report")
    [forwarded] = server.relay.messages
    assert sorted(r.lower() for r in forwarded.rcpt_tos) == OWNERS
    assert forwarded.mail_from == "<>"  # the null path, as aiosmtpd records it
    assert forwarded.content.endswith(report)
    here = "abuse" if rcpt.startswith("abuse") else "postmaster"
    mark = message_from_bytes(forwarded.content, policy=policy.default)["X-CCR-Loop"]
    assert mark == f"{here}@{DOMAIN}"
    looped = f"X-CCR-Loop: {here}@{DOMAIN}\r\n".encode() + report
    assert full(await send(server.port, looped, sender="admin@remote.example",
                           rcpt=rcpt)) == replies.OWNER_LOOP
    # A bounce (null sender) to postmaster is forwarded too: that is what postmaster is for.
    assert full(await send(server.port, report.replace(b"Look", b"Bounce"), sender="",
                           rcpt=rcpt)) == replies.FORWARDED_SITE


async def test_postmaster_goes_to_the_configured_site_owners(
        tmp_path: Path, relay: RecordingRelay, config: Settings) -> None:
    settings = dataclasses.replace(config, posting=dataclasses.replace(
        config.posting, owners=("webmaster@ccrweb.example",)))
    async with serving(settings, relay, MEMBERS) as running:
        await add_owner(settings, tmp_path, "ccrlist", OWNERS[0])
        report = mail("x@remote.example", f"postmaster@{DOMAIN}", "hello")
        assert full(await send(running.port, report, sender="x@remote.example",
                               rcpt=f"postmaster@{DOMAIN}")) == replies.FORWARDED_SITE
        await wait_for(lambda: len(relay.messages) == 1, what="the forwarded message")
        assert relay.messages[0].rcpt_tos == ["webmaster@ccrweb.example"]


async def test_postmaster_with_nobody_to_read_it_is_deferred_not_lost(server: Running) -> None:
    report = mail("x@remote.example", f"postmaster@{DOMAIN}", "hello")
    assert full(await send(server.port, report, sender="x@remote.example",
                           rcpt=f"postmaster@{DOMAIN}")) == replies.NO_SITE_OWNERS
    assert replies.NO_SITE_OWNERS.startswith("451 4.3.0 ")
    assert await queued_count(server.settings, "owner") == 0


@pytest.mark.parametrize("rcpt", ["postmaster@example.org", "abuse@elsewhere.example",
                                  f"postmaster@sub.{DOMAIN}", f"postmaster-owner@{DOMAIN}",
                                  f"ccrlist-postmaster@{DOMAIN}", "abuse"])
async def test_postmaster_of_other_domains_is_no_relay(server: Running, rcpt: str) -> None:
    report = mail("x@remote.example", rcpt, "relay me")
    assert full(await send(server.port, report, sender="x@remote.example", rcpt=rcpt)) in (
        replies.NO_SUCH_LIST, replies.NO_SUCH_ADDRESS)


def test_no_list_may_take_the_site_addresses(tmp_path: Path) -> None:
    toml = tmp_path / "ccr.toml"
    toml.write_text(f'data_dir = "{tmp_path / "var"}"\n', encoding="utf-8")
    for name in ("postmaster", "abuse"):
        result = CliRunner().invoke(ccrlist, ["--config", str(toml), "lists", "create", name])
        assert result.exit_code == 1 and "the site's own address" in result.output


# --- bounces --------------------------------------------------------------------------------

FORWARDER = "jo@ccr-member.example"  # forwards to the address a DSN names


@pytest.mark.parametrize("sample, named", [
    ("postfix_user_unknown.eml", "dead@example.net"),
    ("exim_failed.eml", "gone@example.org"),
    ("gmail_no_such_user.eml", "nobody.here@gmail.com"),
    ("microsoft_recipient_not_found.eml", "former.staff@ccr-member.ca"),
])
@pytest.mark.parametrize("to", ["bounces", "verp"])
async def test_dsns_disable_the_member_and_tell_the_owners_once(
        config: Settings, relay: RecordingRelay, sample: str, named: str, to: str) -> None:
    """To the VERP sender of a list copy, the subscriber it encodes bounced, even when the
    DSN names the address they forward to. To the plain -bounces@, nothing proves the DSN
    answers our mail (anyone can write one naming every member), so it does not count."""
    async with serving(config, relay, ["alice@example.org", named, FORWARDER]) as server:
        conn = await open_database(config.database_path)
        try:
            for owner in OWNERS:
                await OwnerStore(conn).add("ccrlist", owner)
        finally:
            await conn.close()
        if to == "verp":
            assert full(await send(server.port, message())) == replies.ACCEPTED
            await wait_for(lambda: FORWARDER in relay.recipients(), what="the list copy")
            [copy] = [m for m in relay.messages if m.rcpt_tos == [FORWARDER]]
            bounces_to, bounced = copy.mail_from, FORWARDER
            assert bounces_to.startswith("ccrlist-bounces+jo=ccr-member.example.")
        else:
            bounces_to, bounced = f"ccrlist-bounces@{DOMAIN}", named
        conn = await open_database(config.database_path)
        try:  # bounces on the two days before: the DSN below is the third day (threshold 3)
            for days_ago in (2, 1):
                await BounceStore(conn).record("ccrlist", bounced, "hard", "550 5.1.1 earlier",
                                               time.time() - days_ago * DAY)
        finally:
            await conn.close()
        assert await status(config, bounced) == "active"

        dsn = (SAMPLES / sample).read_bytes()
        assert full(await send(server.port, dsn, sender="", rcpt=bounces_to)) == (
            replies.BOUNCE_RECEIVED)
        if to == "bounces":
            assert await status(config, bounced) == "active"
            assert await queued_count(config, "notice", "disabled:%") == 0
            return
        assert await status(config, bounced) == "disabled"
        others = {a for a in ["alice@example.org", named, FORWARDER] if a != bounced}
        assert {a: await status(config, a) for a in others} == dict.fromkeys(others, "active")
        subject = f"ccrlist: {bounced} disabled after repeated bounces"
        await wait_for(lambda: any(m["Subject"] == subject for m in received_by(relay, OWNERS[0])),
                       what="the owners' notice")
        [notice] = [m for m in relay.messages if OWNERS[0] in m.rcpt_tos]
        assert sorted(notice.rcpt_tos) == OWNERS

        # Later bounces: still disabled, no second notice.
        assert full(await send(server.port, dsn, sender="", rcpt=bounces_to)) == (
            replies.BOUNCE_RECEIVED)
        assert await queued_count(config, "notice", "disabled:%") == len(OWNERS)
    assert len([m for m in relay.messages if OWNERS[0] in m.rcpt_tos]) == 1


# --- one-click unsubscribe ------------------------------------------------------------------

async def test_one_click_url_of_a_list_copy_unsubscribes_on_post_only(server: Running) -> None:
    assert full(await send(server.port, message())) == replies.ACCEPTED
    copy = await nth_received(server.relay, "bob@example.org", 1)
    assert copy["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, _, mailto = str(copy["List-Unsubscribe"]).partition(", ")
    assert mailto == f"<mailto:ccrlist-leave@{DOMAIN}>"
    base = server.settings.web.base_url
    assert https.startswith(f"<{base}u/") and https.endswith(">")
    # What the TLS proxy does: base_url arrives at the app with its prefix stripped.
    url = f"http://127.0.0.1:{server.settings.web.port}/" + https[1:-1].removeprefix(base)

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(url, allow_redirects=False) as page:  # a mail scanner
            assert page.status == 200
            assert "bob@example.org" in await page.text()
        assert await status(server.settings, "bob@example.org") == "active"
    # A mailbox provider's one-click POST (RFC 8058): no cookie, no CSRF field, no Origin.
    async with aiohttp.ClientSession(timeout=timeout) as http, http.post(
            url, data={"List-Unsubscribe": "One-Click"}, allow_redirects=False) as done:
        assert done.status == 200
    assert await status(server.settings, "bob@example.org") == "unsubscribed"
    assert await status(server.settings, "alice@example.org") == "active"

    second = message(message_id="<m2@example.org>")
    assert full(await send(server.port, second)) == replies.ACCEPTED
    await nth_received(server.relay, "alice@example.org", 2)
    await nth_received(server.relay, "carol@example.net", 2)
    assert await queued_count(server.settings, "post", recipient="bob@example.org") == 1
