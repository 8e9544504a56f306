"""The listing cache: listings and broken issues read back exactly as written, keys that
follow the files and the site's address, damaged files read as misses, and the manifest that
tells unchanged issue files without reading them."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccrlist.config.settings import Settings
from echronicle.commands import chronicle
from echronicle.listing.cache import ListingCache
from echronicle.listing.entries import listed_edition
from echronicle.listing.folder import list_issues
from echronicle.listing.manifest import Manifest
from echronicle.reading.edition import IssueFile
from echronicle.reading.errors import IssueError, IssueProblems
from echronicle.reading.library import load_edition, read_edition

FIXTURES = Path(__file__).resolve().parent / "data" / "chronicle" / "issues"
ROOT = "https://lists.example.org/chronicle/"


@pytest.mark.parametrize("issue_id", ["vol12-1", "vol12-2"])  # English only, and both
def test_a_listing_reads_back_as_it_was_written(tmp_path: Path, issue_id: str) -> None:
    cache = ListingCache(tmp_path, "code")
    listed = listed_edition(load_edition(FIXTURES, issue_id), ROOT)
    key = cache.key(read_edition(FIXTURES, issue_id), ROOT)
    assert cache.get(key) is None
    cache.put(key, listed)
    assert cache.get(key) == listed
    if issue_id == "vol12-1":  # its English version stands in the French feeds too
        assert listed.rss["fr"] == listed.rss["en"] and listed.index["fr"] != listed.index["en"]
        stored = (tmp_path / "code" / f"{key}.listing").read_bytes()
        assert stored.count(listed.rss["en"]) == 1


@pytest.mark.parametrize("issue_id", ["vol12-1", "vol12-2"])
def test_a_listing_read_without_its_feeds_has_its_facts_and_index_entries(
        tmp_path: Path, issue_id: str) -> None:
    cache = ListingCache(tmp_path, "code")
    listed = listed_edition(load_edition(FIXTURES, issue_id), ROOT)
    cache.put("k", listed)
    assert cache.get("k", feeds=False) == dataclasses.replace(listed, rss={}, atom={})


def test_index_entries_longer_than_the_first_read_are_read_whole(tmp_path: Path) -> None:
    cache = ListingCache(tmp_path, "code")
    listed = listed_edition(load_edition(FIXTURES, "vol12-2"), ROOT)
    long = dataclasses.replace(listed, index={"en": b"<li>" + b"e" * 9000 + b"</li>",
                                              "fr": b"<li>" + b"f" * 9000 + b"</li>"})
    cache.put("k", long)
    assert cache.get("k", feeds=False) == dataclasses.replace(long, rss={}, atom={})
    assert cache.get("k") == long


def test_broken_issues_read_back_with_every_problem(tmp_path: Path) -> None:
    cache = ListingCache(tmp_path, "code")
    one = IssueError("vol9-1.md", None, "the front matter has no 'title'")
    many = IssueProblems([IssueError("vol9-2.md", 4, "unknown field 'colour'"),
                          IssueError("vol9-2.md", 12, "the image x has no alt text")])
    cache.put("a", one)
    cache.put("b", many)
    got_one, got_many = cache.get("a"), cache.get("b")
    assert isinstance(got_one, IssueError) and str(got_one) == str(one)
    assert isinstance(got_many, IssueProblems) and str(got_many) == str(many)


@pytest.mark.parametrize("damage", [
    lambda data: data[:-1],  # cut short
    lambda data: data + b"x",
    lambda data: b"not json\n" + data,
    lambda data: data.replace(b'"format": 1', b'"format": 0'),
    lambda data: b"",
])
@pytest.mark.parametrize("feeds", [True, False])
def test_a_damaged_listing_is_a_miss(tmp_path: Path, damage: object, feeds: bool) -> None:
    cache = ListingCache(tmp_path, "code")
    cache.put("k", listed_edition(load_edition(FIXTURES, "vol12-2"), ROOT))
    path = tmp_path / "code" / "k.listing"
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get("k", feeds) is None


def test_keys_follow_names_contents_and_the_site_address() -> None:
    a = IssueFile.of("vol1-1.md", b"---\ntitle: x\n")
    keys = {
        ListingCache.key([a], ROOT),
        ListingCache.key([IssueFile.of("vol1-2.md", b"---\ntitle: x\n")], ROOT),
        ListingCache.key([IssueFile.of("vol1-1.md", b"---\ntitle: y\n")], ROOT),
        ListingCache.key([a], "https://ccrweb.ca/chronicle/"),
        ListingCache.key([a, IssueFile.of("vol1-1.fr.md", b"---\n")], ROOT),
    }
    assert len(keys) == 5
    assert ListingCache.key([a], ROOT) == ListingCache.key([IssueFile.of("vol1-1.md",
                                                                         b"---\ntitle: x\n")],
                                                           ROOT)


def test_another_version_of_the_code_uses_a_folder_of_its_own(tmp_path: Path) -> None:
    listed = listed_edition(load_edition(FIXTURES, "vol12-1"), ROOT)
    ListingCache(tmp_path, "old").put("k", listed)
    new = ListingCache(tmp_path)  # named for this code
    assert new.folder.name != "old" and new.get("k") is None
    new.put("k", listed)
    new.prune({"k"})
    assert [p.name for p in tmp_path.iterdir()] == [new.folder.name]


def _age(path: Path, seconds: float) -> None:
    """Set `path`'s modification time `seconds` before now."""
    when = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(when, when))


