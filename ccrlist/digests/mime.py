"""The MIME digest (pure): `multipart/mixed` holding a text/plain masthead and contents,
then a `multipart/digest` of the posts as `message/rfc822` parts (RFC 2046 5.1.5).

Each post goes in as it was received, headers and body, less the fields that are about
its way to us (Received, signatures, authentication results) rather than about it.
Nothing is re-encoded, so a member's mail program shows each post as its author sent it.
"""

from __future__ import annotations

import hashlib

from ccrlist.catalogue import Messages
from ccrlist.digests.content import DigestSpec, crlf, masthead
from ccrlist.header_block import field_name, split_fields

# The fields of a post that go into the digest with it.
KEPT_FIELDS = frozenset({
    "date", "from", "sender", "to", "cc", "reply-to", "subject", "message-id",
    "in-reply-to", "references", "keywords", "mime-version", "content-type",
    "content-transfer-encoding", "content-disposition", "content-language",
    "content-id", "content-description",
})


def embedded(raw: bytes) -> bytes:
    """A post as it goes into the digest: its kept fields and its body, CRLF ends."""
    if b"\r\n" not in raw:
        raw = raw.replace(b"\n", b"\r\n")
    fields, rest = split_fields(raw)
    kept = [f if f.endswith(b"\n") else f + b"\r\n" for f in fields
            if field_name(f) in KEPT_FIELDS]
    return b"".join(kept) + (rest if rest.startswith(b"\r\n") else b"\r\n" + rest)


def _boundary(seed: bytes, parts: list[bytes]) -> str:
    """A boundary found in no part (RFC 2046 5.1.1), the same for the same content."""
    for n in range(100):
        candidate = "=_ccr-" + hashlib.sha256(seed + str(n).encode()).hexdigest()[:40]
        if not any(candidate.encode() in part for part in parts):
            return candidate
    raise AssertionError("no free boundary")  # pragma: no cover


def mime_body(spec: DigestSpec, t: Messages) -> tuple[str, bytes]:
    """The Content-Type value and the body of the whole digest."""
    head = crlf(masthead(spec, t))
    posts = [embedded(post.raw) for post in spec.posts]
    seed = hashlib.sha256(head + b"".join(posts)).digest()
    outer = _boundary(seed + b"mixed", [head, *posts])
    inner = _boundary(seed + b"digest", [head, *posts, outer.encode()])
    chunks = [crlf([t.digest_preamble, "", f"--{outer}",
                    'Content-Type: text/plain; charset="utf-8"',
                    "Content-Transfer-Encoding: 8bit", ""]), head,
              crlf(["", f"--{outer}", f'Content-Type: multipart/digest; boundary="{inner}"',
                    ""])]
    for post in posts:
        cte = "7bit" if post.isascii() else "8bit"
        chunks.append(crlf([f"--{inner}", "Content-Type: message/rfc822",
                            f"Content-Transfer-Encoding: {cte}", ""]))
        chunks.append(post)
        chunks.append(b"\r\n")
    end = t.digest_end.format(list=spec.list_name, volume=spec.volume, number=spec.number)
    chunks.append(crlf([f"--{inner}--", "", f"--{outer}",
                        'Content-Type: text/plain; charset="utf-8"',
                        "Content-Transfer-Encoding: 8bit", "", end, "", t.digest_manage,
                        f"  {spec.manage_url}", "", f"--{outer}--"]))
    return f'multipart/mixed; boundary="{outer}"', b"".join(chunks)
