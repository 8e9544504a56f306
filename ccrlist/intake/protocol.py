"""aiosmtpd's SMTP and LMTP sessions, reading plain MAIL FROM and RCPT TO paths cheaply.

aiosmtpd 1.4.6 parses every path with the RFC 5322 header parser and defines a
typing.Protocol class on each call: about 45 us per command, 90 us per post, plus
the garbage those classes leave. Skipping it took `serve`'s event-loop CPU from
about 650 to 460 us per post under the ingest benchmark. Nearly every path is a
plain `<local@domain>` (dot-atom local part, ASCII host name), for which the
parser's answer is the text between the brackets. Only those take the short way;
anything else (quoting, comments, encoded words, source routes, IP literals,
UTF-8, the null path) goes to aiosmtpd's own parser, so the answers are the same.
tests/test_protocol.py checks that on a table and on generated paths.
"""

from __future__ import annotations

import re

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from ccrlist.intake.idle import IdleTimeout
from ccrlist.intake.post import SIMPLE_ADDRESS

# `<address>`; what follows is checked in `plain_path`.
_PLAIN_PATH = re.compile(rf"<({SIMPLE_ADDRESS.pattern})>")


def plain_path(arg: str, local_part_limit: int) -> tuple[str, str] | None:
    """(address, parameters) for a plain `<local@domain>` path, else None (parse it fully)."""
    match = _PLAIN_PATH.match(arg)
    if match is None:
        return None
    address = match.group(1)
    if "=?" in address:
        return None  # aiosmtpd decodes an RFC 2047 word in a local part; let it
    if local_part_limit and address.index("@") > local_part_limit:
        return None  # aiosmtpd refuses it; let it say so
    rest = arg[match.end():]
    if rest[:1] in (" ", "\t"):
        rest = rest.lstrip()  # as aiosmtpd's parser skips folding white space (str.lstrip)
        if not rest:
            return None
    if rest[:1] == "(":
        return None  # a comment: aiosmtpd's parser skips it
    return address, rest


class ListSMTP(IdleTimeout, SMTP):
    """An SMTP session that reads plain paths without the header parser."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return plain_path(arg, self.local_part_limit) or super()._getaddr(arg)


class ListLMTP(IdleTimeout, LMTP):
    """An LMTP session (Postfix's lmtp transport) that reads plain paths the same way."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return plain_path(arg, self.local_part_limit) or super()._getaddr(arg)
