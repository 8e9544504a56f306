"""The addresses and identifiers a list is known by, derived from its name and the domain."""

from __future__ import annotations

from ccrlist.config.settings import Settings


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


def owner_addresses(list_name: str, settings: Settings) -> tuple[str, ...]:
    """Owners for a list with none in `list_owners`: `[posting] owners`, else `<list>-owner@`."""
    return settings.posting.owners or (role_address(list_name, settings.domain, "owner"),)


def list_for_recipient(recipient: str, domain: str) -> str | None:
    """The list name if `recipient` is a posting address in our domain, else None."""
    local, at, host = recipient.rpartition("@")
    if not at or not local or host.lower() != domain.lower():
        return None
    return local.lower()
