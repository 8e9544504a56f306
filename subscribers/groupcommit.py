"""Group commit: one transaction for the items that arrive together, each caller awaits its own.

Both the SMTP intake (posts) and the delivery worker (outcomes) use it, so that a
250 or a "sent" mark always follows its own commit without one fsync per item.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommit(Generic[In, Out]):
    """Batch `submit` calls into `commit(items) -> results`, one result per item, in order."""

    def __init__(self, commit: Callable[[list[In]], Awaitable[Sequence[Out]]]) -> None:
        self._commit = commit
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        """Queue `item`; return its result once the transaction holding it has committed."""
        return await self.enqueue(item)

    def enqueue(self, item: In) -> asyncio.Future[Out]:
        """Queue `item`; the future gets its result once the transaction holding it has
        committed (for a caller with more to do meanwhile)."""
        done: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return done

    async def _flush(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                results = await self._commit([item for item, _ in group])
                if len(results) != len(group):
                    raise ValueError(f"commit gave {len(results)} results for {len(group)} items")
            except BaseException as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, done), result in zip(group, results, strict=True):  # lengths checked above
                if not done.done():
                    done.set_result(result)
