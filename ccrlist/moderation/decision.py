"""An owner's reply to a held post's notice: the code in its address and the decision in its
first line (pure)."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from subscribers.models import hash_token

Action = Literal["approve", "reject"]

_WORDS: dict[str, Action] = {
    "approve": "approve", "approved": "approve", "accept": "approve",
    "approuver": "approve", "approuve": "approve", "approuvé": "approve", "accepter": "approve",
    "reject": "reject", "rejected": "reject", "refuse": "reject", "deny": "reject",
    "rejeter": "reject", "rejette": "reject", "refuser": "reject", "refusé": "reject",
}
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|tr|aw|sv)\s*:\s*)+", re.IGNORECASE)
_WORD = re.compile(r"\s*([^\W\d_]+)[\s.,:;!-]*(.*)", re.DOTALL)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""  # what followed "reject" on its line


def new_code() -> str:
    """An unguessable code for a notice's reply address: 160 random bits in lower-case
    base32, which survives mail systems that change the case of addresses."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


def code_hash(code: str) -> str:
    """What the store keeps of a code (its SHA-256), read without regard to case."""
    return hash_token(code.lower())


def moderate_address(list_name: str, domain: str, code: str) -> str:
    """`<list>-moderate+<code>@domain`: the notice's Reply-To."""
    return f"{list_name}-moderate+{code}@{domain}"


def _decision(line: str) -> Decision | None:
    found = _WORD.match(_REPLY_PREFIX.sub("", line))
    if found is None:
        return None
    action = _WORDS.get(found.group(1).lower())
    if action is None:
        return None
    reason = " ".join(found.group(2).split())[:300] if action == "reject" else ""
    return Decision(action, reason)


def first_own_line(body: str) -> str:
    """The first line the replier wrote: blank lines skipped, nothing from the quoted notice
    or a signature."""
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(">") or stripped in ("--", "-- "):
            return ""
        return stripped
    return ""


def read_decision(subject: str, body: str) -> Decision | None:
    """The decision on the reply's first own line, else in its Subject; None when neither
    starts with approve or reject (in English or French)."""
    return _decision(first_own_line(body)) or _decision(subject)
