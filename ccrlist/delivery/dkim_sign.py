"""Sign an outgoing copy with the list domain's DKIM key: dkimpy, rsa-sha256, relaxed/relaxed.

The key file is read and checked once, at start-up (`load_signer`); a bad key is
a `DkimKeyError` there, never a message sent unsigned later. `DkimSigner` itself
holds only bytes and strings, so it can be handed to another process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_errors import DkimKeyError, SigningFailed
from ccrlist.delivery.dkim_keys import valid_selector

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
MIN_BITS = 1024  # RFC 8301: verifiers refuse smaller keys
_PROBE = b"From: probe@example.org\r\nSubject: key check\r\n\r\nkey check\r\n"


@dataclass(frozen=True)
class DkimSigner:
    """Signs with one key as `d=domain`, `s=selector`."""

    selector: str
    domain: str
    key_pem: bytes

    def signature(self, message: bytes) -> bytes:
        """The DKIM-Signature field (with its line end) for `message`, to put in front of it."""
        linesep = b"\r\n" if b"\r\n" in message[:4096] or b"\n" not in message[:4096] else b"\n"
        try:
            return bytes(dkim.sign(
                message, self.selector.encode("ascii"), self.domain.encode("ascii"),
                self.key_pem, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(INCLUDE_HEADERS),
                linesep=linesep))
        except Exception as exc:  # dkimpy also raises IndexError and the like on odd input
            raise SigningFailed(f"cannot DKIM-sign: {type(exc).__name__}: {exc}") from exc

    def sign(self, message: bytes) -> bytes:
        """`message` with its DKIM-Signature field in front."""
        return self.signature(message) + message


def signer_from_pem(pem: bytes, selector: str, domain: str, source: str) -> DkimSigner:
    """Check that `pem` is an RSA private key dkimpy can sign with; name `source` if not."""
    if not valid_selector(selector):
        raise DkimKeyError(f"[dkim] selector {selector!r} is not a DNS label")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DkimKeyError(f"[dkim] domain {domain!r} is not a domain name") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        reason = "it is encrypted" if isinstance(exc, TypeError) else "not a PEM private key"
        raise DkimKeyError(f"{source}: cannot use as a DKIM key: {reason}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError(f"{source}: the DKIM key must be RSA (rsa-sha256)")
    if key.key_size < MIN_BITS:
        raise DkimKeyError(f"{source}: a {key.key_size}-bit key is too small "
                           f"(at least {MIN_BITS}; 2048 recommended)")
    signer = DkimSigner(selector, ascii_domain, pem)
    try:
        signer.signature(_PROBE)  # dkimpy has its own PEM parser: make sure it agrees
    except SigningFailed as exc:
        raise DkimKeyError(f"{source}: {exc}") from None
    return signer


def load_signer(settings: Settings, path: Path) -> DkimSigner:
    """Read and check the key file `path` with the `[dkim]` selector and domain."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise DkimKeyError(f"[dkim] key_file {path}: no such file "
                           "(create one with 'ccrlist dkim keygen')") from None
    except OSError as exc:
        raise DkimKeyError(f"[dkim] key_file {path}: cannot read: "
                           f"{exc.strerror or exc}") from None
    return signer_from_pem(pem, settings.dkim.selector, settings.dkim_domain,
                           f"[dkim] key_file {path}")
