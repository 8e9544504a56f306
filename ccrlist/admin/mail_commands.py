"""Read email commands (pure): what a message to an admin address asks, and whether it is
automatic and must never be answered.

Besides `subscribe`, `unsubscribe` and `help`, a member may change how they receive the
list: `set digest daily|weekly|off|plain|mime`, `set nomail` (pause) and `set mail`
(resume), or the same in French (`régler condensé quotidien`, `régler pause`, ...).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal

from ccrlist.automail import quotable_msgid
from subscribers.models import DeliveryChoice

Command = Literal["subscribe", "unsubscribe", "help"]
# A command: one of the words above, or a change to how the member receives the list.
Request = Command | DeliveryChoice

MAX_COMMAND_LINES = 5

_WORDS: dict[str, Command] = {
    "subscribe": "subscribe", "sub": "subscribe", "join": "subscribe",
    "abonner": "subscribe", "abonnement": "subscribe", "inscription": "subscribe",
    "unsubscribe": "unsubscribe", "unsub": "unsubscribe", "leave": "unsubscribe",
    "signoff": "unsubscribe", "désabonner": "unsubscribe", "desabonner": "unsubscribe",
    "désabonnement": "unsubscribe", "desabonnement": "unsubscribe",
    "help": "help", "aide": "help", "info": "help",
}
_SET = frozenset({"set", "régler", "regler"})
_DIGEST = frozenset({"digest", "condensé", "condense"})
_DIGEST_CHOICES: dict[str, DeliveryChoice] = {
    "daily": DeliveryChoice(mode="daily"), "quotidien": DeliveryChoice(mode="daily"),
    "weekly": DeliveryChoice(mode="weekly"), "hebdomadaire": DeliveryChoice(mode="weekly"),
    "off": DeliveryChoice(mode="each"), "non": DeliveryChoice(mode="each"),
    "plain": DeliveryChoice(digest_format="plain"),
    "texte": DeliveryChoice(digest_format="plain"),
    "mime": DeliveryChoice(digest_format="mime"),
}
_PAUSE_CHOICES: dict[str, DeliveryChoice] = {
    "nomail": DeliveryChoice(pause=True), "pause": DeliveryChoice(pause=True),
    "mail": DeliveryChoice(pause=False), "reprise": DeliveryChoice(pause=False),
}
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|tr|aw|sv)\s*:\s*)+", re.IGNORECASE)
_MACHINE_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "listserv",
                    "majordomo")
_MACHINE_SUFFIXES = ("-request", "-bounces", "-owner", "-admin")


def _word(line: str) -> Request | None:
    # A command is at most three words; the rest of the line is not read.
    words = [w.lower().strip(".,!:;") for w in _REPLY_PREFIX.sub("", line).split(None, 3)[:3]]
    if not words:
        return None
    if words[0] in _SET:
        return _setting(words[1:])
    return _WORDS.get(words[0])


def _setting(words: list[str]) -> DeliveryChoice | None:
    """`digest daily`, `nomail`, ... after `set`; None for anything else."""
    if len(words) >= 2 and words[0] in _DIGEST:
        return _DIGEST_CHOICES.get(words[1])
    return _PAUSE_CHOICES.get(words[0]) if words else None


def find_command(subject: str, body: str) -> Request | None:
    """The command in the Subject, else in the first few lines of the body, else None."""
    found = _word(subject)
    if found:
        return found
    seen = 0
    for line in body.splitlines():
        if line.strip() in ("--", "-- ") or line.lstrip().startswith(">"):
            break
        if not line.strip():
            continue
        found = _word(line)
        if found:
            return found
        seen += 1
        if seen >= MAX_COMMAND_LINES:
            break
    return None


def is_automatic(msg: EmailMessage, envelope_from: str) -> bool:
    """True for anything a robot sent: answering it risks a mail loop (RFC 3834)."""
    if not envelope_from or envelope_from == "<>":
        return True
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if str(msg.get("Precedence", "")).strip().lower() in ("bulk", "list", "junk"):
        return True
    if any(h in msg for h in ("List-Id", "List-Unsubscribe", "X-Autoreply",
                              "X-Autorespond", "X-Loop", "X-CCR-Loop")):
        return True
    local = envelope_from.rpartition("@")[0].lower()
    return local in _MACHINE_SENDERS or local.endswith(_MACHINE_SUFFIXES) \
        or local.startswith("owner-")


def _values(msg: EmailMessage, name: str) -> list[str] | None:
    """Every value of header `name`, or None when the header registry cannot read one.

    It refuses an encoded CR/LF in a display name (ValueError), and CPython's header parser
    trips on some malformed values (IndexError on `<@b=?`, AttributeError on `a:b;a@:=?`).
    """
    try:
        return [str(v) for v in msg.get_all(name, [])]
    except (ValueError, IndexError, AttributeError):
        return None


def from_address(msg: EmailMessage) -> str | None:
    """The single address in From, or None when there is none, several, or it cannot be read."""
    addresses = [addr for _, addr in getaddresses(_values(msg, "From") or []) if addr]
    return addresses[0] if len(addresses) == 1 else None


def message_id(msg: EmailMessage) -> str | None:
    """The Message-ID to quote in a reply's In-Reply-To, or None when it is missing or is not
    a plain `<left@right>`: a decoded CR/LF in it would break the reply's headers."""
    values = _values(msg, "Message-ID") or []
    return quotable_msgid(values[0]) if len(values) == 1 else None
