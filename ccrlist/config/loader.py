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
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    settings = parse_settings(data, str(path))
    return _resolve_paths(settings, path.parent)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else base / p

    return dataclasses.replace(
        settings,
        data_dir=resolve(settings.data_dir),
        issues_dir=resolve(settings.issues_dir),
        site=dataclasses.replace(settings.site, output_dir=resolve(settings.site.output_dir)),
        dkim=dataclasses.replace(settings.dkim, key_file=None if settings.dkim.key_file is None
                                 else resolve(settings.dkim.key_file)),
    )


def settings_from_env(explicit: str | None) -> Settings:
    """Convenience for the CLI edge: locate and load the settings file."""
    return load_settings(find_config(explicit, os.environ, Path.cwd()))
