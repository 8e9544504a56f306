"""DKIM "relaxed" canonicalisation (RFC 6376 section 3.4), read the way verifiers read (pure).

A message is split into header fields and body as dkimpy's verifier splits it: lines end
in CRLF or a bare LF, a line starting with a space or tab continues the field above, an
mbox `From ` line is skipped, and anything else that is not `name:` cannot be signed.
The copy a receiver verifies is the copy we sent, so reading it any other way would sign
something they never see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ccrlist.delivery.dkim_errors import SigningFailed

_LINE_END = re.compile(rb"\r?\n")
_FIELD_NAME = re.compile(rb"([\x21-\x7e]+?):")
_WSP_RUN = re.compile(rb"[\t ]+")
_WSP_BEFORE_CRLF = re.compile(rb"[\t ]+\r\n")

Field = tuple[bytes, bytes]  # name as written, value unfolded (line ends removed)


@dataclass(frozen=True)
class Canonical:
    """A message in relaxed/relaxed form: what its DKIM hashes are computed over."""

    names: tuple[bytes, ...]  # every field name in the header block, as written
    headers: bytes  # the fields of `h=`, canonical, in `h=` order, each ending in CRLF
    body: bytes  # the canonical body


def read_fields(message: bytes) -> tuple[list[Field], bytes]:
    """Header fields (unfolded) and the body with every line ending in CRLF."""
    fields: list[list[bytes]] = []
    pos, size = 0, len(message)
    while pos < size:
        end = _LINE_END.search(message, pos)
        line, pos = (message[pos:end.start()], end.end()) if end else (message[pos:], size)
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise SigningFailed("cannot DKIM-sign: the header block starts with a "
                                    "continuation line")
            fields[-1].append(line)
            continue
        name = _FIELD_NAME.match(line)
        if name is not None:
            fields.append([name.group(1), line[name.end():]])
        elif not line.startswith(b"From "):  # an mbox separator: verifiers skip it too
            shown = line[:40].decode("ascii", "backslashreplace")
            raise SigningFailed(f"cannot DKIM-sign: {shown!r} is not a header field")
    body = _LINE_END.sub(b"\r\n", message[pos:])
    return [(parts[0], b"".join(parts[1:])) for parts in fields], body


def relaxed_field(name: bytes, value: bytes) -> bytes:
    """`name:value` CRLF, the name lower-cased, runs of white space one space, none at the ends.

    `strip()` is bytes' own, which also removes CR, LF, VT and FF at the ends, as dkimpy
    does: a verifier reading the copy with it must hash the same bytes.
    """
    return name.lower() + b":" + _WSP_RUN.sub(b" ", value).strip() + b"\r\n"


def relaxed_body(body: bytes) -> bytes:
    """The body with trailing white space and empty lines at the end removed (CRLF lines)."""
    body = _WSP_RUN.sub(b" ", _WSP_BEFORE_CRLF.sub(b"\r\n", body))
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    return body[:end] + b"\r\n" if end else b""


def select(fields: list[Field], names: tuple[bytes, ...]) -> list[Field]:
    """The fields `h=` names, each name taking the bottom-most instance not yet taken;
    a name with no instance left signs the field's absence (RFC 6376 section 5.4.2)."""
    chosen: list[Field] = []
    below: dict[bytes, int] = {}
    for wanted in names:
        i = below.get(wanted, len(fields))
        while i > 0:
            i -= 1
            if fields[i][0].lower() == wanted:
                chosen.append(fields[i])
                break
        below[wanted] = i
    return chosen


def canonicalise(message: bytes, names: tuple[bytes, ...]) -> Canonical:
    """The relaxed forms of the fields `names` (lower case, as in `h=`) and of the body."""
    fields, body = read_fields(message)
    headers = b"".join(relaxed_field(n, v) for n, v in select(fields, names))
    return Canonical(tuple(n for n, _ in fields), headers, relaxed_body(body))
