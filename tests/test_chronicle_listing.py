"""The listing cache: listings and broken issues read back exactly as written, keys that
follow the files and the site's address, and damaged files read as misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from echronicle.listing.cache import ListingCache
from echronicle.listing.entries import listed_edition
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
def test_a_damaged_listing_is_a_miss(tmp_path: Path, damage: object) -> None:
    cache = ListingCache(tmp_path, "code")
    cache.put("k", listed_edition(load_edition(FIXTURES, "vol12-2"), ROOT))
    path = tmp_path / "code" / "k.listing"
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get("k") is None


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
