"""The subscription web app over real HTTP: double opt-in, tokens, CSRF, rate limits, headers."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from webkit import FakeClock, confirm_token, queued, status_of, text_of

from ccrlist.admin.optin import Optin
from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings, WebSettings
from ccrlist.web.app import BACKGROUND, make_app
from ccrlist.web.background import Background, Job
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember

DAY = 86400.0


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, web=WebSettings(
        base_url="http://127.0.0.1/", requests_per_address=2, requests_per_ip=5))


@pytest.fixture
async def conn(web_settings: Settings) -> AsyncIterator[Connection]:
    c = await open_database(web_settings.database_path)
    yield c
    await c.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(conn: Connection, web_settings: Settings,
                 clock: FakeClock) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    secret = load_or_create_secret(web_settings.data_dir)
    async with TestClient(TestServer(make_app(conn, web_settings, secret, clock))) as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


async def settle(client: TestClient) -> None:  # type: ignore[type-arg]
    """Let the work left after the last page was answered finish."""
    await client.app[BACKGROUND].drain()


async def subscribe(client: TestClient, address: str, lang: str = "en",  # type: ignore[type-arg]
                    list_name: str = "ccrlist", name: str = "",
                    headers: list[tuple[str, str]] | None = None) -> tuple[int, str]:
    page = await client.get(f"/subscribe/{list_name}")
    token = csrf_of(await page.text())
    resp = await client.post(f"/subscribe/{list_name}", headers=headers,
                             data={"email": address, "name": name, "lang": lang, "csrf": token})
    await settle(client)
    return resp.status, await resp.text()


async def test_double_opt_in_flow(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    status, html = await subscribe(client, "Jane@Example.org", name="Jane <b>Doe</b>")
    assert status == 200
    assert "a message is on its way" in html
    # Someone else may have used up the address's requests for the day: earlier links work.
    assert "sent in the last 3 days works too" in html
    assert await status_of(conn, "ccrlist", "jane@example.org") == "pending"
    [(msg, rcpts)] = await queued(conn)
    assert rcpts == ["Jane@example.org"]
    assert msg["Auto-Submitted"] == "auto-generated"
    token = confirm_token(msg)
    assert msg["Reply-To"] == f"ccrlist-confirm+{token}@lists.example.org"
    # The link is shown as a page with a button; only the POST activates.
    page = await client.get(f"/confirm/{token}")
    assert page.status == 200
    body = await page.text()
    assert "<button" in body
    assert await status_of(conn, "ccrlist", "jane@example.org") == "pending"
    done = await client.post(f"/confirm/{token}", data={"csrf": csrf_of(body)})
    assert done.status == 200
    assert "is now subscribed" in await done.text()
    assert await status_of(conn, "ccrlist", "jane@example.org") == "active"
    # Single use.
    again = await client.post(f"/confirm/{token}", data={"csrf": csrf_of(body)})
    assert again.status == 410
    assert "already been used" in await again.text()


async def person(conn: Connection, address: str) -> tuple[str, str]:
    async with conn.execute("SELECT name, lang FROM people WHERE address_key = ?",
                            (address.casefold(),)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


async def test_a_stranger_cannot_name_a_new_address(client: TestClient, conn: Connection,  # type: ignore[type-arg]
                                                    web_settings: Settings,
                                                    clock: FakeClock) -> None:
    """Name and language wait in the request until confirmed, for a new address too."""
    hostile = '=HYPERLINK("http://evil.example","x")'
    await subscribe(client, "owner@example.org", name=hostile, lang="fr")
    assert await person(conn, "owner@example.org") == ("", "en")
    # The owner ignores that request and joins by email, giving no name or language.
    optin = Optin(conn, web_settings, clock)
    assert await optin.request("ccrlist", "owner@example.org", "subscribe") == "sent"
    own_token = confirm_token((await queued(conn))[-1][0])
    state, _ = await optin.apply(own_token)
    assert state == "valid"
    assert await status_of(conn, "ccrlist", "owner@example.org") == "active"
    assert await person(conn, "owner@example.org") == ("", "en")


async def test_name_and_language_are_stored_on_confirmation(
        client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await subscribe(client, "luc@example.ca", name="Luc Tremblay", lang="fr")
    token = confirm_token((await queued(conn))[0][0])
    page = await client.get(f"/confirm/{token}")
    await client.post(f"/confirm/{token}", data={"csrf": csrf_of(await page.text())})
    assert await person(conn, "luc@example.ca") == ("Luc Tremblay", "fr")


async def test_expired_and_forged_tokens(client: TestClient, conn: Connection,  # type: ignore[type-arg]
                                         clock: FakeClock) -> None:
    await subscribe(client, "late@example.org")
    [(msg, _)] = await queued(conn)
    token = confirm_token(msg)
    clock.advance(3 * DAY + 1)
    page = await client.get(f"/confirm/{token}")
    assert page.status == 410
    assert "expired" in await page.text()
    assert (await client.post(f"/confirm/{token}", data={"csrf": "x"})).status == 410
    assert await status_of(conn, "ccrlist", "late@example.org") == "pending"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await client.get(f"/confirm/{forged}")).status == 404
    assert (await client.post(f"/confirm/{forged}", data={})).status == 404
    assert (await client.get("/confirm/short")).status == 404


async def test_token_hash_only_is_stored(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await subscribe(client, "hash@example.org")
    [(msg, _)] = await queued(conn)
    token = confirm_token(msg)
    async with conn.execute("SELECT * FROM confirmations") as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert rows and all(token not in str(v) for row in rows for v in row)


async def test_csrf_required(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await client.get("/subscribe/ccrlist")  # gets a cookie
    no_token = await client.post("/subscribe/ccrlist", data={"email": "x@example.org"})
    assert no_token.status == 403
    wrong = await client.post("/subscribe/ccrlist",
                              data={"email": "x@example.org", "csrf": "0" * 64})
    assert wrong.status == 403
    page = await client.get("/subscribe/ccrlist")
    token = csrf_of(await page.text())
    cross = await client.post("/subscribe/ccrlist", headers={"Origin": "https://evil.example"},
                              data={"email": "x@example.org", "csrf": token})
    assert cross.status == 403
    opaque = await client.post("/subscribe/ccrlist", headers={"Origin": "null"},
                               data={"email": "x@example.org", "csrf": token})
    assert opaque.status == 403
    assert await queued(conn) == []
    ours = await client.post("/subscribe/ccrlist",
                             headers={"Origin": str(client.make_url("")).rstrip("/")},
                             data={"email": "x@example.org", "csrf": token})
    assert ours.status == 200
    await settle(client)
    assert len(await queued(conn)) == 1
    # The confirmation POST needs the cookie-bound field too.
    await subscribe(client, "y@example.org")
    msg = (await queued(conn))[-1][0]
    bad = await client.post(f"/confirm/{confirm_token(msg)}", data={"csrf": "0" * 64})
    assert bad.status == 403
    assert await status_of(conn, "ccrlist", "y@example.org") == "pending"


async def test_same_answer_for_known_and_unknown(client: TestClient,  # type: ignore[type-arg]
                                                 conn: Connection) -> None:
    await subscribe(client, "known@example.org")
    token = confirm_token((await queued(conn))[0][0])
    page = await client.get(f"/confirm/{token}")
    await client.post(f"/confirm/{token}", data={"csrf": csrf_of(await page.text())})
    _, known = await subscribe(client, "known@example.org")
    _, unknown = await subscribe(client, "nobody@example.org")
    strip = re.compile(r"(known|nobody)@example\.org")
    assert strip.sub("A", known) == strip.sub("A", unknown)
    # The active member got no second confirmation.
    assert [r for _, r in await queued(conn)] == [["known@example.org"], ["nobody@example.org"]]


class HeldBackground(Background):
    """Keeps the jobs until released, to show what was done before the page was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[Job, str]] = []

    def spawn(self, job: Job, what: str) -> None:
        self.held.append((job, what))

    async def release(self) -> None:
        for job, what in self.held:
            super().spawn(job, what)
        self.held.clear()
        await self.drain()


