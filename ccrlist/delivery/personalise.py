"""Per-recipient touches applied to rendered bytes at send time: token slot and VERP sender."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings

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


def verp_key(secret: bytes) -> bytes:
    """The key VERP addresses are signed with, derived from the installation's secret."""
    return hmac.new(secret, b"ccrlist VERP sender", hashlib.sha256).digest()


def installation_verp_key(settings: Settings) -> bytes:
    """`verp_key` of the secret in `data_dir` (created, mode 0600, on first use)."""
    return verp_key(load_or_create_secret(settings.data_dir))


def verp_mac(key: bytes, recipient: str) -> str:
    """8 characters that only we can compute for `recipient` (case-insensitive: some MTAs
    lower-case local parts)."""
    digest = hmac.new(key, recipient.lower().encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode("ascii").lower()


def verp_sender(sender: str, recipient: str, key: bytes) -> str:
    """`list-bounces@dom` + `jo@ex.org` -> `list-bounces+jo=ex.org.<mac>@dom` (signed VERP).

    The MAC means a bounce to that address really answers mail we sent to jo@ex.org:
    without it, anyone could send reports to `+victim=...` and disable members.
    """
    local, _, domain = sender.rpartition("@")
    rlocal, _, rdomain = recipient.rpartition("@")
    return f"{local}+{rlocal}={rdomain}.{verp_mac(key, recipient)}@{domain}"


def unverp(local_part: str, key: bytes) -> str | None:
    """The recipient a signed VERP local part names, or None when it is not one of ours."""
    _, plus, tail = local_part.partition("+")
    body, dot, mac = tail.rpartition(".")
    rlocal, eq, rdomain = body.rpartition("=")
    if not (plus and dot and eq and rlocal and rdomain):
        return None
    recipient = f"{rlocal}@{rdomain}"
    # As bytes: compare_digest refuses non-ASCII text, and the MAC here came from outside.
    ours = verp_mac(key, recipient).encode("ascii")
    return recipient if hmac.compare_digest(mac.lower().encode("utf-8"), ours) else None
