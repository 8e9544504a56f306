"""Test helpers for digests: a list with members in chosen modes, posts expanded by the real
expander, and what was queued for whom (individual copies and digests)."""

from __future__ import annotations

import email
import email.policy
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from ccrlist_helpers import message

from ccrlist.config.settings import Settings
from ccrlist.copies.expander import Expander
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import Delivery, NewMember
from subscribers.post_models import NewPost
from subscribers.posts import PostStore

_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>\r\n]+>)\r?$", re.M | re.I)


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


async def members(conn: Connection, modes: dict[str, Delivery],
                  list_name: str = "ccrlist", lang: dict[str, str] | None = None) -> None:
    """Subscribe each address and give it its delivery."""
    store = MemberStore(conn)
    await store.add(list_name, [NewMember(a, "", (lang or {}).get(a))  # type: ignore[arg-type]
                                for a in modes])
    for address, delivery in modes.items():
        assert await store.set_delivery(list_name, address, delivery)


DAILY = Delivery("daily", None, "daily")
WEEKLY = Delivery("weekly", None, "weekly")
EACH = Delivery()


class Posting:
    """Posts to a list, expanded at once as `ccrlist serve` would."""

    def __init__(self, conn: Connection, settings: Settings, list_name: str = "ccrlist") -> None:
        self._posts = PostStore(conn)
        self._expander = Expander(self._posts, settings, lambda: None)
        self._list = list_name
        self.count = 0

    async def send(self, n: int = 1, body: str = "Hi all.\r\n") -> list[str]:
        """Store and expand `n` posts; their Message-IDs."""
        ids = []
        for _ in range(n):
            self.count += 1
            mid = f"<post-{self.count}@example.org>"
            raw = message(author="author@example.org", subject=f"Post {self.count}",
                          message_id=mid, body=body)
            await self._posts.store_batch([NewPost(self._list, mid, "author@example.org",
                                                   f"Post {self.count}", "author@example.org",
                                                   raw, "accepted")])
            ids.append(mid)
        await self._expander.expand_pending()
        return ids


def posts_in(body: bytes) -> list[str]:
    """The Message-IDs of the posts a digest holds (either form), in order."""
    _, _, rest = body.partition(b"\r\n\r\n")  # past the digest's own header block
    return [m.decode() for m in _MESSAGE_ID.findall(rest)]


async def queued(conn: Connection) -> tuple[dict[str, list[str]], dict[str, list[list[str]]]]:
    """Per recipient: the posts queued to them one by one (their Message-IDs), and the
    digests queued to them (each as the list of its posts)."""
    singles: dict[str, list[str]] = defaultdict(list)
    digests: dict[str, list[list[str]]] = defaultdict(list)
    rows = await conn.execute_fetchall(
        """SELECT o.source, o.body, d.recipient FROM outgoing o
             JOIN deliveries d ON d.outgoing_id = o.id ORDER BY o.id, d.recipient""")
    for source, body, recipient in rows:
        if source == "post":
            mid = email.message_from_bytes(bytes(body), policy=email.policy.default)
            singles[recipient].append(str(mid["Message-ID"]))
        elif source == "digest":
            digests[recipient].append(posts_in(bytes(body)))
    return dict(singles), dict(digests)


def received(singles: dict[str, list[str]], digests: dict[str, list[list[str]]],
             address: str) -> list[str]:
    """Every post an address gets, one by one or in a digest, as often as it gets it."""
    return singles.get(address, []) + [m for d in digests.get(address, []) for m in d]


def flat(items: Sequence[Sequence[str]]) -> list[str]:
    return [x for item in items for x in item]
