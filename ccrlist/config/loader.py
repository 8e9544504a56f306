"""Find and read the settings file (`--config`, `$CCR_CONFIG`, `./ccr.toml`): the only
module that reads it. Only `cli.py` calls it; everything else receives `Settings`."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import Settings, SettingsError

DEFAULT_FILE = "ccr.toml"


ENV_VAR = "CCR_CONFIG"


def find_config(explicit: str | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """Pick the settings file: `--config`, then $CCR_CONFIG, then ./ccr.toml if present."""
    if explicit:
        return Path(explicit)
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR])
    candidate = cwd / DEFAULT_FILE
    return candidate if candidate.is_file() else None


def load_settings(path: Path | None) -> Settings:
    """Read and validate a settings file; `None` means every default."""
    if path is None:
        return check_directories(Settings())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    settings = parse_settings(data, str(path))
    return check_directories(_resolve_paths(settings, path.parent))


def check_directories(settings: Settings) -> Settings:
    """Refuse a directory setting that names a file, or a path under a file: nothing could
    be written there, and the error would otherwise come from deep inside a command."""
    for key, folder in (("data_dir", settings.data_dir), ("issues_dir", settings.issues_dir),
                        ("site.output_dir", settings.site.output_dir)):
        for candidate in (folder, *folder.parents):
            try:
                if not candidate.exists():
                    continue
            except OSError as exc:
                raise SettingsError(f"{settings.source}: '{key}': cannot look at {folder}: "
                                    f"{exc.strerror}") from None
            if not candidate.is_dir():
                where = "is a file" if candidate == folder else f"is under {candidate}, a file"
                raise SettingsError(f"{settings.source}: '{key}' must be a directory, but "
                                    f"{folder} {where}")
            break
    return settings


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else base / p

    return dataclasses.replace(
        settings,
        data_dir=resolve(settings.data_dir),
        issues_dir=resolve(settings.issues_dir),
        site=dataclasses.replace(settings.site, output_dir=resolve(settings.site.output_dir)),
        dkim=dataclasses.replace(
            settings.dkim,
            key_file=None if settings.dkim.key_file is None else resolve(settings.dkim.key_file),
            ed25519_key_file=(None if settings.dkim.ed25519_key_file is None
                              else resolve(settings.dkim.ed25519_key_file))),
    )


def settings_from_env(explicit: str | None) -> Settings:
    """Convenience for the CLI edge: locate and load the settings file."""
    return load_settings(find_config(explicit, os.environ, Path.cwd()))
