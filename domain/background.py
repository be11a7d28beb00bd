"""A background loop that runs a step now and then, and stops between steps.

Stopping never cancels a step midway: a task cancelled inside a database
transaction can leave the embedded database's connection lock taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, step: Callable[[], Awaitable[object]], *,
                 interval: float) -> None:
        self.name = name
        self.step = step
        self.interval = interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.step()
            except Exception:
                log.exception("%s: a pass failed; trying again", self.name)
            if self._stopping:
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, grace: float = 10.0) -> None:
        """Let the current step finish (cancelling only after ``grace`` seconds)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
        self._task = None