def test_the_manifest_knows_unchanged_files_without_reading_them(tmp_path: Path) -> None:
    issue, gone = tmp_path / "vol1-1.md", tmp_path / "vol1-2.md"
    for path in (issue, gone):
        path.write_text("---\ntitle: x\n", "utf-8")
        _age(path, 60)
    manifest = Manifest(tmp_path / "cache")
    assert manifest.digest(issue, issue.stat()) is None  # never hashed
    manifest.record(issue, issue.stat(), "d1")
    manifest.record(gone, gone.stat(), "d2")
    manifest.save()
    gone.unlink()
    again = Manifest(tmp_path / "cache")
    assert again.digest(issue, issue.stat()) == "d1"
    again.save()  # what this run saw: vol1-2.md is gone
    assert list(json.loads((tmp_path / "cache" / "files.json").read_text())) == [str(issue)]
    issue.write_text("---\ntitle: y\n", "utf-8")  # same size, but a new time
    _age(issue, 30)
    assert Manifest(tmp_path / "cache").digest(issue, issue.stat()) is None


def test_a_file_changed_just_before_the_manifest_was_written_is_hashed_again(
        tmp_path: Path) -> None:
    """A second edit in the same tick of a coarse clock would keep size and time: a file
    changed less than 2 s before the manifest was written is not trusted, and hashing it
    again moves the manifest's time on, so that it is trusted the next time."""
    issue = tmp_path / "vol1-1.md"
    issue.write_text("---\ntitle: x\n", "utf-8")
    _age(issue, 60)
    manifest = Manifest(tmp_path / "cache")
    manifest.record(issue, issue.stat(), "d1")
    manifest.save()
    written = tmp_path / "cache" / "files.json"
    racy_time = issue.stat().st_mtime_ns + 1_000_000_000  # as if written 1 s after the edit
    os.utime(written, ns=(racy_time, racy_time))
    racy = Manifest(tmp_path / "cache")
    assert racy.digest(issue, issue.stat()) is None
    racy.record(issue, issue.stat(), "d1")  # hashed again: the same
    racy.save()  # nothing new, but its time moves on
    assert written.stat().st_mtime_ns > racy_time
    assert Manifest(tmp_path / "cache").digest(issue, issue.stat()) == "d1"


