"""`ccrlist posts` and `ccrlist archive import|export|remove` on a real SQLite file, with
click's CliRunner; the [archive] settings load strictly."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import SettingsError
from cli import ccrlist
from subscribers.db import open_database
from subscribers.post_models import NewPost, permalink_for
from subscribers.posts import PostStore


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ccr.toml"
    path.write_text('domain = "lists.example.org"\ndata_dir = "var"\n'
                    '[archive]\npolicy = "members"\n[archive.lists]\necho = "public"\n',
                    encoding="utf-8")
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(ccrlist, ["--config", str(config), *args])


def db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config.parent / "var" / "ccr.sqlite3")


HISTORY = b"""From alice@example.org Tue Mar  5 10:00:00 2019
From: Alice <alice@example.org>
Subject: =?utf-8?q?R=C3=A9union?=
Message-ID: <1@old.example>
Date: Tue, 05 Mar 2019 10:00:00 +0000

Bonjour, la r\xc3\xa9union des r\xc3\xa9fugi\xc3\xa9s.
>From my notes

From bob@example.org Wed Mar  6 11:00:00 2019
From: bob@example.org
Subject: Re: Reunion
In-Reply-To: <1@old.example>
Date: not a date at all

Merci.

From mallory Thu Mar  7 12:00:00 2019
this line is not a header field

From x@example.org Thu Mar  7 12:00:00 2019
Subject: no author

From x@example.org Thu Mar  7 12:00:00 2019
From: x@example.org
Subject: private
X-No-Archive: yes

keep me out

From nodate@example.org
From: nodate@example.org
Subject: has no date anywhere
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/html

<script>alert(1)</script>

From carol@example.org Fri Mar  8 09:00:00 2019
From: carol@example.org
Subject: html with nul
Date: Fri, 08 Mar 2019 09:00:00 +0000

