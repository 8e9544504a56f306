"""Click commands for digests: `ccrlist digests send` and `ccrlist digests show`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from ccrlist.config.settings import Settings
from ccrlist.digests.content import human_size
from ccrlist.digests.plan import Occasion, groups, why_due
from ccrlist.digests.runner import DigestRunner, ListPlan, SentIssue
from ccrlist.digests.schedule import following, local_time
from subscribers.db import DatabaseError, open_database
from subscribers.digests import DigestStore
from subscribers.members import StoreError
from subscribers.post_models import StoredPost

T = TypeVar("T")


def with_runner(settings: Settings,
                action: Callable[[DigestRunner, DigestStore], Awaitable[T]]) -> T:
    """Open the store, run `action`, close; store errors become clean exits."""

    async def go() -> T:
        conn = await open_database(settings.database_path)
        try:
            return await action(DigestRunner(conn, settings), DigestStore(conn))
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except DatabaseError as exc:
        raise click.ClickException(f"database {settings.database_path}: {exc}") from None


async def _lists(store: DigestStore, list_name: str | None) -> list[str]:
    names = await store.list_names()
    if list_name is not None and list_name not in names:
        raise StoreError(f"no list named '{list_name}' (lists: {', '.join(names)})")
    return names if list_name is None else [list_name]


@click.group(name="digests")
def digests_group() -> None:
    """Daily and weekly digests: what the next ones hold, and sending them now."""


@digests_group.command(name="send")
@click.option("--list", "list_name", default=None, help="Only this list (default: all).")
@click.option("--all", "everything", is_flag=True,
              help="Send every held post now, whatever the schedule says.")
@click.pass_obj
def send(settings: Settings, list_name: str | None, everything: bool) -> None:
    """Queue the digests that are due now (or, with --all, every digest); the running
    `ccrlist serve` delivers them."""

    async def go(runner: DigestRunner, store: DigestStore) -> list[SentIssue]:
        return await runner.send_due(await _lists(store, list_name), everything)

    sent = with_runner(settings, go)
    for done in sent:
        click.echo(f"{done.list_name}: queued Vol {done.issue.volume}, Issue "
                   f"{done.issue.number}: {done.posts} post(s) to {done.members} member(s) "
                   f"in {done.messages} message(s)")
    if not sent:
        click.echo("no digest is due" + ("" if everything else
                                         " (--all sends every held post now)"))


@digests_group.command(name="show")
@click.option("--list", "list_name", default=None, help="Only this list (default: all).")
@click.pass_obj
def show(settings: Settings, list_name: str | None) -> None:
    """Show what the next digests would hold, for whom, and when they go."""

    async def go(runner: DigestRunner,
                 store: DigestStore) -> list[tuple[ListPlan, dict[int, StoredPost]]]:
        plans = []
        for name in await _lists(store, list_name):
            plan = await runner.plan(name)
            ids = sorted({i for m in plan.waiting for i in m.post_ids})
            plans.append((plan, await store.posts(ids) if ids else {}))
        return plans

    for plan, posts in with_runner(settings, go):
        for line in describe_plan(plan, posts, settings):
            click.echo(line)


KINDS = {"daily": "daily digest", "weekly": "weekly digest",
         "each": "last digest (now back to each post)"}


def describe_plan(plan: ListPlan, posts: dict[int, StoredPost],
                  settings: Settings) -> list[str]:
    """The lines `digests show` prints for one list."""
    if not plan.waiting:
        return [f"{plan.list_name}: no post is held for a digest"]
    lines = [f"{plan.list_name}: next issue Vol {plan.issue.volume}, Issue {plan.issue.number}"]
    # Every member who receives, grouped as a run would group them if all were due.
    for group in groups(plan.waiting, Occasion(everything=True)):
        when = ("now" if why_due(group.members[0], plan.occasion) is not None
                else local_time(following("weekly" if group.mode == "weekly" else "daily",
                                          plan.now, settings.digest), settings.digest.zone))
        size = sum(len(posts[i].raw) for i in group.post_ids if i in posts)
        form = "plain text" if group.digest_format == "plain" else "MIME"
        lines.append(f"  {KINDS.get(group.mode, group.mode)}, {group.lang}, {form}: "
                     f"{len(group.members)} member(s), {len(group.post_ids)} post(s), "
                     f"{human_size(size)}; goes {when}")
        lines += [f"    {n}. {posts[i].subject or '(no subject)'} ({posts[i].author})"
                  for n, i in enumerate(group.post_ids, 1) if i in posts]
    paused = [m for m in plan.waiting if not m.receiving]
    if paused:
        held = len({i for m in paused for i in m.post_ids})
        lines.append(f"  paused: {len(paused)} member(s), {held} post(s) held for the "
                     "first digest after their pause")
    return lines
