"""Click commands `ccrlist lists owners add|remove|list`: who reads `<list>-owner@` mail."""

from __future__ import annotations

import click

from ccrlist.commands.members import EMAIL, with_connection
from ccrlist.config.settings import Settings
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.owners import OwnerStore


@click.group(name="owners")
def owners_group() -> None:
    """Manage the owners of a list (they get <list>-owner@ mail and bounce notices)."""


@owners_group.command(name="add")
@click.argument("list_name", metavar="LIST")
@click.argument("address", metavar="EMAIL", type=EMAIL)
@click.pass_obj
def add_owner(settings: Settings, list_name: str, address: str) -> None:
    """Make EMAIL an owner of LIST."""

    async def run(conn: Connection) -> bool:
        await MemberStore(conn).require_list(list_name)
        return await OwnerStore(conn).add(list_name, address)

    added = with_connection(settings, run)
    click.echo(f"{address}: {'now an owner' if added else 'already an owner'} of {list_name}")


@owners_group.command(name="remove")
@click.argument("list_name", metavar="LIST")
@click.argument("address", metavar="EMAIL", type=EMAIL)
@click.pass_obj
def remove_owner(settings: Settings, list_name: str, address: str) -> None:
    """Stop EMAIL being an owner of LIST."""

    async def run(conn: Connection) -> bool:
        await MemberStore(conn).require_list(list_name)
        return await OwnerStore(conn).remove(list_name, address)

    if not with_connection(settings, run):
        raise click.ClickException(f"{address} is not an owner of {list_name}")
    click.echo(f"{address}: no longer an owner of {list_name}")


@owners_group.command(name="list")
@click.argument("list_name", metavar="LIST")
@click.pass_obj
def list_owners(settings: Settings, list_name: str) -> None:
    """Show the owners of LIST, one per line."""

    async def run(conn: Connection) -> list[str]:
        await MemberStore(conn).require_list(list_name)
        return await OwnerStore(conn).owners(list_name)

    owners = with_connection(settings, run)
    for owner in owners:
        click.echo(owner)
    if not owners:
        click.echo(f"{list_name} has no owners in the database; [posting] owners "
                   "from the settings are used instead", err=True)
