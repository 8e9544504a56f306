"""Make a message's lines fit in 998 characters, reading the same (pure).

RFC 5322 (2.1.1) allows 998 characters a line, but mail programs send longer
ones (HTML in one line, 8bit text never wrapped), and Postfix accepts them; so
do we. Passed on as they are, they break: Postfix, relaying our copy, splits
them (`smtp_line_length_limit`), which breaks our DKIM signature, and some
receivers refuse them. So the list copy re-encodes what is too long, the way an
MTA converting for transport would, and a reader decodes the same text:

- a text (or other leaf) part in 7bit, 8bit or binary becomes quoted-printable;
- a base64 part is wrapped at 76 characters, a quoted-printable part gets soft
  line breaks (both are decoded the same with or without them);
- a header field is folded before white space (RFC 5322 2.2.3);
- multipart and message/rfc822 parts are walked into; a multipart's preamble
  and epilogue, which no reader shows, are broken where needed.

Anything else (a header line with no white space to fold at, an unknown
transfer encoding, a multipart whose boundary never comes, parts nested past
MAX_DEPTH) cannot be made to fit: `LongLineError`, and intake refuses such a
post. Parts without a long line are copied byte for byte.
"""

from __future__ import annotations

import binascii
import email.message
import email.parser
import email.policy

from ccrlist.header_block import field_name, split_fields

LIMIT = 998
MAX_DEPTH = 20  # nested multiparts walked into; deeper ones with long lines are refused
_WSP = b" \t"


class LongLineError(ValueError):
    """A line longer than LIMIT where it cannot be re-encoded; says where."""


def has_long_line(raw: bytes) -> bool:
    """Whether a line of `raw`, line end excluded, is longer than LIMIT characters."""
    if len(raw) <= LIMIT:
        return False
    return any(len(line) > LIMIT and len(line.rstrip(b"\r")) > LIMIT
               for line in raw.split(b"\n"))


def unfit_reason(raw: bytes) -> str:
    """Why `raw` cannot be made to fit ("" when it fits or can be made to)."""
    if not has_long_line(raw):
        return ""
    try:
        fit_lines(raw)
    except LongLineError as exc:
        return str(exc)
    return ""


def fit_lines(raw: bytes) -> bytes:
    """`raw` with every line at most LIMIT characters; raises `LongLineError`."""
    eol = b"\n" if b"\n" in raw[:4096] and b"\r\n" not in raw[:4096] else b"\r\n"
    return _entity(raw, eol, "text/plain", top=True, depth=0)


def _lines(data: bytes, eol: bytes) -> list[bytes]:
    """The lines of `data`, each with its line end (the last one may have none)."""
    return data.split(eol)[:-1] if data.endswith(eol) else data.split(eol)


def _too_long(data: bytes, eol: bytes) -> bool:
    return any(len(line) > LIMIT for line in data.split(eol))


def _entity(raw: bytes, eol: bytes, default_type: str, top: bool, depth: int) -> bytes:
    """A message or body part: header fields folded, body re-encoded, where too long."""
    fields, rest = split_fields(raw)
    fields = [_fold(f, eol) if _too_long(f, eol) else f for f in fields]
    blank = eol if rest.startswith(eol) else b""
    body = rest[len(blank):]
    if not _too_long(body, eol):
        return b"".join(fields) + rest
    if depth > MAX_DEPTH:
        raise LongLineError("a long line is too deep in nested parts")
    header = _header(fields)
    ctype = header.get_content_type() if "content-type" in header else default_type
    maintype = ctype.partition("/")[0]
    if maintype == "multipart":
        body = _multipart(body, eol, header, ctype, depth)
    elif ctype in ("message/rfc822", "message/global"):
        body = _entity(body, eol, "text/plain", top=False, depth=depth + 1)
    else:
        fields, body = _leaf(fields, body, eol, header, top)
    return b"".join(fields) + (blank or eol) + body


