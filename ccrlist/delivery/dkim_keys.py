"""Make a DKIM key pair and the DNS TXT record that publishes its public half (pure but for RNG)."""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TXT_CHUNK = 255  # the longest character-string in one TXT record (RFC 1035)
_SELECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*$")


def valid_selector(selector: str) -> bool:
    """A selector is one or more DNS labels (RFC 6376 section 3.1)."""
    return _SELECTOR.fullmatch(selector) is not None


def generate_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM that `[dkim] key_file` holds."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def txt_value(key: rsa.RSAPrivateKey) -> str:
    """`v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo, base64>` (RFC 6376 section 3.6.1)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def txt_record(selector: str, domain: str, value: str) -> str:
    """`S._domainkey.DOMAIN IN TXT "..." "..."`: the value in strings of at most 255 bytes."""
    chunks = [value[i:i + TXT_CHUNK] for i in range(0, len(value), TXT_CHUNK)]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return f"{selector}._domainkey.{domain} IN TXT {quoted}"
