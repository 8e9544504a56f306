"""End to end: copies from `ccrlist serve` and `chronicle publish` verify with keygen's record."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import shutil
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    add_members,
    make_settings,
    message,
    start_relay,
    subscribe_newsletter,
    wait_for,
)
from click.testing import CliRunner
from dkim_helpers import ED_SELECTOR, all_verify, keygen, signed_fields, verdicts, with_key

from ccrlist.config.settings import RelaySettings, Settings
from ccrlist.server import serve
from echronicle.commands import chronicle

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = ["alice@example.org", "bob@example.org", "carol@example.net"]


@pytest.fixture
def relay() -> Iterator[tuple[RecordingRelay, Controller]]:
    recording = RecordingRelay()
    controller = start_relay(recording)
    yield recording, controller
    controller.stop()


async def test_list_copies_from_serve_verify(tmp_path: Path,
                                             relay: tuple[RecordingRelay, Controller],
                                             caplog: pytest.LogCaptureFixture) -> None:
    recording, controller = relay
    key = keygen(tmp_path, DOMAIN)
    settings = with_key(make_settings(tmp_path, controller.port), key)
    await add_members(settings, MEMBERS)
    stop = asyncio.Event()
    said: list[str] = []
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result,
                                     say=said.append))
    try:
        port = await asyncio.wait_for(listening, 10)
        await aiosmtplib.send(message(), sender="alice@example.org",
                              recipients=[f"ccrlist@{DOMAIN}"], hostname="127.0.0.1",
                              port=port, timeout=10)
        await wait_for(lambda: len(recording.recipients()) == 3, what="fan-out")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert any(line.startswith("DKIM-signing outgoing mail: rsa-sha256 d=lists.example.org "
                               "s=ccr2026") for line in said)
    assert "DKIM" not in caplog.text  # a notice for whoever started it, not a log record
    copy = recording.messages[0].content
    assert copy.startswith(b"DKIM-Signature: ")
    for delivered in recording.messages:
        assert all_verify(delivered.content, [key])
    assert {"from", "subject", "list-id", "list-unsubscribe",
            "list-unsubscribe-post"} <= set(signed_fields(copy))
    assert not key.verifies(copy.replace(b"[ccrlist] Hello", b"[ccrlist] Hullo"))
    assert not key.verifies(copy.replace(b"Hi all.", b"Hi all!"))


async def test_serve_without_a_key_says_mail_goes_out_unsigned(
        tmp_path: Path, relay: tuple[RecordingRelay, Controller],
        caplog: pytest.LogCaptureFixture) -> None:
    _, controller = relay
    settings = make_settings(tmp_path, controller.port)
    stop = asyncio.Event()
    said: list[str] = []
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result,
                                     say=said.append))
    await asyncio.wait_for(listening, 10)
    stop.set()
    await asyncio.wait_for(task, 30)
    assert [line for line in said if "DKIM" in line] == [
        "DKIM signing is off ([dkim] key_file is empty): outgoing mail is not signed"]
    assert "DKIM" not in caplog.text


def _subscribe(settings: Settings) -> dict[str, str]:
    return subscribe_newsletter(settings, [("ana@example.org", "en"), ("bob@example.net", "fr")])


@pytest.mark.parametrize("ed25519", [False, True], ids=["rsa", "rsa+ed25519"])
def test_newsletter_copies_verify_each_with_its_own_token(tmp_path: Path, settings: Settings,
                                                          ed25519: bool) -> None:
    key = keygen(tmp_path, settings.domain)
    keys = [key]
    ed_key = None
    if ed25519:
        ed_key = keygen(tmp_path, settings.domain, ED_SELECTOR, key_type="ed25519")
        keys.append(ed_key)
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    relay = RecordingRelay()
    controller = start_relay(relay)
    try:
        settings = with_key(dataclasses.replace(
            settings, relay=RelaySettings(host="127.0.0.1", port=controller.port)), key, ed_key)
        tokens = _subscribe(settings)
        result = CliRunner().invoke(chronicle, ["publish", "vol12-2"], obj=settings)
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert "Sent 2, deferred 0, failed 0" in result.output
    assert len(relay.messages) == 2
    for rcpts, content in ((m.rcpt_tos, m.content) for m in relay.messages):
        token = tokens[rcpts[0]]
        msg = email.message_from_bytes(content, policy=email.policy.default)
        assert token in str(msg["List-Unsubscribe"])
        assert content.count(token.encode()) >= 2  # in the body's link too
        assert all_verify(content, keys), rcpts
        assert verdicts(content, *keys) == [True] * len(keys)
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_fields(content))
        other = next(t for t in tokens.values() if t != token)
        assert not any(verdicts(content.replace(token.encode(), other.encode()), *keys))


def test_publish_without_a_key_says_the_issue_goes_out_unsigned(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    _subscribe(settings)
    result = CliRunner().invoke(chronicle, ["publish", "vol12-2"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "Sent 2" in result.output
    # Said once, as a plain line for the editor, not as a log record.
    assert result.output.count("DKIM signing is off") == 1
    assert "DKIM" not in caplog.text
    for path in (settings.outbox_dir / "new").iterdir():
        assert b"DKIM-Signature" not in path.read_bytes()
