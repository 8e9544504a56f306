"""Hang posts in threads: by References and In-Reply-To, else by subject (pure).

A post joins the thread of the nearest post it names that the archive holds. A post
that says it is a reply (a Re: subject or a reference) but names none we hold joins
the latest thread with the same subject active within SUBJECT_WINDOW. A post that
arrives after its replies (an import out of order) adopts the threads they started.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from subscribers.archive_models import ArchiveEntry, KnownMessage, Placement, ThreadingFacts

SUBJECT_WINDOW = 60 * 86400.0
# Re:, RE:, Fwd:, FW:, AW: (German), TR: and RÉF : (French), SV: (Nordic), with Re[2]:.
_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|tr|r[ée]f|sv|vs)\s*(?:\[\d+\])?\s*:\s*)+",
                     re.IGNORECASE)


def strip_list_tag(subject: str, list_name: str) -> str:
    """The subject without the list's `[list]` tag (replies carry it from the list copy)."""
    tag = f"[{list_name}]"
    if tag.lower() not in subject.lower():
        return subject
    return " ".join(re.sub(re.escape(tag), " ", subject, flags=re.IGNORECASE).split())


def has_reply_prefix(subject: str) -> bool:
    return _PREFIX.match(subject) is not None


def base_subject(subject: str, list_name: str) -> str:
    """What a subject and the replies to it share: no prefixes, tag, case or extra spaces."""
    text = strip_list_tag(subject, list_name)
    while True:
        shorter = _PREFIX.sub("", text, count=1)
        shorter = strip_list_tag(shorter, list_name)
        if shorter == text:
            break
        text = shorter
    return " ".join(text.casefold().split())


@dataclass
class ThreadPlan:
    """Where each entry of a batch goes, and what changes for posts already archived."""

    placements: list[Placement] = field(default_factory=list)
    merges: dict[int, int] = field(default_factory=dict)  # thread id -> the thread it joins
    adopted: dict[int, int] = field(default_factory=dict)  # post id -> its new parent

    def resolve(self, thread_id: int) -> int:
        while thread_id in self.merges:
            thread_id = self.merges[thread_id]
        return thread_id


def place(entries: Sequence[tuple[int, ArchiveEntry]], facts: ThreadingFacts) -> ThreadPlan:
    """Thread `entries` (post id, entry), in order, onto what `facts` say is archived."""
    plan = ThreadPlan()
    known = dict(facts.by_message_id)
    orphans = {k: list(v) for k, v in facts.orphans.items()}
    by_subject = dict(facts.by_subject)
    for post_id, entry in entries:
        parent = next((known[ref] for ref in reversed(entry.references) if ref in known),
                      None)
        if parent is not None:
            thread = plan.resolve(parent.thread_id)
        else:
            thread = post_id
            same = by_subject.get(entry.base_subject) if entry.base_subject else None
            if entry.is_reply and same is not None and same[1] >= entry.date - SUBJECT_WINDOW:
                thread = plan.resolve(same[0])
        plan.placements.append(Placement(parent.post_id if parent else None, thread))
        for orphan in orphans.pop(entry.message_id, []):
            old = plan.resolve(orphan.thread_id)
            if old != thread and orphan.post_id != post_id:
                plan.merges[old] = thread
                plan.adopted[orphan.post_id] = post_id
        known.setdefault(entry.message_id, KnownMessage(post_id, thread))
        if parent is None and entry.references and thread == post_id:
            orphans.setdefault(entry.references[-1], []).append(KnownMessage(post_id, thread))
        if entry.base_subject:
            last = by_subject.get(entry.base_subject)
            if last is None or last[1] <= entry.date:
                by_subject[entry.base_subject] = (thread, entry.date)
    plan.placements = [Placement(p.parent_id, plan.resolve(p.thread_id))
                       for p in plan.placements]
    return plan
