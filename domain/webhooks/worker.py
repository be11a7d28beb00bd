"""The delivery worker of each process: sends due webhook deliveries, never in a request."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from domain.webhooks.ports import WebhookSender
from domain.webhooks.service import RetryPolicy, claim_due, send

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(self, sender: WebhookSender, *, policy: RetryPolicy | None = None,
                 interval: float = 1.0, concurrency: int = 20) -> None:
        self.sender = sender
        self.policy = policy or RetryPolicy()
        self.interval = interval
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        due = await claim_due()

        async def one(delivery: object) -> None:
            async with self._limit:
                try:
                    await send(delivery, self.sender, self.policy)  # type: ignore[arg-type]
                except Exception:
                    log.exception("webhook delivery failed unexpectedly; the lease retries it")

        await asyncio.gather(*(one(d) for d in due))
        return len(due)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.run_once():
                    pass
            except Exception:
                log.exception("webhook worker pass failed; retrying")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
