"""Command-line entry points: `ccrlist` (list server and admin) and `chronicle` (newsletter).

Settings are loaded here, once, and passed down in the click context.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from ccrlist.config.loader import settings_from_env
from ccrlist.config.parse import describe
from ccrlist.config.settings import SettingsError
from echronicle.commands import chronicle as chronicle_commands

CONFIG_HELP = "Settings file (default: $CCR_CONFIG, else ./ccr.toml if present)."

Loader = Callable[[], click.Command]


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first used, so each command starts fast.

    `chronicle publish` then never loads the SMTP server, and `ccrlist serve` never
    loads the newsletter renderer.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Loader] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            self.add_command(self.lazy[cmd_name](), cmd_name)
        return super().get_command(ctx, cmd_name)


def _load(ctx: click.Context, config: str | None, verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    # The format above uses no caller, thread or process fields; not collecting them
    # (the logging HOWTO's "Optimization" switches) halves the cost of the line that
    # `serve` logs for every post.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    try:
        ctx.obj = settings_from_env(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to standard error.")
@click.pass_context
def ccrlist(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """ccrlist: the CCR discussion list server and its admin commands."""
    _load(ctx, config, verbose)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    from ccrlist.config.settings import Settings

    assert isinstance(settings, Settings)
    for key, value in describe(settings):
        click.echo(f"{key} = {value}")


def _members(default_list: str, name: str, help_text: str) -> Loader:
    def load() -> click.Command:
        from ccrlist.commands.members import make_members_group

        return make_members_group(default_list, name, help_text)

    return load


def _lists() -> click.Command:
    from ccrlist.commands.members import lists_group
    from ccrlist.commands.owners import owners_group

    lists_group.add_command(owners_group)
    return lists_group


def _digests() -> click.Command:
    from ccrlist.commands.digests import digests_group

    return digests_group


def _dkim() -> click.Command:
    from ccrlist.commands.dkim import dkim_group

    return dkim_group


def _server_command(name: str) -> Loader:
    def load() -> click.Command:
        from ccrlist.commands import posts as commands

        command = getattr(commands, name)
        assert isinstance(command, click.Command)
        return command

    return load


def _lazy(group: click.Group) -> dict[str, Loader]:
    assert isinstance(group, LazyGroup)
    return group.lazy


_lazy(ccrlist).update({
    "members": _members("ccrlist", "members", "Manage ccrlist members."),
    "lists": _lists,
    "dkim": _dkim,
    "digests": _digests,
    "serve": _server_command("serve"),
    "held": _server_command("held"),
    "status": _server_command("status"),
})
_lazy(chronicle)["subscribers"] = _members("echronicle", "subscribers",
                                           "Manage E-Chronicle subscribers.")
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
