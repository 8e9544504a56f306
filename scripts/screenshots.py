"""Make the README screenshots: the vol12-2 email and archive page, desktop and mobile.

Run from the repository: python scripts/screenshots.py [--out docs/screenshots]
Needs Debian's chromium and the playwright package (as the browser tests do).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": 1280, "mobile": 375}
PAGES = {"email": "vol12-2/email.html", "archive": "vol12-2/"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "ccr.toml"
        config.write_text(f'issues_dir = "{ROOT / "issues"}"\n[site]\nbase_url = "{base}"\n',
                          encoding="utf-8")
        subprocess.run([sys.executable, "-c", "import cli; cli.chronicle_main()",
                        "--config", str(config), "build"], check=True, cwd=ROOT)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                    directory=str(Path(tmp) / "site"))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for page_name, path in PAGES.items():
                for device, width in WIDTHS.items():
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(base + path, wait_until="load")
                    target = args.out / f"vol12-2-{page_name}-{device}.png"
                    page.screenshot(path=str(target), full_page=device == "mobile")
                    print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
                    page.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
