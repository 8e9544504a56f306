"""The outbox worker against a real SQLite queue and a recording relay (or the Maildir)."""

from __future__ import annotations

import asyncio
import mailbox
import sqlite3
import threading
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import VERP_KEY, RecordingRelay, free_port, make_settings, start_relay

from ccrlist.config.settings import DeliverySettings
from ccrlist.delivery.retry import RetryPolicy, backoff, decide
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.verp import verp_sender
from ccrlist.delivery.worker import DeliveryWorker
from subscribers.db import Connection, open_database
from subscribers.post_models import Recipient
from subscribers.queue import QueueStore

BODY = b"From: list@example.org\r\nSubject: t\r\n\r\nhello\r\n"
SENDER = "ccrlist-bounces@lists.example.org"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Connection]:
    c = await open_database(tmp_path / "q.sqlite3")
    yield c
    await c.close()


async def enqueue(queue: QueueStore, recipients: list[str], clock: Clock,
                  verp: bool = False) -> int:
    done = await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1",
                               sender=SENDER, body=BODY, verp=verp, now=clock.now,
                               recipients=[Recipient(r) for r in recipients])
    return done.outgoing_id


def people(n: int) -> list[str]:
    return [f"m{i:04d}@example.org" for i in range(n)]


async def test_batches_of_max_rcpt_over_reused_connections(tmp_path: Path, conn: Connection,
                                                           relay: RecordingRelay,
                                                           controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port, max_rcpt_per_message=50, connections=2)
    queue, clock = QueueStore(conn), Clock()
    await enqueue(queue, people(120), clock)
    report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                  clock, verp_key=VERP_KEY).run_until_idle()
    assert report.sent == 120
    assert sorted(len(m.rcpt_tos) for m in relay.messages) == [20, 50, 50]
    assert sorted(relay.recipients()) == people(120)
    assert {m.mail_from for m in relay.messages} == {SENDER}
    assert (await queue.counts()).sent == 120
    # Running again sends nothing more.
    again = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                 clock, verp_key=VERP_KEY).run_until_idle()
    assert again.sent == 0 and len(relay.messages) == 3


async def test_stop_lets_batches_in_flight_finish_and_starts_no_more(
        tmp_path: Path, conn: Connection, relay: RecordingRelay,
        controller: Controller) -> None:
    relay.gate = threading.Event()
    settings = make_settings(tmp_path, controller.port, max_rcpt_per_message=10, connections=2)
    queue, clock = QueueStore(conn), Clock()
    await enqueue(queue, people(100), clock)
    stop = asyncio.Event()
    worker = DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                            verp_key=VERP_KEY)
    task = asyncio.ensure_future(worker.run_until_idle(stop=stop))
    for _ in range(1000):  # until both connections have a batch at the relay
        if relay.held == 2:
            break
        await asyncio.sleep(0.01)
    assert relay.held == 2
    stop.set()
    relay.gate.set()
    report = await asyncio.wait_for(task, 30)
    assert report.sent == 20 and len(relay.recipients()) == 20
    counts = await queue.counts()
    assert (counts.sent, counts.pending) == (20, 80)


async def test_sessions_send_at_most_two_batches_ahead_of_their_commits(
        tmp_path: Path, conn: Connection, relay: RecordingRelay,
        controller: Controller) -> None:
    """A session sends its next batch while the last one's outcome commits, but no third:
    with every commit held up, what a crash would re-send is two batches a session."""
    settings = make_settings(tmp_path, controller.port, max_rcpt_per_message=5, connections=2)
    queue, clock = QueueStore(conn), Clock()
    await enqueue(queue, people(100), clock)
    await conn.execute("PRAGMA busy_timeout = 500")  # the worker's commits give up sooner
    blocker = sqlite3.connect(tmp_path / "q.sqlite3",
                              isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        worker = DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                                verp_key=VERP_KEY)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await asyncio.wait_for(worker.run_until_idle(), 30)
        # The first commit failed after waiting: by then each session had sent two batches.
        assert sorted(len(m.rcpt_tos) for m in relay.messages) == [5, 5, 5, 5]
        assert (await queue.counts()).pending == 100  # none of them counts as sent
    finally:
        blocker.rollback()
        blocker.close()
    report = await DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                                  verp_key=VERP_KEY).run_until_idle()
    assert report.sent == 100
    counts = Counter(relay.recipients())
    assert set(counts) == set(people(100))
    assert sum(n - 1 for n in counts.values()) == 2 * 2 * 5  # two batches a session, again


