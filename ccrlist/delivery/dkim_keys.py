"""Make, check and publish DKIM keys: RSA or Ed25519 (RFC 8463) (pure but for the RNG)."""

from __future__ import annotations

import base64
import re
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ccrlist.delivery.dkim_errors import DkimKeyError
from ccrlist.delivery.dkim_sign import PrivateKey

KeyType = Literal["rsa", "ed25519"]
TXT_CHUNK = 255  # the longest character-string in one TXT record (RFC 1035)
MIN_BITS = 1024  # RFC 8301: verifiers refuse smaller keys
_SELECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*$")


def valid_selector(selector: str) -> bool:
    """A selector is one or more DNS labels (RFC 6376 section 3.1)."""
    return _SELECTOR.fullmatch(selector) is not None


def generate_key(key_type: KeyType = "rsa", bits: int = 2048) -> PrivateKey:
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key: PrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM that a key file holds."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def txt_value(key: PrivateKey) -> str:
    """`v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>` (RFC 6376 section 3.6.1), or for Ed25519
    `v=DKIM1; k=ed25519; p=<the 32 bytes of the public key>` (RFC 8463 section 4), base64."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode('ascii')}"
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def txt_record(selector: str, domain: str, value: str) -> str:
    """`S._domainkey.DOMAIN IN TXT "..." "..."`: the value in strings of at most 255 bytes."""
    chunks = [value[i:i + TXT_CHUNK] for i in range(0, len(value), TXT_CHUNK)]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return f"{selector}._domainkey.{domain} IN TXT {quoted}"


def read_private_key(pem: bytes, key_type: KeyType, source: str) -> PrivateKey:
    """The private key in `pem`, checked for use as a `key_type` DKIM key; `source` names
    the setting and file in the `DkimKeyError` raised when it cannot be used."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        reason = "it is encrypted" if isinstance(exc, TypeError) else "not a PEM private key"
        raise DkimKeyError(f"{source}: cannot use as a DKIM key: {reason}") from None
    if key_type == "ed25519":
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise DkimKeyError(f"{source}: the key must be Ed25519 (ed25519-sha256); make one "
                               "with 'ccrlist dkim keygen --type ed25519'")
        return key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError(f"{source}: the DKIM key must be RSA (rsa-sha256)")
    if key.key_size < MIN_BITS:
        raise DkimKeyError(f"{source}: a {key.key_size}-bit key is too small "
                           f"(at least {MIN_BITS}; 2048 recommended)")
    return key
