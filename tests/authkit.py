"""Test keys and DKIM signing: RSA keys made in the test, public halves for the stub zone."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNED_HEADERS = (b"from", b"to", b"subject", b"message-id")


@dataclass(frozen=True)
class DkimTestKey:
    private_pem: bytes
    record: str  # the DKIM TXT record to publish: "v=DKIM1; k=rsa; p=..."


def make_key() -> DkimTestKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return DkimTestKey(pem, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")


def sign(raw: bytes, domain: str, key: DkimTestKey, selector: str = "sel",
         headers: Sequence[bytes] = SIGNED_HEADERS) -> bytes:
    """`raw` with a DKIM-Signature of d=`domain` on top."""
    signature = dkim.sign(raw, selector.encode(), domain.encode(), key.private_pem,
                          include_headers=list(headers))
    return bytes(signature) + raw


def verifies(raw: bytes, zone: dict[str, str], idx: int = 0) -> bool:
    """Whether signature `idx` of `raw` verifies against `zone` (selector name -> TXT)."""
    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        value = zone.get(name.decode().rstrip(".").lower())
        return value.encode() if value else None

    try:
        return bool(dkim.DKIM(raw).verify(idx, dnsfunc=lookup))
    except dkim.ValidationError:
        return False
