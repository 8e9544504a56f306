"""The settings of an installation as frozen dataclasses, with their defaults and checks
(pure). `loader.py` reads them from `ccr.toml`, once, in `cli.py`; the range of every
number is in `checks.py`."""

from __future__ import annotations

import ipaddress
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


class SettingsError(Exception):
    """The settings file is missing, unreadable or holds a bad key or value."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    protocol: Literal["smtp", "lmtp"] = "smtp"
    # Open SMTP sessions in all and from one client address (an IPv6 client per /64);
    # past them a new connection gets 421 4.7.0 at once (Postfix's anvil limits).
    max_connections: int = 200
    max_connections_per_ip: int = 20
    # Seconds a session may wait without a byte from the client before 421 4.4.2.
    idle_timeout: float = 60.0


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
    # The newest issues in each RSS and Atom feed (each entry carries the whole issue; the
    # index page lists every issue).
    feed_entries: int = 20


@dataclass(frozen=True)
class LimitSettings:
    max_message_bytes: int = 10 * 1024 * 1024
    # The largest newsletter issue file read; a larger one is an editor error (vol12-2 is
    # 9 KB; a 24 MB file took 97 s and 1.6 GB to publish).
    max_issue_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class DeliverySettings:
    max_rcpt_per_message: int = 50
    connections: int = 4
    max_age_days: float = 5.0
    retry_base_seconds: float = 60.0
    # Each retry waits twice as long as the one before, but never longer than this.
    retry_max_seconds: float = 4 * 3600.0
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
    # List-Archive URL; "{list}", "{domain}" and "{base_url}" ([web] base_url) are replaced.
    # The default is the list's archive pages on the web app.
    archive_url: str = "{base_url}archive/{list}/"


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
    # Open connections in all and from one client address; past them 503 or 429 at once.
    max_connections: int = 100
    max_connections_per_ip: int = 20
    # Seconds a client gets to send a whole request (from connecting, or from the previous
    # answer on a kept-alive connection), and again to send a form's body.
    idle_timeout: float = 30.0
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


ArchivePolicy = Literal["public", "members", "none"]


@dataclass(frozen=True)
class ArchiveSettings:
    """Who may read each list's web archive, and how long sign-in links and sessions last."""

    # public: anyone (addresses shown without their domain); members: active members and
    # owners, after signing in by a link sent to their address; none: no web archive.
    policy: ArchivePolicy = "members"
    # Per-list overrides of `policy` ([archive.lists] announcements = "public").
    lists: dict[str, ArchivePolicy] = field(default_factory=dict)
    # How long a one-time sign-in link works, and how long a signed-in session lasts.
    link_minutes: float = 60.0
    session_days: float = 30.0

    def policy_for(self, list_name: str) -> ArchivePolicy:
        return self.lists.get(list_name, self.policy)


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


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                  "sunday"]
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday",
                                 "saturday", "sunday")


@dataclass(frozen=True)
class DigestSettings:
    """When `ccrlist serve` sends the daily and weekly digests, and how big one may grow."""

    # Daily digests go at this hour (0-23), local time in `timezone`; weekly ones at the
    # same hour on `weekday`.
    hour: int = 8
    weekday: Weekday = "monday"
    timezone: str = "America/Toronto"
    # A member's digest goes out at once when its posts reach this many bytes; 0: never.
    max_bytes: int = 100_000

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"'digest.timezone': {self.timezone!r} is not a time zone "
                             "(e.g. 'America/Toronto')") from None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def weekday_number(self) -> int:
        """Monday is 0, as `date.weekday()` counts."""
        return WEEKDAYS.index(self.weekday)


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
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    bounces: BounceSettings = field(default_factory=BounceSettings)
    commands: CommandSettings = field(default_factory=CommandSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
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


