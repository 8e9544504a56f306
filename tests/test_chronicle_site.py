"""The built archive: golden files, determinism, feeds, accessibility and the safe writer.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 python -m pytest tests/test_chronicle_site.py
"""

from __future__ import annotations

import os
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup

from ccrconfig.settings import Settings
from echronicle.library import load_all
from echronicle.site import render_site
from echronicle.writer import UnsafePath, write_tree

FIXTURES = Path(__file__).resolve().parent / "data" / "chronicle" / "issues"
GOLDEN = Path(__file__).resolve().parent / "golden" / "chronicle" / "archive"


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render_site(load_all(FIXTURES), Settings())


def test_site_matches_golden_files(files: dict[str, bytes]) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        write_tree(GOLDEN, files)
    golden = {p.relative_to(GOLDEN).as_posix(): p.read_bytes()
              for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert sorted(golden) == sorted(files)
    for name, data in files.items():
        assert data == golden[name], f"{name} differs from its golden file (UPDATE_GOLDEN=1)"


def test_build_twice_gives_identical_bytes(tmp_path: Path, files: dict[str, bytes]) -> None:
    first = write_tree(tmp_path, files)
    again = write_tree(tmp_path, render_site(load_all(FIXTURES), Settings()))
    assert len(first.written) == len(files) and again.written == []


@pytest.mark.parametrize("name", ["feed.xml", "atom.xml"])
def test_feeds_parse_cleanly_with_issue_dates(files: dict[str, bytes], name: str) -> None:
    feed = feedparser.parse(files[name])
    assert feed.bozo == 0
    assert [e.link for e in feed.entries] == ["https://lists.example.org/chronicle/vol12-2/",
                                              "https://lists.example.org/chronicle/vol12-1/"]
    newest = feed.entries[0]
    assert newest.id == "https://lists.example.org/chronicle/vol12-2/"
    assert newest.published_parsed[:4] == (2017, 10, 3, 12)
    assert "Une nouvelle" not in newest.summary and "A new campaign" in newest.summary
    content = newest.content[0].value
    assert "Join the CCR" in content and 'href="https://ccrweb.ca/en/time-to-lead"' in content
    assert feed.feed.updated_parsed[:3] == (2017, 10, 3)


def test_rss_guid_is_the_permalink(files: dict[str, bytes]) -> None:
    assert (b'<guid isPermaLink="true">https://lists.example.org/chronicle/vol12-2/</guid>'
            in files["feed.xml"])


@pytest.mark.parametrize("name", ["index.html", "vol12-2/index.html", "vol12-2/fr/index.html",
                                  "vol12-1/index.html"])
def test_pages_are_accessible(files: dict[str, bytes], name: str) -> None:
    soup = BeautifulSoup(files[name], "html.parser")
    assert soup.html is not None and soup.html.get("lang") in ("en", "fr")
    assert len(soup.find_all("h1")) == 1
    for landmark in ("header", "main", "footer"):
        assert soup.find(landmark) is not None
    skip = soup.find("a", class_="skip")
    assert skip is not None and skip["href"] == "#main" and soup.find(id="main") is not None
    alternates = {link["type"] for link in soup.find_all("link", rel="alternate", type=True)}
    assert alternates == {"application/rss+xml", "application/atom+xml"}
    for img in soup.find_all("img"):
        assert img.get("alt")
    for tag, attr in (("a", "href"), ("link", "href"), ("img", "src")):
        for node in soup.find_all(tag, **{attr: True}):
            assert node[attr].startswith(("https://", "mailto:", "#")), node[attr]
    assert soup.find("meta", attrs={"name": "viewport"}) is not None


def test_index_lists_issues_newest_first(files: dict[str, bytes]) -> None:
    soup = BeautifulSoup(files["index.html"], "html.parser")
    titles = [h2.get_text() for h2 in soup.select("ol.issues h2")]
    assert titles[0].startswith("It's time to lead") and titles[1] == "Refugee Rights Day & more"
    assert "Refugee Rights Day, <new> resources" in soup.get_text()


def test_translation_pages_link_each_other(files: dict[str, bytes]) -> None:
    fr = BeautifulSoup(files["vol12-2/fr/index.html"], "html.parser")
    assert fr.html is not None and fr.html["lang"] == "fr"
    assert fr.find("link", hreflang="en", href="https://lists.example.org/chronicle/vol12-2/")


def test_email_copy_is_the_email_html(files: dict[str, bytes]) -> None:
    assert files["vol12-2/email.html"].startswith(b"<!doctype html>")
    assert b"CCR-TOKEN-SLOT" not in files["vol12-2/email.html"]


@pytest.mark.parametrize("bad", ["../x.html", "/etc/passwd", "a/../../b", "", "."])
def test_writer_refuses_paths_outside_the_root(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePath):
        write_tree(tmp_path / "site", {bad: b"x"})
    assert not (tmp_path / "x.html").exists()
