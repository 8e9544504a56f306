"""Where a list's archive and each post's page live, and whether a post may be archived
(pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ccrlist.config.settings import Settings

# A permalink's key: base32 of 10 bytes of SHA-256 (`subscribers.models.permalink_for`).
KEY = re.compile(r"[a-z2-7]{16}")


def _base(settings: Settings) -> str:
    base = settings.web.base_url
    return base if base.endswith("/") else base + "/"


def archive_root(settings: Settings, list_name: str) -> str:
    """The list's archive index on the web app: `<base_url>archive/<list>/`."""
    return f"{_base(settings)}archive/{list_name}/"


def list_archive_url(settings: Settings, list_name: str) -> str:
    """The List-Archive URL: `[posting] archive_url` filled in; "" when the list has none."""
    if settings.archive.policy_for(list_name) == "none":
        return ""
    return settings.posting.archive_url.format(list=list_name, domain=settings.domain,
                                               base_url=_base(settings))


def message_url(settings: Settings, permalink: str) -> str:
    """A post's page: `<base_url>archive/<list>/<key>/`, from its stable permalink."""
    return f"{_base(settings)}archive/{permalink}/"


def archived_at(settings: Settings, list_name: str, permalink: str) -> str:
    """The Archived-At URL (RFC 5064) of a post, "" when the list keeps no web archive."""
    if settings.archive.policy_for(list_name) == "none":
        return ""
    return message_url(settings, permalink)


def asks_not_to_be_archived(fields: Iterable[tuple[str, bytes]]) -> bool:
    """`X-No-Archive: yes` or `X-Archive: no` among (lower-case name, value) pairs."""
    for name, value in fields:
        if name == "x-no-archive" and value.strip().lower().startswith(b"yes"):
            return True
        if name == "x-archive" and value.strip().lower().startswith(b"no"):
            return True
    return False
