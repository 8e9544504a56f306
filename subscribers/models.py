"""Plain value types handed out by the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["pending", "active", "unsubscribed", "disabled"]
DeliveryMode = Literal["each", "digest", "nomail"]
Policy = Literal["subscribers", "announce"]
Lang = Literal["en", "fr"]

STATUSES: tuple[Status, ...] = ("pending", "active", "unsubscribed", "disabled")
DELIVERY_MODES: tuple[DeliveryMode, ...] = ("each", "digest", "nomail")
POLICIES: tuple[Policy, ...] = ("subscribers", "announce")
LANGS: tuple[Lang, ...] = ("en", "fr")


@dataclass(frozen=True)
class MailingList:
    name: str
    description: str
    policy: Policy
    members: int = 0


@dataclass(frozen=True)
class Member:
    list_name: str
    address: str
    name: str
    lang: Lang
    status: Status
    delivery_mode: DeliveryMode
    token: str
    joined_at: str | None
    left_at: str | None


@dataclass(frozen=True)
class NewMember:
    """One row to add or update: the input of `add` and `import`.

    An empty name or a missing language keeps what the person already has
    (a new person gets no name and English).
    """

    address: str
    name: str = ""
    lang: Lang | None = None


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