async def table_counts(conn: Connection) -> dict[str, int]:
    counts = {}
    for table in ("people", "memberships", "confirmations", "outgoing", "deliveries"):
        async with conn.execute(f"SELECT count(*) FROM {table}") as cur:
            row = await cur.fetchone()
        counts[table] = int(row[0]) if row else 0
    async with conn.execute(
            "SELECT count(*) FROM rate_events WHERE bucket NOT LIKE 'subscribe-ip:%'") as cur:
        row = await cur.fetchone()
    counts["rate_events"] = int(row[0]) if row else 0
    return counts


async def test_page_is_answered_before_any_work_that_depends_on_the_address(
        conn: Connection, web_settings: Settings, clock: FakeClock) -> None:
    """Member or not, the same thing is done before the answer: nothing but the IP count."""
    await MemberStore(conn).add("ccrlist", [NewMember("known@example.org")])
    held = HeldBackground()
    app = make_app(conn, web_settings, load_or_create_secret(web_settings.data_dir), clock,
                   background=held)
    async with TestClient(TestServer(app)) as client:
        before = await table_counts(conn)
        answers = []
        for address in ("known@example.org", "nobody@example.org"):
            status, html = await subscribe(client, address)
            answers.append((status, re.sub(r"(known|nobody)@example\.org", "A", html)))
            assert await table_counts(conn) == before, address
        assert answers[0] == answers[1] and answers[0][0] == 200
        assert [what for _, what in held.held] == ["subscribe request for ccrlist"] * 2
        await held.release()
    assert [r for _, r in await queued(conn)] == [["nobody@example.org"]]
    assert await status_of(conn, "ccrlist", "nobody@example.org") == "pending"
    assert await status_of(conn, "ccrlist", "known@example.org") == "active"


