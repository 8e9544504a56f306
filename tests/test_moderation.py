"""Owners' notices and moderation by email: the reply's decision and code (tables), the
notices' text, and the moderation requests on a real SQLite file."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from ccrlist_helpers import message

from ccrlist.catalogue import EN, FR
from ccrlist.config.settings import BounceSettings, PostingSettings, Settings
from ccrlist.intake import replies
from ccrlist.moderation.by_mail import OwnerReply, decide_by_mail
from ccrlist.moderation.decision import (
    Decision,
    code_hash,
    first_own_line,
    moderate_address,
    new_code,
    read_decision,
)
from ccrlist.moderation.notifier import OwnerNotifier, by_language
from ccrlist.moderation.owner_mail import (
    MAX_LISTED,
    excerpt,
    failure_summary,
    held_notice,
    one_line,
)
from ccrlist.names import AdminAddress, parse_admin_local
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember, hash_token
from subscribers.moderation import ModerationStore
from subscribers.operator_models import FailedDelivery, PostFailures, PostRef
from subscribers.owners import OwnerStore
from subscribers.post_models import NewPost, StoredPost
from subscribers.posts import PostStore

DOMAIN = "lists.example.org"


@pytest.mark.parametrize(("subject", "body", "expected"), [
    ("Re: [ccrlist] Held for moderation: Hi", "approve\n\n> reject\n", Decision("approve")),
    ("Re: notice", "  Approve.\n", Decision("approve")),
    ("Re: notice", "\n\nAPPROVED!\n", Decision("approve")),
    ("Re: notice", "approuver\n", Decision("approve")),
    ("Re: notice", "reject\n", Decision("reject")),
    ("Re: notice", "Reject: off topic for\t this list\n", Decision("reject",
                                                                    "off topic for this list")),
    ("Re: notice", "rejeter hors sujet\n", Decision("reject", "hors sujet")),
    ("Re: notice", "refuser\n", Decision("reject")),
    # Only the first line the owner wrote counts.
    ("Re: notice", "Thanks, approve\n", None),
    ("Re: notice", "Looking into it.\napprove\n", None),
    ("Re: notice", "> approve\n", None),
    ("Re: notice", "-- \napprove\n", None),
    ("Re: notice", "approvement\n", None),
    ("Re: notice", "", None),
    # No text: the Subject decides, once the reply prefixes are gone.
    ("approve", "", Decision("approve")),
    ("Re: RE: reject spam", "\n", Decision("reject", "spam")),
    ("Re: [ccrlist] Held for moderation: approve me", "", None),
])
def test_read_decision(subject: str, body: str, expected: Decision | None) -> None:
    assert read_decision(subject, body) == expected


def test_first_own_line_stops_at_quotes() -> None:
    assert first_own_line("\n \n> approve\nreject\n") == ""
    assert first_own_line("\n ok then \n") == "ok then"


def test_codes_are_long_random_lower_case_and_hashed_without_regard_to_case() -> None:
    codes = {new_code() for _ in range(100)}
    assert len(codes) == 100
    assert all(len(c) == 32 and c == c.lower() and c.isalnum() for c in codes)
    code = next(iter(codes))
    assert code_hash(code.upper()) == code_hash(code) == hash_token(code)
    assert moderate_address("ccrlist", DOMAIN, code) == f"ccrlist-moderate+{code}@{DOMAIN}"


@pytest.mark.parametrize(("local", "expected"), [
    ("ccrlist-moderate+abc234", AdminAddress("ccrlist", "moderate", "abc234")),
    ("CCRlist-Moderate+ABC234", AdminAddress("ccrlist", "moderate", "ABC234")),
    ("ccrlist-moderate", None),  # the code is required
    ("ccrlist-moderate+", None),
    ("ccrlist-owner+abc", None),
])
def test_moderate_address_parses(local: str, expected: AdminAddress | None) -> None:
    assert parse_admin_local(local) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Hello", "Hello"),
    ("a\r\nBcc: x@evil.example", "a Bcc: x@evil.example"),
    ("tab\there\x00nul", "tab here nul"),
    ("line\u2028sep", "line sep"),
    ("x" * 300, "x" * 197 + "..."),
])
def test_one_line(value: str, expected: str) -> None:
    assert one_line(value) == expected


def stored(raw: bytes, reason: str = "nonmember", subject: str = "Hello") -> StoredPost:
    return StoredPost(7, "ccrlist", "<m1@example.org>", "ccrlist/abc", "dan@example.com",
                      subject, "dan@example.com", raw, "held", reason, False, 1_700_000_000.0)


def parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_held_notice_says_why_who_what_and_how_to_decide() -> None:
    raw = message(body="Line one.\r\napprove\r\n" + "more\r\n" * 60)
    notice = parsed(held_notice(text=EN, post=stored(raw), owners=("o@example.net",),
                                domain=DOMAIN, code="c0de", now=1_700_000_100.0))
    assert str(notice["Reply-To"]) == f"ccrlist-moderate+c0de@{DOMAIN}"
    assert str(notice["From"]) == f"ccrlist-request@{DOMAIN}"
    assert str(notice["Auto-Submitted"]) == "auto-generated"
    assert str(notice["Subject"]) == "[ccrlist] Held for moderation: Hello"
    text = text_of(notice)
    for shown in ("  From:      dan@example.com", "  Received:  2023-11-14T22:13:20Z",
                  "  Why held:  the author is not a member of the list",
                  "  Post:      7 (ccrlist/abc)", "ccrlist held approve 7",
                  "| Line one.", "| approve", "| [...]"):
        assert shown in text, shown
    # The author's text is marked and cut: 40 lines at most.
    assert text.count("| more") == 38


def test_held_notice_in_french_and_for_unreadable_or_hostile_posts() -> None:
    post = stored(b"From: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary", reason="dmarc",
                  subject="Urgent\r\nBcc: all@example.org")
    notice = parsed(held_notice(text=FR, post=post, owners=("o@example.net",), domain=DOMAIN,
                                code="c0de", now=0.0))
    assert str(notice["Subject"]) == "[ccrlist] Message retenu : Urgent Bcc: all@example.org"
    assert "Bcc" not in notice
    text = text_of(notice)
    assert "  Motif :       il échoue au contrôle DMARC" in text
    assert "| (no plain-text part; see ccrlist held show --raw)" in text
    assert excerpt(b"\xff\xfe\x00garbage").startswith("| ")


def test_failure_summary_lists_each_failure_once_and_caps_the_list() -> None:
    failures = tuple(FailedDelivery(f"m{i:04d}@example.org", f"550 5.1.1 unknown {i}")
                     for i in range(MAX_LISTED + 5))
    item = PostFailures(3, PostRef(12, "ccrlist", "ccrlist/abc", "jo@example.org", "Budget",
                                   0.0), failures, 2001, 4)
    msg = parsed(failure_summary(text=EN, item=item, owners=("o@example.net",), domain=DOMAIN,
                                 bounces=BounceSettings(), now=0.0))
    assert str(msg["Subject"]) == '[ccrlist] 205 of 2001 copies of "Budget" not delivered'
    text = text_of(msg)
    assert "  m0000@example.org: 550 5.1.1 unknown 0" in text
    assert f"m{MAX_LISTED - 1:04d}@example.org" in text
    assert f"m{MAX_LISTED:04d}@example.org" not in text
    assert "... and 5 more: ccrlist deliveries --post 12 --status failed" in text
    assert "4 more are still being retried" in text
    assert "3 day(s) within 30 days" in text


def test_owners_are_grouped_by_language() -> None:
    assert by_language([("b@x", "fr"), ("a@x", "en"), ("c@x", "fr")]) == [
        ("en", ("a@x",)), ("fr", ("b@x", "c@x"))]


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Connection]:
    c = await open_database(tmp_path / "ccr.sqlite3")
    yield c
    await c.close()


async def hold(conn: Connection, mid: str = "<h1@example.org>") -> StoredPost:
    posts = PostStore(conn)
    await posts.store_batch([NewPost("ccrlist", mid, "dan@example.com", "Hi", "dan@example.com",
                                     message(author="dan@example.com", message_id=mid),
                                     "held", "nonmember")])
    found = await posts.find(str(len(await posts.held())))
    assert found is not None
    return found


def settings(**posting: object) -> Settings:
    return dataclasses.replace(Settings(), domain=DOMAIN,
                               posting=PostingSettings(**posting))  # type: ignore[arg-type]


async def notices(conn: Connection) -> list[tuple[str, EmailMessage]]:
    return [(r[1], parsed(bytes(r[0]))) for r in await conn.execute_fetchall(
        "SELECT o.body, d.recipient FROM outgoing o JOIN deliveries d ON d.outgoing_id = o.id "
        "WHERE o.source_ref LIKE 'held:%' ORDER BY o.id, d.recipient")]


async def test_each_held_post_is_announced_once_in_each_owners_language(
        conn: Connection) -> None:
    owners = OwnerStore(conn)
    await owners.add("ccrlist", "anne@example.net")
    await owners.add("ccrlist", "bea@example.net")
    await MemberStore(conn).add("ccrlist", [NewMember("bea@example.net", "", "fr")])
    post = await hold(conn)
    woken: list[bool] = []
    notifier = OwnerNotifier(conn, settings(), lambda: woken.append(True))
    assert await notifier.announce_held() == 1
    assert await notifier.announce_held() == 0
    assert woken == [True]
    found = await notices(conn)
    assert [to for to, _ in found] == ["anne@example.net", "bea@example.net"]
    assert str(found[0][1]["Subject"]).startswith("[ccrlist] Held for moderation")
    assert str(found[1][1]["Subject"]).startswith("[ccrlist] Message retenu")
    code = str(found[0][1]["Reply-To"]).split("+")[1].split("@")[0]
    assert str(found[1][1]["Reply-To"]) == str(found[0][1]["Reply-To"])  # one code per post
    [(token_hash,)] = await conn.execute_fetchall(
        "SELECT token_hash FROM moderation_requests WHERE post_id = ?", (post.id,))
    assert token_hash == code_hash(code) and code not in token_hash


async def test_without_owners_notices_go_to_the_setting_then_the_owner_address(
        conn: Connection) -> None:
    await hold(conn)
    await OwnerNotifier(conn, settings(owners=("boss@ccrweb.ca",)), lambda: None).announce_held()
    await hold(conn, "<h2@example.org>")
    await OwnerNotifier(conn, settings(), lambda: None).announce_held()
    assert [to for to, _ in await notices(conn)] == ["boss@ccrweb.ca",
                                                     f"ccrlist-owner@{DOMAIN}"]


async def test_posts_held_before_the_upgrade_are_not_announced(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = await open_database(path)
    await hold(old)
    # Back to the schema before migration 010, as a database of the previous version.
    await old.execute("DROP TABLE moderation_requests")
    await old.execute("DROP INDEX posts_held")
    await old.execute("DROP INDEX deliveries_by_recipient")
    await old.execute("PRAGMA user_version = 9")
    await old.close()
    upgraded = await open_database(path)
    try:
        assert await OwnerNotifier(upgraded, settings(), lambda: None).announce_held() == 0
        assert await notices(upgraded) == []
    finally:
        await upgraded.close()


APPROVE = Decision("approve")


def owner_reply(code: str, sender: str = "anne@example.net", from_is_sender: bool = True,
                decision: Decision | None = APPROVE) -> OwnerReply:
    return OwnerReply("ccrlist", code, sender, from_is_sender, decision, None)


async def announced(conn: Connection, s: Settings) -> tuple[StoredPost, str]:
    """A held post and its code, as the notice's Reply-To carries it."""
    post = await hold(conn, f"<h{new_code()}@example.org>")
    await OwnerNotifier(conn, s, lambda: None).announce_held()
    [(reply_to,)] = [(str(m["Reply-To"]),) for _, m in await notices(conn)
                     if f"Post:      {post.id} " in text_of(m)]
    return post, reply_to.split("+")[1].split("@")[0]


