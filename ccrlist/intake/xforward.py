"""Read Postfix's XFORWARD command (pure): the real client behind the relay that connects.

Behind Postfix's before-queue proxy (`smtpd_proxy_filter`), every session comes
from Postfix on 127.0.0.1. Postfix tells us who the real client was with
XFORWARD (www.postfix.org/XFORWARD_README.html) when our EHLO announces it, so
SPF is checked against the client's address and HELO name and logs name it.
Only peers in `[auth] trusted_relays` may use the command (the session checks);
this module reads its attributes and says whose address a transaction is from.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass

# The attributes our EHLO announces; Postfix sends only those.
ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE")
UNAVAILABLE = "[unavailable]"
MAX_VALUE = 255  # XFORWARD_README, note 1
_XTEXT_HEX = re.compile(r"\+([0-9A-F]{2})")
_XTEXT_BAD = re.compile(r"\+(?![0-9A-F]{2})")


class XforwardError(ValueError):
    """A malformed XFORWARD argument: the reason, for the 501 reply and the log."""


@dataclass(frozen=True)
class Forwarded:
    """What the relay told us about its client; None is [UNAVAILABLE]."""

    name: str | None = None
    addr: str | None = None
    port: str | None = None
    proto: str | None = None
    helo: str | None = None
    ident: str | None = None
    source: str | None = None


def _xtext(value: str) -> str:
    """RFC 3461 xtext decoded: `+XX` is the byte XX; a `+` without two hex digits is an error."""
    if _XTEXT_BAD.search(value):
        raise XforwardError(f"bad xtext in {value!r}")
    decoded = _XTEXT_HEX.sub(lambda m: chr(int(m.group(1), 16)), value)
    if len(decoded) > MAX_VALUE:
        raise XforwardError("value longer than 255 characters")
    if any(not "\x21" <= c <= "\x7e" for c in decoded):
        raise XforwardError("control, space or non-ASCII character in a value")
    return decoded


def _address(value: str) -> str:
    """An IP address as ipaddress writes it; Postfix prefixes IPv6 ones with `IPV6:`."""
    if value[:5].upper() == "IPV6:":
        value = value[5:]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise XforwardError(f"ADDR {value!r} is not an IP address") from None


def parse_xforward(arg: str, current: Forwarded | None) -> Forwarded:
    """`current` (None before the transaction's first XFORWARD: every attribute unavailable)
    with the attributes of one command's argument applied, in order."""
    pairs = arg.split()
    if not pairs:
        raise XforwardError("no attributes")
    updated = current or Forwarded()
    for pair in pairs:
        name, equals, raw = pair.partition("=")
        if not equals or name.upper() not in ATTRIBUTES:
            raise XforwardError(f"unknown attribute {name!r}")
        value: str | None = None
        if raw.lower() != UNAVAILABLE:
            value = _xtext(raw)
            if name.upper() == "ADDR":
                value = _address(value)
            elif name.upper() == "PORT" and not (value.isdigit() and int(value) < 65536):
                raise XforwardError(f"PORT {value!r} is not a port number")
        updated = dataclasses.replace(updated, **{name.lower(): value})
    return updated


def client_of(forwarded: Forwarded | None, peer: str, helo: str) -> tuple[str, str]:
    """(address, HELO name) of the client a transaction came from.

    Without XFORWARD, the peer that connected. With it, the forwarded client's, never
    mixed with the relay's own (XFORWARD_README, note 4); a forwarded ADDR of
    [UNAVAILABLE] means the relay submitted the mail itself, so the session's are kept.
    """
    if forwarded is None or forwarded.addr is None:
        return peer, helo
    return forwarded.addr, forwarded.helo or ""
