"""Signed VERP envelope senders (pure): `list-bounces+jo=example.org.<mac>@domain`.

A bounce to such an address names the recipient it answers, and the MAC proves that we
sent to that recipient: without it anyone could write `+victim=...` and disable members.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def verp_key(secret: bytes) -> bytes:
    """The key VERP addresses are signed with, derived from the installation's secret."""
    return hmac.new(secret, b"ccrlist VERP sender", hashlib.sha256).digest()


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
