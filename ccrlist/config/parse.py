"""Turn parsed TOML into `Settings` (pure), refusing unknown keys and wrong types, and show
settings back as key = value lines with passwords masked."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ccrlist.config.checks import BASE_URLS, base_url, number_problem
from ccrlist.config.settings import Settings, SettingsError


def parse_settings(data: Mapping[str, Any], source: str) -> Settings:
    """Build `Settings` from parsed TOML; errors name the key and the file."""
    values: Settings = _build(Settings, data, source, "", skip={"source"})
    return dataclasses.replace(values, source=source)


def _build(cls: type[Any], data: Mapping[str, Any], source: str, prefix: str,
           skip: set[str] | None = None) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)} - (skip or set())
    kwargs: dict[str, Any] = {}
    for key, raw in data.items():
        name = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise SettingsError(f"{source}: unknown setting '{name}' (known here: {known})")
        kwargs[key] = _checked(_convert(hints[key], raw, source, name), source, name)
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a check in __post_init__
        raise SettingsError(f"{source}: {exc}") from None


def _checked(value: Any, source: str, name: str) -> Any:
    """`value` once it meets the rules of `checks.py` for the key `name`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        problem = number_problem(name, value)
        if problem is not None:
            raise SettingsError(f"{source}: '{name}' {problem}, not {value!r}")
    if name in BASE_URLS:
        try:
            return base_url(value)
        except ValueError as exc:
            raise SettingsError(f"{source}: '{name}' {exc}, not {value!r}") from None
    return value


def _convert(hint: Any, raw: Any, source: str, name: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if raw == "" and inner[0] is Path:
            return None  # an optional path left empty is unset
        return _convert(inner[0], raw, source, name)
    if dataclasses.is_dataclass(hint):
        if not isinstance(raw, dict):
            raise SettingsError(f"{source}: '{name}' must be a table ([{name}])")
        return _build(hint, raw, source, f"{name}.")  # type: ignore[arg-type]
    if origin is Literal:
        if raw not in args:
            choices = ", ".join(repr(a) for a in args)
            raise SettingsError(f"{source}: '{name}' must be one of {choices}, not {raw!r}")
        return raw
    if origin is dict:
        if not isinstance(raw, dict):
            raise SettingsError(f"{source}: '{name}' must be a table ([{name}])")
        return {str(k): _convert(args[1], v, source, f"{name}.{k}") for k, v in raw.items()}
    if origin is tuple:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise SettingsError(f"{source}: '{name}' must be a list of strings")
        return tuple(raw)
    if hint is Path:
        if not isinstance(raw, str) or not raw:
            raise SettingsError(f"{source}: '{name}' must be a non-empty path string")
        return Path(raw)
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise SettingsError(f"{source}: '{name}' must be a number, not {raw!r}")
        return float(raw)
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise SettingsError(f"{source}: '{name}' must be an integer, not {raw!r}")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise SettingsError(f"{source}: '{name}' must be true or false, not {raw!r}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise SettingsError(f"{source}: '{name}' must be a string, not {raw!r}")
        return raw
    raise SettingsError(f"{source}: '{name}' has an unsupported type")  # pragma: no cover


def describe(settings: Settings) -> list[tuple[str, str]]:
    """Flatten settings into (key, shown value) pairs, with passwords masked."""
    rows: list[tuple[str, str]] = []

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            key = f"{prefix}{f.name}"
            if dataclasses.is_dataclass(value):
                walk(value, f"{key}.")
            elif value is None and f.name == "relay":
                rows.append((key, f"(none: mail goes to the Maildir {settings.outbox_dir})"))
            elif value is None and f.name == "key_file":
                rows.append((key, "(none: outgoing mail is not DKIM-signed)"))
            elif value is None and f.name == "ed25519_key_file":
                rows.append((key, "(none: no ed25519-sha256 signature)"))
            elif key in ("dkim.domain", "auth.authserv_id") and not value:
                rows.append((key, f"(the list domain, {settings.domain})"))
            elif f.name == "password":
                rows.append((key, "********" if value else "(empty)"))
            elif isinstance(value, tuple):
                rows.append((key, ", ".join(value) or "(none)"))
            elif isinstance(value, dict):
                rows.append((key, ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"))
            else:
                rows.append((key, str(value)))

    walk(settings, "")
    return rows
