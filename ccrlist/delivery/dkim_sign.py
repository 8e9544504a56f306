"""DKIM-Signature fields for outgoing copies (pure but for the clock): relaxed/relaxed,
`rsa-sha256` and optionally `ed25519-sha256` (RFC 8463), computed by OpenSSL through
`cryptography`.

A message is canonicalised once (`DkimSigner.prepare`). Personalised copies differ only
where the token slot was, so each copy's hashes come from the canonical form with the
slot replaced: the body hash is computed once when the slot is not in the body (list
copies), and once per copy when it is (the newsletter's unsubscribe link).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from ccrlist.delivery.dkim_canon import canonicalise
from ccrlist.delivery.dkim_errors import SigningFailed
from ccrlist.delivery.tokens import personalise

# Signed whether present or not: a field signed but absent cannot be added later
# without breaking the signature, which RFC 8058 asks for the List-Unsubscribe pair.
SIGNED_HEADERS: tuple[str, ...] = (
    "from", "subject", "date", "message-id", "to", "cc", "reply-to", "mime-version",
    "content-type", "content-transfer-encoding", "list-id", "list-unsubscribe",
    "list-unsubscribe-post",
)
# Each name twice in h= ("oversigning", RFC 6376 section 8.15): the second covers the
# absent second instance, so a forged From or List-Unsubscribe put on top of ours
# breaks the signature instead of being shown to the reader.
INCLUDE_HEADERS: tuple[bytes, ...] = tuple(h.encode("ascii") for h in SIGNED_HEADERS) * 2
_H_TAG = b"h=" + b" : ".join(INCLUDE_HEADERS)
_NAME = b"DKIM-Signature"
_FIRST_LINE, _LINE = 72 - len(_NAME), 71  # folded as dkimpy folds, so copies look as before

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
Clock = Callable[[], float]


@dataclass(frozen=True)
class DkimKey:
    """One signing key, published at `<selector>._domainkey.<domain>`."""

    selector: str
    domain: str  # ASCII (IDNA)
    private: PrivateKey

    @property
    def algorithm(self) -> bytes:
        return b"rsa-sha256" if isinstance(self.private, rsa.RSAPrivateKey) else b"ed25519-sha256"

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # RFC 8463 section 3: Ed25519 signs the SHA-256 hash of the data, not the data.
        return self.private.sign(hashlib.sha256(data).digest())

    def tags(self) -> bytes:
        """The tags before `t=`, which stay the same for every copy."""
        domain = self.domain.encode("ascii")
        return (b"v=1; a=" + self.algorithm + b"; c=relaxed/relaxed; d=" + domain
                + b"; i=@" + domain + b"; q=dns/txt; s=" + self.selector.encode("ascii"))


def fold(value: bytes, linesep: bytes) -> bytes:
    """`value` in lines of at most 72 characters, broken at spaces (the b= value, which has
    none, anywhere: RFC 6376 allows folding white space inside it)."""
    lines: list[bytes] = []
    limit = _FIRST_LINE
    while len(value) + len(linesep) > limit:
        cut = value.rfind(b" ", 0, limit)
        if cut == -1:
            cut = min(limit, len(value) - 1)  # never leave a line of white space alone
            lines.append(value[:cut])
            value = value[cut:]
        else:
            lines.append(value[:cut])
            value = value[cut + 1:]
        limit = _LINE
    lines.append(value)
    return (linesep + b" ").join(lines)


def _body_hash(canonical_body: bytes) -> bytes:
    return base64.b64encode(hashlib.sha256(canonical_body).digest())


# Printable ASCII without white space: replacing the slot with such a token commutes with
# relaxed canonicalisation, which only touches white space and line ends.
_HEADER_SAFE = re.compile(r"[!-~]+")


@dataclass(frozen=True)
class DkimSigner:
    """Signs with each of `keys` in turn (RSA first); every copy gets one field per key."""

    keys: tuple[DkimKey, ...]
    clock: Clock = field(default=time.time, compare=False)

    def prepare(self, message: bytes, slot: bytes | None = None) -> PreparedMessage:
        """`message` canonicalised once; raises `SigningFailed` when it cannot be signed."""
        return PreparedMessage(self, message, slot)

    def signature(self, message: bytes) -> bytes:
        """The DKIM-Signature fields (with their line ends) to put in front of `message`."""
        return self.prepare(message).fields(None)

    def sign(self, message: bytes) -> bytes:
        """`message` with its DKIM-Signature fields in front."""
        return self.signature(message) + message

    def fields_for(self, headers: bytes, body_hash: bytes, linesep: bytes) -> bytes:
        """One field per key over the canonical signed `headers` and the body's hash."""
        stamp = b"; t=%d; " % int(self.clock())
        out: list[bytes] = []
        for key in self.keys:
            unsigned = key.tags() + stamp + _H_TAG + b"; bh=" + body_hash + b"; b="
            try:
                signature = key.sign(headers + b"dkim-signature:" + unsigned)
            except Exception as exc:  # OpenSSL errors are ValueError, but never send unsigned
                raise SigningFailed(f"cannot DKIM-sign: {type(exc).__name__}: {exc}") from exc
            value = fold(unsigned + base64.b64encode(signature), linesep)
            out.append(_NAME + b": " + value + linesep)
        return b"".join(out)


class PreparedMessage:
    """One message's canonical form, giving the DKIM-Signature fields for any token."""

    def __init__(self, signer: DkimSigner, message: bytes, slot: bytes | None) -> None:
        self._signer = signer
        self._message = message
        self._slot = slot
        head = message[:4096]
        self._linesep = b"\r\n" if b"\r\n" in head or b"\n" not in head else b"\n"
        self._canonical = canonicalise(message, INCLUDE_HEADERS)
        canonical = self._canonical
        # The slot inside a field name could change which fields h= picks: no short cut.
        self._exact = slot is not None and not any(slot in n for n in canonical.names)
        self._slot_in_body = slot is not None and slot in canonical.body
        self._body_hash = b"" if self._slot_in_body else _body_hash(canonical.body)

    def fields(self, token: str | None) -> bytes:
        """The fields for the copy whose slot holds `token` (None: the message as it is)."""
        canonical, slot = self._canonical, self._slot
        if token is None or slot is None:
            body_hash = self._body_hash or _body_hash(canonical.body)
            return self._signer.fields_for(canonical.headers, body_hash, self._linesep)
        if not (self._exact and _HEADER_SAFE.fullmatch(token)):
            copy = personalise(self._message, token, slot)
            return PreparedMessage(self._signer, copy, None).fields(None)
        value = token.encode("ascii")
        body_hash = (_body_hash(canonical.body.replace(slot, value)) if self._slot_in_body
                     else self._body_hash)
        return self._signer.fields_for(canonical.headers.replace(slot, value), body_hash,
                                       self._linesep)
