"""`ccrlist status`: the queue at a glance, each list's figures, the delivery waiting longest
with the relay's last reply, and the last day's failures by reply code."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import click

from ccrlist.commands.delivery_text import age, message_label, next_try
from ccrlist.commands.members import with_connection
from ccrlist.config.settings import Settings
from subscribers.db import Connection
from subscribers.deliveries import DeliveryLog
from subscribers.operator_models import DeliveryRow, ListFigures, ReplyCount
from subscribers.post_models import QueueCounts
from subscribers.posts import PostStore
from subscribers.queue import QueueStore

DAY = 86400.0


@dataclass(frozen=True)
class Status:
    posts: dict[str, int]
    queue: QueueCounts
    lists: list[ListFigures]
    oldest_deferred: DeliveryRow | None
    replies: list[ReplyCount]


def describe_queue(posts: dict[str, int], queue: QueueCounts, now: float) -> list[str]:
    oldest = ("-" if queue.oldest_pending_at is None
              else f"{max(0.0, now - queue.oldest_pending_at):.0f} s")
    return [
        f"posts accepted:         {posts.get('accepted', 0)}",
        f"posts held:             {posts.get('held', 0)}",
        f"posts not yet expanded: {posts.get('unexpanded', 0)}",
        f"messages in flight:     {queue.messages_in_flight}",
        f"recipients pending:     {queue.pending}",
        f"recipients deferred:    {queue.deferred}",
        f"recipients failed:      {queue.failed}",
        f"recipients sent:        {queue.sent}",
        f"oldest pending age:     {oldest}",
    ]


def describe_lists(figures: Sequence[ListFigures]) -> list[str]:
    """A table: one line per list, columns aligned."""
    head = ("list", "members", "accepted", "held", "pending", "deferred", "failed", "sent")
    rows = [head] + [(f.name, *(str(v) for v in (f.members, f.accepted, f.held, f.pending,
                                                 f.deferred, f.failed, f.sent)))
                     for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return ["  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows]


def describe_oldest(row: DeliveryRow | None, now: float) -> list[str]:
    if row is None:
        return ["oldest deferred:        none"]
    return [f"oldest deferred:        {row.recipient}, {message_label(row)}, waiting "
            f"{age(now - row.created_at)}, {row.attempts} attempt(s), next try {next_try(row)}",
            f"  last reply:           {' '.join(row.last_reply.split()) or '-'}"]


def describe_replies(counts: Sequence[ReplyCount]) -> list[str]:
    if not counts:
        return ["last 24 h:              no delivery failed or was deferred"]
    lines = ["last 24 h, by reply code (failed / deferred):"]
    for c in counts:
        note = "  (no answer: relay unavailable or timed out)" if c.code == "0" else ""
        lines.append(f"  {c.code:<6} {c.failed:>6} failed  {c.deferred:>6} deferred{note}")
    return lines


def describe(status: Status, now: float) -> list[str]:
    return [*describe_queue(status.posts, status.queue, now), "", "lists:",
            *describe_lists(status.lists), "", *describe_oldest(status.oldest_deferred, now),
            "", *describe_replies(status.replies)]


@click.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Show the queue, each list's figures, the oldest deferred delivery and its last reply,
    and the last 24 hours' failures by reply code."""
    now = time.time()

    async def fetch(conn: Connection) -> Status:
        log = DeliveryLog(conn)
        return Status(await PostStore(conn).counts(), await QueueStore(conn).counts(),
                      await log.figures(), await log.oldest_deferred(),
                      await log.replies_since(now - DAY))

    for line in describe(with_connection(settings, fetch), now):
        click.echo(line)
