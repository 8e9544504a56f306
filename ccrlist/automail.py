"""Build the emails the list server writes by itself: confirmations, replies, owner notices
(pure: the caller passes the time; the result is the message as bytes for the queue)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Literal

from ccrlist.catalogue import Messages
from ccrlist.names import list_id, role_address, web_page
from subscribers.models import ConfirmAction

AutoKind = Literal["auto-generated", "auto-replied"]

_MSGID = re.compile(r"<[!-;=?-~]{1,240}@[!-;=?-~]{1,240}>", re.ASCII)  # printable, no < >


def quotable_msgid(value: str) -> str | None:
    """`value` if it is a plain `<left@right>` safe to put in In-Reply-To, else None: a
    Message-ID decoded from a stranger's header may hold CR/LF or anything else."""
    value = value.strip()
    return value if _MSGID.fullmatch(value) else None


def build_mail(*, list_name: str, domain: str, to: tuple[str, ...], subject: str, body: str,
               lang: str, now: float, auto: AutoKind, reply_to: str | None = None,
               in_reply_to: str | None = None) -> bytes:
    """A plain-text message from `<list>-request@`, marked as automatic so nobody answers it.

    An `in_reply_to` that is not a plain message ID is left out, so the reply can always be
    built: callers commit their changes before building it.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = role_address(list_name, domain, "request")
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
    msg["Message-ID"] = make_msgid(domain=domain)
    if reply_to:
        msg["Reply-To"] = reply_to
    in_reply_to = quotable_msgid(in_reply_to or "")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["Auto-Submitted"] = auto
    msg["X-Auto-Response-Suppress"] = "All"
    msg["List-Id"] = f"<{list_id(list_name, domain)}>"
    msg.set_content(body, cte="quoted-printable")
    msg["Content-Language"] = lang  # after set_content, which drops Content-* headers
    return msg.as_bytes()


def confirm_address(list_name: str, domain: str, token: str) -> str:
    """`<list>-confirm+<token>@domain`: replying to it confirms."""
    return f"{list_name}-confirm+{token}@{domain}"


def confirmation_mail(*, text: Messages, list_name: str, domain: str, address: str,
                      action: ConfirmAction, token: str, link: str, days: float, now: float,
                      auto: AutoKind, in_reply_to: str | None = None) -> bytes:
    values = {"list": list_name, "address": address, "link": link, "days": f"{days:g}"}
    if action == "subscribe":
        subject, body = text.mail_confirm_subscribe_subject, text.mail_confirm_subscribe_body
    else:
        subject, body = text.mail_confirm_unsubscribe_subject, text.mail_confirm_unsubscribe_body
    return build_mail(list_name=list_name, domain=domain, to=(address,),
                      subject=subject.format(**values), body=body.format(**values),
                      lang=text.lang, now=now, auto=auto, in_reply_to=in_reply_to,
                      reply_to=confirm_address(list_name, domain, token))


def help_text(text: Messages, list_name: str, domain: str, web_base_url: str) -> str:
    return text.mail_help_body.format(
        list=list_name, web=web_page(web_base_url, f"subscribe/{list_name}"),
        join=role_address(list_name, domain, "join"),
        leave=role_address(list_name, domain, "leave"),
        request=role_address(list_name, domain, "request"),
        owner=role_address(list_name, domain, "owner"))


def disabled_notice(*, text: Messages, list_name: str, domain: str, owners: tuple[str, ...],
                    address: str, score: int, window_days: float, reason: str,
                    now: float) -> bytes:
    values = {"list": list_name, "address": address, "score": score,
              "window": f"{window_days:g}", "reason": reason or "(none given)"}
    return build_mail(list_name=list_name, domain=domain, to=owners,
                      subject=text.mail_disabled_subject.format(**values),
                      body=text.mail_disabled_body.format(**values), lang=text.lang,
                      now=now, auto="auto-generated")
