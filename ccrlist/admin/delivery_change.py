"""Carry out a member's `set digest ...`, `set nomail` or `set mail` sent to
`<list>-request@`, and word the answer (to the member, with the link to their page).

These change only how a member receives the list, and can be undone from the page the
answer links to, so they take effect at once; joining and leaving still take a
confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccrlist.catalogue import messages
from ccrlist.config.settings import Settings
from ccrlist.digests.choice import describe, offers_digests
from ccrlist.names import one_click_url
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import DeliveryChoice, Lang, chosen_delivery


@dataclass(frozen=True)
class Answer:
    subject: str
    body: str
    lang: Lang


async def change_delivery(conn: Connection, settings: Settings, list_name: str,
                          address: str, choice: DeliveryChoice) -> Answer:
    """Apply `choice` to the member `address` (if they are one) and say what is now so."""
    store = MemberStore(conn)
    member = await store.find_member(list_name, address)
    t = messages(member.lang if member else "en")
    values = {"list": list_name, "address": address}
    if member is None or member.status != "active":
        return Answer(t.mail_not_member_subject.format(**values),
                      t.mail_not_member_body.format(**values), t.lang)
    delivery = member.delivery
    refused = ""
    if choice.mode in ("daily", "weekly") and not offers_digests(list_name, settings):
        choice, refused = DeliveryChoice(), t.no_digests.format(**values)
    if not choice.empty:
        delivery = chosen_delivery(member.delivery, choice)
        await store.set_delivery(list_name, address, delivery)
    body = refused + t.mail_delivery_body.format(
        state=describe(delivery, t, settings),
        link=one_click_url(settings.web.base_url, member.token), **values)
    return Answer(t.mail_delivery_subject.format(**values), body, t.lang)