@pytest.mark.parametrize(("recipient", "utf8"), [
    ("jo@example.org", False),
    ("josé@exemple.ca", True),  # SMTPUTF8
    ('"jo smith"@example.org', False),  # not a plain path: aiosmtplib's parser quotes it
])
async def test_the_envelope_the_relay_sees(tmp_path: Path, conn: Connection,
                                          relay: RecordingRelay, controller: Controller,
                                          recipient: str, utf8: bool) -> None:
    settings = make_settings(tmp_path, controller.port)
    queue, clock = QueueStore(conn), Clock()
    body = BODY.replace(b"\r\n", b"\n") if utf8 else BODY  # LF line ends go out as CRLF
    await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1", sender=SENDER,
                        body=body, now=clock.now, recipients=[Recipient(recipient)])
    report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                  clock, verp_key=VERP_KEY).run_until_idle()
    assert report.sent == 1
    [delivered] = relay.messages
    assert (delivered.mail_from, delivered.rcpt_tos) == (SENDER, [recipient])
    assert delivered.content == BODY
    assert delivered.smtp_utf8 == utf8


@pytest.mark.parametrize("room", [0, -1])
async def test_size_declared_at_mail_is_what_data_carries(tmp_path: Path, conn: Connection,
                                                          relay: RecordingRelay,
                                                          room: int) -> None:
    """RFC 1870: SIZE counts the octets DATA sends, so LF line ends count as CRLF. A relay
    whose limit is one octet short refuses at MAIL, before the message is sent."""
    controller = start_relay(relay, size_limit=len(BODY) + room)
    try:
        settings = make_settings(tmp_path, controller.port)
        queue, clock = QueueStore(conn), Clock()
        await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1",
                            sender=SENDER, body=BODY.replace(b"\r\n", b"\n"), now=clock.now,
                            recipients=[Recipient("jo@example.org")])
        report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                      clock, verp_key=VERP_KEY).run_until_idle()
    finally:
        controller.stop()
    if room == 0:
        assert report.sent == 1 and [m.content for m in relay.messages] == [BODY]
    else:
        assert report.failed == 1 and relay.messages == []
        rows = await conn.execute_fetchall("SELECT last_reply FROM deliveries")
        assert "552" in rows[0][0] and "exceeds fixed maximum message size" in rows[0][0]


async def test_verp_sends_one_message_per_recipient(tmp_path: Path, conn: Connection,
                                                    relay: RecordingRelay,
                                                    controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port)
    queue, clock = QueueStore(conn), Clock()
    await enqueue(queue, ["jo@example.org", "li@example.net"], clock, verp=True)
    await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                         clock, verp_key=VERP_KEY).run_until_idle()
    assert sorted((m.mail_from, tuple(m.rcpt_tos)) for m in relay.messages) == [
        (verp_sender(SENDER, "jo@example.org", VERP_KEY), ("jo@example.org",)),
        (verp_sender(SENDER, "li@example.net", VERP_KEY), ("li@example.net",)),
    ]


async def test_4xx_deferred_then_sent_and_5xx_failed_with_bounce(
        tmp_path: Path, conn: Connection, relay: RecordingRelay,
        controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port, retry_base_seconds=60.0)
    queue, clock = QueueStore(conn), Clock()
    relay.rcpt_replies = {"m0000@example.org": "451 4.7.1 greylisted",
                          "m0001@example.org": "550 5.1.1 unknown user"}
    failed: list[tuple[str, str, str]] = []
    worker = DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                            on_failed=lambda *a: failed.append(a), verp_key=VERP_KEY)
    await enqueue(queue, people(3), clock)
    report = await worker.run_until_idle()
    assert (report.sent, report.deferred, report.failed) == (1, 1, 1)
    assert [f[1] for f in failed] == ["m0001@example.org"]
    assert await queue.next_due_at() == clock.now + 60.0
    relay.rcpt_replies.clear()
    clock.now += 61
    report = await worker.run_until_idle()
    assert (report.sent, report.deferred, report.failed) == (1, 0, 0)
    assert sorted(relay.recipients()) == ["m0000@example.org", "m0002@example.org"]
    async with conn.execute("SELECT address_key, kind FROM bounces") as cur:
        assert [tuple(r) for r in await cur.fetchall()] == [("m0001@example.org", "hard")]


@pytest.mark.parametrize("trouble", ["drop", "data-4xx", "down"])
async def test_relay_trouble_defers_every_recipient(tmp_path: Path, conn: Connection,
                                                    relay: RecordingRelay, trouble: str) -> None:
    controller = start_relay(relay) if trouble != "down" else None
    port = controller.port if controller else free_port()
    try:
        relay.drop_data = trouble == "drop"
        relay.data_reply = "451 4.3.0 try later" if trouble == "data-4xx" else ""
        settings = make_settings(tmp_path, port)
        queue, clock = QueueStore(conn), Clock()
        await enqueue(queue, people(3), clock)
        worker = DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                                verp_key=VERP_KEY)
        report = await worker.run_until_idle()
        assert (report.sent, report.deferred) == (0, 3)
        assert relay.messages == []
    finally:
        if controller:
            controller.stop()


