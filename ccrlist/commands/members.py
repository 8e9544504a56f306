"""Click commands for list admins: `ccrlist members`, `ccrlist lists`, `chronicle subscribers`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from ccrlist.config.settings import Settings
from ccrlist.names import SITE_ROLES
from subscribers.addresses import AddressError, address_key, normalise_address, normalise_name
from subscribers.bounces import BounceStore
from subscribers.csvfile import format_members_csv, parse_members_csv
from subscribers.db import Connection, DatabaseError, open_database
from subscribers.members import MemberStore, StoreError
from subscribers.models import (
    LANGS,
    POSTING_POLICIES,
    STATUSES,
    ImportReport,
    NewMember,
    PostingPolicy,
)

T = TypeVar("T")


def with_members(settings: Settings, action: Callable[[MemberStore], Awaitable[T]]) -> T:
    """Open the store, run `action`, close; store and address errors become clean exits."""
    return with_connection(settings, lambda conn: action(MemberStore(conn)))


def with_connection(settings: Settings, action: Callable[[Connection], Awaitable[T]]) -> T:
    """`with_members` for commands that need more than the member store."""

    async def run() -> T:
        conn = await open_database(settings.database_path)
        try:
            return await action(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(run())
    except (StoreError, AddressError) as exc:
        raise click.ClickException(str(exc)) from None
    except DatabaseError as exc:
        raise click.ClickException(f"database {settings.database_path}: {exc}") from None


class EmailAddress(click.ParamType[str]):
    """A command-line address, validated and normalised like every stored address."""

    name = "email"

    def convert(self, value: str, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        try:
            return normalise_address(value)
        except AddressError as exc:
            self.fail(str(exc), param, ctx)


EMAIL = EmailAddress()


def _summary(report: ImportReport) -> str:
    return f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged"


def make_members_group(default_list: str, name: str, help_text: str) -> click.Group:
    """The member commands, defaulting to `default_list`."""
    list_option = click.option("--list", "list_name", default=default_list, show_default=True,
                               help="The list to work on.")

    @click.group(name=name, help=help_text)
    def group() -> None:
        pass

    @group.command()
    @click.argument("email", type=EMAIL)
    @click.option("--name", default="", help="Display name.")
    @click.option("--lang", type=click.Choice(LANGS), default=None,
                  help="Preferred language (new members: en; existing: unchanged).")
    @list_option
    @click.pass_obj
    def add(settings: Settings, email: str, name: str, lang: str | None, list_name: str) -> None:
        """Subscribe EMAIL (or re-activate it) as an active member."""
        try:
            row = NewMember(email, normalise_name(name),
                            "fr" if lang == "fr" else ("en" if lang else None))
        except AddressError as exc:
            raise click.BadParameter(str(exc), param_hint="--name") from None
        report = with_members(settings, lambda s: s.add(list_name, [row]))
        verb = ("subscribed" if report.added
                else "updated" if report.updated else "already subscribed")
        click.echo(f"{row.address}: {verb} to {list_name}")

    @group.command()
    @click.argument("address", metavar="EMAIL", type=EMAIL)
    @list_option
    @click.pass_obj
    def remove(settings: Settings, address: str, list_name: str) -> None:
        """Unsubscribe EMAIL."""
        if not with_members(settings, lambda s: s.remove(list_name, address)):
            raise click.ClickException(f"{address} is not subscribed to {list_name}")
        click.echo(f"{address}: unsubscribed from {list_name}")

    @group.command(name="list")
    @list_option
    @click.option("--status", type=click.Choice(STATUSES), default=None,
                  help="Only members with this status (default: all).")
    @click.pass_obj
    def list_members(settings: Settings, list_name: str, status: str | None) -> None:
        """Show the members of a list, one per line."""

        async def fetch(conn: Connection) -> list[str]:
            s = MemberStore(conn)
            await s.require_list(list_name)
            members = await s.members(list_name, status)  # type: ignore[arg-type]
            reasons = await BounceStore(conn).last_reasons(list_name)
            # Disabled members also show why: the last bounce recorded for them.
            return [f"{m.address}\t{m.name}\t{m.lang}\t{m.status}\t{m.delivery_mode}"
                    + (f"\t{reasons.get(address_key(m.address), '')}"
                       if m.status == "disabled" else "")
                    for m in members]

        lines = with_connection(settings, fetch)
        for line in lines:
            click.echo(line)
        click.echo(f"{len(lines)} member(s)", err=True)

    @group.command(name="import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @list_option
    @click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
    @click.pass_obj
    def import_members(settings: Settings, file: Path, list_name: str, dry_run: bool) -> None:
        """Subscribe everyone in a CSV file (columns email,name,lang). Idempotent."""
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{file}: cannot read: {exc}") from None
        rows, errors = parse_members_csv(text)
        for error in errors:
            click.echo(f"{file}:{error.line}: {error.message}", err=True)
        if dry_run:
            report = with_members(settings, lambda s: s.preview_add(list_name, rows))
            click.echo(f"dry run, nothing changed: would be {_summary(report)}")
        else:
            report = with_members(settings, lambda s: s.add(list_name, rows))
            click.echo(f"{list_name}: {_summary(report)}")
        if errors:
            click.echo(f"{len(errors)} row(s) skipped", err=True)
            raise SystemExit(1)

    @group.command()
    @click.argument("address", metavar="EMAIL", type=EMAIL)
    @list_option
    @click.pass_obj
    def enable(settings: Settings, address: str, list_name: str) -> None:
        """Re-enable EMAIL after bounces disabled it; its bounce score starts again at zero."""

        async def run(conn: Connection) -> str:
            await MemberStore(conn).require_list(list_name)
            return await BounceStore(conn).enable(list_name, address, time.time())

        result = with_connection(settings, run)
        if result == "not_member":
            raise click.ClickException(f"{address} is not a member of {list_name}")
        if result == "not_disabled":
            raise click.ClickException(f"{address} is not disabled on {list_name}")
        click.echo(f"{address}: enabled on {list_name}")

    @group.command()
    @list_option
    @click.pass_obj
    def export(settings: Settings, list_name: str) -> None:
        """Write active members as CSV to standard output (readable by import)."""

        async def fetch(s: MemberStore) -> str:
            await s.require_list(list_name)
            return format_members_csv(await s.members(list_name, "active"))

        click.echo(with_members(settings, fetch), nl=False)

    return group


@click.group(name="lists", invoke_without_command=True)
@click.pass_context
def lists_group(ctx: click.Context) -> None:
    """Show the lists, or create one."""
    if ctx.invoked_subcommand is None:
        settings: Settings = ctx.obj
        for lst in with_members(settings, lambda s: s.lists()):
            click.echo(f"{lst.name}@{settings.domain}\t{lst.policy}\t{lst.members} active"
                       f"\t{lst.description}")


@lists_group.command(name="create")
@click.argument("name")
@click.option("--policy", type=click.Choice(POSTING_POLICIES), default="subscribers",
              show_default=True,
              help="subscribers: members post; announce: only the publisher and editors post.")
@click.option("--description", default="", help="One line saying what the list is for.")
@click.pass_obj
def create_list(settings: Settings, name: str, policy: str, description: str) -> None:
    """Create the list NAME."""
    if name in SITE_ROLES:
        raise click.ClickException(f"'{name}' is not a list name: {name}@{settings.domain} "
                                   "is the site's own address, forwarded to its owners")
    chosen: PostingPolicy = "announce" if policy == "announce" else "subscribers"
    created = with_members(settings, lambda s: s.create_list(name, chosen, description))
    click.echo(f"created {created.name}@{settings.domain} ({created.policy})")
