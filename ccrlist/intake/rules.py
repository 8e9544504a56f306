"""Decide what happens to a post: `moderate(post, facts, settings) -> Verdict` (pure).

Rules are small objects tried in order from `RULES`; the first one that
returns a verdict wins. The SMTP handler gathers the `Facts` beforehand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from ccrlist.auth.dmarc import DmarcOutcome
from ccrlist.config.settings import Settings
from ccrlist.intake.post import Post
from ccrlist.names import list_address, list_id
from subscribers.addresses import address_key
from subscribers.models import Policy

# "defer": not stored, answered 4xx so that the sender tries again later.
Action = Literal["accept", "hold", "reject", "discard", "duplicate", "defer"]
# Why a post was refused or set aside; the handler maps each to a reply text.
Reason = Literal["", "bare_eol", "bad_header", "long_line", "null_sender", "loop",
                 "auto_reply", "bulk", "author", "nonmember", "not_editor", "dmarc",
                 "dns_temp"]


@dataclass(frozen=True)
class Facts:
    """What the store knew about a post when it arrived."""

    policy: Policy
    author_is_member: bool
    message_id_seen: bool
    auth: DmarcOutcome | None = None  # None: not authenticated ([auth] policy "off")


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: Reason = ""
    rule: str = ""


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None: ...


@dataclass(frozen=True)
class BareLineEndings:
    """A bare CR or LF can hide a smuggled second message: refuse it outright."""

    name: str = "bare-line-endings"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return Verdict("reject", "bare_eol", self.name) if post.bare_line_ending else None


@dataclass(frozen=True)
class MalformedHeader:
    """A header line that is not a field: readers would see another message than we
    judged, and DKIM signers refuse it, so the copy could never be signed."""

    name: str = "malformed-header"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return Verdict("reject", "bad_header", self.name) if post.bad_header_line else None


@dataclass(frozen=True)
class UnfitLongLine:
    """Lines past 998 characters are re-encoded in the list copy; where one cannot be
    (a header line with no space to fold at, an unknown encoding), the post is refused
    here rather than stored and never sent."""

    name: str = "long-line"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return Verdict("reject", "long_line", self.name) if post.unfit_long_line else None


@dataclass(frozen=True)
class NullSender:
    """Bounces and other notifications (empty envelope sender) are never redistributed."""

    name: str = "null-sender"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return None if post.envelope_from.strip("<> ") else Verdict(
            "discard", "null_sender", self.name)


@dataclass(frozen=True)
class OwnLoop:
    """A post that already went through this list would loop forever."""

    name: str = "loop"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        ours_id = list_id(post.list_name, settings.domain).lower()
        ours_address = list_address(post.list_name, settings.domain).lower()
        if any(ours_id in value for value in post.list_ids) or ours_address in post.x_loops:
            return Verdict("discard", "loop", self.name)
        return None


@dataclass(frozen=True)
class AutoReply:
    """Vacation replies and other automatic messages (RFC 3834)."""

    name: str = "auto-reply"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        if post.auto_submitted and post.auto_submitted.split(";")[0].strip() != "no":
            return Verdict("discard", "auto_reply", self.name)
        return None


@dataclass(frozen=True)
class BulkPrecedence:
    name: str = "bulk-precedence"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        if post.precedence in ("bulk", "junk", "list"):
            return Verdict("discard", "bulk", self.name)
        return None


@dataclass(frozen=True)
class SingleAuthor:
    name: str = "single-author"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return Verdict("reject", "author", self.name) if post.author_problem else None


@dataclass(frozen=True)
class Duplicate:
    """The same Message-ID to the same list is accepted once (the sender may retry)."""

    name: str = "duplicate"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return Verdict("duplicate", "", self.name) if facts.message_id_seen else None


@dataclass(frozen=True)
class Authenticated:
    """A From domain asking for p=reject or p=quarantine gets it when DMARC fails.

    It comes before MayPost: membership means something only for an authenticated
    From. When DNS failed and the answer could matter, the sender tries again later.
    """

    name: str = "dmarc"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        auth = facts.auth
        mode = settings.auth.policy_for(post.list_name)
        if auth is None or mode == "off":
            return None
        if auth.result == "temperror" and (auth.policy is None or auth.demands_action):
            return Verdict("defer", "dns_temp", self.name)
        if auth.result == "fail" and auth.demands_action:
            return Verdict("hold" if mode == "hold" else "reject", "dmarc", self.name)
        return None


@dataclass(frozen=True)
class MayPost:
    """Subscriber lists take their active members; announce lists their editors only."""

    name: str = "may-post"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        if facts.policy == "announce":
            editors = {address_key(a) for a in (settings.newsletter.publisher,
                                                *settings.newsletter.editors)}
            if address_key(post.author) in editors:
                return None
            reason: Reason = "not_editor"
        elif facts.author_is_member:
            return None
        else:
            reason = "nonmember"
        if settings.posting.nonmember_action == "hold":
            return Verdict("hold", reason, self.name)
        return Verdict("reject", reason, self.name)


RULES: tuple[Rule, ...] = (
    BareLineEndings(),
    MalformedHeader(),
    UnfitLongLine(),
    NullSender(),
    OwnLoop(),
    AutoReply(),
    BulkPrecedence(),
    SingleAuthor(),
    Duplicate(),
    Authenticated(),
    MayPost(),
)


def moderate(post: Post, facts: Facts, settings: Settings,
             rules: tuple[Rule, ...] = RULES) -> Verdict:
    """The first rule with an opinion decides; a post no rule objects to is accepted."""
    for rule in rules:
        verdict = rule.check(post, facts, settings)
        if verdict is not None:
            return verdict
    return Verdict("accept", "", "default")