async def test_gives_up_after_max_age_and_tells_the_owner(tmp_path: Path,
                                                          conn: Connection) -> None:
    settings = make_settings(tmp_path, free_port(), max_age_days=1.0, retry_base_seconds=3600)
    queue, clock = QueueStore(conn), Clock()
    failed: list[tuple[str, str, str]] = []
    worker = DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                            on_failed=lambda *a: failed.append(a), verp_key=VERP_KEY)
    await enqueue(queue, ["jo@example.org"], clock)
    for _ in range(10):
        await worker.run_until_idle()
        clock.now += 5 * 3600
    counts = await queue.counts()
    assert (counts.failed, counts.pending, counts.deferred) == (1, 0, 0)
    assert failed and failed[0][:2] == ("ccrlist", "jo@example.org")
    rows = list(await conn.execute_fetchall("SELECT count(*) FROM bounces"))
    assert rows[0][0] == 0  # a timeout is no bounce


async def test_maildir_fallback_one_file_per_recipient(tmp_path: Path, conn: Connection) -> None:
    settings = make_settings(tmp_path, None)
    queue, clock = QueueStore(conn), Clock()
    await enqueue(queue, people(3), clock)
    report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                  clock, verp_key=VERP_KEY).run_until_idle()
    assert report.sent == 3
    box = mailbox.Maildir(settings.outbox_dir, create=False)
    delivered = sorted(str(m["Delivered-To"]) for m in box)
    assert delivered == people(3)
    assert {str(m["Return-Path"]) for m in box} == {f"<{SENDER}>"}
    assert all(m.get_payload() == "hello\r\n" or m.get_payload() == "hello\n" for m in box)


DEFAULT_RETRY = RetryPolicy.from_settings(DeliverySettings())


@pytest.mark.parametrize("code, attempts, expected", [
    (250, 0, "sent"), (251, 3, "sent"), (550, 0, "failed"), (554, 5, "failed"),
    (450, 0, "deferred"), (421, 2, "deferred"), (0, 0, "deferred"),
])
def test_retry_table(code: int, attempts: int, expected: str) -> None:
    verdict = decide(DEFAULT_RETRY, code, attempts, created_at=0.0, now=10.0)
    assert verdict.status == expected
    assert verdict.bounce == (expected == "failed")


@pytest.mark.parametrize("attempts, delay", [(1, 60), (2, 120), (3, 240), (20, 4 * 3600)])
def test_backoff_doubles_up_to_a_cap(attempts: int, delay: float) -> None:
    assert backoff(DEFAULT_RETRY, attempts) == delay


def test_the_cap_is_a_setting() -> None:
    policy = RetryPolicy.from_settings(DeliverySettings(retry_base_seconds=10,
                                                        retry_max_seconds=300))
    assert [backoff(policy, n) for n in (1, 2, 5, 6, 30)] == [10, 20, 160, 300, 300]


def test_too_old_message_fails_instead_of_deferring() -> None:
    policy = RetryPolicy(base_seconds=60, max_delay_seconds=3600, max_age_seconds=100)
    assert decide(policy, 451, 0, created_at=0.0, now=30.0).status == "deferred"
    verdict = decide(policy, 451, 0, created_at=0.0, now=50.0)
    assert (verdict.status, verdict.bounce) == ("failed", False)


def test_delivery_settings_default_batch() -> None:
    assert DeliverySettings().max_rcpt_per_message == 50


async def test_a_busy_worker_keeps_only_the_messages_at_hand(
        tmp_path: Path, conn: Connection, relay: RecordingRelay, controller: Controller,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream of posts keeps the worker from ever going idle: it must not hold every
    message it has sent (40,000 posts took `serve` to 625 MB). Taking the queue two
    deliveries at a time, it holds one message at a time, and sends them all."""
    monkeypatch.setattr("ccrlist.delivery.worker.CLAIM_LIMIT", 2)
    settings = make_settings(tmp_path, controller.port, max_rcpt_per_message=1)
    queue, clock = QueueStore(conn), Clock()
    for n in range(6):
        await queue.enqueue(list_name="ccrlist", source="post", source_ref=f"p{n}",
                            sender=SENDER, body=BODY, now=clock.now,
                            recipients=[Recipient(r) for r in people(2)])
    worker = DeliveryWorker(queue, make_transport(settings), settings.delivery, clock,
                            verp_key=VERP_KEY)
    held: list[int] = []
    report = await worker.run_until_idle(lambda _: held.append(worker.messages_held))
    assert report.sent == 12 and len(relay.messages) == 12
    assert len(held) == 12 and max(held) == 1
