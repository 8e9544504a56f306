"""Deliver what the queue holds: batch recipients, send over parallel sessions, record results.

Each recipient's state is committed after the relay answers for its batch, and a copy
counts as sent only once that commit is done. A session does not wait for that commit
before it sends its next batch: it waits for it only when the next batch's answer is in.
So each session has at most one batch whose outcome is not yet committed and one batch
at the relay, and a crash re-sends at most those two batches per session. Outcomes
that arrive from parallel sessions while a commit runs share the next commit (group
commit), so one-recipient (VERP) sending does not pay one fsync per copy.

With a signer, every copy is DKIM-signed before it is sent. A message is canonicalised
once per pass; a personalised copy's signature is computed from that with its token in
place (the token is in List-Unsubscribe, which the signature covers, and in the
newsletter's body). A session asks for its next batch's signature before it sends the
current one, so the signing thread works while the session waits for the relay. A
message that is not personalised has the same bytes for every batch, so it is signed
once per pass and the signature reused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ccrlist.conditions import Outage, TransportUnavailable, log_trouble
from ccrlist.config.settings import DeliverySettings
from ccrlist.delivery.dkim_errors import SigningFailed
from ccrlist.delivery.dkim_sign import PreparedMessage
from ccrlist.delivery.retry import RetryPolicy, decide
from ccrlist.delivery.signing import CopySigner
from ccrlist.delivery.tokens import personalise
from ccrlist.delivery.transport import Reply, Session, Transport
from ccrlist.delivery.verp import verp_sender
from subscribers.groupcommit import GroupCommit
from subscribers.post_models import Due, Outcome, Outgoing
from subscribers.queue import QueueStore

log = logging.getLogger("ccrlist.delivery")

Clock = Callable[[], float]
Progress = Callable[[int], None]
FailureHook = Callable[[str, str, str], None]  # list name, recipient, last reply

CLAIM_LIMIT = 2000
CHANGE_POLL = 1.0  # seconds between looks for commits made by another process


@dataclass(frozen=True)
class Batch:
    """Recipients of one outgoing message sent in one SMTP transaction."""

    outgoing: Outgoing
    deliveries: tuple[Due, ...]


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0

    def add(self, outcomes: Sequence[Outcome]) -> None:
        for o in outcomes:
            if o.status == "sent":
                self.sent += 1
            elif o.status == "deferred":
                self.deferred += 1
            else:
                self.failed += 1


def plan_batches(due: Sequence[Due], messages: dict[int, Outgoing],
                 max_rcpt: int) -> list[Batch]:
    """Group due deliveries by message; personalised and VERP messages go one per transaction."""
    batches: list[Batch] = []
    by_message: dict[int, list[Due]] = {}
    for d in due:
        by_message.setdefault(d.outgoing_id, []).append(d)
    for outgoing_id, items in by_message.items():
        message = messages[outgoing_id]
        size = 1 if (message.personalised or message.verp) else max(1, max_rcpt)
        for start in range(0, len(items), size):
            batches.append(Batch(message, tuple(items[start:start + size])))
    return batches


class OutcomeRecorder:
    """Commit outcomes from concurrent sessions together; each batch's commit is a future."""

    def __init__(self, queue: QueueStore, clock: Clock) -> None:
        self._queue = queue
        self._clock = clock
        self._group: GroupCommit[Sequence[Outcome], None] = GroupCommit(self._commit)

    def record(self, outcomes: Sequence[Outcome]) -> asyncio.Future[None]:
        """Queue `outcomes` for the next commit; the future is done once it has committed."""
        return self._group.enqueue(outcomes)

    async def _commit(self, batches: list[Sequence[Outcome]]) -> list[None]:
        await self._queue.record([o for outcomes in batches for o in outcomes], self._clock())
        return [None] * len(batches)


def _retrieve(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()


def _summary(outcomes: Sequence[Outcome]) -> str:
    counts = {"sent": 0, "deferred": 0, "failed": 0}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items())


