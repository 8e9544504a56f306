"""Validate and normalise email addresses and display names (pure, no DNS)."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

MAX_NAME_LENGTH = 200
MAX_LOCAL_LENGTH = 64
MAX_LENGTH = 254
# Line and paragraph separators that some mail software treats as line breaks.
_FORBIDDEN_EXTRA = {"\u2028", "\u2029", "\u0085"}


class AddressError(ValueError):
    """An address or display name that we refuse to store or send to."""


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" or ch in _FORBIDDEN_EXTRA for ch in text)


def normalise_address(raw: str) -> str:
    """Return the canonical form of `raw`: domain lower-cased, local part as given.

    Refuses anything that could smuggle a header or an SMTP command: control
    characters (CR, LF, NUL, ...), spaces, angle brackets, commas, quoted local
    parts and IP literals.
    """
    if not isinstance(raw, str) or not raw:
        raise AddressError("address is empty")
    if _has_control(raw):
        raise AddressError("address contains a control character")
    candidate = raw.strip()
    if any(ch.isspace() for ch in candidate) or any(ch in candidate for ch in "<>,;\"()[]\\"):
        raise AddressError(f"address {candidate!r} contains a character not allowed here")
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(f"{candidate!r} is not a valid address: {exc}") from None
    normalised = f"{checked.local_part}@{checked.domain.lower()}"
    # RFC 5321 section 4.5.3.1: relays may refuse anything longer.
    if len(checked.local_part.encode()) > MAX_LOCAL_LENGTH or len(normalised) > MAX_LENGTH:
        raise AddressError(f"{candidate!r} is longer than SMTP allows")
    return normalised


def address_key(address: str) -> str:
    """The case-insensitive comparison key for an already normalised address."""
    return address.casefold()


def normalise_name(raw: str | None) -> str:
    """Validate a display name: no control characters, bounded length, trimmed."""
    if raw is None:
        return ""
    if _has_control(raw):
        raise AddressError("name contains a control character")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME_LENGTH:
        raise AddressError(f"name is longer than {MAX_NAME_LENGTH} characters")
    return name