def test_publishing_reads_only_the_files_that_changed(settings: Settings) -> None:
    """Observed through the manifest: after two publishes, an unchanged archived file is
    known from its size and time; a changed one is read and hashed again."""
    shutil.copytree(FIXTURES, settings.issues_dir)
    for path in settings.issues_dir.iterdir():
        _age(path, 60)
    for _ in range(2):
        result = CliRunner().invoke(chronicle, ["publish", "vol12-2", "--no-send"], obj=settings)
        assert result.exit_code == 0, result.output
    cache = ListingCache(settings.data_dir / "cache" / "listing")
    old = settings.issues_dir / "vol12-1.md"
    assert cache.manifest().digest(old, old.stat()) == IssueFile.of(
        old.name, old.read_bytes()).digest
    old.write_text(old.read_text("utf-8") + "\nMore.\n", "utf-8")
    assert cache.manifest().digest(old, old.stat()) is None


def _third_issue(issues: Path) -> None:
    """vol12-3, the newest: vol12-2 a month later."""
    for suffix in (".md", ".fr.md"):
        text = (issues / f"vol12-2{suffix}").read_text("utf-8")
        (issues / f"vol12-3{suffix}").write_text(
            text.replace("number: 2", "number: 3").replace("date: 2017-10-03",
                                                             "date: 2017-11-03"), "utf-8")


def test_only_the_issues_the_feeds_show_are_read_with_their_feed_entries(
        settings: Settings) -> None:
    shutil.copytree(FIXTURES, settings.issues_dir)
    _third_issue(settings.issues_dir)
    result = CliRunner().invoke(chronicle, ["publish", "vol12-2", "--no-send"], obj=settings)
    assert result.exit_code == 0, result.output
    cache = ListingCache(settings.data_dir / "cache" / "listing")
    found = list_issues(settings.issues_dir, 1 << 20, cache, ROOT, feed_entries=2)
    by_id = {e.id: e for e in found.editions}
    assert sorted(by_id) == ["vol12-1", "vol12-2", "vol12-3"] and not found.left_out
    assert by_id["vol12-3"].rss and by_id["vol12-2"].atom  # the two newest, whole
    assert by_id["vol12-1"].rss == {} and by_id["vol12-1"].atom == {}
    assert by_id["vol12-1"].index["fr"]
    whole = list_issues(settings.issues_dir, 1 << 20, cache, ROOT)
    assert all(e.rss and e.atom for e in whole.editions)


def test_a_newest_issue_broken_since_its_first_look_is_left_out_and_the_next_one_fed(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the small read and the whole one, vol12-3's listing goes missing and its file
    turns out broken: it is left out, and vol12-2 takes its place in the feeds, whole."""
    shutil.copytree(FIXTURES, settings.issues_dir)
    _third_issue(settings.issues_dir)
    for path in settings.issues_dir.iterdir():
        _age(path, 60)  # so that the manifest vouches for them: the cache is asked first
    result = CliRunner().invoke(chronicle, ["publish", "vol12-2", "--no-send"], obj=settings)
    assert result.exit_code == 0, result.output
    cache = ListingCache(settings.data_dir / "cache" / "listing")
    newest = settings.issues_dir / "vol12-3.md"
    real_get = ListingCache.get

    def get(self: ListingCache, key: str, feeds: bool = True) -> object:
        listing = real_get(self, key, feeds)
        if feeds and getattr(listing, "id", None) == "vol12-3":
            newest.write_text("not an issue\n", "utf-8")
            return None
        return listing

    monkeypatch.setattr(ListingCache, "get", get)
    found = list_issues(settings.issues_dir, 1 << 20, cache, ROOT, feed_entries=1)
    assert [e.source for e in found.left_out] == ["vol12-3.md"]
    by_id = {e.id: e for e in found.editions}
    assert sorted(by_id) == ["vol12-1", "vol12-2"]
    assert by_id["vol12-2"].rss and by_id["vol12-1"].rss == {}
