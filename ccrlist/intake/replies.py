"""Every SMTP reply ccrlist sends, and the one place verdicts become replies (pure).

Policy refusals are 5xx (the sender's MTA gives up and tells the author);
infrastructure trouble is 4xx (the sender's MTA tries again later).
"""

from __future__ import annotations

from ccrlist.intake.rules import Reason, Verdict

OK_SENDER = "250 2.1.0 Sender OK"
OK_RECIPIENT = "250 2.1.5 Recipient OK"
ACCEPTED = "250 2.0.0 Message accepted for delivery to the list"
HELD = "250 2.0.0 Message received and held for the list moderators"
DUPLICATE = "250 2.0.0 Message already received; not distributed again"
DISCARDED = "250 2.0.0 Message received; automatic messages are not distributed"

NO_SUCH_LIST = "550 5.1.1 No such list here; this server does not relay mail"
ONE_LIST_PER_MESSAGE = "452 4.5.3 One list per message, please send the others separately"
BARE_EOL = ("554 5.6.0 Message contains a bare CR or LF; lines must end with CRLF "
            "(RFC 5321 section 2.3.8)")
NUL_BYTE = ("554 5.6.0 Message contains a NUL character, which email may not carry "
            "(RFC 5322 section 2.3); please send it again from a standard mail program")
BAD_HEADER = ("554 5.6.0 The message header is malformed: one of its lines is not a "
              "header field (RFC 5322 section 2.2); please send it again from a standard "
              "mail program")
LONG_LINE = ("554 5.6.0 A line of this message is longer than 998 characters "
             "(RFC 5322 section 2.1.1) where we cannot re-encode it (a header line "
             "without spaces, or a part in an unknown encoding); please send it again "
             "from a standard mail program")
BAD_AUTHOR = ("550 5.7.1 The message must have exactly one From address, "
              "with no other address hidden in the name")
NONMEMBER = ("550 5.7.1 Only subscribers may post to this list; to subscribe, "
             "write to {request} or ask the list owner")
NOT_EDITOR = "550 5.7.1 Only the editors may post to this list"
DMARC_FAILED = ("550 5.7.1 This message claims to come from a domain whose DMARC policy "
                "asks us to refuse unauthenticated mail, and it failed DKIM and SPF checks; "
                "send it from a server that signs for that domain")
DNS_TEMPFAIL = ("451 4.4.3 We could not check this message's sender authentication "
                "(DNS lookup failed); please try again later")
UNREADABLE_ADMIN_MAIL = ("550 5.6.0 We could not read this message (its headers or MIME "
                        "structure are malformed), so nothing was done; please send a "
                        "plain message")
# Mail to the admin addresses (-request, -join, -leave, -confirm+token, -owner, -bounces).
NO_SUCH_ADDRESS = "550 5.1.1 No such address here"
REQUEST_RECEIVED = "250 2.0.0 Request received; the answer comes by email"
NOT_ANSWERED = "250 2.0.0 Message received; automatic messages are not answered"
BOUNCE_RECEIVED = "250 2.0.0 Delivery report received"
FORWARDED = "250 2.0.0 Message forwarded to the list owners"
NO_OWNERS = "550 5.1.1 This list has no owner address configured"
FORWARDED_SITE = "250 2.0.0 Message forwarded to the people who run this site"
# RFC 5321 4.5.1 wants postmaster mail taken; with nobody to read it yet, the sender's
# server keeps it and tries again (the start-up notice asks for owners meanwhile).
NO_SITE_OWNERS = "451 4.3.0 Nobody reads this address yet; please try again later"
OWNER_LOOP = "250 2.0.0 Message already passed through this address; not forwarded again"
BAD_TOKEN = "550 5.7.1 This confirmation code is unknown, already used or expired"
NOT_FROM_SENDER = ("250 2.0.0 Message received; not answered, because its From address is "
                   "not its envelope sender")
NO_COMMAND = ("250 2.0.0 Message received; it holds no command, so it is not answered "
              "(write 'help' for help)")
# Owners' replies to a held post's notice (<list>-moderate+code@).
MODERATED_APPROVED = "250 2.0.0 Approved: the held post goes to the list"
MODERATED_REJECTED = "250 2.0.0 Rejected: the held post will not be sent"
MODERATION_REFUSED = ("550 5.7.1 Not accepted: a decision must come from a list owner's own "
                      "address, in reply to a current notice; nothing was done")
MODERATION_NOT_HELD = ("550 5.7.1 That post is no longer held (it was already approved or "
                       "rejected); nothing was done")
MODERATION_NO_DECISION = ("550 5.5.4 Write approve or reject on the first line of your reply; "
                          "nothing was done")

# Before a session starts (the connection is then closed), and when its client falls silent.
TOO_MANY_CONNECTIONS = "421 4.7.0 {host} Error: too many connections; please try again later"
TOO_MANY_FROM_YOU = ("421 4.7.0 {host} Error: too many connections from your address; "
                     "please try again later")
IDLE_TIMEOUT = "421 4.4.2 {host} Error: timeout exceeded"

TOO_BIG = "552 5.3.4 Message too big for this list"
XFORWARD_OK = "250 2.0.0 Ok"
XFORWARD_BAD = "501 5.5.4 Bad XFORWARD command: {reason}"
XFORWARD_IN_TRANSACTION = "503 5.5.1 XFORWARD is not allowed inside a mail transaction"
XFORWARD_REFUSED = "550 5.7.0 Not authorized to use XFORWARD"
INTERNAL_ERROR = "451 4.3.0 Temporary problem on our side; please try again later"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, please try again later"

_REFUSALS: dict[Reason, str] = {
    "bare_eol": BARE_EOL,
    "nul": NUL_BYTE,
    "bad_header": BAD_HEADER,
    "long_line": LONG_LINE,
    "author": BAD_AUTHOR,
    "nonmember": NONMEMBER,
    "not_editor": NOT_EDITOR,
    "dmarc": DMARC_FAILED,
}


def reply_for(verdict: Verdict, request_address: str) -> str:
    """The reply for a verdict whose post (if any) is already committed."""
    if verdict.action == "accept":
        return ACCEPTED
    if verdict.action == "hold":
        return HELD
    if verdict.action == "duplicate":
        return DUPLICATE
    if verdict.action == "discard":
        return DISCARDED
    if verdict.action == "defer":
        return DNS_TEMPFAIL
    return _REFUSALS.get(verdict.reason, BAD_AUTHOR).format(request=request_address)
