"""Web security pieces: the secret file, CSRF tokens, security headers and the client IP."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import urlsplit

SECRET_FILE = "web-secret"
SECRET_BYTES = 32
CSRF_COOKIE = "ccr_csrf"
CSRF_FIELD = "csrf"

# No script, no framing, forms only to ourselves; no inline style either.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": ("default-src 'none'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Tokens are in our URLs; never leak them to another site. Not "no-referrer": with it,
    # browsers send "Origin: null" on our own form POSTs and the Origin check cannot work.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "interest-cohort=()",
}


class SecretFileError(Exception):
    """The secret file exists but is unreadable, malformed or readable by others."""


def load_or_create_secret(data_dir: Path) -> bytes:
    """Read `data_dir/web-secret`, creating it with mode 0600 on first start."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(SECRET_BYTES) + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretFileError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise SecretFileError(f"{path}: cannot read the secret: {exc}") from None
    if len(secret) < 16:
        raise SecretFileError(f"{path}: the secret is too short")
    return secret


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def csrf_token(secret: bytes, nonce: str, path: str) -> str:
    """The form field that goes with the `ccr_csrf` cookie `nonce`, for a form at `path`."""
    mac = hmac.new(secret, f"csrf|{nonce}|{path}".encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_ok(secret: bytes, nonce: str | None, field: str | None, path: str) -> bool:
    if not nonce or not field:
        return False
    return hmac.compare_digest(csrf_token(secret, nonce, path), field)


def origin_ok(origin: str | None, base_url: str, request_origin: str) -> bool:
    """A browser-sent Origin must be ours; a missing one (old browsers, curl) is allowed."""
    if origin is None:
        return True
    parts = urlsplit(base_url)
    allowed = {f"{parts.scheme}://{parts.netloc}".lower(), request_origin.lower()}
    return origin.lower() in allowed


def client_ip(remote: str | None, forwarded_for: str | None,
              trusted_proxies: tuple[str, ...]) -> str:
    """The client's IP: X-Forwarded-For's last hop, but only when our peer is a trusted proxy."""
    peer = remote or "unknown"
    if forwarded_for and peer in trusted_proxies:
        last = forwarded_for.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return peer
    return peer
