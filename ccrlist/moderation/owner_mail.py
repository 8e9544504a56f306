"""Compose the mail list owners get: a held post's notice, the summary of a post's failed
deliveries, and the result of an emailed decision (pure: the caller passes the time)."""

from __future__ import annotations

import unicodedata
from email import message_from_bytes, policy
from email.message import EmailMessage

from ccrlist.automail import build_mail
from ccrlist.catalogue import Messages
from ccrlist.config.settings import BounceSettings
from ccrlist.moderation.decision import moderate_address
from subscribers.models import iso_utc
from subscribers.operator_models import PostFailures
from subscribers.post_models import StoredPost

MAX_LISTED = 200  # failed recipients named in one summary; the rest are counted
EXCERPT_CHARS = 2000
EXCERPT_LINES = 40


def one_line(value: str, limit: int = 200) -> str:
    """`value` fit for a header or a table cell: control characters and line breaks become
    spaces, runs of space one, and it is cut at `limit` characters."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                      for ch in value)
    text = " ".join(cleaned.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def excerpt(raw: bytes) -> str:
    """The start of a post's plain text, each line marked `| ` so that nobody takes the
    author's words for ours."""
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        part = msg.get_body(("plain",))
        text = str(part.get_content()) if part is not None else None
    except Exception:  # a held post is often malformed; the notice must still go out
        text = None
    if text is None:
        return "| (no plain-text part; see ccrlist held show --raw)"
    lines = [one_line(line, 500) for line in text.strip().splitlines()[:EXCERPT_LINES]]
    shown = "\n".join(f"| {line}".rstrip() for line in lines)
    cut = len(shown) > EXCERPT_CHARS or len(text.strip().splitlines()) > EXCERPT_LINES
    return shown[:EXCERPT_CHARS] + ("\n| [...]" if cut else "")


def held_reason(text: Messages, reason: str) -> str:
    """Why a post is held, in words (the stored reason is a rule's short name)."""
    words = {"nonmember": text.held_reason_nonmember, "not_editor": text.held_reason_not_editor,
             "dmarc": text.held_reason_dmarc}
    return words.get(reason, one_line(reason) or "-")


def held_notice(*, text: Messages, post: StoredPost, owners: tuple[str, ...], domain: str,
                code: str, now: float) -> bytes:
    """The notice of a held post; replying to it (its Reply-To holds `code`) decides."""
    values = {"list": post.list_name, "subject": one_line(post.subject) or "-",
              "author": one_line(post.author), "received": iso_utc(post.received_at),
              "reason": held_reason(text, post.reason), "id": post.id,
              "permalink": post.permalink, "excerpt": excerpt(post.raw)}
    return build_mail(list_name=post.list_name, domain=domain, to=owners,
                      subject=text.mail_held_subject.format(**values),
                      body=text.mail_held_body.format(**values), lang=text.lang, now=now,
                      auto="auto-generated",
                      reply_to=moderate_address(post.list_name, domain, code))


def failure_summary(*, text: Messages, item: PostFailures, owners: tuple[str, ...],
                    domain: str, bounces: BounceSettings, now: float) -> bytes:
    """One mail naming each recipient of a post that did not get it, with the reply."""
    post = item.post
    listed = item.failures[:MAX_LISTED]
    lines = [f"  {f.recipient}: {one_line(f.last_reply, 300) or '(no reply)'}" for f in listed]
    if len(item.failures) > len(listed):
        lines.append(text.mail_failures_more.format(more=len(item.failures) - len(listed),
                                                    id=post.id))
    values = {"list": post.list_name, "subject": one_line(post.subject) or "-",
              "author": one_line(post.author), "received": iso_utc(post.received_at),
              "id": post.id, "permalink": post.permalink, "total": item.recipients,
              "failed": len(item.failures), "lines": "\n".join(lines),
              "deferred": (text.mail_failures_deferred.format(deferred=item.still_deferred)
                           if item.still_deferred else ""),
              "threshold": bounces.threshold, "window": f"{bounces.window_days:g}"}
    return build_mail(list_name=post.list_name, domain=domain, to=owners,
                      subject=text.mail_failures_subject.format(**values),
                      body=text.mail_failures_body.format(**values), lang=text.lang, now=now,
                      auto="auto-generated")


def moderation_result(*, text: Messages, post: StoredPost, to: str, domain: str, now: float,
                      in_reply_to: str | None) -> bytes:
    """Tells the owner who replied what became of the post."""
    values = {"list": post.list_name, "subject": one_line(post.subject) or "-",
              "author": one_line(post.author), "id": post.id, "permalink": post.permalink,
              "reason": one_line(post.reason)}
    if post.status == "accepted":
        subject, body = text.mail_moderated_approved_subject, text.mail_moderated_approved_body
    else:
        subject, body = text.mail_moderated_rejected_subject, text.mail_moderated_rejected_body
    return build_mail(list_name=post.list_name, domain=domain, to=(to,),
                      subject=subject.format(**values), body=body.format(**values),
                      lang=text.lang, now=now, auto="auto-replied", in_reply_to=in_reply_to)
