"""Render one issue to its email: subject, HTML, text and the message bytes with a token slot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ccrlist.config.settings import Settings
from ccrlist.delivery.tokens import TOKEN_SLOT
from ccrlist.list_fields import ListFields
from ccrlist.names import leave_page_url, one_click_url
from echronicle.reading.model import Issue
from echronicle.rendering.email_html import render_html
from echronicle.rendering.email_message import MessageHeaders, build_message
from echronicle.rendering.email_text import render_text
from echronicle.rendering.labels import email_subject, words


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    message: bytes  # holds TOKEN_SLOT wherever a subscriber's token goes


def site_root(settings: Settings) -> str:
    base = settings.site.base_url
    return base if base.endswith("/") else base + "/"


def unsubscribe_url(settings: Settings, token: str) -> str:
    """The one-click unsubscribe page of the subscription web app (`web/`)."""
    return one_click_url(settings.web.base_url, token)


def archive_url(issue: Issue, settings: Settings) -> str:
    return site_root(settings) + issue.path


def message_id(issue: Issue, settings: Settings, variant: str = "") -> str:
    """Stable: the same issue, language and variant always get the same Message-ID."""
    suffix = f".{variant}" if variant else ""
    return f"{issue.id}.{issue.lang}{suffix}.{settings.newsletter.list}@{settings.domain}"


def render_web_copy(issue: Issue, settings: Settings) -> bytes:
    """The public web copy of the email (`<id>/email.html`), for anyone to read: where each
    subscriber's copy has their own unsubscribe link, it links the web app's page where anyone
    can ask to leave (confirmed by email), so no link in it is dead."""
    leave = leave_page_url(settings.web.base_url, settings.newsletter.list, issue.lang)
    return render_html(issue, archive_url(issue, settings), leave).encode("ascii")


def render_email(issue: Issue, settings: Settings, queued_at: datetime,
                 variant: str = "") -> RenderedEmail:
    """Pure: the email for `issue`, dated `queued_at` (when it is queued; the caller reads
    the clock); `variant` tells resends and test copies apart."""
    unsubscribe = unsubscribe_url(settings, TOKEN_SLOT.decode("ascii"))
    archive = archive_url(issue, settings)
    html = render_html(issue, archive, unsubscribe)
    text = render_text(issue, archive, unsubscribe)
    subject = email_subject(issue)
    newsletter = settings.newsletter
    headers = MessageHeaders(
        from_name=newsletter.from_name, from_address=newsletter.publisher,
        message_id=message_id(issue, settings, variant), date=queued_at,
        list=ListFields(newsletter.list, settings.domain, archive, unsubscribe_url=unsubscribe,
                        label=words(issue.lang).list_name, announce=True))
    return RenderedEmail(subject, html, text, build_message(issue, subject, text, html, headers))
