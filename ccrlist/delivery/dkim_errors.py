"""What can go wrong with DKIM signing: a key unusable at start-up, or one copy unsignable."""

from __future__ import annotations


class DkimKeyError(Exception):
    """The DKIM key file or settings cannot be used: a start-up error."""


class SigningFailed(Exception):
    """One message could not be signed (e.g. a malformed header block)."""
