"""Queue an issue for every active subscriber in the shared outbox, then deliver it.

Each language version is one outgoing message, rendered once with a token slot and
sent one copy per subscriber from a VERP sender (`echronicle-bounces+jo=example.org@`);
`(source="issue", source_ref="<id>:<lang>")` makes a rerun add nobody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.delivery.signing import CopySigner
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.verp import verp_key as derive_verp_key
from ccrlist.delivery.worker import DeliveryWorker
from ccrlist.names import bounce_address
from echronicle.reading.model import Edition
from echronicle.rendering.email import RenderedEmail
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import Member
from subscribers.queue import QueueStore, Recipient

log = logging.getLogger("echronicle.publish")

SOURCE = "issue"
TEST_TOKEN = "test-copy"

# Called with the number of deliveries about to be attempted; returns a per-batch callback.
ProgressFactory = Callable[[int], Callable[[int], None]]


@dataclass(frozen=True)
class Delivery:
    """One outgoing message to queue: a language version and who gets it."""

    lang: str
    source_ref: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True)
class SendSummary:
    queued: int  # recipients newly added by this run
    sent: int  # by this run
    deferred: int  # waiting for a retry after a temporary failure
    failed: int  # by this run
    pending: int  # not yet tried (e.g. the relay was unreachable)
    transport: str


@dataclass(frozen=True)
class Fallback:
    """Subscribers who prefer a language the issue was not written in, and what they get."""

    wanted: str
    given: str
    count: int

    def describe(self, issue_id: str) -> str:
        return (f"{self.count} subscriber(s) prefer {self.wanted} but {issue_id} has no "
                f"{self.wanted} version; they get {self.given}")


def _receives(member: Member) -> bool:
    return member.status == "active" and member.delivery_mode != "nomail"


def plan_deliveries(edition: Edition, members: Iterable[Member], ref_suffix: str = ""
                    ) -> list[Delivery]:
    """Pure: group active members by the version they get (their language, else the primary)."""
    groups: dict[str, list[Recipient]] = {v.lang: [] for v in edition.versions}
    for member in members:
        if _receives(member):
            groups[edition.version(member.lang).lang].append(
                Recipient(member.address, member.token))
    suffix = f":{ref_suffix}" if ref_suffix else ""
    return [Delivery(lang, f"{edition.id}:{lang}{suffix}", tuple(people))
            for lang, people in groups.items() if people]


def fallbacks(edition: Edition, members: Iterable[Member]) -> list[Fallback]:
    """Pure: per missing language, how many receiving members get another version instead."""
    counts: dict[str, int] = {}
    for member in members:
        if _receives(member) and not edition.has(member.lang):
            counts[member.lang] = counts.get(member.lang, 0) + 1
    return [Fallback(lang, edition.version(lang).lang, count)
            for lang, count in sorted(counts.items())]


def plan_test_copy(edition: Edition, address: str, lang: str, tag: str) -> list[Delivery]:
    """One copy for an editor; the tag (a timestamp) makes every test a new message."""
    version = edition.version(lang)
    return [Delivery(version.lang, f"{edition.id}:{version.lang}:test-{tag}:{address}",
                     (Recipient(address, TEST_TOKEN),))]


async def send(settings: Settings, deliveries: Sequence[Delivery],
               emails: Mapping[str, RenderedEmail], signer: CopySigner | None,
               progress: ProgressFactory | None = None) -> SendSummary:
    """Queue `deliveries` durably, then run the delivery worker until nothing is due.

    Every copy is DKIM-signed with `signer` (loaded at start-up); None sends unsigned.
    """
    if signer is None:
        log.warning("DKIM signing is off ([dkim] key_file is empty): the issue goes out "
                    "unsigned")
    conn = await open_database(settings.database_path)
    try:
        queue = QueueStore(conn)
        outgoing_ids: list[int] = []
        queued = 0
        for delivery in deliveries:
            result = await queue.enqueue(
                list_name=settings.newsletter.list, source=SOURCE,
                source_ref=delivery.source_ref,
                sender=bounce_address(settings.newsletter.list, settings.domain),
                body=emails[delivery.lang].message, recipients=delivery.recipients,
                personalised=True, verp=True,  # one copy each, so VERP costs nothing
            )
            outgoing_ids.append(result.outgoing_id)
            queued += result.recipients_added
        before = [await queue.counts(i) for i in outgoing_ids]
        waiting = sum(c.pending + c.deferred for c in before)
        transport = make_transport(settings)
        worker = DeliveryWorker(queue, transport, settings.delivery, signer=signer,
                                verp_key=derive_verp_key(load_or_create_secret(settings.data_dir)))
        callback = progress(waiting) if progress is not None and waiting else None
        await worker.run_until_idle(callback)
        after = [await queue.counts(i) for i in outgoing_ids]
        return SendSummary(
            queued=queued,
            sent=sum(c.sent for c in after) - sum(c.sent for c in before),
            deferred=sum(c.deferred for c in after),
            failed=sum(c.failed for c in after) - sum(c.failed for c in before),
            pending=sum(c.pending for c in after),
            transport=transport.describe(),
        )
    finally:
        await conn.close()


async def active_members(settings: Settings) -> list[Member]:
    conn = await open_database(settings.database_path)
    try:
        return await MemberStore(conn).members(settings.newsletter.list, "active")
    finally:
        await conn.close()
