"""`ccrlist members show EMAIL`: a person's memberships with their delivery mode and
language, each list's bounce score with its last reports, and the last delivery."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import click

from ccrlist.bounces.score import DAY, bounce_score
from ccrlist.commands.delivery_text import message_label
from ccrlist.commands.members import EMAIL, with_connection
from ccrlist.config.settings import BounceSettings, Settings
from subscribers.bounces import BounceStore
from subscribers.db import Connection
from subscribers.deliveries import DeliveryLog
from subscribers.members import MemberStore
from subscribers.models import BounceEvent, Member, iso_utc
from subscribers.operator_models import DeliveryRow
from subscribers.owners import OwnerStore

LAST_REPORTS = 5


@dataclass(frozen=True)
class Standing:
    """One membership as `members show` tells it."""

    member: Member
    score: int
    reports: tuple[BounceEvent, ...]  # within the bounce window, newest first
    last_delivery: DeliveryRow | None


def _when(at: float | None) -> str:
    return "-" if at is None else iso_utc(at)


def describe_member(address: str, standings: Sequence[Standing], owner_of: Sequence[str],
                    bounces: BounceSettings) -> list[str]:
    """The lines `members show` prints (pure)."""
    lines = [f"address:   {address}"]
    if standings:
        first = standings[0].member
        lines += [f"name:      {first.name or '-'}", f"language:  {first.lang}"]
    if owner_of:
        lines.append(f"owner of:  {', '.join(owner_of)}")
    for s in standings:
        m = s.member
        lines += ["", f"{m.list_name}:",
                  f"  status:         {m.status}"
                  + (f" since {_when(m.left_at)}" if m.status != "active" and m.left_at else ""),
                  f"  delivery mode:  {m.delivery_mode}",
                  f"  joined:         {_when(m.joined_at)}",
                  f"  bounce score:   {s.score} (disabled at {bounces.threshold}; bounce days "
                  f"in the last {bounces.window_days:g} days)"]
        if s.reports:
            lines.append("  last reports:   " + "\n                  ".join(
                f"{_when(e.at)} {e.kind}: {' '.join(e.reply.split()) or '-'}"
                for e in s.reports))
        d = s.last_delivery
        lines.append("  last delivery:  -" if d is None else
                     f"  last delivery:  {_when(d.updated_at)} {d.status}, {message_label(d)}, "
                     f"{d.attempts} attempt(s): {' '.join(d.last_reply.split()) or '-'}")
    return lines


async def standings(conn: Connection, address: str, bounces: BounceSettings,
                    now: float) -> list[Standing]:
    found = []
    for member in await MemberStore(conn).memberships_of(address):
        events = await BounceStore(conn).events(member.list_name, member.address,
                                                now - bounces.window_days * DAY)
        found.append(Standing(member, bounce_score(events, bounces.soft_persist_days * DAY),
                              tuple(reversed(events[-LAST_REPORTS:])),
                              await DeliveryLog(conn).last_to(member.address, member.list_name)))
    return found


@click.command(name="show")
@click.argument("address", metavar="EMAIL", type=EMAIL)
@click.pass_obj
def show(settings: Settings, address: str) -> None:
    """Show EMAIL's lists: status, delivery mode, language, bounce score with its last
    reports, and the last delivery."""

    async def fetch(conn: Connection) -> tuple[list[Standing], list[str]]:
        return (await standings(conn, address, settings.bounces, time.time()),
                await OwnerStore(conn).lists_owned(address))

    found, owned = with_connection(settings, fetch)
    if not found and not owned:
        raise click.ClickException(f"{address} is not on any list (see 'ccrlist members "
                                   "list')")
    shown = found[0].member.address if found else address
    for line in describe_member(shown, found, owned, settings.bounces):
        click.echo(line)
