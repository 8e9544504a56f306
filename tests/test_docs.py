"""README.md documents every setting and every command (a missing one fails the build)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest

from ccrlist.config.settings import Settings
from cli import ccrlist, chronicle

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _setting_keys() -> list[str]:
    keys: list[str] = []
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        if f.name == "source":
            continue
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            keys += [f"[{f.name}] {g.name}" for g in dataclasses.fields(value)]
        elif f.name == "relay":
            from ccrlist.config.settings import RelaySettings

            keys += [f"[relay] {g.name}" for g in dataclasses.fields(RelaySettings)]
        else:
            keys.append(f.name)
    return keys


@pytest.mark.parametrize("key", _setting_keys())
def test_every_setting_is_documented(key: str) -> None:
    assert f"`{key}`" in README, f"README.md does not document the setting {key}"


def _command_paths(group: click.Group, prefix: str) -> list[str]:
    paths: list[str] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        if isinstance(command, click.Group) and command.commands:
            paths += _command_paths(command, path)
        else:
            paths.append(path)
    return paths


@pytest.mark.parametrize(
    "command", _command_paths(ccrlist, "ccrlist") + _command_paths(chronicle, "chronicle"))
def test_every_command_is_documented(command: str) -> None:
    assert f"`{command}" in README, f"README.md does not document `{command}`"


def test_every_chronicle_command_is_reachable_from_the_cli() -> None:
    """`cli.py` registers the newsletter's commands lazily, by name: a new one in
    `echronicle/commands.py` must be added there too."""
    from echronicle.commands import chronicle as defined

    ctx = click.Context(chronicle)
    assert set(defined.commands) <= set(chronicle.list_commands(ctx))
