"""The member's own page in real headless Chromium, served by a real `ccrlist serve`: it
reads well on a phone, axe-core finds nothing serious, its form saves through the CSRF
cookie a browser keeps, and its unsubscribe button still works.

Needs what tests/test_browser.py needs (Debian's chromium, playwright, axe-core); a
missing piece skips these tests outside CI and fails them in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from ccrlist_helpers import free_port

from ccrlist.config.loader import load_settings
from ccrlist.config.settings import Settings
from ccrlist.digests.schedule import day_start, local_day
from subscribers.models import Delivery

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE_JS = Path(os.environ.get("AXE_JS", ROOT / ".ci" / "node" / "node_modules" / "axe-core"
                              / "axe.min.js"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require(ok: bool, reason: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must install it: see .ci/run)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require(Path(CHROMIUM).exists(), "chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "the playwright package is not installed")
        raise
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """`ccrlist serve` in a process of its own, its pages on a free port."""
    web_port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}/"
    config = tmp_path / "ccr.toml"
    config.write_text(f'data_dir = "{tmp_path / "var"}"\n[server]\nport = {smtp_port}\n'
                      f'[web]\nport = {web_port}\nbase_url = "{base}"\n[auth]\npolicy = "off"\n',
                      encoding="utf-8")
    settings = load_settings(config)
    # Playwright's own event loop runs in this thread: the set-up goes through a process.
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "--config", str(config), "members",
                    "add", "jo@example.org"], cwd=ROOT, check=True, capture_output=True,
                   timeout=60)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "--config", str(config),
                             "serve"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", web_port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"serve did not start: {log.read_text()}") from None
            time.sleep(0.05)
    yield base, settings
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


@dataclass(frozen=True)
class Stored:
    token: str
    status: str
    delivery: Delivery


def member(settings: Settings) -> Stored:
    """Jo's membership as stored (read with sqlite3: Playwright's loop runs here)."""
    with sqlite3.connect(settings.database_path) as db:
        row = db.execute(
            """SELECT m.token, m.status, m.delivery_mode, m.paused_until, m.resume_mode,
                      m.digest_format FROM memberships m JOIN people p ON p.id = m.person_id
                WHERE p.address = 'jo@example.org' AND m.list_name = 'ccrlist'""").fetchone()
    return Stored(row[0], row[1], Delivery(*row[2:]))


def _axe_serious(page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [(v["id"], v["help"]) for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [375, 1280])
def test_the_page_reads_well_and_passes_axe(browser: object, server: tuple[str, Settings],
                                            width: int) -> None:
    _require(AXE_JS.exists(), f"axe-core is not installed at {AXE_JS}")
    base, settings = server
    # Our pages forbid every script (CSP); axe needs one, so this page's CSP is bypassed.
    page = browser.new_page(viewport={"width": width, "height": 900},  # type: ignore[attr-defined]
                            bypass_csp=True)
    response = page.goto(f"{base}u/{member(settings).token}", wait_until="load")
    assert response is not None and response.status == 200
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.get_by_role("heading", level=1).inner_text() == "Your subscription to ccrlist"
    assert _axe_serious(page) == []
    page.close()


def test_a_browser_saves_the_form_and_unsubscribes(browser: object,
                                                  server: tuple[str, Settings]) -> None:
    base, settings = server
    jo = member(settings)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}u/{jo.token}", wait_until="load")
    page.get_by_label("One digest a week", exact=False).check()
    page.get_by_label("Plain text", exact=False).check()
    page.get_by_label("Pause delivery", exact=False).check()
    until = local_day(time.time(), settings.digest.zone) + timedelta(days=5)
    page.get_by_label("Until (optional)").fill(until.isoformat())
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    assert "Saved. Delivery is paused until" in page.get_by_role("status").inner_text()
    assert member(settings).delivery == Delivery(
        "nomail", day_start(until, settings.digest.zone), "weekly", "plain")
    # The form shows what is now in force; saving it again without the pause resumes.
    assert page.get_by_label("Pause delivery", exact=False).is_checked()
    page.get_by_label("Pause delivery", exact=False).uncheck()
    page.get_by_label("Until (optional)").fill("")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    assert member(settings).delivery == Delivery("weekly", None, "weekly", "plain")
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_load_state("load")
    assert "is unsubscribed from ccrlist" in page.content()
    assert member(settings).status == "unsubscribed"
    page.close()