async def test_only_an_owner_with_the_code_decides_and_only_once(conn: Connection) -> None:
    await OwnerStore(conn).add("ccrlist", "anne@example.net")
    s = settings(owners=("boss@ccrweb.ca",))  # the database's owners come first
    post, code = await announced(conn, s)

    async def decide(reply: OwnerReply) -> str:
        return (await decide_by_mail(reply, conn, s, lambda: 1_800_000_000.0))[0]

    assert await decide(owner_reply(code, "boss@ccrweb.ca")) == replies.MODERATION_REFUSED
    assert await decide(owner_reply(code, from_is_sender=False)) == replies.MODERATION_REFUSED
    assert await decide(owner_reply(new_code())) == replies.MODERATION_REFUSED
    assert await decide(owner_reply(code, decision=None)) == replies.MODERATION_NO_DECISION
    assert (await PostStore(conn).find(str(post.id))).status == "held"  # type: ignore[union-attr]
    assert await decide(owner_reply(code.upper(), "Anne@Example.net")) == \
        replies.MODERATED_APPROVED
    found = await PostStore(conn).find(str(post.id))
    assert found is not None and (found.status, found.expanded) == ("accepted", False)
    assert await decide(owner_reply(code)) == replies.MODERATION_NOT_HELD
    # The owner who decided is told, once.
    [(to,)] = await conn.execute_fetchall(
        "SELECT d.recipient FROM outgoing o JOIN deliveries d ON d.outgoing_id = o.id "
        "WHERE o.source_ref = ?", (f"moderated:{post.id}",))
    assert to == "Anne@Example.net"


