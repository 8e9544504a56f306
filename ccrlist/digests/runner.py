"""Send the digests that are due: `ccrlist serve` runs this beside the expander, and
`ccrlist digests send` runs one pass of it.

Each pass reads what is held per list, decides with the pure rules (`schedule`, `plan`),
renders each distinct digest once (`compose`) and commits the issue, its queued copies
and takes its posts from what is held, in one transaction (`subscribers.digests`). A kill at any
point leaves either nothing or all of it, so a restart sends every held post once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ccrlist.archive.links import list_archive_url
from ccrlist.config.settings import Settings
from ccrlist.delivery.tokens import new_slot
from ccrlist.digests.compose import compose_digest
from ccrlist.digests.content import DigestSpec, PostView, read_post
from ccrlist.digests.plan import DigestGroup, Issue, Occasion, groups, next_issue
from ccrlist.digests.schedule import PERIODS, following, latest
from ccrlist.names import bounce_address, one_click_url
from subscribers.db import Connection
from subscribers.digests import DigestConflict, DigestStore
from subscribers.models import Timestamp
from subscribers.post_models import DigestMember, DigestMessage, DigestRun, Recipient

log = logging.getLogger("ccrlist.digests")

Clock = Callable[[], float]
POLL_SECONDS = 60.0  # also catches a clock that jumped (suspend, a corrected clock)
SETTLE_SECONDS = 1.0  # posts arriving together are weighed together


def _noop() -> None:
    return None


@dataclass(frozen=True)
class ListPlan:
    """What is held on one list now and what a pass would send."""

    list_name: str
    now: Timestamp
    occasion: Occasion
    served: tuple[tuple[str, Timestamp], ...]  # the scheduled times this pass serves
    waiting: tuple[DigestMember, ...]
    due: tuple[DigestGroup, ...]
    issue: Issue


@dataclass(frozen=True)
class SentIssue:
    list_name: str
    issue: Issue
    messages: int
    members: int
    posts: int


class DigestRunner:
    """Decides, renders and queues digests over one connection."""

    def __init__(self, conn: Connection, settings: Settings, *, clock: Clock = time.time,
                 write_lock: asyncio.Lock | None = None,
                 on_queued: Callable[[], None] = _noop) -> None:
        self._store = DigestStore(conn, write_lock)
        self._settings = settings
        self._clock = clock
        self._on_queued = on_queued
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New posts were held: check digests that grew past `[digest] max_bytes`."""
        self._wake.set()

    async def plan(self, list_name: str, everything: bool = False) -> ListPlan:
        """What is held on `list_name` and what is due now (reads only)."""
        now = self._clock()
        digest = self._settings.digest
        served = await self._store.served(list_name)
        latest_times = {period: latest(period, now, digest) for period in PERIODS}
        # A list's first pass serves nothing: digests start at the next scheduled time.
        due = {period: period in served and served[period] < latest_times[period]
               for period in PERIODS}
        occasion = Occasion(daily=due["daily"], weekly=due["weekly"], everything=everything,
                            max_bytes=digest.max_bytes)
        waiting = tuple(await self._store.waiting(list_name))
        last = await self._store.last_issue(list_name)
        issue = next_issue(Issue(last[0], last[1]) if last else None,
                           last[2] if last else None, now, digest.zone)
        moved = tuple((p, at) for p, at in latest_times.items() if served.get(p) != at)
        return ListPlan(list_name, now, occasion, moved, waiting,
                        tuple(groups(waiting, occasion)), issue)

    async def send_due(self, list_names: Sequence[str] | None = None,
                       everything: bool = False) -> list[SentIssue]:
        """One pass: queue every digest due now on each list (all lists by default)."""
        sent: list[SentIssue] = []
        for list_name in list_names or await self._store.list_names():
            dropped = await self._store.drop_departed(list_name)
            if dropped:
                log.info("%s: dropped %d held post(s) of members who left", list_name,
                         dropped)
            plan = await self.plan(list_name, everything)
            if not plan.due and not plan.served:
                continue
            run = await self._run(plan)
            try:
                await self._store.commit(run)
            except DigestConflict as exc:
                log.warning("%s; trying again on the next pass", exc)
                continue
            if run.messages:
                done = SentIssue(list_name, plan.issue, len(run.messages),
                                 sum(len(m.recipients) for m in run.messages),
                                 len({i for m in run.messages for i in m.post_ids}))
                log.info("%s digest Vol %d, Issue %d queued: %d message(s) to %d member(s), "
                         "%d post(s)", list_name, done.issue.volume, done.issue.number,
                         done.messages, done.members, done.posts)
                sent.append(done)
        if sent:
            self._on_queued()
        return sent

    async def _run(self, plan: ListPlan) -> DigestRun:
        """Render each group's digest once, with a slot for its members' tokens."""
        ids = sorted({i for group in plan.due for i in group.post_ids})
        stored = await self._store.posts(ids) if ids else {}
        views: dict[int, PostView] = {i: read_post(post.raw) for i, post in stored.items()}
        messages = tuple(self._message(plan, group, views) for group in plan.due)
        return DigestRun(plan.list_name, plan.issue.volume, plan.issue.number, plan.now,
                         messages, plan.served)

    def _message(self, plan: ListPlan, group: DigestGroup,
                 views: dict[int, PostView]) -> DigestMessage:
        settings = self._settings
        fill = {"list": plan.list_name, "domain": settings.domain}
        slot = new_slot()  # the posts' own text must never be able to hold it
        ref = f"{plan.list_name}/{plan.issue.volume}/{plan.issue.number}/{group.key}"
        spec = DigestSpec(
            list_name=plan.list_name, domain=settings.domain, lang=group.lang,
            mode=group.mode, digest_format=group.digest_format, volume=plan.issue.volume,
            number=plan.issue.number, at=plan.now, zone=settings.digest.zone,
            subject_prefix=settings.posting.subject_prefix.format(**fill),
            archive_url=list_archive_url(settings, plan.list_name),
            manage_url=one_click_url(settings.web.base_url, slot.decode("ascii")),
            message_id=f"<digest.{plan.issue.volume}.{plan.issue.number}.{group.key}."
                       f"{plan.list_name}@{settings.domain}>",
            posts=tuple(views[i] for i in group.post_ids if i in views))
        return DigestMessage(ref, bounce_address(plan.list_name, settings.domain),
                             compose_digest(spec), slot,
                             tuple(Recipient(m.address, m.token) for m in group.members),
                             tuple(m.person_id for m in group.members), group.post_ids)

    def next_time(self) -> Timestamp:
        """The next scheduled time of any period."""
        now = self._clock()
        return min(following(period, now, self._settings.digest) for period in PERIODS)

    async def run_forever(self, stop: asyncio.Event, poll: float = POLL_SECONDS) -> None:
        """Send what is due until `stop`: at each scheduled time, and after `wake()`."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:
                log.exception("digest pass failed; trying again in %s s", poll)
            delay = min(poll, max(0.0, self.next_time() - self._clock()))
            if await _first_of((self._wake, stop), delay) is self._wake:
                await _first_of((stop,), min(SETTLE_SECONDS, poll))


async def _first_of(events: Sequence[asyncio.Event], timeout: float) -> asyncio.Event | None:
    """Wait until one of `events` is set (returning it) or `timeout` passes (None)."""
    waiters = {asyncio.ensure_future(e.wait()): e for e in events}
    done, pending = await asyncio.wait(waiters, timeout=timeout,
                                       return_when=asyncio.FIRST_COMPLETED)
    for w in pending:
        w.cancel()
    return next((waiters[w] for w in done), None)
