"""Rewrite a post's header block for the list copy; the body stays byte for byte (pure).

We work on the raw bytes of the header block: fields we own are removed and
appended afresh, the Subject gets the list prefix once, and everything else,
including the blank line and the body, is copied unchanged. The one exception:
a copy with a line longer than 998 characters has it re-encoded
(`copies.long_lines`), and then none of the author's DKIM signatures verifies.

DMARC mitigation: when the author's domain publishes p=reject or p=quarantine,
From becomes `"Name via <list>" <list@domain>` and the author goes to Reply-To
(see `reply_to_value`). The author's DKIM signatures that cover a field we
change no longer verify, so they are removed; the others are kept.

A personalised copy's List-Unsubscribe holds a token slot (random for each post:
see `ccrlist.delivery.tokens.new_slot`) where the member's token goes; the worker fills
it in at send time. A long field is folded only between its URIs, so the slot is
never split.
"""

from __future__ import annotations

import contextlib
import email.policy
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Literal

from dkim.util import InvalidTagValueList, parse_tag_value

from ccrlist.config.settings import Settings
from ccrlist.copies.long_lines import fit_lines, has_long_line
from ccrlist.delivery.tokens import TOKEN_SLOT
from ccrlist.header_block import decoded_subject, field_name, field_value, split_fields
from ccrlist.list_fields import OWNED_FIELDS, ListFields, format_field, list_fields
from ccrlist.names import list_address, one_click_url


@dataclass(frozen=True)
class ListHeaders:
    """What the rewrite needs to know: the list's own fields, and how copies are made."""

    fields: ListFields
    subject_prefix: str
    reply_to: Literal["off", "list", "author"] = "off"
    from_rewrite: bool = False  # DMARC mitigation for p=reject/quarantine domains

    @property
    def list_name(self) -> str:
        return self.fields.list_name

    @property
    def domain(self) -> str:
        return self.fields.domain


def list_headers(list_name: str, settings: Settings, personalised: bool = False,
                 slot: bytes = TOKEN_SLOT) -> ListHeaders:
    """The list's fields; a personalised copy's one-click URL holds `slot` for the token."""
    fill = {"list": list_name, "domain": settings.domain}
    url = one_click_url(settings.web.base_url, slot.decode("ascii")) if personalised else ""
    fields = ListFields(list_name, settings.domain,
                        settings.posting.archive_url.format(**fill), unsubscribe_url=url)
    return ListHeaders(fields, settings.posting.subject_prefix.format(**fill),
                       settings.posting.reply_to, settings.auth.from_rewrite)


def needs_from_rewrite(info: ListHeaders, dmarc_policy: str) -> bool:
    """Rewrite From when the author's domain asks receivers to refuse or quarantine
    mail that fails DMARC: our copy, sent from our servers, would fail it."""
    return info.from_rewrite and dmarc_policy in ("reject", "quarantine")


def prefixed_subject(field: bytes, prefix: str, eol: bytes) -> bytes:
    """The Subject field with `prefix` in front, unless it is there already (Re:, encoded)."""
    value = field_value(field)
    if not prefix or prefix.casefold() in decoded_subject(value).casefold():
        return field
    rest = value.lstrip(b" \t")
    if not rest.strip():
        return b"Subject: " + prefix.encode("utf-8") + eol
    return b"Subject: " + prefix.encode("utf-8") + b" " + rest


def via_from(original: bytes, author: str, info: ListHeaders, eol: bytes) -> bytes:
    """`From: "Name via <list>" <list@domain>`, RFC 2047-encoded when the name is not ASCII."""
    name = ""
    with contextlib.suppress(Exception):  # the header parser gave up: use the address
        header = email.policy.default.header_factory(
            "From", " ".join(original.decode("utf-8", "replace").split()))
        addresses = getattr(header, "addresses", ())
        name = addresses[0].display_name if addresses else ""
    name = name or author.replace("@", " at ")
    address = Address(display_name=f"{name} via {info.list_name}",
                      addr_spec=list_address(info.list_name, info.domain))
    folded = email.policy.SMTP.fold_binary(
        "From", email.policy.SMTP.header_factory("From", [address]))
    return folded.replace(b"\r\n", eol)


def reply_to_value(info: ListHeaders, author: str, original_from: bytes | None,
                   original_reply_to: bytes | None) -> bytes | None:
    """The Reply-To of the list copy; None keeps the post's own (or none).

    `original_from` is set when From was rewritten. Then `off` keeps the author's own
    Reply-To, else points Reply-To at the author (who is no longer in From); `author`
    points it at the author; `list` at the list and the author, so that a reply still
    reaches the list and the author's address is not lost.
    """
    post = list_address(info.list_name, info.domain).encode()
    if original_from is None:
        if info.reply_to == "list":
            return post
        if info.reply_to == "author" and author:
            return author.encode()
        return None
    if info.reply_to == "off":
        return None if original_reply_to is not None else original_from
    if info.reply_to == "author":
        return original_from
    return post + b", " + original_from


