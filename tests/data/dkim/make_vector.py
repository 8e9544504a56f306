"""How the committed DKIM test vector was made: by dkimpy, an implementation independent of
ours, with the clock fixed. Run once; the test compares our signer's output to `*.sig`.

    python tests/data/dkim/make_vector.py   # needs dkimpy and PyNaCl; keeps existing keys
"""

from __future__ import annotations

import base64
from pathlib import Path
from unittest import mock

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

HERE = Path(__file__).resolve().parent
STAMP = 1796000000  # t= of the vector: 2026-11-30T16:53:20Z
SELECTOR, ED_SELECTOR, DOMAIN = b"vector", b"vector-ed", b"lists.example.org"
SIGNED = [h.encode() for h in (
    "from", "subject", "date", "message-id", "to", "cc", "reply-to", "mime-version",
    "content-type", "content-transfer-encoding", "list-id", "list-unsubscribe",
    "list-unsubscribe-post")] * 2


def pem_of(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def main() -> None:
    rsa_pem, ed_pem = HERE / "vector-rsa.pem", HERE / "vector-ed25519.pem"
    if not rsa_pem.exists():
        rsa_pem.write_bytes(pem_of(rsa.generate_private_key(public_exponent=65537,
                                                            key_size=2048)))
    if not ed_pem.exists():
        ed_pem.write_bytes(pem_of(ed25519.Ed25519PrivateKey.generate()))
    ed_key = serialization.load_pem_private_key(ed_pem.read_bytes(), password=None)
    assert isinstance(ed_key, ed25519.Ed25519PrivateKey)
    seed = ed_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    message = (HERE / "vector.eml").read_bytes()
    with mock.patch("time.time", return_value=float(STAMP)):
        rsa_field = dkim.sign(message, SELECTOR, DOMAIN, rsa_pem.read_bytes(),
                              canonicalize=(b"relaxed", b"relaxed"), include_headers=SIGNED)
        ed_field = dkim.sign(message, ED_SELECTOR, DOMAIN, base64.b64encode(seed),
                             canonicalize=(b"relaxed", b"relaxed"), include_headers=SIGNED,
                             signature_algorithm=b"ed25519-sha256")
    (HERE / "vector-rsa.sig").write_bytes(rsa_field)
    (HERE / "vector-ed25519.sig").write_bytes(ed_field)


if __name__ == "__main__":
    main()
