"""A background loop that runs a step now and then, and stops between steps.

Stopping never cancels a step midway: a task cancelled inside a database
transaction can leave the embedded database's connection lock taken.

A loop woken often (the relay, at every commit) can be given a ``min_gap``: a wake-up that
comes sooner than that after the last pass began waits out the rest, so a busy process takes
what was committed meanwhile in one pass (fewer statements per event), while a wake-up after
a quiet spell runs at once (no added latency when it matters least to wait).

While its steps fail (PostgreSQL or Redis away), the loop waits longer each time, up to
``MAX_BACKOFF`` seconds (5) with jitter, and says so once: when it starts failing (with the
error) and when it works again (with how many passes failed), not at every pass.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from domain import metrics

log = logging.getLogger(__name__)
MAX_BACKOFF = 5.0  # seconds: long enough not to hammer, short enough to catch up soon


class Periodic:
    def __init__(self, name: str, step: Callable[[], Awaitable[object]], *,
                 interval: float, min_gap: float = 0.0) -> None:
        self.name = name
        self.step = step
        self.interval = interval
        self.min_gap = min_gap
        self._began = float("-inf")  # when the last pass began (monotonic)
        self._wake = asyncio.Event()
        self._halt = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # passes failed in a row

    def wake(self) -> None:
        self._wake.set()

    def delay(self) -> float:
        """Seconds until the next pass: the interval, or a growing backoff while failing."""
        if not self.failures:
            return self.interval
        backoff = min(MAX_BACKOFF, max(self.interval, 0.5) * 2 ** min(self.failures - 1, 10))
        return backoff * random.uniform(0.5, 1.0)

    async def _pass(self) -> None:
        self._began = time.monotonic()
        try:
            await self.step()
        except Exception as error:
            self.failures += 1
            metrics.count("background_failures", loop=self.name)
            if self.failures == 1:
                log.warning("%s: failing, backing off: %s: %s", self.name,
                            type(error).__name__, error, exc_info=error)
            return
        if self.failures:
            log.warning("%s: working again after %d failed passes", self.name, self.failures)
        self.failures = 0

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._pass()
            if self._stopping:
                break
            # While failing, only stopping cuts the wait short, not a wake-up.
            wait = self._halt.wait() if self.failures else self._wake.wait()
            with suppress(TimeoutError):
                await asyncio.wait_for(wait, timeout=self.delay())
            rest = self._began + self.min_gap - time.monotonic()
            if rest > 0 and not self._stopping:  # woken soon after the last pass
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._halt.wait(), timeout=rest)

    def start(self) -> None:
        self._stopping = False
        self._halt.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, grace: float = 10.0) -> None:
        """Let the current step finish (cancelling only after ``grace`` seconds)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        self._halt.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
        self._task = None
