"""The operator's view end to end: a real `ccrlist serve` subprocess, a recording relay that
answers 451 and 550 for chosen recipients, and the commands run as subprocesses.

Owners' notices are read where they arrive, at the relay; emailed decisions go to the
server over real SMTP.
"""

from __future__ import annotations

import csv
import io
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    add_members,
    message,
    rows,
    send,
    wait_for,
    wait_until,
    write_serve_config,
)
from test_ccrlist_crash import spawn

from ccrlist.config.loader import load_settings
from ccrlist.config.settings import Settings
from ccrlist.intake import replies
from subscribers.db import open_database
from subscribers.owners import OwnerStore

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = [f"m{i:02d}@example.org" for i in range(8)]
REFUSED = {"m01@example.org": "550 5.1.1 <m01@example.org>: user unknown",
           "m02@example.org": "550 5.2.1 mailbox disabled"}
GREYLISTED = "m03@example.org"
OWNER = "owner@example.net"
STRANGER = "mallory@example.com"
# The relay's 451 is retried only after an hour: only `ccrlist retry` can make it go sooner,
# and the worker's idle poll is 30 s, so a delivery within 10 s proves the cross-process
# wake-up.
RETRY_BASE = 3600
WAKE_DEADLINE = 10.0


def write_config(tmp_path: Path, relay_port: int) -> tuple[Path, int]:
    return write_serve_config(
        tmp_path, relay_port,
        delivery=f"connections = 2\nretry_base_seconds = {RETRY_BASE}",
        more='[posting]\nnonmember_action = "hold"')


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `ccrlist` command in a process of its own, as an operator runs it."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config", str(config),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def ok(config: Path, *args: str) -> str:
    done = cli(config, *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
async def setup(tmp_path: Path, relay: RecordingRelay,
                controller: Controller) -> AsyncIterator[tuple[Path, int, Settings]]:
    relay.rcpt_replies = {**REFUSED, GREYLISTED: "451 4.7.1 greylisted, try later"}
    config, port = write_config(tmp_path, controller.port)
    settings = load_settings(config)
    await add_members(settings, MEMBERS)
    conn = await open_database(settings.database_path)
    try:
        await OwnerStore(conn).add("ccrlist", OWNER)
    finally:
        await conn.close()
    proc = spawn(config, port, tmp_path / "serve.log")
    try:
        yield config, port, settings
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log


def received(relay: RecordingRelay, address: str) -> list[EmailMessage]:
    with relay.lock:
        contents = [m.content for m in relay.messages if address in m.rcpt_tos]
    found = []
    for content in contents:
        msg = message_from_bytes(content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


def body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def reply(code: str, sender: str, text: str, from_: str | None = None,
          extra: str = "") -> tuple[str, bytes]:
    """An owner's reply to a held post's notice: (envelope recipient, message)."""
    to = f"ccrlist-moderate+{code}@{DOMAIN}"
    raw = (f"From: {from_ or sender}\r\nTo: {to}\r\nSubject: Re: [ccrlist] Held for "
           f"moderation\r\nMessage-ID: {make_msgid(domain='example.net')}\r\n{extra}\r\n"
           f"{text}\r\n\r\n> To send it to the list, reply to this message with this word\r\n"
           "> approve\r\n> reject\r\n").encode()
    return to, raw


async def post_status(settings: Settings, post_id: int) -> str:
    [(status,)] = await rows(settings, "SELECT status FROM posts WHERE id = ?", post_id)
    return str(status)


async def test_failures_summary_deliveries_status_members_and_retry(
        setup: tuple[Path, int, Settings], relay: RecordingRelay) -> None:
    config, port, settings = setup
    code, text = await send(port, message(author="m00@example.org", subject="Budget 2027",
                                          message_id="<budget@example.org>"),
                            sender="m00@example.org")
    assert f"{code} {text}" == replies.ACCEPTED

    # The owners hear once about the post, once its first pass is over: both refusals, with
    # the relay's replies, and that one more is still being retried.
    await wait_for(lambda: len(received(relay, OWNER)) >= 1, timeout=20, what="the summary")
    [summary] = received(relay, OWNER)
    assert str(summary["Subject"]) == '[ccrlist] 2 of 8 copies of "Budget 2027" not delivered'
    assert str(summary["Auto-Submitted"]) == "auto-generated"
    text_ = body(summary)
    for address, answer in REFUSED.items():
        assert f"{address}: {answer}" in text_
    assert "1 more are still being retried" in text_
    assert "ccrlist retry --post 1 --failed" in text_
    delivered = set(relay.recipients())
    assert delivered >= {"m00@example.org", "m04@example.org", "m07@example.org"}
    assert GREYLISTED not in delivered and not delivered & REFUSED.keys()

    # deliveries: one line per recipient, the relay's last reply, filters, CSV.
    failed = ok(config, "deliveries", "--post", "1", "--status", "failed").splitlines()
    assert [line.split("\t")[2] for line in failed] == sorted(REFUSED)
    assert all(line.split("\t")[3] == "failed" and "550 5." in line for line in failed)
    [deferred] = ok(config, "deliveries", "--to", GREYLISTED.upper()).splitlines()
    cells = deferred.split("\t")
    assert cells[0].startswith("post 1 (ccrlist/") and cells[2:5] == [GREYLISTED, "deferred",
                                                                        "1"]
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", cells[5])  # the next try
    assert cells[7] == "451 4.7.1 greylisted, try later"
    table = list(csv.DictReader(io.StringIO(ok(config, "deliveries", "--post", "1", "--csv",
                                                "--since", "1h"))))
    assert len(table) == len(MEMBERS)
    assert {r["recipient"]: r["status"] for r in table}[GREYLISTED] == "deferred"
    assert ok(config, "deliveries", "--since", "2099-01-01") == ""
    bad = cli(config, "deliveries", "--since", "last tuesday")
    assert bad.returncode == 2 and "is not a date" in bad.stderr

    # status: per list, the oldest deferred delivery with its reply, failures by code.
    status = ok(config, "status")
    assert re.search(r"^  ccrlist\s+8\s+1\s+0\s+0\s+1\s+2\s+6$", status, re.M), status
    assert f"oldest deferred:        {GREYLISTED}, post 1 (ccrlist/" in status
    assert "  last reply:           451 4.7.1 greylisted, try later" in status
    assert re.search(r"^  550\s+2 failed\s+0 deferred$", status, re.M), status
    assert re.search(r"^  451\s+0 failed\s+1 deferred$", status, re.M), status

    # members show: the bounce the refusal recorded, and the last delivery.
    shown = ok(config, "members", "show", "m01@example.org")
    assert "  status:         active" in shown and "  delivery mode:  each" in shown
    assert "  bounce score:   1 (disabled at 3;" in shown
    assert "hard: 550 5.1.1 <m01@example.org>: user unknown" in shown
    assert re.search(r"last delivery:  \S+ failed, post 1 \(ccrlist/\w+\), 1 attempt\(s\): 550",
                     shown)
    assert "owner of:  ccrlist" in ok(config, "members", "show", OWNER)

    # The relay is fixed; `ccrlist retry` makes the deferred delivery go now, and the
    # running server (another process) picks it up within seconds, not after an hour.
    relay.rcpt_replies.pop(GREYLISTED)
    assert ok(config, "retry").strip() == "1 deferred delivery due now"
    await wait_for(lambda: GREYLISTED in relay.recipients(), timeout=WAKE_DEADLINE,
                   what="the retried delivery")
    # Failed ones only with --failed; the refusing relay refuses them again.
    assert ok(config, "retry", "--post", "1").strip() == "0 deferred deliveries due now"
    assert ok(config, "retry", "--post", "1", "--failed").strip() == \
        "0 deferred deliveries due now, 2 failed one(s) queued again"
    await wait_until(lambda: refused_twice(settings), timeout=WAKE_DEADLINE,
                     what="the failed deliveries tried again")
    no_post = cli(config, "retry", "--post", "99")
    assert no_post.returncode == 1 and "no post '99'" in no_post.stderr
    # Owners are not told twice about failures they know of: none is left unreported.
    assert await rows(settings, "SELECT count(*) FROM deliveries "
                                "WHERE status = 'failed' AND owner_notified = 0") == [(0,)]
    assert len(received(relay, OWNER)) == 1


async def first_pass_over(settings: Settings) -> bool:
    """Every member's delivery of the post is queued and was tried once."""
    return await rows(settings, "SELECT count(*), coalesce(sum(status = 'pending'), 0) "
                                "FROM deliveries") == [(len(MEMBERS), 0)]


async def test_retry_reaches_the_running_server_within_seconds(
        setup: tuple[Path, int, Settings], relay: RecordingRelay) -> None:
    """The worker sleeps up to 30 s when nothing is due; the retry comes right after its
    last pass, so a delivery within WAKE_DEADLINE can only come from noticing the other
    process's commit (SQLite's data_version), not from the idle poll."""
    config, port, settings = setup
    relay.rcpt_replies = {GREYLISTED: "451 4.7.1 greylisted, try later"}
    assert "%s %s" % await send(port, message(author="m00@example.org"),
                                sender="m00@example.org") == replies.ACCEPTED
    await wait_until(lambda: first_pass_over(settings), what="the first pass")
    assert GREYLISTED not in relay.recipients()
    relay.rcpt_replies.clear()
    assert ok(config, "retry", "--to", GREYLISTED).strip() == "1 deferred delivery due now"
    await wait_for(lambda: GREYLISTED in relay.recipients(), timeout=WAKE_DEADLINE,
                   what="the retried delivery")


async def refused_twice(settings: Settings) -> bool:
    found = await rows(settings, "SELECT recipient, status, attempts FROM deliveries "
                                 "WHERE status != 'sent' ORDER BY recipient")
    return found == [(address, "failed", 2) for address in sorted(REFUSED)]


async def held_notice(relay: RecordingRelay, subject: str) -> tuple[EmailMessage, str]:
    """The owner's notice of the held post with `subject`, and the code in its Reply-To."""
    def notices() -> list[EmailMessage]:
        return [m for m in received(relay, OWNER) if subject in str(m["Subject"])]

    await wait_for(lambda: bool(notices()), timeout=20, what=f"the notice of {subject!r}")
    [notice] = notices()
    found = re.fullmatch(rf"ccrlist-moderate\+([a-z2-7]{{32}})@{re.escape(DOMAIN)}",
                         str(notice["Reply-To"]))
    assert found, notice["Reply-To"]
    return notice, found.group(1)


async def test_held_post_notice_and_emailed_approval(setup: tuple[Path, int, Settings],
                                                     relay: RecordingRelay) -> None:
    config, port, settings = setup
    relay.rcpt_replies.clear()
    assert "%s %s" % await send(port, message(
        author="dan@example.com", subject="Please share: job posting",
        message_id="<job@example.com>", body="We are hiring a settlement worker.\r\n"),
        sender="dan@example.com") == replies.HELD
    notice, code = await held_notice(relay, "Please share: job posting")
    assert str(notice["Subject"]) == "[ccrlist] Held for moderation: Please share: job posting"
    text = body(notice)
    assert "  From:      dan@example.com" in text
    assert "  Why held:  the author is not a member of the list" in text
    assert "| We are hiring a settlement worker." in text
    assert "ccrlist held approve 1" in text
    # The code is stored only as its hash.
    assert not await rows(settings, "SELECT 1 FROM moderation_requests WHERE token_hash = ?",
                          code)

    # Forgeries change nothing and are refused in the SMTP conversation.
    forged = [
        (STRANGER, STRANGER, "approve", code),  # not an owner
        (STRANGER, OWNER, "approve", code),  # From says owner, envelope does not
        (OWNER, STRANGER, "approve", code),  # envelope says owner, From does not
        (OWNER, OWNER, "approve", "a" * 32),  # an owner, but no such code
        (OWNER, OWNER, "approve", code[:-1] + ("a" if code[-1] != "a" else "b")),
    ]
    for sender, from_, words, tried in forged:
        to, raw = reply(tried, sender, words, from_=from_)
        assert "%s %s" % await send(port, raw, sender=sender, rcpt=to) == \
            replies.MODERATION_REFUSED, (sender, from_, tried)
    to, raw = reply(code, OWNER, "approve", extra="Auto-Submitted: auto-replied\r\n")
    assert "%s %s" % await send(port, raw, sender=OWNER, rcpt=to) == replies.NOT_ANSWERED
    to, raw = reply(code, OWNER, "Thanks, I will look at it tomorrow.")
    assert "%s %s" % await send(port, raw, sender=OWNER, rcpt=to) == \
        replies.MODERATION_NO_DECISION
    assert await post_status(settings, 1) == "held"
    assert "1 held post(s)" in cli(config, "held", "list").stderr

    # The owner's real reply (quoting the notice) approves it: the members get it.
    to, raw = reply(code.upper(), OWNER, "Approve.")  # a relay may change the case
    assert "%s %s" % await send(port, raw, sender=OWNER, rcpt=to) == \
        replies.MODERATED_APPROVED
    assert await post_status(settings, 1) == "accepted"
    await wait_for(lambda: set(relay.recipients()) >= set(MEMBERS), timeout=20,
                   what="the approved post at every member")
    copy = received(relay, "m05@example.org")[0]
    assert str(copy["Subject"]) == "[ccrlist] Please share: job posting"
    await wait_for(lambda: any("Approved" in str(m["Subject"])
                               for m in received(relay, OWNER)), what="the confirmation")
    # Single use: the same code again does nothing more.
    assert "%s %s" % await send(port, raw, sender=OWNER, rcpt=to) == \
        replies.MODERATION_NOT_HELD
    [(reason,)] = await rows(settings, "SELECT reason FROM posts WHERE id = 1")
    assert reason == f"approved by {OWNER} by email"

    # A second held post, rejected by reply with a reason: never sent.
    assert "%s %s" % await send(port, message(
        author="eve@example.com", subject="Cheap pills", message_id="<pills@example.com>"),
        sender="eve@example.com") == replies.HELD
    _, code2 = await held_notice(relay, "Cheap pills")
    to, raw = reply(code2, OWNER, "reject: spam")
    assert "%s %s" % await send(port, raw, sender=OWNER, rcpt=to) == \
        replies.MODERATED_REJECTED
    assert await rows(settings, "SELECT status, reason FROM posts WHERE id = 2") == [
        ("rejected", f"rejected by {OWNER} by email: spam")]
    # `held approve` afterwards is refused: the post is no longer held.
    late = cli(config, "held", "approve", "2")
    assert late.returncode == 1 and "is not held (it is rejected)" in late.stderr
    assert not any("Cheap pills" in str(m["Subject"]) for address in MEMBERS
                   for m in received(relay, address))
