"""Decide what happens to a post: `moderate(post, facts, settings) -> Verdict` (pure).

Rules are small objects tried in order from `RULES`; the first one that
returns a verdict wins. The SMTP handler gathers the `Facts` beforehand.

Sender authentication costs DNS lookups, so it is gathered last and only when it
can matter: `moderate` runs once without it, `needs_authentication` says whether
the result could still change, and `with_authentication` applies the one rule
that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from ccrlist.auth.dmarc import DmarcOutcome
from ccrlist.config.settings import Settings
from ccrlist.intake.post import Post
from ccrlist.names import list_address, list_id
from subscribers.addresses import address_key
from subscribers.models import PostingPolicy

# "defer": not stored, answered 4xx so that the sender tries again later.
ModerationAction = Literal["accept", "hold", "reject", "discard", "duplicate", "defer"]
# Why a post was refused or set aside; the handler maps each to a reply text.
Reason = Literal["", "bare_eol", "nul", "bad_header", "long_line", "null_sender", "loop",
                 "auto_reply", "bulk", "foreign_loop", "author", "nonmember", "not_editor",
                 "dmarc", "dns_temp"]


@dataclass(frozen=True)
class Facts:
    """What the store knew about a post when it arrived."""

    policy: PostingPolicy
    author_is_member: bool
    message_id_seen: bool
    auth: DmarcOutcome | None = None  # None: not authenticated ([auth] policy "off")


@dataclass(frozen=True)
class Verdict:
    action: ModerationAction
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
class NulByte:
    """Mail may not carry NUL (RFC 5322 2.3); programs cut the text at it, each differently."""

    name: str = "nul-byte"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        return Verdict("reject", "nul", self.name) if post.nul else None


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


@dataclass(frozen=True)
class ListTraffic:
    """`Precedence: bulk|junk|list` or another list's `X-Loop`, from someone who may post.

    Such a post came through another list or robot (a member's reply to a thread on
    another list), or it is an old-style auto-reply (the sample reply in BSD vacation(1)'s
    manual says `Precedence: bulk`, and nothing of `Auto-Submitted`). Neither sign is a
    standard (RFC 3834 names `Auto-Submitted`, read by `AutoReply`); a moderator tells
    them apart at a glance and a rule cannot, so the post is held with the reason, never
    dropped unseen.
    It comes last: whoever may not post is refused (or held) as such first.
    """

    name: str = "list-traffic"

    def check(self, post: Post, facts: Facts, settings: Settings) -> Verdict | None:
        if post.precedence in ("bulk", "junk", "list"):
            return Verdict("hold", "bulk", self.name)
        if post.x_loops:  # our own X-Loop was discarded by `OwnLoop`
            return Verdict("hold", "foreign_loop", self.name)
        return None


AUTHENTICATED = Authenticated()
# First verdict wins. What happens with each (README, "What happens to a message"):
RULES: tuple[Rule, ...] = (
    BareLineEndings(),  # reject 554: possible SMTP smuggling
    NulByte(),          # reject 554
    MalformedHeader(),  # reject 554
    UnfitLongLine(),    # reject 554: a line past 998 characters the copy cannot re-encode
    NullSender(),       # discard: a bounce or notification
    OwnLoop(),          # discard: our own List-Id or X-Loop
    AutoReply(),        # discard: Auto-Submitted other than "no" (RFC 3834)
    SingleAuthor(),     # reject 550
    Duplicate(),        # 250, not distributed again
    AUTHENTICATED,      # reject 550, hold or defer 451 (DMARC)
    MayPost(),          # reject 550 or hold: not a member, not an editor
    ListTraffic(),      # hold: Precedence bulk|junk|list, another list's X-Loop
)


def moderate(post: Post, facts: Facts, settings: Settings,
             rules: tuple[Rule, ...] = RULES) -> Verdict:
    """The first rule with an opinion decides; a post no rule objects to is accepted."""
    for rule in rules:
        verdict = rule.check(post, facts, settings)
        if verdict is not None:
            return verdict
    return Verdict("accept", "", "default")


def needs_authentication(post: Post, unchecked: Verdict, settings: Settings) -> bool:
    """Whether authentication could still change `unchecked` (decided with `facts.auth`
    None): it can only make a verdict stricter, so a post already refused, discarded or
    known as a duplicate costs no lookups, and nor does a list that does not check."""
    return (unchecked.action in ("accept", "hold")
            and settings.auth.policy_for(post.list_name) != "off")


def with_authentication(post: Post, unchecked: Verdict, facts: Facts,
                        settings: Settings) -> Verdict:
    """The verdict once `facts.auth` is known, from `unchecked` (see `needs_authentication`).

    `Authenticated` is the only rule that reads `facts.auth`, and every rule before it
    refuses or discards: when `unchecked` accepts or holds, they all passed, so the
    verdict is the one `Authenticated` gives now, or else `unchecked` stands.
    """
    return AUTHENTICATED.check(post, facts, settings) or unchecked
