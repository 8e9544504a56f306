"""Handle a bounce sent to `<list>-bounces[+verp]@`: record it, disable past the threshold,
and tell the owners once."""

from __future__ import annotations

import asyncio
import logging
import time

from ccrlist.automail import disabled_notice
from ccrlist.bounces.dsn import ReportedFailure, parse_bounce
from ccrlist.bounces.score import DAY, bounce_score
from ccrlist.catalogue import messages
from ccrlist.conditions import log_trouble
from ccrlist.config.settings import Settings
from ccrlist.delivery.verp import unverp
from ccrlist.notices import Clock, Notices
from subscribers.addresses import AddressError, normalise_address
from subscribers.bounces import BounceStore
from subscribers.db import Connection
from subscribers.members import MemberStore

log = logging.getLogger("ccrlist.bounces")


def attribute(failures: list[ReportedFailure], verp_recipient: str | None) -> list[ReportedFailure]:
    """Who bounced: only the recipient a signed VERP address names, once per report.

    A report to the plain `-bounces@` address (or to a VERP address we did not sign)
    proves nothing: anyone can write one naming every member. Real ones still come:
    copies are personalised, or a VERP probe follows (`[bounces] probe_every`).
    """
    if verp_recipient is None or not failures:
        return []
    worst = next((f for f in failures if f.kind == "hard"), failures[0])
    return [ReportedFailure(verp_recipient, worst.kind, worst.status, worst.diagnostic)]


class Bounces:
    """Record members' bounces on one connection, disable past the threshold, tell the owners."""

    def __init__(self, conn: Connection, settings: Settings, clock: Clock = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._members = MemberStore(conn)
        self._bounces = BounceStore(conn)
        self._notices = Notices(conn, settings, clock)

    async def process(self, list_name: str, verp_tag: str, raw: bytes, verp_key: bytes) -> int:
        """Record each bounce of a member of `list_name` in the report `raw` sent to
        `<list>-bounces+<verp_tag>@`; returns how many were recorded.

        `verp_key` checks the tag's signature (see `ccrlist.delivery.verp`).
        """
        verp = unverp(f"x+{verp_tag}", verp_key) if verp_tag else None
        if verp is None:
            log.info("report to %s-bounces%s not counted: not a VERP address we signed",
                     list_name, f"+{verp_tag}" if verp_tag else "")
            return 0
        recorded = 0
        for failure in attribute(parse_bounce(raw), verp):
            try:
                address = normalise_address(failure.recipient)
            except AddressError:
                continue
            member = await self._members.find_member(list_name, address)
            if member is None:
                continue
            await self._bounces.record(list_name, member.address, failure.kind,
                                       failure.reason, self._clock())
            recorded += 1
            await self.assess(list_name, member.address, failure.reason)
        return recorded

    async def assess(self, list_name: str, address: str, reason: str) -> bool:
        """Disable the membership if its recent bounces reach the threshold, and tell the
        owners.

        Also for bounces recorded elsewhere (the delivery worker's 5xx replies).
        Returns True only for the call that disabled it.
        """
        settings, now = self._settings.bounces, self._clock()
        events = await self._bounces.events(list_name, address, now - settings.window_days * DAY)
        score = bounce_score(events, settings.soft_persist_days * DAY)
        if score < settings.threshold or not await self._bounces.disable(list_name, address, now):
            return False
        log.warning("%s on %s disabled after %d bounce days", address, list_name, score)
        owners = await self._notices.owners(list_name)
        if owners:
            body = disabled_notice(
                text=messages("en"), list_name=list_name, domain=self._settings.domain,
                owners=owners, address=address, score=score, window_days=settings.window_days,
                reason=reason, now=now)
            await self._notices.queue(list_name, f"disabled:{address}:{now}", body, owners)
        return True


class BounceAssessor:
    """Assess the relay's 5xx refusals as bounces, outside the delivery worker's hot path.

    The worker already stored each one in `bounces`; this checks the threshold
    (disable and tell the owners) for the member concerned.
    """

    def __init__(self, bounces: Bounces) -> None:
        self._bounces = bounces
        self._waiting: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()

    def note(self, list_name: str, recipient: str, reply: str) -> None:
        """Called for every failed delivery; only permanent (5xx) refusals are bounces."""
        if reply[:1] == "5":
            self._waiting.put_nowait((list_name, recipient, reply))

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Assess noted refusals until `stop` is set, then those still waiting."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set() or not self._waiting.empty():
                if self._waiting.empty():
                    got = asyncio.ensure_future(self._waiting.get())
                    await asyncio.wait([got, stopping], return_when=asyncio.FIRST_COMPLETED)
                    if not got.done():
                        got.cancel()
                        continue
                    item = got.result()
                else:
                    item = self._waiting.get_nowait()
                await self._assess(*item)
        finally:
            stopping.cancel()

    async def _assess(self, list_name: str, recipient: str, reply: str) -> None:
        try:
            await self._bounces.assess(list_name, recipient, reply)
        except Exception as exc:
            log_trouble(log, exc, "could not assess the bounce of %s on %s", recipient,
                        list_name)
