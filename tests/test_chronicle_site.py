"""The built archive: golden files, determinism, feeds, accessibility and the safe writer.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 python -m pytest tests/test_chronicle_site.py
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from ccrlist.config.loader import load_settings
from ccrlist.config.settings import Settings, SettingsError
from echronicle.commands import chronicle
from echronicle.listing.entries import listed_edition
from echronicle.reading.library import load_all
from echronicle.rendering.site import render_site, shared_files
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


@pytest.mark.parametrize("name", ["index.html", "fr/index.html", "vol12-2/index.html",
                                  "vol12-2/fr/index.html", "vol12-1/index.html"])
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


ROOT = "https://lists.example.org/chronicle/"
PAGES = ["index.html", "fr/index.html", "vol12-2/index.html", "vol12-2/fr/index.html",
         "vol12-1/index.html"]


def _page_of(url: str) -> str:
    assert url.startswith(ROOT), url
    return url.removeprefix(ROOT) + "index.html"


def _alternates(data: bytes) -> set[tuple[str, str]]:
    soup = BeautifulSoup(data, "html.parser")
    return {(str(link["hreflang"]), str(link["href"]))
            for link in soup.find_all("link", rel="alternate", hreflang=True)}


@pytest.mark.parametrize("name", PAGES)
def test_hreflang_alternates_pair_up_both_ways(files: dict[str, bytes], name: str) -> None:
    soup = BeautifulSoup(files[name], "html.parser")
    assert soup.html is not None
    lang = str(soup.html["lang"])
    canonical = str(soup.find("link", rel="canonical")["href"])  # type: ignore[index]
    alternates = _alternates(files[name])
    assert (lang, canonical) in alternates  # each page names itself too
    assert len({hreflang for hreflang, _ in alternates}) == len(alternates)
    for hreflang, href in alternates - {(lang, canonical)}:
        target = BeautifulSoup(files[_page_of(href)], "html.parser")
        assert target.html is not None and target.html["lang"] == hreflang
        assert (lang, canonical) in _alternates(files[_page_of(href)]), (name, href)
    # The visible switch offers exactly the other languages, each labelled in its own.
    switch = soup.find("nav", class_="languages")
    links = [] if switch is None else switch.find_all("a")
    assert {(str(a["hreflang"]), str(a["href"])) for a in links} == \
        alternates - {(lang, canonical)}
    for a in links:
        assert a["lang"] == a["hreflang"]
        assert a.get_text() == {"en": "Read in English", "fr": "Lire en français"}[str(a["lang"])]


def test_translation_pages_link_each_other(files: dict[str, bytes]) -> None:
    assert ("en", ROOT + "vol12-2/") in _alternates(files["vol12-2/fr/index.html"])
    assert ("fr", ROOT + "vol12-2/fr/") in _alternates(files["vol12-2/index.html"])
    assert ("fr", ROOT + "fr/") in _alternates(files["index.html"])
    assert _alternates(files["vol12-1/index.html"]) == {("en", ROOT + "vol12-1/")}


@pytest.mark.parametrize(("name", "present", "absent"), [
    ("vol12-2/index.html",
     ["In this issue", "Upcoming meetings", "3 October 2017", "30 November \u2013 2 December 2017",
      "Vol. 12 no. 2", "E-Chronicle archive", "Skip to content",
      "Canadian Council for Refugees, 6839 Drolet"],
     ["Dans ce numéro", "octobre"]),
    ("vol12-2/fr/index.html",
     ["Dans ce numéro", "Réunions à venir", "3 octobre 2017", "30 novembre \u2013 2 décembre 2017",
      "Vol. 12 no 2", "Archives de la Chronique électronique", "Aller au contenu",
      "Montréal (Québec)", "Chronique électronique du Conseil canadien pour les réfugiés (CCR)"],
     ["In this issue", "Upcoming meetings", "October", "Skip to content"]),
    ("fr/index.html",
     ["Archives de la Chronique électronique", "3 octobre 2017", "(en anglais seulement)"],
     ["E-Chronicle archive", "Skip to content"]),
    ("index.html", ["E-Chronicle archive", "3 October 2017"], ["(in", "seulement"]),
])
def test_each_language_renders_its_own_fixed_text(files: dict[str, bytes], name: str,
                                                  present: list[str], absent: list[str]) -> None:
    text = BeautifulSoup(files[name], "html.parser").get_text(" ")
    for words in present:
        assert words in text, (name, words)
    for words in absent:
        assert words not in text, (name, words)


def test_each_index_shows_each_issue_in_its_language_where_it_exists(
        files: dict[str, bytes]) -> None:
    def links(name: str) -> list[str]:
        soup = BeautifulSoup(files[name], "html.parser")
        return [str(a["href"]) for a in soup.select("ol.issues h2 a")]
    assert links("index.html") == [ROOT + "vol12-2/", ROOT + "vol12-1/"]
    assert links("fr/index.html") == [ROOT + "vol12-2/fr/", ROOT + "vol12-1/"]
    fallback = BeautifulSoup(files["fr/index.html"], "html.parser").select("ol.issues li")[1]
    assert fallback["lang"] == "en"  # an English-only issue stays marked as English


@pytest.mark.parametrize(("folder", "lang", "entries"), [
    ("", "en", ["vol12-2/", "vol12-1/"]),
    ("fr/", "fr", ["vol12-2/fr/", "vol12-1/"]),  # vol12-1 has no French version
])
@pytest.mark.parametrize("kind", ["feed.xml", "atom.xml"])
def test_each_language_has_its_own_feeds(files: dict[str, bytes], folder: str, lang: str,
                                         entries: list[str], kind: str) -> None:
    feed = feedparser.parse(files[folder + kind])
    assert feed.bozo == 0
    assert feed.feed.language == lang
    selfs = [link.href for link in feed.feed.links if link.rel == "self"]
    assert selfs == [ROOT + folder + kind]
    assert feed.feed.link == ROOT + folder
    if kind == "atom.xml":
        assert feed.feed.id == ROOT + folder
    assert [e.link for e in feed.entries] == [ROOT + e for e in entries]
    assert len({e.id for e in feed.entries}) == len(entries)
    assert [e.published_parsed[:3] for e in feed.entries] == [(2017, 10, 3), (2017, 4, 4)]


@pytest.mark.parametrize(("name", "folder"), [
    ("index.html", ""), ("vol12-2/index.html", ""), ("vol12-1/index.html", ""),
    ("fr/index.html", "fr/"), ("vol12-2/fr/index.html", "fr/"),
])
def test_pages_link_the_feeds_of_their_language(files: dict[str, bytes], name: str,
                                                folder: str) -> None:
    soup = BeautifulSoup(files[name], "html.parser")
    feeds = {str(link["href"]) for link in soup.find_all("link", rel="alternate", type=True)}
    assert feeds == {ROOT + folder + "feed.xml", ROOT + folder + "atom.xml"}
    footer = soup.find("footer")
    assert footer is not None
    assert {str(a["href"]) for a in footer.find_all("a")} == feeds | {ROOT + folder}


def test_the_banner_is_on_top_of_the_archive_page_as_in_the_email(
        files: dict[str, bytes]) -> None:
    soup = BeautifulSoup(files["vol12-2/index.html"], "html.parser")
    article = soup.find("article")
    assert article is not None
    first, second = article.find_all(True, recursive=False)[:2]
    banner = first.find("img")
    assert banner is not None and banner["alt"] == "CCR Chronicle"
    assert second.name == "h1"  # above the title, "In this issue" and item 1
    assert len(soup.find_all("img", alt="CCR Chronicle")) == 1
    # The email shows it before the title too.
    email_soup = BeautifulSoup(files["vol12-2/email.html"], "html.parser")
    images = [str(img["src"]) for img in email_soup.find_all("img")]
    title = email_soup.find("h1")
    assert title is not None and images[0] == banner["src"]
    assert title.find_previous("img") is not None


def test_email_copy_is_the_email_html(files: dict[str, bytes]) -> None:
    assert files["vol12-2/email.html"].startswith(b"<!doctype html>")
    assert b"CCR-TOKEN-SLOT" not in files["vol12-2/email.html"]


@pytest.mark.parametrize("bad", ["../x.html", "/etc/passwd", "a/../../b", "", "."])
def test_writer_refuses_paths_outside_the_root(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePath):
        write_tree(tmp_path / "site", {bad: b"x"})
    assert not (tmp_path / "x.html").exists()


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _publish(settings: Settings, issue_id: str) -> str:
    result = CliRunner().invoke(chronicle, ["publish", issue_id, "--no-send"], obj=settings)
    assert result.exit_code == 0, result.output
    return result.output


def test_incremental_publish_writes_the_golden_files_byte_for_byte(settings: Settings) -> None:
    """Publishing issue by issue, the others read back from the listing cache, gives exactly
    the files of a full build (the golden files), and so does `chronicle build` after it."""
    shutil.copytree(FIXTURES, settings.issues_dir)
    _publish(settings, "vol12-1")  # vol12-2 parsed and cached here
    _publish(settings, "vol12-2")  # vol12-1 from the cache
    assert _tree(settings.site.output_dir) == _tree(GOLDEN)
    _publish(settings, "vol12-1")  # vol12-2 from the cache this time
    assert _tree(settings.site.output_dir) == _tree(GOLDEN)
    result = CliRunner().invoke(chronicle, ["build"], obj=settings)
    assert result.exit_code == 0 and "0 file(s) written" in result.output, result.output


def test_an_unchanged_issue_is_read_from_the_cache_and_a_changed_one_again(
        settings: Settings) -> None:
    shutil.copytree(FIXTURES, settings.issues_dir)
    _publish(settings, "vol12-2")
    listings = list((settings.data_dir / "cache" / "listing").rglob("*.listing"))
    assert len(listings) == 2  # vol12-1, and vol12-2 in both languages
    # Mark vol12-1's listing: a publish that shows the mark did not parse vol12-1.md again.
    marked = next(p for p in listings if b'"id": "vol12-1"' in p.read_bytes())
    marked.write_bytes(marked.read_bytes().replace(b"Refugee Rights Day", b"MARKED-MARKED-MARK"))
    _publish(settings, "vol12-2")
    index = (settings.site.output_dir / "index.html").read_text("utf-8")
    feed = (settings.site.output_dir / "fr" / "feed.xml").read_text("utf-8")
    assert "MARKED-MARKED-MARK &amp; more" in index and "MARKED-MARKED-MARK" in feed
    # Once the file changes, it is read again (and the mark, keyed by the old content, unused).
    source = settings.issues_dir / "vol12-1.md"
    source.write_text(source.read_text("utf-8").replace("Refugee Rights Day &",
                                                        "Refugee Rights Day, 2018, &"), "utf-8")
    _publish(settings, "vol12-2")
    index = (settings.site.output_dir / "index.html").read_text("utf-8")
    assert "MARKED" not in index and "Refugee Rights Day, 2018, &amp; more" in index
    # A damaged listing is a miss, made again.
    for path in (settings.data_dir / "cache" / "listing").rglob("*.listing"):
        path.write_bytes(path.read_bytes()[:-10])
    _publish(settings, "vol12-2")
    assert (settings.site.output_dir / "index.html").read_text("utf-8") == index


def test_listings_no_file_needs_any_more_are_dropped(settings: Settings) -> None:
    shutil.copytree(FIXTURES, settings.issues_dir)
    stale = settings.data_dir / "cache" / "listing" / "0123456789abcdef" / "x.listing"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", "utf-8")  # another version of the code
    _publish(settings, "vol12-2")
    folder = settings.data_dir / "cache" / "listing"
    assert not stale.parent.exists()
    assert len(list(folder.rglob("*.listing"))) == 2
    source = settings.issues_dir / "vol12-1.md"
    source.write_text(source.read_text("utf-8") + "\nOne more line.\n", "utf-8")
    _publish(settings, "vol12-2")  # vol12-1's old listing is replaced by its new one
    assert len(list(folder.rglob("*.listing"))) == 2
    (settings.issues_dir / "vol12-1.md").unlink()
    result = CliRunner().invoke(chronicle, ["build"], obj=settings)
    assert result.exit_code == 0, result.output
    assert len(list(folder.rglob("*.listing"))) == 1


def test_the_listing_depends_on_the_site_address(settings: Settings) -> None:
    shutil.copytree(FIXTURES, settings.issues_dir)
    _publish(settings, "vol12-2")
    moved = dataclasses.replace(settings, site=dataclasses.replace(
        settings.site, base_url="https://ccrweb.ca/chronicle/"))
    _publish(moved, "vol12-2")
    index = (settings.site.output_dir / "index.html").read_text("utf-8")
    assert "https://ccrweb.ca/chronicle/vol12-1/" in index
    assert "lists.example.org" not in index


def test_feeds_carry_the_newest_feed_entries_issues_and_the_index_every_one(
        tmp_path: Path) -> None:
    config = tmp_path / "ccr.toml"
    config.write_text("[site]\nfeed_entries = 1\n", "utf-8")
    settings = load_settings(config)
    assert settings.site.feed_entries == 1
    files = render_site(load_all(FIXTURES), settings)
    for name in ("feed.xml", "atom.xml", "fr/feed.xml", "fr/atom.xml"):
        feed = feedparser.parse(files[name])
        assert feed.bozo == 0
        assert [e.link.rsplit("/chronicle/", 1)[1] for e in feed.entries] in (
            ["vol12-2/"], ["vol12-2/fr/"]), name
        assert feed.feed.updated_parsed[:3] == (2017, 10, 3)  # the newest issue's date
    index = files["index.html"].decode()
    assert "vol12-2/" in index and "vol12-1/" in index


@pytest.mark.parametrize("value", ["0", "-1", "2.5", '"all"'])
def test_feed_entries_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    config = tmp_path / "ccr.toml"
    config.write_text(f"[site]\nfeed_entries = {value}\n", "utf-8")
    with pytest.raises(SettingsError, match=r"'site\.feed_entries' must be"):
        load_settings(config)


def test_incremental_publish_with_short_feeds_writes_what_a_full_build_writes(
        settings: Settings) -> None:
    """With `feed_entries = 1`, the older issue is listed from a small read of its cached
    listing (no feed entries): the files are still exactly those of a full build."""
    short = dataclasses.replace(settings, site=dataclasses.replace(settings.site,
                                                                   feed_entries=1))
    shutil.copytree(FIXTURES, short.issues_dir)
    _publish(short, "vol12-1")
    _publish(short, "vol12-2")  # vol12-1 from the cache, without its feed entries
    full = render_site(load_all(FIXTURES), short)
    assert _tree(short.site.output_dir) == {name: full[name] for name in sorted(full)}
    _publish(short, "vol12-1")  # vol12-2, the newest, from the cache with them
    assert _tree(short.site.output_dir) == {name: full[name] for name in sorted(full)}
    feed = feedparser.parse(full["feed.xml"])
    assert [e.link for e in feed.entries] == ["https://lists.example.org/chronicle/vol12-2/"]


def test_the_feeds_refuse_an_issue_listed_without_its_feed_entries() -> None:
    """`list_issues` leaves them out only for issues too old for the feeds; were one of the
    newest without them, its feed entry would silently be missing."""
    listed = [listed_edition(e, "https://lists.example.org/chronicle/")
              for e in load_all(FIXTURES)]
    newest = max(listed, key=lambda e: e.date)
    short = [dataclasses.replace(e, rss={}, atom={}) if e is newest else e for e in listed]
    with pytest.raises(ValueError, match=newest.id):
        shared_files(short, Settings())
    older = [dataclasses.replace(e, rss={}, atom={}) if e is not newest else e for e in listed]
    one = Settings(site=dataclasses.replace(Settings().site, feed_entries=1))
    assert feedparser.parse(shared_files(older, one)["feed.xml"]).entries


@pytest.mark.parametrize("issues", ["missing", "empty"])
def test_a_build_with_no_issues_leaves_the_archive_as_it_is(tmp_path: Path,
                                                              issues: str) -> None:
    """A config whose issues_dir is wrong (or whose default follows the config file to
    another folder) must not blank the archive readers see."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the archive, with its issues", "utf-8")
    config = tmp_path / "ccr.toml"
    config.write_text(f'issues_dir = "{issues}"\n[site]\noutput_dir = "site"\n', "utf-8")
    if issues == "empty":
        (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(chronicle, ["build"], obj=load_settings(config))
    assert result.exit_code == 1
    assert "issues folder ('issues_dir' in " in result.output
    assert "nothing built" in result.output and "Traceback" not in result.output
    assert [p.name for p in site.iterdir()] == ["index.html"]
    assert (site / "index.html").read_text("utf-8") == "the archive, with its issues"
