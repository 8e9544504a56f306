"""The addresses and identifiers a list is known by, derived from its name and the domain
(pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ccrlist.config.settings import Settings

Role = Literal["request", "join", "leave", "confirm", "owner", "bounces", "moderate"]
ROLES: tuple[Role, ...] = ("request", "join", "leave", "confirm", "owner", "bounces", "moderate")
TAGGED: tuple[Role, ...] = ("confirm", "bounces", "moderate")  # roles that take a `+tag`
MUST_TAG: tuple[Role, ...] = ("confirm", "moderate")
# The site's own addresses, of no list: RFC 5321 4.5.1 (postmaster) and RFC 2142 (abuse).
SiteRole = Literal["postmaster", "abuse"]
SITE_ROLES: tuple[SiteRole, ...] = ("postmaster", "abuse")


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


def web_page(web_base_url: str, path: str) -> str:
    """A page of the web app: `<base_url><path>`, with the one slash between them
    (the settings file's base URLs always end in one; settings made in code may not)."""
    base = web_base_url if web_base_url.endswith("/") else web_base_url + "/"
    return f"{base}{path}"


def one_click_url(web_base_url: str, token: str) -> str:
    """A member's one-click unsubscribe page (RFC 8058) on the web app: `<base_url>u/<token>`."""
    return web_page(web_base_url, f"u/{token}")


def leave_page_url(web_base_url: str, list_name: str, lang: str) -> str:
    """The web app's page where anyone asks to leave a list (confirmed by email), in `lang`."""
    return web_page(web_base_url, f"unsubscribe/{list_name}?lang={lang}")


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
    list_name: str  # "" for the site's own addresses
    role: Role | SiteRole
    tag: str = ""  # the confirmation token, the VERP-encoded recipient, the moderation code

    @property
    def site(self) -> bool:
        """`postmaster@` or `abuse@`: mail for whoever runs the site, not for a list."""
        return self.role in SITE_ROLES


def site_address(role: SiteRole, domain: str) -> str:
    return f"{role}@{domain}"


def parse_admin_local(local_part: str) -> AdminAddress | None:
    """`ccrlist-confirm+Tok3n` -> (ccrlist, confirm, Tok3n); None for a plain list address.

    Only `confirm`, `bounces` and `moderate` take a `+tag` (`confirm` and `moderate` must);
    the tag keeps its case (confirmation tokens are case-sensitive).
    """
    base, plus, tag = local_part.partition("+")
    name, dash, role = base.lower().rpartition("-")
    if not dash or not name or role not in ROLES:
        return None
    if plus and role not in TAGGED:
        return None
    if role in MUST_TAG and not tag:
        return None
    return AdminAddress(name, role, tag)


def admin_target(recipient: str, domain: str) -> AdminAddress | None:
    """The admin address `recipient` names in our domain, or None.

    `postmaster@` and `abuse@` (any case) are the site's; so is a bare `Postmaster`,
    which RFC 5321 4.5.1 requires a server to take without a domain.
    """
    local, at, host = recipient.rpartition("@")
    if not at:
        return AdminAddress("", "postmaster") if recipient.lower() == "postmaster" else None
    if host.lower() != domain.lower():
        return None
    for role in SITE_ROLES:
        if local.lower() == role:
            return AdminAddress("", role)
    return parse_admin_local(local)
