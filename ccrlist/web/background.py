"""Work the web app does after it has answered: tracked tasks whose errors are logged.

A page whose cost depends on private facts (is this address a member?) answers
first and leaves the work here, so its timing says nothing about them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from ccrlist.conditions import log_trouble

log = logging.getLogger(__name__)

Job = Coroutine[Any, Any, None]


class Background:
    """Runs jobs as tasks, keeps them until done, and logs (never raises) their errors."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, job: Job, what: str) -> None:
        task = asyncio.create_task(self._run(job, what))
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, what: str) -> None:
        try:
            await job
        except Exception as exc:
            log_trouble(log, exc, "web: %s failed after the page was answered", what)

    async def drain(self) -> None:
        """Wait for every job spawned so far (at shutdown, before the database closes)."""
        await asyncio.gather(*tuple(self._tasks))
