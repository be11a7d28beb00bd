"""The delivery worker of each process: sends due webhook deliveries, never in a request."""

from __future__ import annotations

import asyncio
import logging

from domain.background import Periodic
from domain.webhooks.ports import WebhookSender
from domain.webhooks.service import RetryPolicy, claim_due, send

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(self, sender: WebhookSender, *, policy: RetryPolicy | None = None,
                 interval: float = 1.0, concurrency: int = 20) -> None:
        self.sender = sender
        self.policy = policy or RetryPolicy()
        self._limit = asyncio.Semaphore(concurrency)
        self._loop = Periodic("webhook-worker", self.drain, interval=interval)

    def wake(self) -> None:
        self._loop.wake()

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

    async def drain(self) -> None:
        while await self.run_once():
            pass

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
