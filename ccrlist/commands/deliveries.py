"""`ccrlist deliveries` (who got which message, and what the relay said) and `ccrlist retry`
(deferred deliveries due now; failed ones again with `--failed`)."""

from __future__ import annotations

import time
from collections import Counter

import click

from ccrlist.commands.delivery_text import cells, deliveries_csv, parse_since
from ccrlist.commands.members import EMAIL, with_connection
from ccrlist.config.settings import Settings
from subscribers.db import Connection
from subscribers.deliveries import DeliveryLog
from subscribers.operator_models import DELIVERY_STATES, DeliveryFilter, DeliveryRow, Retried
from subscribers.posts import PostStore

POST_HELP = "Only the copies of this post (its number or permalink, as `held list` shows)."


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_since(value, time.time())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


async def _post_outgoing(conn: Connection, ref: str) -> int | None:
    """The outgoing message of the post `ref`; None (and a note) when it has none yet."""
    post = await PostStore(conn).find(ref)
    if post is None:
        raise click.ClickException(f"no post '{ref}' (see 'ccrlist held list' or the "
                                   "server's log)")
    outgoing = await DeliveryLog(conn).post_outgoing(post.id)
    if outgoing is None:
        why = ("it is not expanded yet" if post.status == "accepted"
               else f"it is {post.status}: see 'ccrlist held show {post.id}'")
        click.echo(f"post {post.id} has no deliveries: {why}", err=True)
    return outgoing


@click.command()
@click.option("--post", "post_ref", metavar="ID|PERMALINK", help=POST_HELP)
@click.option("--to", "recipient", type=EMAIL, help="Only deliveries to this address.")
@click.option("--status", type=click.Choice(DELIVERY_STATES), default=None,
              help="Only deliveries in this state.")
@click.option("--since", type=str, callback=_since, metavar="DATE",
              help="Only deliveries queued or tried since DATE: 2026-11-24 (UTC), "
                   "2026-11-24T10:00, or an age such as 24h or 7d.")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV with a header row.")
@click.pass_obj
def deliveries(settings: Settings, post_ref: str | None, recipient: str | None,
               status: str | None, since: float | None, as_csv: bool) -> None:
    """One line per recipient: message, list, recipient, status, attempts, next try, last
    change and the relay's last reply (tab-separated)."""

    async def fetch(conn: Connection) -> list[DeliveryRow]:
        outgoing = await _post_outgoing(conn, post_ref) if post_ref else None
        if post_ref and outgoing is None:
            return []
        return await DeliveryLog(conn).rows(DeliveryFilter(
            outgoing, recipient, next((s for s in DELIVERY_STATES if s == status), None),
            since))

    rows = with_connection(settings, fetch)
    if as_csv:
        click.echo(deliveries_csv(rows), nl=False)
    else:
        for row in rows:
            click.echo("\t".join(cells(row)))
    by_state = Counter(row.status for row in rows)
    click.echo(f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}"
               + (f" ({', '.join(f'{by_state[s]} {s}' for s in DELIVERY_STATES if s in by_state)})"
                  if rows else ""), err=True)


@click.command()
@click.option("--post", "post_ref", metavar="ID|PERMALINK", help=POST_HELP)
@click.option("--to", "recipient", type=EMAIL, help="Only deliveries to this address.")
@click.option("--failed", "failed_too", is_flag=True,
              help="Also send failed deliveries again (a refused address may be refused "
                   "again, and counts as a bounce again).")
@click.pass_obj
def retry(settings: Settings, post_ref: str | None, recipient: str | None,
          failed_too: bool) -> None:
    """Make deferred deliveries due now (after fixing the relay, say); the running server
    sends them within seconds."""

    async def run(conn: Connection) -> Retried:
        outgoing = await _post_outgoing(conn, post_ref) if post_ref else None
        if post_ref and outgoing is None:
            return Retried()
        return await DeliveryLog(conn).retry(DeliveryFilter(outgoing, recipient), failed_too,
                                             time.time())

    done = with_connection(settings, run)
    click.echo(f"{done.deferred} deferred deliver{'y' if done.deferred == 1 else 'ies'} "
               "due now" + (f", {done.failed} failed one(s) queued again" if failed_too else ""))
    if done.deferred or done.failed:
        click.echo("a running 'ccrlist serve' sends them within seconds", err=True)
