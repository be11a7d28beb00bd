"""The delivery worker of each process: sends due webhook deliveries, never in a request."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from domain.background import Periodic
from domain.webhooks.models import WebhookDelivery
from domain.webhooks.ports import WebhookSender
from domain.webhooks.service import LEASE, RetryPolicy, claim_due, put_back, send

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
        """Send what is due: each subscription's deliveries one after another, in the order
        their events were published, and different subscriptions' side by side. After a
        failed attempt, the subscription's other deliveries wait for its retry (a failing
        endpoint gets one request a pass, and the order holds)."""
        due = await claim_due()
        queues: dict[int, list[WebhookDelivery]] = {}
        for delivery in due:
            queues.setdefault(delivery.subscription_id, []).append(delivery)

        async def in_turn(deliveries: list[WebhookDelivery]) -> None:
            began = time.monotonic()
            for position, delivery in enumerate(deliveries):
                if time.monotonic() - began > LEASE.total_seconds() / 2:
                    # A slow endpoint: the rest go back, due now, well before their lease
                    # ends (so no other process sends them meanwhile).
                    await put_back(deliveries[position:], datetime.now(UTC))
                    return
                async with self._limit:
                    try:
                        sent = await send(delivery, self.sender, self.policy)
                    except Exception:
                        log.exception("webhook delivery failed unexpectedly; the lease "
                                      "retries it")
                        sent, delivery.next_attempt_at = False, datetime.now(UTC) + LEASE
                if not sent:  # the endpoint is failing: the rest follow this one's retry
                    await put_back(deliveries[position + 1:], delivery.next_attempt_at)
                    return

        await asyncio.gather(*(in_turn(queue) for queue in queues.values()))
        return len(due)

    async def drain(self) -> None:
        while await self.run_once():
            pass

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