def signed_fields(signature: bytes) -> frozenset[str] | None:
    """The header names a DKIM-Signature covers (its h=), or None when it cannot be read."""
    try:
        tags = parse_tag_value(b" ".join(field_value(signature).split()))
    except InvalidTagValueList:
        return None
    if b"h" not in tags:
        return None
    return frozenset(n.strip().decode("ascii", "replace").lower()
                     for n in tags[b"h"].split(b":"))


def surviving_signatures(signatures: list[bytes], changed: set[str]) -> list[bytes]:
    """The DKIM-Signature fields that still verify once the `changed` fields are changed.

    A signature covering a changed, added or removed field no longer verifies (a
    name in h= with no field left still counts: RFC 6376 5.4). A signature covering
    DKIM-Signature breaks when another one is removed.
    """
    def broken(signature: bytes) -> bool:
        names = signed_fields(signature)
        return names is None or bool(names & changed)

    kept = signatures
    for _ in range(len(signatures) + 1):
        removed = [s for s in kept if broken(s)]
        if not removed:
            break
        kept = [s for s in kept if s not in removed]
        changed = changed | {"dkim-signature"}
    return kept


def _verbatim(field: bytes) -> bytes:
    """A field's value as it came, folds included, without the surrounding white space."""
    return field_value(field).strip(b" \t\r\n")


def rewrite(raw: bytes, info: ListHeaders, author: str, dmarc_policy: str = "") -> bytes:
    """The list copy of `raw`: list fields set, Subject prefixed once, body untouched
    (unless a line is too long); From rewritten when `dmarc_policy` asks for it, broken
    DKIM signatures removed."""
    fields, rest = split_fields(raw)
    named = [(field_name(f), f) for f in fields]  # each name once: this runs for every post
    eol = b"\n" if b"\n" in raw[:4096] and b"\r\n" not in raw[:4096] else b"\r\n"
    munge = needs_from_rewrite(info, dmarc_policy)
    original_from = next((_verbatim(f) for n, f in named if n == "from"),
                         None) if munge else None
    original_reply_to = next((_verbatim(f) for n, f in named if n == "reply-to"), None)
    reply_to = reply_to_value(info, author, original_from, original_reply_to)
    dropped = set(OWNED_FIELDS)  # set afresh below
    if reply_to is not None:
        dropped.add("reply-to")
    # What an author's signature must not cover to survive; ours was added on arrival.
    changed = dropped | {"authentication-results"}
    kept: list[bytes] = []
    signatures: list[bytes] = []
    has_subject = False
    for name, field in named:
        if name in dropped:
            continue
        if not field.endswith((b"\n", b"\r")):
            field += eol  # a header-only message whose last line had no line end
        if field.find(b":") != len(name):
            # Obsolete `Name :` (RFC 5322 4.5): receivers accept it, DKIM signers do not.
            head, colon, value = field.partition(b":")
            field = head.rstrip(b" \t") + colon + value
            changed.add(name)  # an author's signature with simple canonicalisation breaks
        if name == "subject" and not has_subject:
            has_subject = True
            prefixed = prefixed_subject(field, info.subject_prefix, eol)
            if prefixed != field:
                changed.add("subject")
            field = prefixed
        elif name == "from" and munge:
            changed.add("from")
            field = via_from(field_value(field), author, info, eol)
        elif name == "dkim-signature":
            signatures.append(field)
        kept.append(field)
    if not has_subject and info.subject_prefix:
        changed.add("subject")
        kept.append(b"Subject: " + info.subject_prefix.encode("utf-8") + eol)
    if signatures:
        survivors = surviving_signatures(signatures, changed)
        kept = [f for f in kept if f not in signatures or f in survivors]
    kept.extend(format_field(name, value, eol) for name, value in list_fields(info.fields))
    if reply_to is not None:
        kept.append(b"Reply-To: " + reply_to + eol)
    if not rest:
        rest = eol
    copy = b"".join(kept) + rest
    return _fitted(copy) if has_long_line(copy) else copy


def _fitted(copy: bytes) -> bytes:
    """The copy with its long lines re-encoded (intake refused the posts whose lines cannot
    be: `LongLineError` here means a bug). The body changed, so no author's signature
    verifies any more; all of them go."""
    fields, rest = split_fields(fit_lines(copy))
    return b"".join(f for f in fields if field_name(f) != "dkim-signature") + rest
