"""Every number in the settings against 0, -1, nan, inf and a huge value; base URLs;
directory settings that are files. Each refusal names the key and the file."""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any

import pytest

from ccrlist.config.checks import RANGES
from ccrlist.config.loader import load_settings
from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import RelaySettings, Settings, SettingsError


def numeric_keys() -> list[tuple[str, type]]:
    """(`section.key` or `key`, int or float) for every number in `Settings`."""
    found: list[tuple[str, type]] = []
    sections: dict[str, Any] = {f.name: getattr(Settings(), f.name)
                                for f in dataclasses.fields(Settings)}
    sections["relay"] = RelaySettings()
    for section, value in sections.items():
        if not dataclasses.is_dataclass(value):
            continue
        for name, hint in typing.get_type_hints(type(value)).items():
            if hint in (int, float):
                found.append((f"{section}.{name}", hint))
    return found


NUMERIC = numeric_keys()
# The settings where 0 means something ("never", "at once", "in the loop").
ZERO_ALLOWED = {"bounces.probe_every", "bounces.soft_persist_days",
                "digest.hour", "digest.max_bytes"}
BAD_VALUES: list[tuple[str, Any]] = [
    ("zero", 0), ("minus one", -1), ("nan", math.nan), ("inf", math.inf),
    ("minus inf", -math.inf), ("huge", 10**18), ("huge float", 1e300),
]


def load(key: str, value: Any) -> Settings:
    section, _, name = key.partition(".")
    return parse_settings({section: {name: value}}, "ccr.toml")


def test_the_table_knows_every_numeric_setting() -> None:
    assert len(NUMERIC) >= 20
    assert {k for k, _ in NUMERIC} == set(RANGES), "a number without a range, or a stale range"


@pytest.mark.parametrize("key", [k for k, _ in NUMERIC])
def test_the_defaults_are_in_range(key: str) -> None:
    section, _, name = key.partition(".")
    default = getattr(RelaySettings() if section == "relay" else getattr(Settings(), section),
                      name)
    assert load(key, default) is not None


@pytest.mark.parametrize("value", [v for _, v in BAD_VALUES], ids=[n for n, _ in BAD_VALUES])
@pytest.mark.parametrize("key, kind", NUMERIC, ids=[k for k, _ in NUMERIC])
def test_every_number_refuses_what_cannot_work(key: str, kind: type, value: Any) -> None:
    if value == 0 and key in ZERO_ALLOWED:
        section, _, name = key.partition(".")
        assert getattr(getattr(load(key, value), section), name) == 0
        return
    with pytest.raises(SettingsError) as info:
        load(key, value)
    message = str(info.value)
    assert message.startswith("ccr.toml: ") and f"'{key}'" in message
    if kind is float or isinstance(value, int):
        assert "must be" in message


@pytest.mark.parametrize("key, value, expected", [
    ("server.port", 70000, "'server.port' must be a port number from 1 to 65,535, not 70000"),
    ("delivery.connections", 0, "'delivery.connections' must be a whole number from 1 to 100"),
    ("delivery.retry_base_seconds", math.nan,
     "'delivery.retry_base_seconds' must be a finite number"),
    ("limits.max_message_bytes", 0, "'limits.max_message_bytes' must be a whole number of"),
    ("auth.timeout", 0.0, "'auth.timeout' must be a number of seconds above 0 and at most 300"),
])
def test_the_messages_of_issue_19(key: str, value: Any, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected.replace("(", r"\(")):
        load(key, value)


@pytest.mark.parametrize("key", [k for k, _ in NUMERIC], ids=[k for k, _ in NUMERIC])
def test_a_good_value_still_loads(key: str) -> None:
    low = RANGES[key].low if RANGES[key].low_included else RANGES[key].low + 1
    value: float = int(low) if dict(NUMERIC)[key] is int else float(low)
    section, _, name = key.partition(".")
    assert getattr(getattr(load(key, value), section), name) == value


@pytest.mark.parametrize("key", ["web.base_url", "site.base_url"])
@pytest.mark.parametrize("given, stored", [
    ("http://127.0.0.1:40077", "http://127.0.0.1:40077/"),
    ("https://ccrweb.ca/chronicle", "https://ccrweb.ca/chronicle/"),
    ("https://lists.ccrweb.ca/", "https://lists.ccrweb.ca/"),
])
def test_a_base_url_always_ends_in_a_slash(key: str, given: str, stored: str) -> None:
    section, _, name = key.partition(".")
    assert getattr(getattr(load(key, given), section), name) == stored


@pytest.mark.parametrize("key", ["web.base_url", "site.base_url"])
@pytest.mark.parametrize("given", ["lists.ccrweb.ca/", "/relative/", "ftp://x.org/",
                                   "https://", "https://x.org/?a=1", "https://x.org/#top",
                                   "https://x.org/a b/", "https://x.org/\n"])
def test_a_base_url_links_cannot_be_built_on_is_refused(key: str, given: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(key, given)
    assert str(info.value).startswith(f"ccr.toml: '{key}' must")


def test_the_confirmation_link_has_its_slash(tmp_path: Path) -> None:
    from ccrlist.admin.optin import Optin

    path = tmp_path / "ccr.toml"
    path.write_text('[web]\nbase_url = "http://127.0.0.1:40077"\n', encoding="utf-8")
    settings = load_settings(path)
    link = Optin(None, settings).confirm_link("T0k3n")  # type: ignore[arg-type]
    assert link == "http://127.0.0.1:40077/confirm/T0k3n"
    # Settings made in code skip the file's checks; the link is still whole.
    in_code = dataclasses.replace(settings, web=dataclasses.replace(
        settings.web, base_url="http://127.0.0.1:40077"))
    link = Optin(None, in_code).confirm_link("T0k3n")  # type: ignore[arg-type]
    assert link == "http://127.0.0.1:40077/confirm/T0k3n"


@pytest.mark.parametrize("key, line", [("data_dir", 'data_dir = "{p}"'),
                                       ("issues_dir", 'issues_dir = "{p}"'),
                                       ("site.output_dir", '[site]\noutput_dir = "{p}"')])
@pytest.mark.parametrize("under", [False, True], ids=["the file", "under the file"])
def test_a_directory_that_is_a_file_is_refused(tmp_path: Path, key: str, line: str,
                                               under: bool) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    path = tmp_path / "ccr.toml"
    path.write_text(line.format(p=afile / "sub" if under else afile) + "\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: '{key}' must be a directory")


def test_directories_that_do_not_exist_yet_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ccr.toml"
    path.write_text('data_dir = "new/var"\n', encoding="utf-8")
    assert load_settings(path).data_dir == tmp_path / "new/var"
