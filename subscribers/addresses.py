"""Validate and normalise email addresses and display names (pure, no DNS)."""

from __future__ import annotations

import functools
import re

from email_validator import EmailNotValidError, validate_email

MAX_NAME_LENGTH = 200
MAX_LOCAL_LENGTH = 64
MAX_LENGTH = 254


class AddressError(ValueError):
    """An address or display name that we refuse to store or send to."""


# Unicode category Cc (C0, DEL, C1), and the line and paragraph separators that some mail
# software treats as line breaks.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
_NOT_HERE = re.compile(r"[\s<>,;\"()\[\]\\]")
# Most addresses are plain: an ASCII dot-atom local part (RFC 5322 3.2.3) at an ASCII host
# name. For those the domain, which many addresses share, is checked once (an import of
# 100,000 members has a few hundred domains); anything else takes the full way.
_PLAIN = re.compile(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
                    r"@([A-Za-z0-9.-]+)")


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def normalise_address(raw: str) -> str:
    """Return the canonical form of `raw`: domain lower-cased, local part as given.

    Refuses anything that could smuggle a header or an SMTP command: control
    characters (CR, LF, NUL, ...), spaces, angle brackets, commas, quoted local
    parts and IP literals.
    """
    if not isinstance(raw, str) or not raw:
        raise AddressError("address is empty")
    plain = _plain_address(raw)  # the common case first: nothing to strip or refuse
    if plain is not None:
        return plain
    if _has_control(raw):
        raise AddressError("address contains a control character")
    candidate = raw.strip()
    if _NOT_HERE.search(candidate):
        raise AddressError(f"address {candidate!r} contains a character not allowed here")
    return _plain_address(candidate) or _normalise_fully(candidate)


def _plain_address(candidate: str) -> str | None:
    """`candidate` normalised when it is a plain address (its domain checked once per
    domain); None when it is not plain and must take the full way."""
    plain = _PLAIN.fullmatch(candidate)
    if plain is None or len(plain[1]) > MAX_LOCAL_LENGTH or len(candidate) > MAX_LENGTH:
        return None
    ok, checked = _checked_domain(plain[2])
    if not ok:
        raise AddressError(f"{candidate!r} is not a valid address: {checked}")
    return f"{plain[1]}@{checked}"


@functools.lru_cache(maxsize=16384)
def _checked_domain(domain: str) -> tuple[bool, str]:
    """(True, the normalised domain) or (False, why not), as `validate_email` decides it
    for an address with a plain local part at `domain`."""
    try:
        return True, validate_email(f"x@{domain}", check_deliverability=False).domain.lower()
    except EmailNotValidError as exc:
        return False, str(exc)


def _normalise_fully(candidate: str) -> str:
    """`normalise_address` for any address, through email-validator."""
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
