"""One digest message, whole (pure): the header block of a list message and the body in
the member's form, MIME or plain text (RFC 1153), in the member's language.

The member's token is not in it: a slot stands where it goes (the one-click URL in
List-Unsubscribe and the link to the member's page in the body), and the delivery worker
fills it in for each recipient, as for personalised list copies.
"""

from __future__ import annotations

from datetime import datetime
from email.header import Header
from email.utils import format_datetime

from ccrlist.catalogue import messages
from ccrlist.digests.content import DigestSpec, subject
from ccrlist.digests.mime import mime_body
from ccrlist.digests.plain import plain_body
from ccrlist.list_fields import ListFields, format_field, list_fields
from ccrlist.names import list_address, role_address

EOL = b"\r\n"


def _encoded(text: str) -> str:
    """A header value as it may be written: RFC 2047 words when it is not ASCII."""
    return text if text.isascii() else Header(text, "utf-8").encode(linesep="\r\n")


def compose_digest(spec: DigestSpec) -> bytes:
    t = messages(spec.lang)
    if spec.digest_format == "plain":
        content_type, body = 'text/plain; charset="utf-8"', plain_body(spec, t)
    else:
        content_type, body = mime_body(spec, t)
    post_to = list_address(spec.list_name, spec.domain)
    fields = [
        ("From", f"{spec.list_name} <{role_address(spec.list_name, spec.domain, 'request')}>"),
        ("To", post_to),
        # A reply to a digest is a post to the list, as with every message from it.
        ("Reply-To", post_to),
        ("Subject", _encoded(subject(spec, t))),
        ("Date", format_datetime(datetime.fromtimestamp(spec.at, spec.zone))),
        ("Message-ID", spec.message_id),
        ("MIME-Version", "1.0"),
        ("Content-Type", content_type),
        ("Content-Transfer-Encoding", "8bit"),
        ("Content-Language", spec.lang),
    ]
    info = ListFields(spec.list_name, spec.domain, spec.archive_url,
                      unsubscribe_url=spec.manage_url)
    head = b"".join(format_field(name, value, EOL) for name, value in fields)
    head += b"".join(format_field(name, value, EOL) for name, value in list_fields(info))
    return head + EOL + body
