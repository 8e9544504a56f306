"""The chronicle commands through click's CliRunner, including publish to a recording relay."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import email.utils
import re
import shutil
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import RecordingRelay, subscribe_newsletter
from click.testing import CliRunner, Result
from webkit import installation_verp_key

from ccrlist.config.settings import RelaySettings, Settings
from ccrlist.delivery.verp import verp_sender
from echronicle.commands import chronicle
from echronicle.preview_server import make_server

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = [("ana@example.org", "en"), ("bob@example.net", "fr"), ("cy@example.com", "en")]


@pytest.fixture
def chron(settings: Settings) -> Settings:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    return settings


def run(settings: Settings, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(chronicle, list(args), obj=settings, input=input)


def subscribe(settings: Settings) -> dict[str, str]:
    return subscribe_newsletter(settings, PEOPLE)


def test_publish_no_send_builds_the_site(chron: Settings) -> None:
    result = run(chron, "publish", "vol12-2", "--no-send")
    assert result.exit_code == 0, result.output
    out = chron.site.output_dir
    for name in ("index.html", "feed.xml", "atom.xml", "vol12-2/index.html", "vol12-2/email.html"):
        assert (out / name).is_file()
    assert "Not sent" in result.output and str(out) in result.output


def test_publish_sends_each_subscriber_one_copy_with_their_token(
        chron: Settings, relay: RecordingRelay, controller: Controller) -> None:
    settings = dataclasses.replace(chron, relay=RelaySettings(host="127.0.0.1",
                                                              port=controller.port))
    tokens = subscribe(settings)
    assert len(set(tokens.values())) == 3 and all(tokens.values())

    first = run(settings, "publish", "vol12-2")
    assert first.exit_code == 0, first.output
    assert "Sent 3, deferred 0, failed 0" in first.output
    assert sorted(relay.recipients()) == sorted(tokens)
    for delivered in relay.messages:
        sender, rcpts, content = delivered.mail_from, delivered.rcpt_tos, delivered.content
        assert len(rcpts) == 1
        assert sender == verp_sender("echronicle-bounces@lists.example.org", rcpts[0],
                                     installation_verp_key(settings))  # signed VERP
        msg = email.message_from_bytes(content, policy=email.policy.default)
        token = tokens[rcpts[0]]
        assert msg["List-Unsubscribe"] == (f"<https://lists.example.org/u/{token}>, "
                                           "<mailto:echronicle-leave@lists.example.org>")
        assert content.count(token.encode()) == 3  # header, text part, HTML part
        for other in set(tokens.values()) - {token}:
            assert other.encode() not in content
        assert b"CCR-TOKEN-SLOT" not in content

    again = run(settings, "publish", "vol12-2")
    assert again.exit_code == 0, again.output
    assert "Already sent" in again.output
    assert len(relay.messages) == 3


def test_resend_asks_first_and_test_copy_goes_to_one_address(
        chron: Settings, relay: RecordingRelay, controller: Controller) -> None:
    settings = dataclasses.replace(chron, relay=RelaySettings(host="127.0.0.1",
                                                              port=controller.port))
    subscribe(settings)
    refused = run(settings, "publish", "vol12-2", "--resend", input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert relay.messages == []

    test_copy = run(settings, "publish", "vol12-2", "--to", "editor@example.org")
    assert test_copy.exit_code == 0, test_copy.output
    assert [m.rcpt_tos for m in relay.messages] == [["editor@example.org"]]
    msg = email.message_from_bytes(relay.messages[0].content, policy=email.policy.default)
    assert msg["Message-ID"].startswith("<vol12-2.en.test-")

    resent = run(settings, "publish", "vol12-2", "--resend", "--yes")
    assert resent.exit_code == 0, resent.output
    assert len(relay.messages) == 4


def test_publish_without_relay_lands_in_the_outbox_maildir(chron: Settings) -> None:
    subscribe(chron)
    result = run(chron, "publish", "vol12-2")
    assert result.exit_code == 0, result.output
    assert "Sent 3" in result.output and "Maildir" in result.output
    assert len(list((chron.outbox_dir / "new").iterdir())) == 3


def test_the_date_is_when_it_is_queued_and_the_same_bytes_go_to_everyone(
        chron: Settings) -> None:
    tokens = subscribe_newsletter(chron, [("ana@example.org", "en"), ("cy@example.com", "en"),
                                          ("dee@example.com", "en")])
    before = datetime.now(UTC).replace(microsecond=0)
    result = run(chron, "publish", "vol12-2")
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    bodies = set()
    for path in (chron.outbox_dir / "new").iterdir():
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        recipient = str(msg["Delivered-To"])
        sent = email.utils.parsedate_to_datetime(str(msg["Date"]))
        assert before <= sent <= after, msg["Date"]  # not 3 October 2017, the issue's date
        text = msg.get_body(("plain",))
        assert text is not None and "Vol. 12 no. 2, 3 October 2017" in text.get_content()
        # Everything but the envelope lines and the token is the same for every subscriber.
        head, _, rest = raw.partition(b"\r\n\r\n")
        fields = b"\r\n".join(line for line in head.split(b"\r\n")
                               if not line.startswith((b"Return-Path:", b"Delivered-To:")))
        bodies.add((fields + rest).replace(tokens[recipient].encode(), b"TOKEN"))
    assert len(bodies) == 1


@pytest.mark.parametrize(("args", "code", "message"), [
    (["publish", "vol99-9"], 2, "there is no issue 'vol99-9' (issues: vol12-2)"),
    (["publish", "../../etc/passwd"], 2, "not a valid issue id"),
    (["preview", "vol99-9"], 2, "there is no issue"),
    (["new", "../x"], 2, "not a valid issue id"),
    (["new", "vol13-1\n"], 2, "not a valid issue id"),
    (["preview", "vol12-2\n"], 2, "not a valid issue id"),
    (["publish", "vol12-2\n", "--no-send"], 2, "not a valid issue id"),
    (["check", "vol12-2\n"], 2, "not a valid issue id"),
    (["new", "vol12-2"], 1, "already has a version in 'en'"),
    (["publish", "vol12-2", "--to", "not an address"], 2, "--to"),
    (["publish", "vol12-2", "--resend", "--to", "a@b.org"], 2, "not both"),
])
def test_usage_errors_are_readable(chron: Settings, args: list[str], code: int,
                                   message: str) -> None:
    result = run(chron, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in chron.issues_dir.iterdir()) == ["vol12-2.md"]
    assert not chron.site.output_dir.exists()


def test_broken_issue_file_names_file_and_line(chron: Settings) -> None:
    path = chron.issues_dir / "vol12-2.md"
    path.write_text(path.read_text("utf-8").replace("volume: 12", "volume: 12\ncolour: red"),
                    "utf-8")
    result = run(chron, "build")
    assert result.exit_code == 1
    assert "vol12-2.md:4: unknown field 'colour'" in result.output


def test_build_rebuilds_everything_deterministically(chron: Settings) -> None:
    first = run(chron, "build")
    assert first.exit_code == 0 and "Built 1 issue(s)" in first.output
    snapshot = {p: p.read_bytes() for p in chron.site.output_dir.rglob("*") if p.is_file()}
    second = run(chron, "build")
    assert "0 file(s) written" in second.output
    assert snapshot == {p: p.read_bytes() for p in chron.site.output_dir.rglob("*")
                        if p.is_file()}


def test_new_writes_a_skeleton_that_parses(chron: Settings) -> None:
    result = run(chron, "new", "vol13-4")
    assert result.exit_code == 0, result.output
    text = (chron.issues_dir / "vol13-4.md").read_text("utf-8")
    assert "volume: 13" in text and "number: 4" in text
    preview = run(chron, "preview", "vol13-4")
    assert preview.exit_code == 0, preview.output


def test_new_in_french_then_its_english_translation(chron: Settings) -> None:
    result = run(chron, "new", "vol13-5", "--lang", "fr")
    assert result.exit_code == 0, result.output
    french = (chron.issues_dir / "vol13-5.md").read_text("utf-8")
    assert "lang: fr" in french and "Titre de ce numéro" in french
    assert "Headline" not in french
    result = run(chron, "new", "vol13-5", "--lang", "en")
    assert result.exit_code == 0, result.output
    english = (chron.issues_dir / "vol13-5.en.md").read_text("utf-8")
    assert "lang: en" in english and "Headline of this issue" in english
    again = run(chron, "new", "vol13-5", "--lang", "fr")
    assert again.exit_code != 0 and "already has a version in 'fr'" in again.output


def test_a_fresh_skeleton_does_not_pass_check_or_go_out(chron: Settings) -> None:
    """Every text of the skeleton to replace is marked TODO: `check` names each line, and
    publish sends nothing until they are gone."""
    for lang in ("en", "fr"):
        assert run(chron, "new", "vol13-7", "--lang", lang).exit_code == 0
    check = run(chron, "check", "vol13-7")
    assert check.exit_code == 1
    for name in ("vol13-7.md", "vol13-7.fr.md"):
        text = (chron.issues_dir / name).read_text("utf-8")
        marked = [n for n, line in enumerate(text.splitlines(), 1) if "TODO" in line]
        assert len(marked) >= 8  # title, summary, meeting, items, image, text
        for n in marked:
            assert f"{name}:{n}: placeholder text 'TODO' left in" in check.output
    published = run(chron, "publish", "vol13-7")
    assert published.exit_code == 1 and "was not published" in published.output
    for name in ("vol13-7.md", "vol13-7.fr.md"):
        path = chron.issues_dir / name
        path.write_text(path.read_text("utf-8").replace("TODO ", ""), "utf-8")
    assert run(chron, "check", "vol13-7").exit_code == 0


def test_translation_skeleton_copies_volume_number_and_date(chron: Settings) -> None:
    (chron.issues_dir / "vol13-6.md").write_text(
        (chron.issues_dir / "vol12-2.md").read_text("utf-8"), "utf-8")
    result = run(chron, "new", "vol13-6", "--lang", "fr")
    assert result.exit_code == 0, result.output
    french = (chron.issues_dir / "vol13-6.fr.md").read_text("utf-8")
    assert "volume: 12" in french and "number: 2" in french and "date: 2017-10-03" in french


def test_preview_writes_files_and_serves_them(chron: Settings) -> None:
    result = run(chron, "preview", "vol12-2")
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.output.splitlines()]
    assert {p.name for p in paths} == {"email.html", "email.txt", "index.html", "message.eml"}
    assert all(p.is_file() for p in paths)
    folder = paths[0].parent
    server = make_server(folder, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/email.txt"
        with urllib.request.urlopen(url) as response:
            assert response.read() == (folder / "email.txt").read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def _index_links(settings: Settings, name: str = "index.html") -> list[str]:
    html = (settings.site.output_dir / name).read_text("utf-8")
    return re.findall(r'<h2><a href="https://lists.example.org/chronicle/([^"]+)">', html)


def test_a_broken_draft_never_blocks_publishing_another_issue(chron: Settings) -> None:
    good = (chron.issues_dir / "vol12-2.md").read_text("utf-8")
    (chron.issues_dir / "vol12-1.md").write_text(
        good.replace("number: 2", "number: 1").replace("2017-10-03", "2017-04-04"), "utf-8")
    (chron.issues_dir / "vol99-2.md").write_text(  # a draft without its title
        good.replace("title: ", "subtitle: ", 1).replace("volume: 12", "volume: 99"), "utf-8")
    (chron.issues_dir / "vol99-3.md").write_text(good + "\n![](https://x.org/a.png)\n", "utf-8")
    with (chron.issues_dir / "vol99-4.md").open("wb") as huge:
        huge.truncate(24 * 1024 * 1024)  # as in the issue: never read
    subscribe(chron)
    for extra in (["--no-send"], []):
        result = run(chron, "publish", "vol12-2", *extra)
        assert result.exit_code == 0, result.output
        for line in ("vol99-2.md: the front matter has no 'title'",
                     "vol99-3.md:", "has no alt text",
                     "vol99-4.md: the file is 25,165,824 bytes, more than the 1,048,576"):
            assert line in result.output, line
        assert result.output.count("Left out of the index and feeds until it is fixed") == 3
    assert "Sent 3" in result.output
    assert _index_links(chron) == ["vol12-2/", "vol12-1/"]
    feed = feedparser.parse((chron.site.output_dir / "fr" / "atom.xml").read_bytes())
    assert [e.link.rsplit("/", 2)[-2] for e in feed.entries] == ["vol12-2", "vol12-1"]
    # The broken one itself is still refused, with its problems.
    refused = run(chron, "publish", "vol99-2", "--no-send")
    assert refused.exit_code == 1
    assert "vol99-2.md: the front matter has no 'title'" in refused.output
    assert not (chron.site.output_dir / "vol99-2").exists()
    # Once fixed, the next publish of any issue lists it.
    (chron.issues_dir / "vol99-2.md").write_text(
        good.replace("volume: 12", "volume: 99").replace("2017-10-03", "2018-01-01"), "utf-8")
    again = run(chron, "publish", "vol12-1", "--no-send")
    assert again.exit_code == 0 and again.output.count("Left out") == 2, again.output
    assert _index_links(chron) == ["vol99-2/", "vol12-2/", "vol12-1/"]


def test_build_leaves_broken_issues_out_and_says_so(chron: Settings) -> None:
    (chron.issues_dir / "vol99-2.md").write_text("---\ntitle: x\n---\n", "utf-8")
    result = run(chron, "build")
    assert result.exit_code == 1
    assert "problem: Left out of the index and feeds until it is fixed: vol99-2.md: the " \
           "front matter has no 'volume' (and 3 more problem(s)" in result.output
    assert "Built 1 issue(s)" in result.output and "1 issue(s) left out" in result.output
    assert _index_links(chron) == ["vol12-2/"]
