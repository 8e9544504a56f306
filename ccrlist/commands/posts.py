"""Click commands for the list server: `ccrlist serve`, `ccrlist held ...`, `ccrlist status`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from typing import TypeVar

import click

from ccrlist.config.settings import Settings
from subscribers.db import DatabaseError, open_database
from subscribers.posts import PostError, PostStore, StoredPost
from subscribers.queue import QueueCounts, QueueStore

T = TypeVar("T")


def with_posts(settings: Settings, action: Callable[[PostStore, QueueStore], Awaitable[T]]) -> T:
    """Open the store, run `action`, close; store errors become clean exits."""

    async def go() -> T:
        conn = await open_database(settings.database_path)
        try:
            return await action(PostStore(conn), QueueStore(conn))
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except PostError as exc:
        raise click.ClickException(str(exc)) from None
    except DatabaseError as exc:
        raise click.ClickException(f"database {settings.database_path}: {exc}") from None


@click.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Receive posts over SMTP or LMTP and deliver them, until SIGINT or SIGTERM."""
    # Imported here so that every other command (and `chronicle`) starts without aiosmtpd.
    from ccrlist.auth.resolver import DnsConfigError
    from ccrlist.delivery.dkim_errors import DkimKeyError
    from ccrlist.server import run

    for name in ("ccrlist", "outbox"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        run(settings)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {settings.server.host}:{settings.server.port} (SMTP) and "
            f"{settings.web.host}:{settings.web.port} (web): {exc}") from None
    except DatabaseError as exc:
        raise click.ClickException(f"database {settings.database_path}: {exc}") from None
    except DnsConfigError as exc:
        raise click.ClickException(f"checking senders needs DNS: {exc}") from None
    except DkimKeyError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def held() -> None:
    """Posts held for moderation: list, show, approve or reject them."""


def _line(post: StoredPost) -> str:
    return (f"{post.id}\t{post.permalink}\t{post.received_at}\t{post.author}\t"
            f"{post.reason or '-'}\t{post.subject}")


@held.command(name="list")
@click.option("--list", "list_name", default=None, help="Only posts to this list.")
@click.pass_obj
def held_list(settings: Settings, list_name: str | None) -> None:
    """Show held posts: id, permalink, received, author, reason, subject."""
    posts = with_posts(settings, lambda p, _q: p.held(list_name))
    for post in posts:
        click.echo(_line(post))
    click.echo(f"{len(posts)} held post(s)", err=True)


async def _get(posts: PostStore, ref: str) -> StoredPost:
    found = await posts.find(ref)
    if found is None:
        raise PostError(f"no post '{ref}' (see 'ccrlist held list')")
    return found


@held.command(name="show")
@click.argument("post")
@click.option("--raw", is_flag=True, help="Print the message exactly as received.")
@click.pass_obj
def held_show(settings: Settings, post: str, raw: bool) -> None:
    """Show the held POST (its id or permalink)."""
    found = with_posts(settings, lambda p, _q: _get(p, post))
    if raw:
        click.echo(found.raw.decode("utf-8", "replace"), nl=False)
        return
    click.echo(_line(found))
    msg = message_from_bytes(found.raw, policy=policy.default)
    part = msg.get_body(("plain",)) if msg.is_multipart() or msg.get_content_type() \
        == "text/plain" else None
    text = part.get_content() if part is not None else "(no plain-text part; use --raw)"
    click.echo("")
    click.echo(str(text)[:4000])


@held.command(name="approve")
@click.argument("post")
@click.pass_obj
def held_approve(settings: Settings, post: str) -> None:
    """Send the held POST to the list (the running server picks it up)."""
    done = with_posts(settings, lambda p, _q: p.moderate_held(post, "accepted", "approved"))
    click.echo(f"approved post {done.id} ({done.permalink})")


@held.command(name="reject")
@click.argument("post")
@click.option("--reason", default="rejected by a moderator", show_default=True)
@click.pass_obj
def held_reject(settings: Settings, post: str, reason: str) -> None:
    """Refuse the held POST; it stays in the database, marked rejected, and is never sent."""
    done = with_posts(settings, lambda p, _q: p.moderate_held(post, "rejected", reason))
    click.echo(f"rejected post {done.id} ({done.permalink})")


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


@click.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Show the delivery queue: posts in flight, recipients pending/deferred/failed."""

    async def fetch(p: PostStore, q: QueueStore) -> tuple[dict[str, int], QueueCounts]:
        return await p.counts(), await q.counts()

    posts, queue = with_posts(settings, fetch)
    for line in describe_queue(posts, queue, time.time()):
        click.echo(line)
