"""Load `ccr.toml` once into frozen dataclasses, refusing unknown keys and wrong types.

Only `cli.py` calls `load_settings`; everything else receives a `Settings` object.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_FILE = "ccr.toml"
ENV_VAR = "CCR_CONFIG"


class SettingsError(Exception):
    """The settings file is missing, unreadable or holds a bad key or value."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    protocol: Literal["smtp", "lmtp"] = "smtp"


@dataclass(frozen=True)
class RelaySettings:
    host: str = "localhost"
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 60.0


@dataclass(frozen=True)
class SiteSettings:
    base_url: str = "https://lists.example.org/chronicle/"
    output_dir: Path = Path("site")


@dataclass(frozen=True)
class LimitSettings:
    max_message_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class DeliverySettings:
    max_rcpt_per_message: int = 50
    connections: int = 4
    max_age_days: float = 5.0
    retry_base_seconds: float = 60.0
    verp: bool = False
    # One copy per recipient, with their own one-click unsubscribe URL and a VERP sender;
    # false batches list copies (mailto unsubscribe only) and sends VERP probes instead.
    personalise: bool = True


@dataclass(frozen=True)
class PostingSettings:
    nonmember_action: Literal["reject", "hold"] = "reject"
    reply_to: Literal["off", "list", "author"] = "off"
    # "{list}" is replaced by the list name; an empty prefix adds none.
    subject_prefix: str = "[{list}]"
    # Who hears about deliveries that gave up; empty means "<list>-owner@<domain>".
    owners: tuple[str, ...] = ()
    # List-Archive URL; "{list}" and "{domain}" are replaced.
    archive_url: str = "https://{domain}/archive/{list}/"


@dataclass(frozen=True)
class NewsletterSettings:
    list: str = "echronicle"
    publisher: str = "chronicle@lists.example.org"
    from_name: str = "Canadian Council for Refugees"
    editors: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebSettings:
    """The subscription web app (`ccrlist serve`), normally behind a TLS proxy at base_url."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Public URL of the app, ending in "/": confirmation links are <base_url>confirm/<token>.
    base_url: str = "https://lists.example.org/"
    token_days: float = 3.0
    # Subscription requests allowed per address per day and per client IP per hour.
    requests_per_address: int = 3
    requests_per_ip: int = 20
    # Proxies (IPs or CIDRs) whose X-Forwarded-For header names the real client IP.
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_networks("web.trusted_proxies", self.trusted_proxies)


@dataclass(frozen=True)
class BounceSettings:
    """When repeated delivery failures disable a membership."""

    # Distinct days with a counted bounce, within window_days, that disable a member.
    threshold: int = 3
    window_days: float = 30.0
    # Soft bounces count only once they have lasted this long.
    soft_persist_days: float = 5.0
    # When list copies are batched, every Nth post goes out with VERP (a probe); 0 = never.
    probe_every: int = 10

    def __post_init__(self) -> None:
        if self.probe_every < 0:
            raise ValueError("'bounces.probe_every' must be 0 (never) or more")
        if self.threshold < 1:
            raise ValueError("'bounces.threshold' must be 1 or more")


@dataclass(frozen=True)
class CommandSettings:
    """Email commands to <list>-request@ and friends."""

    # Replies (confirmations, help) sent to one address per day, over all lists.
    replies_per_day: int = 5


AuthPolicy = Literal["enforce", "hold", "off"]


@dataclass(frozen=True)
class AuthSettings:
    """DKIM, SPF and DMARC checks on posts, and DMARC-safe From rewriting of list copies."""

    # What a post failing DMARC for a p=reject or p=quarantine domain gets: refused (550),
    # held for moderation, or nothing checked at all.
    policy: AuthPolicy = "enforce"
    # Per-list overrides of `policy` ([auth.lists] echronicle = "off").
    lists: dict[str, AuthPolicy] = field(default_factory=dict)
    # The authserv-id of our Authentication-Results headers; empty means `domain`.
    authserv_id: str = ""
    # DNS servers as "host" or "host:port" ("[::1]:53" for IPv6); empty: the system's.
    nameservers: tuple[str, ...] = ()
    # Seconds each DNS query may take before the post is answered 451 4.4.3.
    timeout: float = 5.0
    # SMTP peers (IPs or CIDRs, e.g. Postfix) whose Authentication-Results we believe.
    trusted_relays: tuple[str, ...] = ()
    # Rewrite From to the list address when the author's domain has p=reject/quarantine.
    from_rewrite: bool = True

    def __post_init__(self) -> None:
        _check_networks("auth.trusted_relays", self.trusted_relays)
        for server in self.nameservers:
            try:
                nameserver_address(server)
            except ValueError as exc:
                raise ValueError(f"'auth.nameservers': {exc}") from None
        if self.timeout <= 0:
            raise ValueError("'auth.timeout' must be more than 0 seconds")

    def policy_for(self, list_name: str) -> AuthPolicy:
        return self.lists.get(list_name, self.policy)


def _check_networks(setting: str, values: tuple[str, ...]) -> None:
    """Each of `values` must be an IP address or network (CIDR)."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"'{setting}': {value!r} is not an IP address or network") from None


def nameserver_address(server: str) -> tuple[str, int]:
    """("192.0.2.1", 53) from "192.0.2.1", "192.0.2.1:5353", "::1" or "[::1]:5353"."""
    host, port = server, "53"
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{server!r} is not host or host:port")
            port = rest[1:]
    elif server.count(":") == 1:
        host, port = server.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{server!r}: the name server must be an IP address") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{server!r}: bad port {port!r}")
    return host, int(port)


@dataclass(frozen=True)
class DkimSettings:
    """The keys every outgoing copy is signed with; no key file means mail goes out unsigned."""

    selector: str = "ccrlist"
    # PEM RSA private key (`ccrlist dkim keygen` writes one); empty: no signing.
    key_file: Path | None = None
    # The d= domain; empty means the list domain.
    domain: str = ""
    # A second signature, ed25519-sha256 (RFC 8463), under a selector of its own; empty:
    # RSA only (`ccrlist dkim keygen --type ed25519` writes one).
    ed25519_key_file: Path | None = None
    ed25519_selector: str = "ccrlist-ed25519"


@dataclass(frozen=True)
class Settings:
    domain: str = "lists.example.org"
    data_dir: Path = Path("var")
    issues_dir: Path = Path("issues")
    server: ServerSettings = field(default_factory=ServerSettings)
    relay: RelaySettings | None = None
    site: SiteSettings = field(default_factory=SiteSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    posting: PostingSettings = field(default_factory=PostingSettings)
    newsletter: NewsletterSettings = field(default_factory=NewsletterSettings)
    web: WebSettings = field(default_factory=WebSettings)
    bounces: BounceSettings = field(default_factory=BounceSettings)
    commands: CommandSettings = field(default_factory=CommandSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    source: str = "(built-in defaults)"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "ccr.sqlite3"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def dkim_domain(self) -> str:
        return self.dkim.domain or self.domain


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


def parse_settings(data: Mapping[str, Any], source: str) -> Settings:
    """Build `Settings` from parsed TOML; errors name the key and the file."""
    values: Settings = _build(Settings, data, source, "", skip={"source"})
    return dataclasses.replace(values, source=source)


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
        kwargs[key] = _convert(hints[key], raw, source, name)
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a check in __post_init__
        raise SettingsError(f"{source}: {exc}") from None


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
            elif key == "dkim.domain" and not value:
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


def settings_from_env(explicit: str | None) -> Settings:
    """Convenience for the CLI edge: locate and load the settings file."""
    return load_settings(find_config(explicit, os.environ, Path.cwd()))