nul \x00 byte
"""


def test_import_reports_bad_messages_and_is_idempotent(config: Path, tmp_path: Path) -> None:
    mbox = tmp_path / "history.mbox"
    mbox.write_bytes(HISTORY)
    first = run(config, "archive", "import", str(mbox), "--list", "ccrlist")
    assert first.exit_code == 1
    assert "2 imported, 0 already there, 1 left out (X-No-Archive), 4 bad" in first.stdout
    lines = [line for line in first.stderr.splitlines() if "not imported" in line]
    assert lines == [
        f"{mbox}:18: message 3 not imported: it does not start with a header field: "
        "'this line is not a header field'",
        f"{mbox}:21: message 4 not imported: it has no From field",
        f"{mbox}:31: message 6 not imported: it has no readable Date field, and no date in "
        "its From_ line",
        f"{mbox}:41: message 7 not imported: it holds NUL bytes",
    ]
    again = run(config, "archive", "import", str(mbox), "--list", "ccrlist")
    assert "0 imported, 2 already there, 1 left out (X-No-Archive), 4 bad" in again.stdout
    with db(config) as conn:
        rows = conn.execute("SELECT status, expanded, reason, received_at FROM posts "
                            "ORDER BY id").fetchall()
        threads = conn.execute("SELECT posts, subject FROM archive_threads").fetchall()
        queued = conn.execute("SELECT count(*) FROM outgoing").fetchone()[0]
    assert rows == [("accepted", 1, "imported from history.mbox", 1551780000.0),
                    ("accepted", 1, "imported from history.mbox", 1551870000.0)]
    assert threads == [(2, "Réunion")]
    assert queued == 0  # history is never sent


def test_import_refuses_an_unknown_list_and_a_missing_file(config: Path, tmp_path: Path) -> None:
    mbox = tmp_path / "h.mbox"
    mbox.write_bytes(HISTORY)
    result = run(config, "archive", "import", str(mbox), "--list", "nope")
    assert result.exit_code == 1 and "no list named 'nope'" in result.output
    result = run(config, "archive", "import", str(tmp_path / "missing"), "--list", "ccrlist")
    assert result.exit_code == 2


def test_export_then_import_elsewhere_gives_the_same_archive(config: Path,
                                                             tmp_path: Path) -> None:
    mbox = tmp_path / "history.mbox"
    mbox.write_bytes(HISTORY)
    run(config, "archive", "import", str(mbox), "--list", "ccrlist")
    exported = run(config, "archive", "export", "--list", "ccrlist")
    assert exported.exit_code == 0 and "2 message(s) exported" in exported.stderr
    assert exported.stdout_bytes.startswith(b"From alice@example.org Tue Mar 05 10:00:00 2019\n")
    assert b"\n>From my notes\n" in exported.stdout_bytes
    other = tmp_path / "other"
    other.mkdir()
    config2 = other / "ccr.toml"
    config2.write_text('data_dir = "var"\n', encoding="utf-8")
    back = tmp_path / "back.mbox"
    back.write_bytes(exported.stdout_bytes)
    result = run(config2, "archive", "import", str(back), "--list", "ccrlist")
    assert result.exit_code == 0, result.output
    with db(config) as a, db(config2) as b:
        query = "SELECT raw, received_at FROM posts ORDER BY received_at"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def _store(config: Path) -> None:
    async def go() -> None:
        conn = await open_database(config.parent / "var" / "ccr.sqlite3")
        try:
            await PostStore(conn).store_batch([
                NewPost("ccrlist", f"<{status}@x>", "a@example.org", f"about {status}", "",
                        b"From: a@example.org\r\n\r\nx\r\n", status, reason)
                for status, reason in (("accepted", ""), ("held", "nonmember"),
                                       ("discarded", "loop"), ("rejected", "spam"))])
        finally:
            await conn.close()

    asyncio.run(go())


def test_posts_shows_every_status_with_its_reason(config: Path) -> None:
    _store(config)
    result = run(config, "posts")
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(f[3], f[4], f[5], f[7]) for f in lines] == [
        ("accepted", "-", "-", "about accepted"), ("held", "nonmember", "-", "about held"),
        ("discarded", "loop", "-", "about discarded"), ("rejected", "spam", "-", "about rejected")]
    assert lines[0][1] == permalink_for("ccrlist", "<accepted@x>")
    only = run(config, "posts", "--status", "discarded", "--list", "ccrlist")
    assert [line.split("\t")[3] for line in only.stdout.splitlines()] == ["discarded"]
    assert run(config, "posts", "--status", "lost").exit_code == 2
    assert run(config, "posts", "--list", "nope").exit_code == 1


def test_remove_by_permalink_or_url_and_its_errors(config: Path, tmp_path: Path) -> None:
    mbox = tmp_path / "history.mbox"
    mbox.write_bytes(HISTORY)
    run(config, "archive", "import", str(mbox), "--list", "ccrlist")
    link = permalink_for("ccrlist", "<1@old.example>")
    result = run(config, "archive", "remove", f"https://lists.example.org/archive/{link}/")
    assert result.exit_code == 0 and f"removed post 1 ({link})" in result.stdout
    again = run(config, "archive", "remove", link)
    assert again.exit_code == 0 and "it was not in the archive" in again.stdout
    with db(config) as conn:
        assert conn.execute("SELECT count(*) FROM archive_search WHERE archive_search "
                            "MATCH 'refugies'").fetchone()[0] == 0
        assert conn.execute("SELECT posts FROM archive_threads").fetchall() == [(1,)]
        assert conn.execute("SELECT posts FROM archive_months").fetchall() == [(1,)]
        assert conn.execute("SELECT raw FROM posts WHERE id = 1").fetchone()[0] == b""
    assert run(config, "archive", "remove", "not a link").exit_code == 2
    missing = run(config, "archive", "remove", "ccrlist/aaaaaaaaaaaaaaaa")
    assert missing.exit_code == 1 and "no post 'ccrlist/aaaaaaaaaaaaaaaa'" in missing.output


def test_lists_show_the_archive_policy(config: Path) -> None:
    assert run(config, "lists", "create", "echo").exit_code == 0
    lines = run(config, "lists").stdout.splitlines()
    assert any(line.startswith("ccrlist@") and "\tarchive: members\t" in line for line in lines)
    assert any(line.startswith("echo@") and "\tarchive: public\t" in line for line in lines)


def test_archive_settings_load_strictly() -> None:
    s = parse_settings({"archive": {"policy": "public", "lists": {"x": "none"},
                                    "link_minutes": 15, "session_days": 7}}, "t.toml")
    assert s.archive.policy_for("x") == "none" and s.archive.policy_for("y") == "public"
    assert s.posting.archive_url == "{base_url}archive/{list}/"
    with pytest.raises(SettingsError, match=r"'archive\.policy' must be one of"):
        parse_settings({"archive": {"policy": "open"}}, "t.toml")
    with pytest.raises(SettingsError, match=r"'archive\.lists\.x' must be one of"):
        parse_settings({"archive": {"lists": {"x": "private"}}}, "t.toml")
    with pytest.raises(SettingsError, match=r"'archive\.link_minutes' must be a number of "
                                            "minutes above 0"):
        parse_settings({"archive": {"link_minutes": 0}}, "t.toml")
    with pytest.raises(SettingsError, match=r"'archive\.session_days' must be a finite"):
        parse_settings({"archive": {"session_days": float("nan")}}, "t.toml")


def test_import_survives_hostile_messages(config: Path, tmp_path: Path) -> None:
    """Messages built to hurt a parser: they are imported or reported, never a traceback."""
    deep = "".join(f'Content-Type: multipart/mixed; boundary="n{i}"\n\n--n{i}\n'
                   for i in range(300))
    hostile = [
        f"Subject: deep\n{deep}\nbottom\n",
        "Subject: =?utf-8?b?" + "A" * 5000 + "?=\n\nlong encoded word\n",
        "Subject: many parts\nContent-Type: multipart/mixed; boundary=z\n\n"
        + "--z\nContent-Type: text/plain\n\npart\n" * 3000 + "--z--\n",
        "Subject: charset\nContent-Type: text/plain; charset=\"utf-7\\x00\"\n\n+AGEAYgBj-\n",
        "Subject: base64 lies\nContent-Transfer-Encoding: base64\n\n" + "%%%%\n" * 100,
        "Subject: " + "x" * 100_000 + "\n\nhuge subject\n",
        "Subject: control\x07chars\x1b[31m\nMessage-ID: <\x01@x>\n\nbody\x1b[0m\n",
        "Subject: html\nContent-Type: text/html\n\n" + "<div>" * 20_000 + "<script>x()</script>\n",
    ]
    text = "".join(f"From evil@example.org Mon Jan  1 00:00:00 2024\nFrom: evil@example.org\n"
                    f"Message-ID: <evil{i}@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
                    f"{body}\n" for i, body in enumerate(hostile))
    mbox = tmp_path / "hostile.mbox"
    mbox.write_text(text, encoding="utf-8", errors="surrogateescape")
    result = run(config, "archive", "import", str(mbox), "--list", "ccrlist")
    assert result.exit_code == 0, result.output
    assert f"{len(hostile)} imported" in result.stdout
    with db(config) as conn:
        bodies = conn.execute("SELECT subject, body FROM archive").fetchall()
        assert len(bodies) == len(hostile)
        assert all("\x1b" not in s + b and "\x07" not in s + b for s, b in bodies)
        assert not any("<script" in b for _, b in bodies)
    exported = run(config, "archive", "export", "--list", "ccrlist")
    assert exported.exit_code == 0 and exported.stdout_bytes.count(b"\nFrom evil@") == \
        len(hostile) - 1
