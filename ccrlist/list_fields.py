"""The fields a list puts on every message it sends (RFC 2369, 2919 and 8058), written once
for the copies of posts and for the newsletter's issues (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from email.header import Header

from ccrlist.names import list_address, list_id, role_address

# Fields the list sets itself; copies arriving with a post are dropped.
OWNED_FIELDS = frozenset({
    "list-id", "list-post", "list-help", "list-subscribe", "list-unsubscribe",
    "list-archive", "list-owner", "precedence", "x-loop", "list-unsubscribe-post",
    "archived-at",
})
FOLD_AT = 78  # RFC 5322's recommended line length


@dataclass(frozen=True)
class ListFields:
    """Who the list is, and the URLs its messages point to."""

    list_name: str
    domain: str
    archive_url: str  # "" when the list has no archive: no List-Archive field
    # The one-click unsubscribe URL (with a token slot); "" offers only the mailto form.
    unsubscribe_url: str = ""
    label: str = ""  # the List-Id phrase (RFC 2919), e.g. "E-Chronicle"
    announce: bool = False  # only its editors post: `List-Post: NO` (RFC 2369)
    archived_at: str = ""  # the post's page in the archive (RFC 5064), "" for none


def list_fields(info: ListFields) -> list[tuple[str, str]]:
    """(name, value) of each field, in the order they are written."""
    post = list_address(info.list_name, info.domain)
    unsubscribe = f"<mailto:{role_address(info.list_name, info.domain, 'leave')}>"
    if info.unsubscribe_url:
        unsubscribe = f"<{info.unsubscribe_url}>, {unsubscribe}"
    ident = f"<{list_id(info.list_name, info.domain)}>"
    if info.label:
        # Only the phrase may be an encoded word; the <list-id> stays as it is.
        phrase = (info.label if info.label.isascii()
                  else Header(info.label, "utf-8").encode(linesep="\r\n"))
        ident = f"{phrase} {ident}"
    fields = [
        ("List-Id", ident),
        ("List-Post", "NO" if info.announce else f"<mailto:{post}>"),
        ("List-Help", f"<mailto:{role_address(info.list_name, info.domain, 'request')}"
                      "?subject=help>"),
        ("List-Subscribe", f"<mailto:{role_address(info.list_name, info.domain, 'join')}>"),
        ("List-Unsubscribe", unsubscribe),
    ]
    if info.archive_url:
        fields.append(("List-Archive", f"<{info.archive_url}>"))
    fields += [("Precedence", "list"), ("X-Loop", post)]
    if info.archived_at:
        fields.append(("Archived-At", f"<{info.archived_at}>"))
    if info.unsubscribe_url:
        # RFC 8058: only with an https URI that takes a POST.
        fields.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return fields


def format_field(name: str, value: str, eol: bytes) -> bytes:
    """`Name: value` and a line end; past FOLD_AT characters a list of `<URI>`s is folded
    before each further URI, never inside one (so a token slot is never split)."""
    line = f"{name}: {value}".encode()
    if len(line) <= FOLD_AT:
        return line + eol
    return line.replace(b", <", b"," + eol + b" <") + eol
