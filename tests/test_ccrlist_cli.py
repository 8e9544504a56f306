"""`ccrlist held ...`, `ccrlist status` and `ccrlist serve` errors through click's CliRunner."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from pathlib import Path

import pytest
from ccrlist_helpers import DOMAIN, message
from click.testing import CliRunner

from ccrlist.commands.status import describe_queue
from ccrlist.config.loader import load_settings
from cli import ccrlist
from subscribers.db import open_database
from subscribers.post_models import NewPost, QueueCounts, Recipient
from subscribers.posts import PostStore
from subscribers.queue import QueueStore


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ccr.toml"
    path.write_text(f'domain = "{DOMAIN}"\ndata_dir = "{tmp_path / "var"}"\n'
                    '[server]\nhost = "127.0.0.1"\nport = 1\n', encoding="utf-8")
    return path


def seed(config: Path) -> None:
    async def go() -> None:
        conn = await open_database(load_settings(config).database_path)
        try:
            await PostStore(conn).store_batch([
                NewPost("ccrlist", "<h1@example.org>", "dan@example.com", "Question",
                        "dan@example.com", message(author="dan@example.com",
                                                   message_id="<h1@example.org>"), "held",
                        "nonmember"),
                NewPost("ccrlist", "<h2@example.org>", "eve@example.com", "Spam",
                        "eve@example.com", message(author="eve@example.com",
                                                   message_id="<h2@example.org>"), "held",
                        "nonmember"),
            ])
            await QueueStore(conn).enqueue(list_name="ccrlist", source="post", source_ref="x",
                                           sender="b@x", body=b"x",
                                           recipients=[Recipient("a@example.org")])
        finally:
            await conn.close()

    asyncio.run(go())


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(ccrlist, ["--config", str(config), *args])
    return result.exit_code, result.output


def test_held_list_show_approve_reject(config: Path) -> None:
    seed(config)
    code, out = run(config, "held", "list")
    assert code == 0
    assert "dan@example.com" in out and "eve@example.com" in out and "2 held post(s)" in out
    # When each arrived, as people read a time (stored as seconds since the epoch).
    assert re.search(r"\t20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z\t", out)
    code, out = run(config, "held", "show", "1")
    assert code == 0 and "Hi all." in out
    code, out = run(config, "held", "show", "1", "--raw")
    assert code == 0 and "Message-ID: <h1@example.org>" in out
    assert run(config, "held", "approve", "1")[0] == 0
    assert run(config, "held", "reject", "2", "--reason", "spam")[0] == 0
    code, out = run(config, "held", "list")
    assert "0 held post(s)" in out
    code, out = run(config, "held", "approve", "1")
    assert code == 1 and "is not held (it is accepted)" in out
    code, out = run(config, "status")
    assert code == 0
    assert "posts accepted:         1" in out
    assert "posts not yet expanded: 1" in out
    assert "recipients pending:     1" in out


def test_unknown_post_is_a_clean_error(config: Path) -> None:
    code, out = run(config, "held", "show", "nope/123")
    assert code == 1 and "no post 'nope/123'" in out and "Traceback" not in out


def test_missing_argument_is_a_usage_error(config: Path) -> None:
    assert run(config, "held", "approve")[0] == 2


def test_serve_on_a_busy_port_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "busy.toml"
        config.write_text(f'data_dir = "{tmp_path / "var"}"\n[server]\nhost = "127.0.0.1"\n'
                          f"port = {port}\n", encoding="utf-8")
        code, out = run(config, "serve")
    assert code == 1 and "cannot listen on" in out


def test_describe_queue_shows_oldest_age() -> None:
    now = time.time()
    lines = describe_queue({"accepted": 3}, QueueCounts(2, 1, 5, 0, now - 90, 1), now)
    assert "oldest pending age:     90 s" in lines
    assert "recipients deferred:    1" in lines


def test_config_shows_the_auth_settings(tmp_path: Path) -> None:
    path = tmp_path / "ccr.toml"
    path.write_text('[auth]\npolicy = "hold"\nnameservers = ["127.0.0.1:5353"]\n'
                    '[auth.lists]\nechronicle = "off"\n', encoding="utf-8")
    code, out = run(path, "config")
    assert code == 0
    for shown in ("auth.policy", "hold", "auth.lists", "echronicle=off", "auth.nameservers",
                  "127.0.0.1:5353", "auth.from_rewrite", "auth.trusted_relays",
                  "auth.authserv_id"):
        assert shown in out
