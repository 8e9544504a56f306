"""GroupCommit: callers that arrive together share one commit and each gets its own result."""

from __future__ import annotations

import asyncio

import pytest

from subscribers.groupcommit import GroupCommit


async def test_concurrent_submits_share_commits_and_keep_their_results() -> None:
    commits: list[list[int]] = []

    async def commit(items: list[int]) -> list[int]:
        commits.append(items)
        await asyncio.sleep(0)
        return [i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(commit)
    results = await asyncio.gather(*(group.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert sorted(i for batch in commits for i in batch) == [0, 1, 2, 3, 4]
    assert len(commits) < 5  # at least two callers shared a transaction


async def test_a_failed_commit_fails_every_caller_in_it_and_later_ones_go_on() -> None:
    calls = 0

    async def commit(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return items

    group: GroupCommit[str, str] = GroupCommit(commit)
    first = await asyncio.gather(group.submit("a"), group.submit("b"), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in first)
    assert await group.submit("c") == "c"


async def test_result_count_must_match() -> None:
    async def commit(items: list[int]) -> list[int]:
        return []

    group: GroupCommit[int, int] = GroupCommit(commit)
    with pytest.raises(ValueError):
        await group.submit(1)


async def test_enqueue_gives_a_future_that_is_done_after_the_commit() -> None:
    committed: list[list[str]] = []
    release = asyncio.Event()

    async def commit(items: list[str]) -> list[str]:
        await release.wait()
        committed.append(items)
        return [i.upper() for i in items]

    group: GroupCommit[str, str] = GroupCommit(commit)
    first, second = group.enqueue("a"), group.enqueue("b")
    await asyncio.sleep(0)  # the flusher has started the commit and waits in it
    assert not first.done() and not second.done() and committed == []
    release.set()
    assert await first == "A" and await second == "B"
    assert committed == [["a", "b"]]
