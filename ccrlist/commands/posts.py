"""Click commands for the list server: `ccrlist serve` and `ccrlist held ...`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from typing import TypeVar

import click

from ccrlist.commands.verbosity import serving
from ccrlist.config.settings import Settings
from subscribers.db import DatabaseError, open_database
from subscribers.models import iso_utc
from subscribers.post_models import StoredPost
from subscribers.posts import PostError, PostStore
from subscribers.queue import QueueStore

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
    from ccrlist.serve_checks import StartupError
    from ccrlist.server import run

    serving(click.get_current_context().meta)
    try:
        run(settings, lambda line: click.echo(line, err=True))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {settings.server.host}:{settings.server.port} (SMTP) and "
            f"{settings.web.host}:{settings.web.port} (web): {exc}") from None
    except DatabaseError as exc:
        raise click.ClickException(f"database {settings.database_path}: {exc}") from None
    except DnsConfigError as exc:
        raise click.ClickException(f"checking senders needs DNS: {exc}") from None
    except (DkimKeyError, StartupError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def held() -> None:
    """Posts held for moderation: list, show, approve or reject them."""


def _line(post: StoredPost) -> str:
    return (f"{post.id}\t{post.permalink}\t{iso_utc(post.received_at)}\t{post.author}\t"
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
