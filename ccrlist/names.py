"""The addresses and identifiers a list is known by, derived from its name and the domain
(pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ccrlist.config.settings import Settings

Role = Literal["request", "join", "leave", "confirm", "owner", "bounces"]
ROLES: tuple[Role, ...] = ("request", "join", "leave", "confirm", "owner", "bounces")


def list_address(list_name: str, domain: str) -> str:
    return f"{list_name}@{domain}"


def list_id(list_name: str, domain: str) -> str:
    """The RFC 2919 list identifier, without angle brackets."""
    return f"{list_name}.{domain}"


def role_address(list_name: str, domain: str, role: str) -> str:
    """`ccrlist-bounces@dom`, `ccrlist-request@dom`, `ccrlist-leave@dom`, ..."""
    return f"{list_name}-{role}@{domain}"


def bounce_address(list_name: str, domain: str) -> str:
    return role_address(list_name, domain, "bounces")


def one_click_url(web_base_url: str, token: str) -> str:
    """A member's one-click unsubscribe page (RFC 8058) on the web app: `<base_url>u/<token>`."""
    base = web_base_url if web_base_url.endswith("/") else web_base_url + "/"
    return f"{base}u/{token}"


def leave_page_url(web_base_url: str, list_name: str, lang: str) -> str:
    """The web app's page where anyone asks to leave a list (confirmed by email), in `lang`."""
    base = web_base_url if web_base_url.endswith("/") else web_base_url + "/"
    return f"{base}unsubscribe/{list_name}?lang={lang}"


def owner_addresses(list_name: str, settings: Settings) -> tuple[str, ...]:
    """Owners for a list with none in `list_owners`: `[posting] owners`, else `<list>-owner@`."""
    return settings.posting.owners or (role_address(list_name, settings.domain, "owner"),)


def list_for_recipient(recipient: str, domain: str) -> str | None:
    """The list name if `recipient` is a posting address in our domain, else None."""
    local, at, host = recipient.rpartition("@")
    if not at or not local or host.lower() != domain.lower():
        return None
    return local.lower()


@dataclass(frozen=True)
class AdminAddress:
    list_name: str
    role: Role
    tag: str = ""  # the confirmation token, or the VERP-encoded recipient


def parse_admin_local(local_part: str) -> AdminAddress | None:
    """`ccrlist-confirm+Tok3n` -> (ccrlist, confirm, Tok3n); None for a plain list address.

    Only `confirm` and `bounces` take a `+tag`; the tag keeps its case (tokens are case-sensitive).
    """
    base, plus, tag = local_part.partition("+")
    name, dash, role = base.lower().rpartition("-")
    if not dash or not name or role not in ROLES:
        return None
    if plus and role not in ("confirm", "bounces"):
        return None
    if role == "confirm" and not tag:
        return None
    return AdminAddress(name, role, tag)


def admin_target(recipient: str, domain: str) -> AdminAddress | None:
    """The admin address `recipient` names in our domain, or None."""
    local, at, host = recipient.rpartition("@")
    if not at or host.lower() != domain.lower():
        return None
    return parse_admin_local(local)