async def test_concurrent_requests_share_the_connection_safely(
        client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    """Requests and the work they leave behind overlap; their transactions must not."""
    page = await client.get("/subscribe/ccrlist")
    token = csrf_of(await page.text())

    async def post(i: int) -> int:
        resp = await client.post("/subscribe/ccrlist",
                                 data={"email": f"c{i}@example.org", "csrf": token})
        return resp.status

    assert await asyncio.gather(*(post(i) for i in range(5))) == [200] * 5
    await settle(client)
    assert len(await queued(conn)) == 5


async def test_background_errors_are_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("database is locked")

    background = Background()
    background.spawn(broken(), "subscribe request for ccrlist")
    await background.drain()
    [record] = [r for r in caplog.records if r.name == "ccrlist.web.background"]
    assert "subscribe request for ccrlist failed" in record.getMessage()
    assert record.exc_info is not None and "database is locked" in str(record.exc_info[1])


async def test_rate_limits(client: TestClient, conn: Connection, clock: FakeClock) -> None:  # type: ignore[type-arg]
    for _ in range(3):
        status, html = await subscribe(client, "bomb@example.org")
        assert status == 200 and "on its way" in html
    assert len(await queued(conn)) == 2  # requests_per_address = 2 per day
    for i in range(2):
        assert (await subscribe(client, f"p{i}@example.org"))[0] == 200
    status, html = await subscribe(client, "more@example.org")  # sixth from this IP
    assert status == 429
    assert "Too many requests" in html
    clock.advance(3601)
    assert (await subscribe(client, "more@example.org"))[0] == 200


async def test_ip_limit_behind_a_proxy_that_adds_its_own_line(
        conn: Connection, web_settings: Settings, clock: FakeClock) -> None:
    """The client forges a new first X-Forwarded-For line each time; the proxy's line counts."""
    s = dataclasses.replace(web_settings, web=dataclasses.replace(
        web_settings.web, requests_per_ip=3, trusted_proxies=("127.0.0.0/8",)))
    app = make_app(conn, s, load_or_create_secret(s.data_dir), clock)
    async with TestClient(TestServer(app)) as client:
        statuses = []
        for i in range(4):
            forged = [("X-Forwarded-For", f"192.0.2.{i}"), ("X-Forwarded-For", "198.51.100.7")]
            statuses.append((await subscribe(client, f"a{i}@example.org", headers=forged))[0])
        assert statuses == [200, 200, 200, 429]
        # One IPv6 client walking through its /64 is one client too.
        statuses = []
        for i in range(4):
            hop = [("X-Forwarded-For", f"2001:db8:0:1::{i + 1:x}")]
            statuses.append((await subscribe(client, f"b{i}@example.org", headers=hop))[0])
        assert statuses == [200, 200, 200, 429]
        # Someone else behind the same proxy is not held back.
        other = [("X-Forwarded-For", "198.51.100.8")]
        assert (await subscribe(client, "c@example.org", headers=other))[0] == 200


MALFORMED_BODIES = [
    ("multipart/form-data; boundary=xx", b"--xx\r\nbroken"),
    ("multipart/form-data", b"email=a%40example.org"),
    ("application/x-www-form-urlencoded; charset=nonesuch", b"email=a%40example.org"),
    ("multipart/form-data; boundary=xx",
     b'--xx\r\nContent-Disposition: form-data; name="email"\r\n'
     b"Content-Type: text/plain; charset=nonesuch\r\n\r\na@example.org\r\n--xx--\r\n"),
]


@pytest.mark.parametrize(("content_type", "body"), MALFORMED_BODIES,
                         ids=["broken-multipart", "no-boundary", "unknown-charset",
                              "unknown-part-charset"])
async def test_malformed_form_is_400(client: TestClient, conn: Connection,  # type: ignore[type-arg]
                                     content_type: str, body: bytes) -> None:
    await subscribe(client, "mal@example.org", lang="fr")
    [(msg, _)] = await queued(conn)
    token = confirm_token(msg)
    await client.get("/subscribe/ccrlist")  # a CSRF cookie, as a browser would have
    for path in ("/subscribe/ccrlist", f"/confirm/{token}"):
        resp = await client.post(path, data=body, headers={"Content-Type": content_type,
                                                           "Accept-Language": "fr"})
        assert resp.status == 400, path
        assert "formulaire illisible" in await resp.text()
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert await status_of(conn, "ccrlist", "mal@example.org") == "pending"
    assert len(await queued(conn)) == 1


async def test_bad_address_and_unknown_list(client: TestClient) -> None:  # type: ignore[type-arg]
    status, html = await subscribe(client, "not an address\r\nBcc: x@y.org")
    assert status == 400
    assert "not valid" in html
    assert (await client.get("/subscribe/nosuchlist")).status == 404


async def test_security_headers_and_escaping(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.get("/subscribe/ccrlist?lang=fr")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    html = await resp.text()
    assert '<html lang="fr">' in html and "Adresse courriel" in html
    assert "<script" not in html
    assert (await client.get("/nowhere")).headers["X-Frame-Options"] == "DENY"
    status, page = await subscribe(client, "<script>@example.org")
    assert status == 400 and "<script>" not in page


async def test_french_flow(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    status, html = await subscribe(client, "marie@example.ca", lang="fr")
    assert status == 200 and "un message lui a été envoyé" in html
    [(msg, _)] = await queued(conn)
    assert msg["Content-Language"] == "fr"
    assert msg["Subject"] == "Confirmez votre abonnement à ccrlist"
    page = await client.get(f"/confirm/{confirm_token(msg)}")
    text = await page.text()
    assert '<html lang="fr">' in text and "Confirmer" in text


def test_secret_file_mode(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "var")
    assert (tmp_path / "var" / "web-secret").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(tmp_path / "var") == first


async def leave(client: TestClient, address: str, list_name: str = "ccrlist",  # type: ignore[type-arg]
                query: str = "") -> tuple[int, str]:
    page = await client.get(f"/unsubscribe/{list_name}{query}")
    assert page.status == 200
    form = await page.text()
    assert 'name="email"' in form and 'name="name"' not in form
    lang = re.search(r'name="lang" value="(en|fr)"', form)
    assert lang is not None
    resp = await client.post(f"/unsubscribe/{list_name}",
                             data={"email": address, "lang": lang.group(1),
                                   "csrf": csrf_of(form)})
    await settle(client)
    return resp.status, await resp.text()


async def test_anyone_may_ask_to_leave_and_only_the_mailbox_confirms(
        client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await MemberStore(conn).add("ccrlist", [NewMember("ana@example.org", "Ana", "fr")])
    status, html = await leave(client, "Ana@example.org")
    assert status == 200 and "a message is on its way" in html
    assert await status_of(conn, "ccrlist", "ana@example.org") == "active"  # not yet
    [(msg, rcpts)] = await queued(conn)
    assert rcpts == ["Ana@example.org"]  # as typed, like a subscription request
    assert "désabonnement" in text_of(msg)  # in the member's own language
    token = confirm_token(msg)
    page = await client.get(f"/confirm/{token}")
    done = await client.post(f"/confirm/{token}", data={"csrf": csrf_of(await page.text())})
    assert done.status == 200
    assert await status_of(conn, "ccrlist", "ana@example.org") == "unsubscribed"


async def test_leave_page_answers_the_same_for_members_and_strangers(
        client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await MemberStore(conn).add("ccrlist", [NewMember("known@example.org")])
    _, known = await leave(client, "known@example.org")
    _, unknown = await leave(client, "nobody@example.org")
    strip = re.compile(r"(known|nobody)@example\.org")
    assert strip.sub("A", known) == strip.sub("A", unknown)
    assert [r for _, r in await queued(conn)] == [["known@example.org"]]  # the stranger: none


async def test_leave_page_needs_the_form_token_a_list_and_an_address(
        client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await MemberStore(conn).add("ccrlist", [NewMember("ana@example.org")])
    await client.get("/unsubscribe/ccrlist")  # gets a cookie
    forged = await client.post("/unsubscribe/ccrlist", data={"email": "ana@example.org"})
    assert forged.status == 403
    assert (await client.get("/unsubscribe/nolist")).status == 404
    status, html = await leave(client, "not an address")
    assert status == 400 and 'aria-invalid="true"' in html
    french = await client.get("/unsubscribe/ccrlist?lang=fr")
    assert "Désabonnement de ccrlist" in await french.text()
    await settle(client)
    assert await queued(conn) == []
    assert await status_of(conn, "ccrlist", "ana@example.org") == "active"


async def test_requests_to_join_and_to_leave_share_the_limits(
        client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    await MemberStore(conn).add("ccrlist", [NewMember("ana@example.org")])
    for _ in range(2):  # requests_per_address = 2 in these settings
        await leave(client, "ana@example.org")
    await subscribe(client, "ana@example.org", list_name="echronicle")
    assert len(await queued(conn)) == 2  # the third request of the day sends nothing
    statuses = [(await leave(client, f"x{n}@example.org"))[0] for n in range(3)]
    assert statuses == [200, 200, 429]  # requests_per_ip = 5, counted over both pages
