"""Command-line entry points: `ccrlist` (list server and admin) and `chronicle` (newsletter).

Settings are loaded here, once, and passed down in the click context.
"""

from __future__ import annotations

import logging
import sys

import click

from ccrconfig.settings import SettingsError, describe, settings_from_env
from ccrlist import commands as ccrlist_commands
from ccrlist.owners_cli import owners_group
from echronicle.commands import chronicle as chronicle_commands
from subscribers.commands import lists_group, make_members_group

CONFIG_HELP = "Settings file (default: $CCR_CONFIG, else ./ccr.toml if present)."


def _load(ctx: click.Context, config: str | None, verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    try:
        ctx.obj = settings_from_env(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to standard error.")
@click.pass_context
def ccrlist(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """ccrlist: the CCR discussion list server and its admin commands."""
    _load(ctx, config, verbose)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to standard error.")
@click.pass_context
def chronicle(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """chronicle: write, build and send the E-Chronicle newsletter."""
    _load(ctx, config, verbose)


@ccrlist.command()
@click.pass_obj
def config(settings: object) -> None:
    """Print the effective settings (passwords masked)."""
    from ccrconfig.settings import Settings

    assert isinstance(settings, Settings)
    for key, value in describe(settings):
        click.echo(f"{key} = {value}")


ccrlist.add_command(make_members_group("ccrlist", "members", "Manage ccrlist members."))
ccrlist.add_command(lists_group)
lists_group.add_command(owners_group)
ccrlist.add_command(ccrlist_commands.serve)
ccrlist.add_command(ccrlist_commands.held)
ccrlist.add_command(ccrlist_commands.status)
chronicle.add_command(
    make_members_group("echronicle", "subscribers", "Manage E-Chronicle subscribers."))
for _command in chronicle_commands.commands.values():
    chronicle.add_command(_command)


def _guarded(group: click.Group) -> None:
    """Run a command group; an unexpected error is one line on stderr, never a traceback."""
    try:
        group.main(standalone_mode=True)
    except Exception as exc:  # the last line of defence at the user's edge
        logging.getLogger("cli").debug("unexpected error", exc_info=True)
        click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); "
                   "rerun with -v for details", err=True)
        sys.exit(1)


def ccrlist_main() -> None:
    _guarded(ccrlist)


def chronicle_main() -> None:
    _guarded(chronicle)


if __name__ == "__main__":
    ccrlist_main()
