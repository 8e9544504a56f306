"""Send a published issue: queue it durably for every receiver of the newsletter list (or one
test copy), then deliver it with the shared delivery worker.

Each language version is one outgoing message, rendered once with a token slot and
sent one copy per subscriber from a signed VERP sender (`echronicle-bounces+jo=...`);
`(source="issue", source_ref="<id>:<lang>")` makes a rerun add nobody twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.delivery.sender_lock import SenderLock
from ccrlist.delivery.signing import CopySigner
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.verp import verp_key
from ccrlist.delivery.worker import DeliveryWorker
from ccrlist.names import bounce_address
from echronicle.plan import (
    Delivery,
    NotSent,
    PublishRequest,
    Reporter,
    SendSummary,
    fallbacks,
    plan_deliveries,
    plan_test_copy,
)
from echronicle.reading.model import Edition
from echronicle.rendering.email import RenderedEmail, render_email
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.post_models import QueueCounts
from subscribers.queue import QueueStore

SOURCE = "issue"
FOLLOW_POLL = 0.5  # seconds between two looks at the queue while another process sends
FOLLOW_PATIENCE = 180  # seconds without progress after which publish stops following


async def send_edition(settings: Settings, edition: Edition, emails: Mapping[str, RenderedEmail],
                       request: PublishRequest, signer: CopySigner | None,
                       reporter: Reporter) -> SendSummary | None:
    """Queue and deliver `edition` as `request` asks; None when the list has no receivers.
    Every copy is DKIM-signed with `signer` (loaded at start-up); None sends unsigned."""
    if signer is None:
        reporter.note("DKIM signing is off ([dkim] key_file is empty): the issue goes out "
                      "unsigned")
    conn = await open_database(settings.database_path)
    try:
        deliveries, variant = await _plan(conn, settings, edition, request, reporter)
        if not deliveries:
            return None
        if variant:
            emails = {d.lang: render_email(edition.version(d.lang), settings,
                                           request.queued_at, variant)
                      for d in deliveries}
        return await _send(conn, settings, deliveries, emails, signer, reporter,
                           request.queued_at)
    finally:
        await conn.close()


async def _plan(conn: Connection, settings: Settings, edition: Edition,
                request: PublishRequest, reporter: Reporter) -> tuple[list[Delivery], str]:
    """The deliveries to queue, and the variant their message is rendered as."""
    if request.test_to:
        wanted = request.test_lang or edition.primary.lang
        if not edition.has(wanted):
            reporter.note(f"{edition.id} has no {wanted} version; the test copy is in "
                          f"{edition.version(wanted).lang}")
        return (plan_test_copy(edition, request.test_to, wanted, request.tag),
                f"test-{request.tag}")
    receivers = await MemberStore(conn).receivers(settings.newsletter.list)
    for fallback in fallbacks(edition, receivers):
        reporter.note(fallback.describe(edition.id))
    variant = f"resend-{request.tag}" if request.resend else ""
    return plan_deliveries(edition, receivers, variant), variant


async def _send(conn: Connection, settings: Settings, deliveries: Sequence[Delivery],
                emails: Mapping[str, RenderedEmail], signer: CopySigner | None,
                reporter: Reporter, queued_at: datetime) -> SendSummary:
    """Queue `deliveries` durably, then run the delivery worker until nothing is due."""
    queue = QueueStore(conn)
    outgoing_ids: list[int] = []
    queued = 0
    for delivery in deliveries:
        result = await queue.enqueue(
            list_name=settings.newsletter.list, source=SOURCE, source_ref=delivery.source_ref,
            sender=bounce_address(settings.newsletter.list, settings.domain),
            body=emails[delivery.lang].message, recipients=delivery.recipients,
            personalised=True, verp=True,  # one copy each, so VERP costs nothing
            now=queued_at.timestamp(),
        )
        outgoing_ids.append(result.outgoing_id)
        queued += result.recipients_added
    before = await _counts(queue, outgoing_ids)
    waiting = sum(c.pending + c.deferred for c in before)
    transport = make_transport(settings)
    sender = SenderLock(settings.database_path, "chronicle publish")
    holder = None
    if _take(sender):
        progress = reporter.sending(waiting) if waiting else None
    else:
        # `ccrlist serve` (or another publish) sends from this queue: sending here too would
        # take the same deliveries and send them twice. It sees our commit within a second.
        holder = sender.holder()
        reporter.note(f"{holder} is sending from this database: it sends the copies; "
                      "following its progress (Ctrl-C stops following, not sending)")
        left = sum(c.pending for c in before)
        progress = reporter.sending(left) if left else None
        if not await follow(queue, outgoing_ids, sender, left, progress):
            reporter.note(f"{holder} has sent none of the copies for "
                          f"{FOLLOW_PATIENCE // 60} minutes; they stay queued, and it sends "
                          "them when it can (ccrlist deliveries shows them)")
    sent_by = (transport.describe() if holder is None
               else f"{holder}, then {transport.describe()}" if sender.held else holder)
    if sender.held:
        try:
            worker = DeliveryWorker(queue, transport, settings.delivery, signer=signer,
                                    verp_key=verp_key(load_or_create_secret(settings.data_dir)))
            await worker.run_until_idle(progress)
        finally:
            sender.release()
    after = await _counts(queue, outgoing_ids)
    return SendSummary(
        queued=queued,
        sent=sum(c.sent for c in after) - sum(c.sent for c in before),
        deferred=sum(c.deferred for c in after),
        failed=sum(c.failed for c in after) - sum(c.failed for c in before),
        pending=sum(c.pending for c in after),
        transport=sent_by,
    )


def _take(sender: SenderLock) -> bool:
    try:
        return sender.acquire()
    except OSError as exc:
        raise NotSent(f"the copies are queued, but the sender lock {sender.path} cannot be "
                      f"opened ({exc.strerror or exc}): `ccrlist serve` sends them when it "
                      "runs, or publish again as a user who can open it") from None


async def follow(queue: QueueStore, outgoing_ids: Sequence[int], sender: SenderLock,
                  left: int, progress: Callable[[int], None] | None,
                  patience: float = FOLLOW_PATIENCE) -> bool:
    """Watch the process that holds the sender lock send our copies until none is left to
    try now (True). If that process ends first (stopped, or crashed), take the lock and
    return, so that we send the rest ourselves; if it sends nothing of ours for `patience`
    seconds (stopped with SIGSTOP, a relay that hangs), give up following (False): the
    copies stay queued for it."""
    loop = asyncio.get_running_loop()
    moved_at = loop.time()
    while left and not _take(sender):
        if loop.time() - moved_at > patience:
            return False
        await asyncio.sleep(FOLLOW_POLL)  # the other process's progress, read from the queue
        now = sum(c.pending for c in await _counts(queue, outgoing_ids))
        if now < left:
            moved_at = loop.time()
            if progress is not None:
                progress(left - now)
        left = now
    return True


async def _counts(queue: QueueStore, outgoing_ids: Sequence[int]) -> list[QueueCounts]:
    """Each queued message's deliveries by status, as they stand now."""
    return [await queue.counts(i) for i in outgoing_ids]
