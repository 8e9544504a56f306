"""Per-recipient touches applied to rendered bytes at send time: token slot and VERP sender."""

from __future__ import annotations

import secrets

# Rendered once into personalised messages, replaced by each recipient's token.
# Only characters that no transfer encoding or header folding alters. This fixed slot
# serves the newsletter, whose text comes from its editors.
TOKEN_SLOT = b"CCR-TOKEN-SLOT-0f3a9c"


def new_slot() -> bytes:
    """A slot nobody can know in advance, for a message that carries someone else's text.

    A list post could otherwise contain the fixed slot (say in a link) and have every
    recipient's copy send their token to its author.
    """
    return b"CCR-TOKEN-" + secrets.token_hex(16).encode("ascii")


def personalise(body: bytes, token: str, slot: bytes = TOKEN_SLOT) -> bytes:
    """Put `token` wherever the rendered message holds `slot`."""
    return body.replace(slot, token.encode("ascii"))


def verp_sender(sender: str, recipient: str) -> str:
    """`list-bounces@dom` + `jo@ex.org` -> `list-bounces+jo=ex.org@dom` (VERP)."""
    local, _, domain = sender.rpartition("@")
    rlocal, _, rdomain = recipient.rpartition("@")
    return f"{local}+{rlocal}={rdomain}@{domain}"


def unverp(local_part: str) -> str | None:
    """Recover the recipient from a VERP local part's `+` suffix, or None."""
    _, plus, tail = local_part.partition("+")
    if not plus:
        return None
    rlocal, eq, rdomain = tail.rpartition("=")
    return f"{rlocal}@{rdomain}" if eq and rlocal and rdomain else None
