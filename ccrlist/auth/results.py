"""Authentication-Results headers (RFC 8601): strip forged ones, read a trusted one, write
ours (pure).

Pure functions over raw header bytes; the authres library parses and formats
the field values.
"""

from __future__ import annotations

from collections.abc import Sequence

import authres
import authres.dmarc

from ccrlist.auth.dmarc import DkimCheck, DmarcOutcome, MethodResult, SpfCheck
from ccrlist.header_block import field_name, field_value, split_fields

FIELD = "authentication-results"
_PARSER = authres.FeatureContext(authres.dmarc)
_RESULTS: frozenset[str] = frozenset(
    {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"})


def _authserv_id(field: bytes) -> str | None:
    """The authserv-id of an Authentication-Results field, or None when it cannot be parsed."""
    value = field_value(field).decode("utf-8", "replace")
    try:
        return str(_PARSER.parse_value(" ".join(value.split())).authserv_id).lower()
    except authres.AuthResError:
        return None


def claims(field: bytes, authserv_id: str) -> bool:
    """Whether this is an Authentication-Results field speaking for `authserv_id`.

    One we cannot parse counts as ours when it starts with our id: better lost
    than believed.
    """
    if field_name(field) != FIELD:
        return False
    found = _authserv_id(field)
    if found is None:
        head = field_value(field).decode("utf-8", "replace").strip().split(";")[0]
        return head.split()[0].lower() == authserv_id.lower() if head.split() else False
    return found == authserv_id.lower()


def strip_ours(raw: bytes, authserv_id: str) -> bytes:
    """`raw` without any Authentication-Results claiming `authserv_id` (they came from outside)."""
    head_end = raw.find(b"\r\n\r\n")
    if b"uthentication-" not in raw[:head_end if head_end != -1 else len(raw)].lower():
        return raw  # the common case, without splitting the header
    fields, rest = split_fields(raw)
    kept = [f for f in fields if not claims(f, authserv_id)]
    return raw if len(kept) == len(fields) else b"".join(kept) + rest


def topmost_ours(raw: bytes, authserv_id: str) -> tuple[list[DkimCheck], SpfCheck] | None:
    """DKIM and SPF results from the one Authentication-Results of `authserv_id` that our
    relay added, above its own Received field.

    Fields below the first Received came with the message from outside, whatever
    they claim. None (check afresh) when there is no such field, or more than one:
    either could be a forgery.
    """
    fields, _ = split_fields(raw)
    first_received = next((i for i, f in enumerate(fields) if field_name(f) == "received"),
                           len(fields))
    ours = [field for field in fields[:first_received] if claims(field, authserv_id)]
    if len(ours) != 1:
        return None
    for field in ours:
        value = " ".join(field_value(field).decode("utf-8", "replace").split())
        try:
            results = _PARSER.parse_value(value).results
        except authres.AuthResError:
            return [], SpfCheck("", "none")
        dkim = [DkimCheck(str(getattr(r, "header_d", "") or "").lower(), _result(r.result))
                for r in results if r.method == "dkim"]
        spf = SpfCheck("", "none")
        for r in results:
            if r.method == "spf":
                identity = str(getattr(r, "smtp_mailfrom", "") or getattr(r, "smtp_helo", "")
                               or "")
                spf = SpfCheck(identity.rpartition("@")[2].lower(), _result(r.result))
                break
        return dkim, spf
    return None


def _result(value: object) -> MethodResult:
    text = str(value).lower()
    return text if text in _RESULTS else "none"  # type: ignore[return-value]


def header(authserv_id: str, dkim: Sequence[DkimCheck], spf: SpfCheck,
           dmarc: DmarcOutcome) -> bytes:
    """Our Authentication-Results field, folded, ending in CRLF."""
    results: list[object] = [
        authres.DKIMAuthenticationResult(result=c.result, header_d=c.domain or None)
        for c in dkim] or [authres.DKIMAuthenticationResult(result="none")]
    results.append(authres.SPFAuthenticationResult(
        result=spf.result, smtp_mailfrom=spf.domain or None))
    comment = f"p={dmarc.policy}" if dmarc.policy else None
    results.append(authres.dmarc.DMARCAuthenticationResult(
        result=dmarc.result, header_from=dmarc.from_domain or None, result_comment=comment))
    text = str(authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=results))
    # One result per line keeps the field under the 78-character line length.
    return text.replace("; ", ";\r\n\t").encode("utf-8") + b"\r\n"