async def test_a_code_is_bound_to_its_list_and_dies_with_a_command_decision(
        conn: Connection) -> None:
    await MemberStore(conn).create_list("other", "subscribers")
    await OwnerStore(conn).add("ccrlist", "anne@example.net")
    await OwnerStore(conn).add("other", "anne@example.net")
    s = settings()
    post, code = await announced(conn, s)
    store = ModerationStore(conn)
    assert (await store.decide(code_hash(code), "other", True, "x", "a", 0.0))[0] == "unknown"
    await PostStore(conn).moderate_held(str(post.id), "rejected", "by a command")
    outcome, _ = await store.decide(code_hash(code), "ccrlist", True, "x", "a", 0.0)
    assert outcome == "not_held"


async def test_a_post_held_again_gets_a_new_notice_and_code(conn: Connection) -> None:
    s = settings(owners=("anne@example.net",))
    post, code = await announced(conn, s)
    posts = PostStore(conn)
    outcome, _ = await ModerationStore(conn).decide(code_hash(code), "ccrlist", True, "ok",
                                                    "anne@example.net", 0.0)
    assert outcome == "done"
    # Its list copy cannot be made: back to the moderators, who hear of it again.
    await posts.hold_unexpanded(post.id, "the list copy could not be made")
    assert await OwnerNotifier(conn, s, lambda: None).announce_held() == 1
    [(new_hash,)] = await conn.execute_fetchall(
        "SELECT token_hash FROM moderation_requests WHERE post_id = ?", (post.id,))
    assert new_hash != code_hash(code)
    assert (await ModerationStore(conn).decide(code_hash(code), "ccrlist", True, "ok", "a",
                                               0.0))[0] == "unknown"
