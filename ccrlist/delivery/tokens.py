"""Each recipient's token, put into rendered bytes at send time through a token slot (pure)."""

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


