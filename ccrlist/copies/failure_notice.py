"""Compose the notice telling list owners that some deliveries gave up (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from subscribers.models import GivenUpDelivery


def failure_notice(list_name: str, sender: str, owners: Sequence[str],
                   failures: Sequence[GivenUpDelivery], now: float, domain: str) -> bytes:
    """One plain-text message listing each recipient that will not receive a post."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(owners)
    msg["Subject"] = f"[{list_name}] {len(failures)} delivery(ies) gave up"
    msg["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
    msg["Message-ID"] = make_msgid("notice", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "list"
    lines = [f"These deliveries from the list {list_name} were retried until the maximum",
             "age and then given up. The members below did not receive these posts.", ""]
    lines += [f"- {f.recipient}: post {f.post_ref}: last reply: {f.last_reply}"
              for f in failures]
    msg.set_content("\n".join(lines) + "\n")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
