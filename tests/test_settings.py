"""Settings: defaults, file discovery, strict validation and masked display."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccrlist.config.loader import find_config, load_settings
from ccrlist.config.parse import describe, parse_settings
from ccrlist.config.settings import RelaySettings, Settings, SettingsError


def test_defaults_need_no_file() -> None:
    s = load_settings(None)
    assert s.domain == "lists.example.org"
    assert s.data_dir == Path("var")
    assert (s.server.host, s.server.port, s.server.protocol) == ("127.0.0.1", 8025, "smtp")
    assert s.relay is None
    assert s.site.output_dir == Path("site")
    assert s.issues_dir == Path("issues")
    assert s.limits.max_message_bytes == 10 * 1024 * 1024


def test_full_file_loads_and_resolves_paths(tmp_path: Path) -> None:
    path = tmp_path / "ccr.toml"
    path.write_text(
        'domain = "lists.ccrweb.ca"\n'
        'data_dir = "data"\n'
        "[server]\nport = 2525\nprotocol = \"lmtp\"\n"
        '[relay]\nhost = "smtp.example.net"\nport = 587\nusername = "u"\n'
        'password = "s3cret"\nstarttls = true\n'
        '[site]\nbase_url = "https://ccrweb.ca/chronicle/"\n'
        "[delivery]\nmax_age_days = 2\n"
        '[newsletter]\neditors = ["ed@ccrweb.ca"]\n',
        encoding="utf-8",
    )
    s = load_settings(path)
    assert s.domain == "lists.ccrweb.ca"
    assert s.data_dir == tmp_path / "data"
    assert s.site.output_dir == tmp_path / "site"
    assert s.server.protocol == "lmtp"
    assert s.relay == RelaySettings("smtp.example.net", 587, "u", "s3cret", True)
    assert s.delivery.max_age_days == 2.0
    assert s.newsletter.editors == ("ed@ccrweb.ca",)
    assert s.source == str(path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('domian = "x.org"', "unknown setting 'domian'"),
        ("[server]\nprot = 1", "unknown setting 'server.prot'"),
        ('[server]\nport = "25"', "'server.port' must be an integer"),
        ("[server]\nport = true", "'server.port' must be an integer"),
        ('[server]\nprotocol = "http"', "'server.protocol' must be one of"),
        ("[relay]\nstarttls = 1", "'relay.starttls' must be true or false"),
        ("domain = 3", "'domain' must be a string"),
        ('server = "x"', "'server' must be a table"),
        ('data_dir = ""', "'data_dir' must be a non-empty path"),
        ("[newsletter]\neditors = [1]", "'newsletter.editors' must be a list of strings"),
        ('[delivery]\nmax_age_days = "5"', "'delivery.max_age_days' must be a number"),
        ('[auth]\npolicy = "strict"', "'auth.policy' must be one of"),
        ('[auth.lists]\nccrlist = "strict"', "'auth.lists.ccrlist' must be one of"),
        ('[auth]\nlists = "off"', "'auth.lists' must be a table"),
        ('[auth]\ntrusted_relays = ["postfix"]', "'auth.trusted_relays': 'postfix' is not"),
        ('[auth]\nnameservers = ["dns.example"]', "must be an IP address"),
        ('[auth]\nnameservers = ["127.0.0.1:99999"]', "bad port"),
        ("[auth]\ntimeout = 0", "'auth.timeout' must be a number of seconds above 0"),
    ],
)
def test_bad_settings_name_the_key_and_file(toml: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(__import__("tomllib").loads(toml), "ccr.toml")
    assert expected in str(info.value)
    assert str(info.value).startswith("ccr.toml: ")


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("domain = ", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad)


def test_config_discovery_order(tmp_path: Path) -> None:
    assert find_config(None, {}, tmp_path) is None
    (tmp_path / "ccr.toml").write_text("", encoding="utf-8")
    assert find_config(None, {}, tmp_path) == tmp_path / "ccr.toml"
    assert find_config(None, {"CCR_CONFIG": "/etc/ccr.toml"}, tmp_path) == Path("/etc/ccr.toml")
    assert find_config("other.toml", {"CCR_CONFIG": "/etc/x"}, tmp_path) == Path("other.toml")


def test_describe_masks_passwords() -> None:
    s = parse_settings({"relay": {"password": "hunter2", "username": "me"}}, "f")
    shown = dict(describe(s))
    assert shown["relay.password"] == "********"
    assert "hunter2" not in repr(describe(s))
    assert shown["relay.username"] == "me"
    assert "relay" not in shown or "Maildir" not in shown.get("relay", "")


def test_describe_says_where_mail_goes_without_relay() -> None:
    rows = describe(Settings())
    assert [value for key, value in rows if key == "relay"] == [
        "(none: mail goes to the Maildir var/outbox)"]


def test_auth_settings_load_with_per_list_overrides() -> None:
    s = parse_settings(__import__("tomllib").loads(
        '[auth]\npolicy = "hold"\nnameservers = ["127.0.0.1:5353", "[::1]:53", "192.0.2.1"]\n'
        'trusted_relays = ["127.0.0.1", "10.0.0.0/8"]\n'
        '[auth.lists]\nechronicle = "off"\n'), "f")
    assert s.auth.policy_for("ccrlist") == "hold"
    assert s.auth.policy_for("echronicle") == "off"
    assert Settings().auth.policy_for("ccrlist") == "enforce"
    shown = dict(describe(s))
    assert shown["auth.lists"] == "echronicle=off"
    assert shown["auth.nameservers"] == "127.0.0.1:5353, [::1]:53, 192.0.2.1"
    assert dict(describe(Settings()))["auth.lists"] == "(none)"


@pytest.mark.parametrize(("text", "message"), [
    ("[bounces]\nprobe_every = -5\n",
     "'bounces.probe_every' must be a whole number from 0 to 1,000,000; 0 never probes"),
    ("[bounces]\nthreshold = 0\n", "'bounces.threshold' must be a whole number from 1 to"),
    ("[limits]\nmax_issue_bytes = 0\n",
     "'limits.max_issue_bytes' must be a whole number of bytes from 1 to"),
])
def test_counts_that_cannot_be_negative_are_refused(tmp_path: Path, text: str,
                                                    message: str) -> None:
    path = tmp_path / "ccr.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(path)


def test_the_removed_sign_processes_setting_is_named_as_unknown(tmp_path: Path) -> None:
    """Signing moved to OpenSSL and the process pool went; an old file says what to delete."""
    path = tmp_path / "ccr.toml"
    path.write_text("[dkim]\nsign_processes = 2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=re.escape("unknown setting 'dkim.sign_processes'")):
        load_settings(path)
