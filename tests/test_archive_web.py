"""The archive end to end: real SMTP posts to `ccrlist serve`, real HTTP to its web app."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import re
import sys
import time
from pathlib import Path

from archive_helpers import (
    MEMBERS,
    archive_server,
    archive_settings,
    client,
    get,
    request_link,
    sign_in,
    signin_links,
    url,
)
from bs4 import BeautifulSoup
from ccrlist_helpers import (
    RecordingRelay,
    message,
    queue_settled,
    rows,
    send,
    start_relay,
    wait_for,
    wait_until,
)

from ccrlist.config.settings import PostingSettings
from ccrlist.intake import replies
from subscribers.db import open_database
from subscribers.post_models import permalink_for
from subscribers.posts import PostStore

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_HTML = (
    '<html><body><p onclick="steal()">Bonjour</p><script>alert("x")</script>'
    '<img src="https://tracker.example/p.gif" onerror="alert(1)">'
    '<a href="javascript:alert(2)">click</a><a href="https://ccrweb.ca/">CCR</a>'
    '<iframe src="https://evil.example/"></iframe><style>body{display:none}</style>'
    '<form action="https://evil.example/"><input name="p"></form>'
    '<blockquote>earlier message</blockquote></body></html>')


def active_content(page: str) -> list[str]:
    """Every element or attribute of `page` that could run or load something."""
    found: list[str] = []
    for element in BeautifulSoup(page, "html.parser").find_all(True):
        if element.name in ("script", "iframe", "img", "style", "object", "embed", "frame",
                            "base", "svg", "math"):
            found.append(element.name)
        if element.name == "form" and element.get("action", "").startswith("http"):
            found.append(f"form {element['action']}")
        for name, value in element.attrs.items():
            if name.startswith("on") or (name in ("href", "src", "action") and str(
                    value).strip().lower().startswith(("javascript:", "data:", "vbscript:"))):
                found.append(f"{element.name} {name}={value}")
    return found


def hostile_post() -> bytes:
    boundary = "XyZ"
    return (
        f"From: alice@example.org\r\nTo: ccrlist@lists.example.org\r\nSubject: Hostile\r\n"
        f"Message-ID: <hostile@example.org>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{HOSTILE_HTML}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f'Content-Disposition: attachment; filename="page.html"\r\n\r\n'
        f"<script>alert(3)</script>\r\n--{boundary}--\r\n").encode()


async def test_a_post_is_in_its_thread_within_a_second_and_archived_at_resolves(
        tmp_path: Path, relay: RecordingRelay) -> None:
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port, policy="public")
    try:
        async with archive_server(settings, relay) as server, client() as http:
            code, text = await send(server.port, message(subject="Réunion de juin"))
            accepted_at = time.monotonic()
            assert f"{code} {text}" == replies.ACCEPTED
            code, _ = await send(server.port, message(
                subject="Re: [ccrlist] Réunion de juin", message_id="<m2@example.org>",
                body="Merci.\r\n", extra="In-Reply-To: <m1@example.org>\r\n"))
            thread_url = url(settings, "archive/ccrlist/thread/1/")

            async def in_thread() -> bool:
                status, page = await get(http, thread_url)
                return status == 200 and "Réunion de juin" in page

            await wait_until(in_thread, timeout=1.0, what="the post on its thread page")
            assert time.monotonic() - accepted_at < 1.0
            await wait_for(lambda: len(relay.messages) >= 2 * len(MEMBERS), what="copies")
            # By its Message-ID: the reply's copy names <m1@example.org> too (In-Reply-To).
            first = next(msg for msg in (email.message_from_bytes(m.content)
                                         for m in relay.messages)
                         if msg["Message-ID"] == "<m1@example.org>")
            archived_at = first["Archived-At"]
            permalink = permalink_for("ccrlist", "<m1@example.org>")
            assert archived_at == f"<{url(settings, f'archive/{permalink}/')}>"
            assert first["List-Archive"] == f"<{url(settings, 'archive/ccrlist/')}>"
            status, page = await get(http, archived_at.strip("<>"))
            assert status == 200 and "Réunion de juin" in page
            status, page = await get(http, first["List-Archive"].strip("<>"))
            assert status == 200 and "Réunion de juin" in page
            await wait_until(lambda: _both_in_thread(http, thread_url), what="the reply")
    finally:
        controller.stop()


async def _both_in_thread(http: object, thread_url: str) -> bool:
    status, page = await get(http, thread_url)  # type: ignore[arg-type]
    return status == 200 and page.count("<article") == 2


async def test_members_archive_is_closed_to_strangers_and_open_to_members(
        tmp_path: Path, relay: RecordingRelay) -> None:
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port)
    try:
        async with archive_server(settings, relay) as server:
            attachment = (
                b"From: alice@example.org\r\nSubject: Minutes\r\n"
                b"Message-ID: <minutes@example.org>\r\nMIME-Version: 1.0\r\n"
                b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                b"Content-Type: text/plain\r\n\r\nSecret minutes attached.\r\n--b\r\n"
                b"Content-Type: application/pdf\r\n"
                b'Content-Disposition: attachment; filename="minutes.pdf"\r\n'
                b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
            assert (await send(server.port, attachment))[0] == 250
            await wait_until(lambda: _archived(settings, 1), what="the post archived")
            permalink = permalink_for("ccrlist", "<minutes@example.org>")
            [(thread_id,)] = await rows(settings, "SELECT thread_id FROM archive")
            pages = ["archive/ccrlist/", f"archive/ccrlist/thread/{thread_id}/",
                     f"archive/{permalink}/", "archive/ccrlist/search?q=secret",
                     f"archive/{permalink}/attachment/3/minutes.pdf",
                     "archive/ccrlist/atom.xml",
                     f"archive/ccrlist/{time.strftime('%Y-%m', time.gmtime())}/"]
            async with client() as stranger:
                for page in pages:
                    status, body = await get(stranger, url(settings, page))
                    assert status in (403, 404), (page, status)
                    assert "Secret minutes" not in body and "%PDF" not in body, page
                # A non-member asks for a link: the page says what it says to a member...
                answer = await request_link(stranger, settings, "mallory@evil.example")
                assert "If mallory@evil.example is a member of ccrlist" in answer
            async with client() as member:
                landing = await sign_in(member, settings, relay, "alice@example.org")
                assert landing == "/archive/ccrlist/"
                for page in pages[:5]:
                    status, body = await get(member, url(settings, page))
                    assert status == 200, (page, status, body[:300])
                status, body = await get(member, url(settings, pages[4]))
                async with member.get(url(settings, pages[4])) as response:
                    assert response.headers["Content-Disposition"].startswith("attachment")
                    assert await response.read() == b"%PDF-1.4\n"
                status, body = await get(member, url(settings, "archive/ccrlist/"))
                feed = re.search(r"(http://\S+/feed/[A-Za-z0-9_-]+/atom\.xml)", body)
                assert feed, body
                status, atom = await get(member, feed.group(1))
                assert status == 200 and "Minutes" in atom
                # Signed in, but as someone who is not a member: no page.
                await _subscribe_elsewhere(settings, "carol@example.org")
                async with client() as outsider:
                    await _sign_in_without_membership(outsider, settings, relay)
                    for page in pages:
                        status, body = await get(outsider, url(settings, page))
                        assert status in (403, 404), (page, status)
                        assert "Secret minutes" not in body
                # Leaving the list closes the member's feed too.
                await rows(settings, "UPDATE memberships SET status = 'unsubscribed'")
                status, _ = await get(member, feed.group(1))
                assert status == 404
                status, _ = await get(member, url(settings, "archive/ccrlist/"))
                assert status == 403
            # ...but no link went to the non-member (asked before alice's link came).
            assert signin_links(relay, "mallory@evil.example") == []
            assert len(signin_links(relay, "alice@example.org")) == 1
    finally:
        controller.stop()


async def _archived(settings: object, count: int) -> bool:
    [(n,)] = await rows(settings, "SELECT count(*) FROM archive")  # type: ignore[arg-type]
    return int(n) >= count


async def _subscribe_elsewhere(settings: object, address: str) -> None:
    """`address` becomes a member of another list (and so may sign in there, not here)."""
    from ccrlist_helpers import add_members

    from subscribers.db import open_database
    from subscribers.members import MemberStore

    conn = await open_database(settings.database_path)  # type: ignore[attr-defined]
    try:
        await MemberStore(conn).create_list("other", "subscribers")
    finally:
        await conn.close()
    await add_members(settings, [address], "other")  # type: ignore[arg-type]


async def _sign_in_without_membership(http: object, settings: object,
                                      relay: RecordingRelay) -> None:
    await sign_in(http, settings, relay, "carol@example.org", "other")  # type: ignore[arg-type]


async def test_hostile_html_renders_no_active_content(tmp_path: Path,
                                                      relay: RecordingRelay) -> None:
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port, policy="public")
    try:
        async with archive_server(settings, relay) as server, client() as http:
            assert (await send(server.port, hostile_post()))[0] == 250
            text_post = message(subject="<script>alert(4)</script>",
                                message_id="<text@example.org>",
                                body="<b onmouseover=x>hi</b> javascript:alert(5)\r\n")
            assert (await send(server.port, text_post))[0] == 250
            await wait_until(lambda: _archived(settings, 2), what="both posts archived")
            for mid in ("<hostile@example.org>", "<text@example.org>"):
                page = url(settings, f"archive/{permalink_for('ccrlist', mid)}/")
                status, body = await get(http, page)
                assert status == 200
                assert active_content(body) == [], mid
            hostile = url(settings, f"archive/{permalink_for('ccrlist', '<hostile@example.org>')}/")
            _, body = await get(http, hostile)
            assert "Bonjour" in body and 'href="https://ccrweb.ca/"' in body
            assert "<details><summary>Quoted text</summary><blockquote>earlier message" in body
            link = re.search(r'href="([^"]+/attachment/[0-9]+/page\.html)"', body)
            assert link, body
            async with http.get(url(settings, link.group(1))) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "application/octet-stream"
                assert response.headers["Content-Disposition"] == \
                    "attachment; filename*=UTF-8''page.html"
                assert "sandbox" in response.headers["Content-Security-Policy"]
                assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        controller.stop()


async def test_search_ignores_accents_in_both_languages_and_removal_takes_a_post_out(
        tmp_path: Path, relay: RecordingRelay) -> None:
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port, policy="public")
    try:
        async with archive_server(settings, relay) as server, client() as http:
            posts = [("<fr@example.org>", "Réunion des réfugiés à Montréal",
                      "La réunion aura lieu à l'église."),
                     ("<en@example.org>", "Refugee claimant meeting",
                      "We meet at the Cafe Reunion; naive resume."),
                     ("<other@example.org>", "Budget", "Nothing to see.")]
            for mid, subject, body in posts:
                assert (await send(server.port, message(subject=subject, message_id=mid,
                                                        body=body + "\r\n")))[0] == 250
            await wait_until(lambda: _archived(settings, 3), what="three posts archived")

            async def found(words: str, lang: str = "en") -> list[str]:
                status, page = await get(http, url(
                    settings, f"archive/ccrlist/search?q={words}&lang={lang}"))
                assert status == 200
                return re.findall(r"archive/ccrlist/([a-z2-7]{16})/", page)

            fr, en = permalink_for("ccrlist", "<fr@example.org>"), permalink_for(
                "ccrlist", "<en@example.org>")
            assert set(await found("refugie")) == {fr.split("/")[1]}
            assert set(await found("reunion", "fr")) == {fr.split("/")[1], en.split("/")[1]}
            assert set(await found("montreal eglise", "fr")) == {fr.split("/")[1]}
            assert set(await found("RÉFUGIÉS")) == {fr.split("/")[1]}
            assert set(await found("caf%C3%A9")) == {en.split("/")[1]}
            assert set(await found("refugee")) == {en.split("/")[1]}
            _, page = await get(http, url(settings, "archive/ccrlist/search?q=reunion&lang=fr"))
            assert "<mark>Réunion</mark>" in page and "Résultats de la recherche" in page
            assert (await get(http, url(settings, "archive/ccrlist/search?q=x&from=2026-13-01"))
                    )[0] == 400
            # Removal, by the command as an admin runs it beside the server: out of the
            # message page, the thread, the month, search and the feed.
            await wait_until(lambda: queue_settled(settings), what="the copies sent")
            config = tmp_path / "ccr.toml"
            config.write_text(f'domain = "lists.example.org"\ndata_dir = "{settings.data_dir}"\n',
                              encoding="utf-8")
            command = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli", "--config", str(config), "archive", "remove",
                url(settings, f"archive/{fr}/"), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT)
            output, _ = await asyncio.wait_for(command.communicate(), 60)
            assert command.returncode == 0, output
            assert f"removed post 1 ({fr})" in output.decode()
            assert (await get(http, url(settings, f"archive/{fr}/")))[0] == 404
            assert (await get(http, url(settings, "archive/ccrlist/thread/1/")))[0] == 404
            assert await found("refugie") == []
            assert await found("montreal") == []
            for page in ("archive/ccrlist/",
                         f"archive/ccrlist/{time.strftime('%Y-%m', time.gmtime())}/",
                         "archive/ccrlist/atom.xml"):
                status, body = await get(http, url(settings, page))
                assert status == 200 and "Montréal" not in body, page
            [(raw, subject, archived)] = await rows(
                settings, "SELECT raw, subject, archived FROM posts WHERE message_id = ?",
                "<fr@example.org>")
            assert (bytes(raw), subject, archived) == (b"", "", 3)
            [(body,)] = await rows(settings, "SELECT body FROM outgoing WHERE source_ref = ?",
                                   fr)
            assert bytes(body) == b""
    finally:
        controller.stop()


async def test_no_archive_headers_and_policy_none(tmp_path: Path, relay: RecordingRelay) -> None:
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port, policy="public",
                                lists={"echronicle": "none"})
    try:
        async with archive_server(settings, relay) as server, client() as http:
            for i, extra in enumerate(("X-No-Archive: yes\r\n", "X-Archive: no\r\n", "")):
                assert (await send(server.port, message(
                    message_id=f"<n{i}@example.org>", subject=f"post {i}", extra=extra)))[0] == 250
            await wait_until(lambda: _archived(settings, 1), what="the archivable post")
            await wait_for(lambda: len(relay.messages) >= 3 * len(MEMBERS), what="copies")
            states = dict(await rows(settings, """
                SELECT message_id, archived + 10 * EXISTS (SELECT 1 FROM archive a
                                                           WHERE a.post_id = posts.id)
                  FROM posts"""))
            assert states == {"<n0@example.org>": 2, "<n1@example.org>": 2,  # left out
                              "<n2@example.org>": 10}  # in the archive
            for m in relay.messages:
                parsed = email.message_from_bytes(m.content)
                archivable = parsed["Message-ID"] == "<n2@example.org>"
                assert (parsed["Archived-At"] is not None) == archivable
            status, page = await get(http, url(settings, "archive/ccrlist/"))
            assert "post 2" in page and "post 0" not in page and "post 1" not in page
            status, page = await get(http, url(settings, "archive/echronicle/"))
            assert status == 404 and "no web archive" in page
    finally:
        controller.stop()


async def test_held_posts_are_archived_only_once_approved(tmp_path: Path,
                                                         relay: RecordingRelay) -> None:
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port, policy="public")
    settings = dataclasses.replace(settings, posting=PostingSettings(nonmember_action="hold"))
    try:
        async with archive_server(settings, relay) as server, client() as http:
            for mid, author in (("<held@example.org>", "dana@example.org"),
                                ("<refused@example.org>", "eve@example.org"),
                                ("<member@example.org>", "alice@example.org")):
                assert (await send(server.port, message(author=author, message_id=mid,
                                                        subject=f"about {mid}"),
                                   sender=author))[0] == 250
            await wait_until(lambda: _archived(settings, 1), what="the member's post")
            _, page = await get(http, url(settings, "archive/ccrlist/"))
            assert "about &lt;member@example.org&gt;" in page and "held@" not in page
            conn = await open_database(settings.database_path)
            try:  # as `ccrlist held approve` and `reject` do, from another connection
                await PostStore(conn).moderate_held("2", "rejected", "spam")
                await PostStore(conn).moderate_held("1", "accepted", "approved")
            finally:
                await conn.close()
            await wait_until(lambda: _archived(settings, 2), what="the approved post")
            _, page = await get(http, url(settings, "archive/ccrlist/"))
            assert "about &lt;held@example.org&gt;" in page
            assert "refused@" not in page
            assert await rows(settings, "SELECT count(*) FROM archive") == [(2,)]
    finally:
        controller.stop()


async def test_a_thread_that_merged_into_another_keeps_its_address(
        tmp_path: Path, relay: RecordingRelay) -> None:
    """A reply archived before the post it answers starts a thread of its own, which merges
    into the post's thread when the post arrives; a link to the first thread's page, copied
    meanwhile, leads to the merged thread (301) instead of a 404."""
    controller = start_relay(relay)
    settings = archive_settings(tmp_path, controller.port, policy="public")
    try:
        async with archive_server(settings, relay) as server, client() as http:
            code, _ = await send(server.port, message(
                subject="Re: [ccrlist] Late parent", message_id="<reply@example.org>",
                body="Answering first.\r\n", extra="In-Reply-To: <parent@example.org>\r\n"))
            assert code == 250
            reply_thread = url(settings, "archive/ccrlist/thread/1/")

            async def alone() -> bool:
                status, page = await get(http, reply_thread)
                return status == 200 and page.count("<article") == 1

            await wait_until(alone, what="the reply on a thread page of its own")
            code, _ = await send(server.port, message(
                subject="Late parent", message_id="<parent@example.org>"))
            assert code == 250
            merged = url(settings, "archive/ccrlist/thread/2/")
            await wait_until(lambda: _both_in_thread(http, merged), what="the merged thread")
            async with http.get(reply_thread + "?lang=fr", allow_redirects=False) as response:
                assert response.status == 301
                assert response.headers["Location"] == merged + "?lang=fr"
            status, _ = await get(http, url(settings, "archive/ccrlist/thread/99/"))
            assert status == 404  # a thread that never was is still not found
    finally:
        controller.stop()