def _header(fields: list[bytes]) -> email.message.Message:
    """The fields as the email package reads them, for Content-Type and its parameters."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    return parser.parsebytes(b"".join(fields) + b"\r\n")


def _fold(field: bytes, eol: bytes) -> bytes:
    """A header field with each too long line folded before white space."""
    out: list[bytes] = []
    for line in _lines(field, eol):
        while len(line) > LIMIT:
            cut = max(line.rfind(b" ", 1, LIMIT + 1), line.rfind(b"\t", 1, LIMIT + 1))
            if cut <= 0 or not line[:cut].strip(_WSP) or not line[cut:].strip(_WSP):
                name = field_name(field)
                raise LongLineError(f"the {name} header has a line longer than {LIMIT} "
                                    "characters with no space to fold it at")
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    folded = eol.join(out)
    return folded + eol if field.endswith(eol) else folded


def _multipart(body: bytes, eol: bytes, header: email.message.Message, ctype: str,
               depth: int) -> bytes:
    """Each part walked into; preamble and epilogue lines broken where too long."""
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise LongLineError(f"a {ctype} part with a long line has no boundary")
    delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
    default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
    out: list[bytes] = []
    part: list[bytes] | None = None  # lines of the part being read; None outside parts
    closed = False
    for line in _lines(body, eol):
        bare = line.rstrip(_WSP)
        if not closed and bare in (delimiter, delimiter + b"--"):
            if part is not None:
                out.append(_part(part, eol, default, depth))
            out.append(line + eol)
            closed = bare.endswith(b"--") and bare != delimiter
            part = None if closed else []
        elif part is not None:
            part.append(line + eol)
        else:
            out.append(_broken(line, eol) + eol)  # preamble or epilogue
    if part is not None:  # no close delimiter: readers show the last part all the same
        out.append(_part(part, eol, default, depth))
    elif not closed:
        raise LongLineError(f"the boundary of a {ctype} part with a long line never comes")
    joined = b"".join(out)
    return joined if body.endswith(eol) else joined[:-len(eol)]


def _part(lines: list[bytes], eol: bytes, default_type: str, depth: int) -> bytes:
    raw = b"".join(lines)
    if not _too_long(raw, eol):
        return raw
    return _entity(raw, eol, default_type, top=False, depth=depth + 1)


def _broken(line: bytes, eol: bytes) -> bytes:
    """A line no reader shows, broken into pieces of LIMIT characters."""
    return eol.join(line[i:i + LIMIT] for i in range(0, len(line), LIMIT)) or line


def _leaf(fields: list[bytes], body: bytes, eol: bytes, header: email.message.Message,
          top: bool) -> tuple[list[bytes], bytes]:
    """The fields and body of a single part, its body re-encoded to fit."""
    encoding = str(header.get("content-transfer-encoding", "")).strip().lower()
    if encoding == "base64":
        return fields, _wrapped_base64(body, eol)
    if encoding == "quoted-printable":
        return fields, eol.join(_soft_broken(line, eol) for line in body.split(eol))
    if encoding not in ("", "7bit", "8bit", "binary"):
        raise LongLineError(f"a part in the {encoding!r} transfer encoding has a long line")
    encoded = eol.join(binascii.b2a_qp(line, quotetabs=False, istext=False)
                       .replace(b"=\n", b"=" + eol) for line in body.split(eol))
    kept = [f for f in fields if field_name(f) != "content-transfer-encoding"]
    added = [b"Content-Transfer-Encoding: quoted-printable" + eol]
    if top and "mime-version" not in header:
        added.insert(0, b"MIME-Version: 1.0" + eol)
    if "content-type" not in header and not body.isascii():
        # Undeclared 8-bit text: readers guessed; quoted-printable needs a charset.
        charset = "utf-8" if _is_utf8(body) else "unknown-8bit"
        added.append(f"Content-Type: text/plain; charset={charset}".encode() + eol)
    return kept + added, encoded


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _wrapped_base64(body: bytes, eol: bytes) -> bytes:
    """The same base64 text in lines of 76 characters (decoders skip line breaks)."""
    text = b"".join(body.split())
    lines = [text[i:i + 76] for i in range(0, len(text), 76)]
    return eol.join(lines) + (eol if body.endswith(eol) else b"")


def _soft_broken(line: bytes, eol: bytes) -> bytes:
    """A quoted-printable line with soft line breaks, never inside an `=XX`."""
    if len(line) <= LIMIT:
        return line
    pieces: list[bytes] = []
    while len(line) > 76:
        cut = 75
        equals = line.rfind(b"=", cut - 2, cut)
        if equals != -1:
            cut = equals  # the escape starts the next piece
        pieces.append(line[:cut] + b"=")
        line = line[cut:]
    pieces.append(line)
    return eol.join(pieces)
