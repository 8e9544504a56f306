"""The installation's secret: made once, kept in `data_dir/web-secret` with mode 0600.

Keys are derived from it for what must not be forged: the web pages' CSRF and
confirmation tokens, and the signed VERP addresses that bounces come back to.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

SECRET_FILE = "web-secret"  # its historical name; it serves more than the web pages now
SECRET_BYTES = 32


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
