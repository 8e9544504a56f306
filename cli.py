"""Command-line entry points: `ccrlist` (list server and admin) and `chronicle` (newsletter).

Settings are loaded here, once, and passed down in the click context.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from ccrlist.commands.verbosity import configure
from ccrlist.config.loader import settings_from_env
from ccrlist.config.parse import describe
from ccrlist.config.settings import SettingsError

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


def _load(ctx: click.Context, config: str | None, verbose: int, quiet: bool) -> None:
    if verbose and quiet:
        raise click.UsageError("-v and -q cannot be used together")
    configure(ctx.meta, -1 if quiet else verbose)
    try:
        ctx.obj = settings_from_env(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _logging_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option("-q", "--quiet", is_flag=True,
                           help="Log only problems (warnings and errors).")(command)
    return click.option("-v", "--verbose", count=True,
                        help="Log progress; -vv logs everything, tracebacks included.")(command)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@_logging_options
@click.pass_context
def ccrlist(ctx: click.Context, config: str | None, verbose: int, quiet: bool) -> None:
    """ccrlist: the CCR discussion list server and its admin commands."""
    _load(ctx, config, verbose, quiet)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP)
@_logging_options
@click.pass_context
def chronicle(ctx: click.Context, config: str | None, verbose: int, quiet: bool) -> None:
    """chronicle: write, build and send the E-Chronicle newsletter."""
    _load(ctx, config, verbose, quiet)


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
        from ccrlist.commands.member_report import show
        from ccrlist.commands.members import make_members_group

        group = make_members_group(default_list, name, help_text)
        group.add_command(show)
        return group

    return load


def _lists() -> click.Command:
    from ccrlist.commands.members import lists_group
    from ccrlist.commands.owners import owners_group

    lists_group.add_command(owners_group)
    return lists_group


def _dkim() -> click.Command:
    from ccrlist.commands.dkim import dkim_group

    return dkim_group


def _command(module: str, name: str) -> Loader:
    """Load the click command `name` of `ccrlist.commands.<module>` when first used."""
    def load() -> click.Command:
        command = getattr(importlib.import_module(f"ccrlist.commands.{module}"), name)
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
    "serve": _command("posts", "serve"),
    "held": _command("posts", "held"),
    "status": _command("status", "status"),
    "deliveries": _command("deliveries", "deliveries"),
    "retry": _command("deliveries", "retry"),
})
def _chronicle_command(name: str) -> Loader:
    def load() -> click.Command:
        from echronicle.commands import chronicle as commands

        command = commands.commands[name]
        return command

    return load


_lazy(chronicle).update({
    "subscribers": _members("echronicle", "subscribers", "Manage E-Chronicle subscribers."),
    **{name: _chronicle_command(name) for name in ("publish", "check", "build", "preview",
                                                    "new")},
})


def _guarded(group: click.Group) -> None:
    """Run a command group; an unexpected error is one line on stderr, never a traceback."""
    try:
        group.main(standalone_mode=True)
    except Exception as exc:  # the last line of defence at the user's edge
        logging.getLogger("cli").debug("unexpected error", exc_info=True)
        click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); "
                   "rerun with -vv for details", err=True)
        sys.exit(1)


def ccrlist_main() -> None:
    _guarded(ccrlist)


def chronicle_main() -> None:
    _guarded(chronicle)


if __name__ == "__main__":
    ccrlist_main()
