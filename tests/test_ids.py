"""Every check of an id or name from outside is a full match: a trailing newline, a NUL,
`..`, slashes and a 10 KB string are refused by each, and the web routes agree."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_keys import valid_selector
from ccrlist.web.app import make_app
from echronicle.reading.errors import IssueError
from echronicle.reading.library import check_id
from subscribers.addresses import AddressError, normalise_address
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember, is_list_name, is_permalink, is_token, post_number
from subscribers.post_models import permalink_for


def _issue_id(text: str) -> bool:
    try:
        return check_id(text) == text
    except IssueError:
        return False


def _address(text: str) -> bool:
    try:
        return normalise_address(text) == text
    except AddressError:
        return False


VALIDATORS: dict[str, tuple[Callable[[str], bool], str]] = {
    # name: (accepts?, a valid id)
    "list name": (is_list_name, "ccr-list.fr"),
    "token": (is_token, "Abc_def-123456789XYZ"),
    "permalink": (is_permalink, permalink_for("ccrlist", "<m1@example.org>")),
    "post number": (lambda t: post_number(t) is not None, "42"),
    "issue id": (_issue_id, "vol12-2"),
    "DKIM selector": (valid_selector, "ccr2026"),
    "address": (_address, "jo@example.org"),
}

ATTACKS: list[tuple[str, Callable[[str], str]]] = [
    ("trailing newline", lambda v: v + "\n"),
    ("trailing CRLF", lambda v: v + "\r\n"),
    ("leading newline", lambda v: "\n" + v),
    ("NUL inside", lambda v: v[:1] + "\0" + v[1:]),
    ("trailing NUL", lambda v: v + "\0"),
    ("dot-dot", lambda v: ".."),
    ("dot-dot slash", lambda v: "../" + v),
    ("slash dot-dot", lambda v: v + "/.."),
    ("slash", lambda v: v + "/x"),
    ("backslash", lambda v: v + "\\x"),
    ("absolute path", lambda v: "/" + v),
    ("10 KB", lambda v: v + "a" * 10240),
    ("empty", lambda v: ""),
    ("unicode digits", lambda v: "\u0661\u0662"),
]


@pytest.mark.parametrize("name", VALIDATORS)
def test_each_validator_takes_its_own_ids(name: str) -> None:
    accepts, valid = VALIDATORS[name]
    assert accepts(valid)


@pytest.mark.parametrize("attack", [a for _, a in ATTACKS], ids=[n for n, _ in ATTACKS])
@pytest.mark.parametrize("name", VALIDATORS)
def test_each_validator_refuses_what_is_not_an_id(name: str,
                                                  attack: Callable[[str], str]) -> None:
    accepts, valid = VALIDATORS[name]
    text = attack(valid)
    if name == "address" and text in (valid + "/x", "/" + valid):
        # A slash belongs to a local part's atext; put it in the domain (see the next test).
        text = "jo@example.org/x" if text.endswith("/x") else "jo@/example.org"
    assert not accepts(text), f"{name} accepted {text!r}"


def test_a_slash_in_an_address_is_only_where_rfc_5322_allows_it() -> None:
    """'/' is an atext character of a local part (RFC 5322 3.2.3), so `a/b@x.org` is an
    address; addresses never become paths here (the Maildir names its files itself)."""
    assert _address("sales/east@example.org")
    for text in ("jo@example.org/x", "jo@exa/mple.org", "jo@/example.org", "../jo@example.org",
                 "jo@../x.org"):
        assert not _address(text)


def test_list_names_are_email_local_parts() -> None:
    for good in ("ccrlist", "a", "ccr.board", "ccr-list_2", "x" * 64):
        assert is_list_name(good)
    for bad in ("a..b", "a.", ".a", "-a", "A", "x" * 65, "a b", "caf\u00e9"):
        assert not is_list_name(bad)


async def test_the_web_routes_match_whole_ids(settings: Settings) -> None:
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("ccrlist", [NewMember("jo@example.org")])
        member = await MemberStore(conn).find_member("ccrlist", "jo@example.org")
        assert member is not None
        token = member.token
        app = make_app(conn, settings, load_or_create_secret(settings.data_dir))
        async with TestServer(app) as server, aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{server.port}/"
            for path in (f"u/{token}", "subscribe/ccrlist"):
                async with http.get(URL(base + path, encoded=True)) as resp:
                    assert resp.status == 200, path
            for path in (f"u/{token}%0A", f"u/{token}%00", f"u/{token}/..", "u/..%2F..",
                         f"u/{token}" + "a" * 10240, "subscribe/ccrlist%0A",
                         "subscribe/ccrlist%00", "subscribe/..", "subscribe/ccrlist/x",
                         f"confirm/{token}%0A", "subscribe/a..b"):
                async with http.get(URL(base + path, encoded=True)) as resp:
                    assert resp.status in (400, 404), (path, resp.status)
    finally:
        await conn.close()