class DeliveryWorker:
    """Drains the queue through a transport, `settings.connections` sessions at a time."""

    def __init__(self, queue: QueueStore, transport: Transport, settings: DeliverySettings,
                 clock: Clock = time.time, on_failed: FailureHook | None = None,
                 signer: CopySigner | None = None, *, verp_key: bytes) -> None:
        self._queue = queue
        self._transport = transport
        self._settings = settings
        self._policy = RetryPolicy.from_settings(settings)
        self._clock = clock
        self._on_failed = on_failed
        self._signer = signer
        self._verp_key = verp_key  # signs VERP senders, so bounces to them can be trusted
        self._messages: dict[int, Outgoing] = {}
        # Per pass: each message canonicalised once, and one signature per message that
        # is not personalised, shared by its batches.
        self._prepared: dict[int, PreparedMessage] = {}
        self._signatures: dict[int, asyncio.Future[bytes]] = {}
        self._wake = asyncio.Event()
        self._relay = Outage(log, "relay")

    @property
    def messages_held(self) -> int:
        """How many queued messages the worker keeps in memory now."""
        return len(self._messages)

    def _forget_all_but(self, at_hand: set[int]) -> None:
        """Keep only the messages of the deliveries at hand (and their canonical forms and
        shared signatures). A worker kept busy by a stream of posts never goes idle, and
        would otherwise hold every message it has sent: 40,000 posts of 5 KB took `serve`
        to 625 MB. A message needed again (a retry) is read again."""
        for cache in (self._messages, self._prepared, self._signatures):
            for outgoing_id in cache.keys() - at_hand:
                del cache[outgoing_id]

    def wake(self) -> None:
        """Tell a running `run_forever` that new deliveries were queued."""
        self._wake.set()

    async def run_until_idle(self, progress: Progress | None = None,
                             stop: asyncio.Event | None = None) -> DeliveryReport:
        """Send everything that is due now; return when only future retries remain.

        Once `stop` is set, the batches already handed to the relay finish and are
        recorded, and no further batch starts: the rest stays queued for the next run.
        """
        report = DeliveryReport()
        stopping = stop or asyncio.Event()
        sessions = [self._transport.open() for _ in range(max(1, self._settings.connections))]
        try:
            while not stopping.is_set():
                due = await self._queue.due(self._clock(), CLAIM_LIMIT)
                if not due:
                    break
                at_hand = {d.outgoing_id for d in due}
                self._forget_all_but(at_hand)
                for outgoing_id in at_hand - self._messages.keys():
                    self._messages[outgoing_id] = await self._queue.outgoing(outgoing_id)
                batches = plan_batches(due, self._messages, self._settings.max_rcpt_per_message)
                await self._send_all(batches, sessions, report, progress, stopping)
        finally:
            await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
            self._messages.clear()
            self._prepared.clear()
            self._signatures.clear()
        return report

    async def run_forever(self, stop: asyncio.Event, idle_poll: float = 30.0,
                          change_poll: float = CHANGE_POLL) -> None:
        """Deliver until `stop` is set, sleeping until the next retry, a `wake()`, or a
        change another process commits (`ccrlist retry`, `ccrlist held approve`)."""
        while not stop.is_set():
            self._wake.clear()
            seen = await self._changes()  # before the pass: what commits during it counts
            try:
                report = await self.run_until_idle(stop=stop)
                if report.sent or report.deferred or report.failed:
                    log.info("delivery pass: %d sent, %d deferred, %d failed",
                             report.sent, report.deferred, report.failed)
            except Exception as exc:
                log_trouble(log, exc, "delivery pass failed; trying again later")
            next_at = await self._queue.next_due_at()
            delay = idle_poll if next_at is None else max(0.0, next_at - self._clock())
            await self._sleep(min(delay, idle_poll), seen, change_poll, stop)

    async def _changes(self) -> int | None:
        try:
            return await self._queue.data_version()
        except Exception:  # the pass will say what is wrong with the database
            return None

    async def _sleep(self, seconds: float, seen: int | None, change_poll: float,
                     stop: asyncio.Event) -> None:
        """Wait `seconds`, or less: until `wake()`, `stop`, or a commit by another
        connection (SQLite's data_version, read every `change_poll` seconds: cheap, and the
        only signal that crosses from a command's process to this one)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            while (left := deadline - loop.time()) > 0:
                done, _ = await asyncio.wait(waiters, timeout=min(left, change_poll),
                                             return_when=asyncio.FIRST_COMPLETED)
                if done or (seen is not None and await self._changes() != seen):
                    return
        finally:
            for w in waiters:
                w.cancel()

    async def _send_all(self, batches: list[Batch], sessions: list[Session],
                        report: DeliveryReport, progress: Progress | None,
                        stop: asyncio.Event) -> None:
        pending: asyncio.Queue[Batch] = asyncio.Queue()
        for batch in batches:
            pending.put_nowait(batch)
        recorder = OutcomeRecorder(self._queue, self._clock)

        def counted(batch: Batch, outcomes: list[Outcome]) -> None:
            self._notify(batch.outgoing, outcomes)
            report.add(outcomes)
            if log.isEnabledFor(logging.INFO):
                log.info("batch of message %d (%s): %s", batch.outgoing.id,
                         batch.outgoing.list_name, _summary(outcomes))
            if progress is not None:
                progress(len(outcomes))

        def take() -> tuple[Batch, asyncio.Future[bytes] | None] | None:
            if pending.empty() or stop.is_set():
                return None
            batch = pending.get_nowait()
            return batch, self._start_signature(batch)

        async def drain(session: Session) -> None:
            # The previous batch, its outcomes and their commit: awaited only once the next
            # batch has been answered, so the session sends while the commit runs.
            last: tuple[Batch, list[Outcome], asyncio.Future[None]] | None = None
            upcoming = take()
            try:
                while upcoming is not None and not stop.is_set():
                    batch, fields = upcoming
                    upcoming = take()  # its signature is computed while this batch goes out
                    outcomes = await self._attempt(session, batch, fields)
                    if last is not None:
                        await last[2]
                        counted(last[0], last[1])
                    last = (batch, outcomes, recorder.record(outcomes))
                if last is not None:
                    await last[2]
                    counted(last[0], last[1])
                    last = None
            finally:
                if last is not None:  # cancelled or failed: no "exception never retrieved"
                    last[2].add_done_callback(_retrieve)
                if upcoming is not None and upcoming[1] is not None:  # taken, never sent
                    upcoming[1].add_done_callback(_retrieve)

        await asyncio.gather(*(drain(s) for s in sessions))

    async def _attempt(self, session: Session, batch: Batch,
                       fields: asyncio.Future[bytes] | None) -> list[Outcome]:
        message = batch.outgoing
        recipients = [d.recipient for d in batch.deliveries]
        sender = message.sender
        body = message.body
        if message.verp:
            sender = verp_sender(sender, recipients[0], self._verp_key)
        if message.personalised:
            body = personalise(body, batch.deliveries[0].token, message.token_slot)
        try:
            if fields is not None:
                body = await fields + body
            replies = await session.send(sender, recipients, body)
            self._relay.answered()
        except SigningFailed as exc:
            # Never sent unsigned: retried like a relay outage until the message expires.
            log.error("message %d not sent: %s", message.id, exc)
            replies = {r: Reply(0, str(exc)) for r in recipients}
        except TransportUnavailable as exc:
            self._relay.failed(str(exc))  # one line per outage, not one per batch
            replies = {r: Reply(0, f"relay unavailable: {exc}") for r in recipients}
        now = self._clock()
        outcomes = []
        for d in batch.deliveries:
            reply = replies.get(d.recipient, Reply(0, "no reply for this recipient"))
            verdict = decide(self._policy, reply.code, d.attempts, d.created_at, now)
            outcomes.append(Outcome(message.id, d.recipient, verdict.status, str(reply),
                                    verdict.next_try_at, verdict.bounce))
        return outcomes

    def _start_signature(self, batch: Batch) -> asyncio.Future[bytes] | None:
        """The batch's DKIM fields, being computed (None without a signer)."""
        signer, message = self._signer, batch.outgoing
        if signer is None:
            return None
        prepared = self._prepared.get(message.id)
        if prepared is None:
            try:
                prepared = signer.prepare(message.body,
                                          message.token_slot if message.personalised else None)
            except SigningFailed as exc:
                failed: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
                failed.set_exception(exc)
                return failed
            self._prepared[message.id] = prepared
        if message.personalised:
            return signer.request(prepared, batch.deliveries[0].token)
        shared = self._signatures.get(message.id)
        if shared is None:
            shared = signer.request(prepared, None)
            self._signatures[message.id] = shared
        # Shared by every batch of the message: one waiter's cancellation must not cancel it.
        return asyncio.shield(shared)

    def _notify(self, message: Outgoing, outcomes: Sequence[Outcome]) -> None:
        for o in outcomes:
            if o.status == "failed":
                log.warning("delivery of message %d to %s failed: %s",
                            message.id, o.recipient, o.reply)
                if self._on_failed is not None:
                    self._on_failed(message.list_name, o.recipient, o.reply)

