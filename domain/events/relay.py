"""The outbox relay: publishes committed outbox rows to the event bus, then marks them.

Every server process runs one. On PostgreSQL they share the work with
``FOR UPDATE SKIP LOCKED``; a row whose publish failed, or whose process died
before marking it, is sent again on a later pass (at-least-once delivery;
subscribers de-duplicate by sequence).

What must follow from a row exactly once (webhook deliveries) is written by the
``record`` hook in the transaction that marks the row published: a crash at any
point leaves both or neither, and the row's lock keeps other relays off it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.background import Periodic
from domain.db import atomic
from domain.events.models import OutboxMessage
from domain.events.ports import EventBus
from domain.events.service import on_commit

log = logging.getLogger(__name__)

Batch = list[OutboxMessage]


class OutboxRelay:
    def __init__(
        self, bus: EventBus, *, interval: float = 1.0, batch_size: int = 200,
        record: Callable[[BaseDBAsyncClient, Batch], Awaitable[None]] | None = None,
        after_publish: Callable[[Batch], Awaitable[None]] | None = None,
    ) -> None:
        self.bus = bus
        self.record = record
        self.after_publish = after_publish
        self.interval = interval
        self.batch_size = batch_size
        self._loop = Periodic("outbox-relay", self.drain, interval=interval)
        self._unregister: Callable[[], None] | None = None

    async def run_once(self) -> int:
        """Publish one batch of pending rows; return how many were published."""
        async with atomic() as conn:
            pending = (
                await OutboxMessage.filter(published_at=None)
                .order_by("id")
                .limit(self.batch_size)
                .select_for_update(skip_locked=True)
                .using_db(conn)
            )
            if not pending:
                return 0
            # One call for the batch: the Redis bus sends it as one pipelined round trip.
            await self.bus.publish_many([(m.topic, m.payload) for m in pending])
            if self.record is not None:
                await self.record(conn, pending)
            await OutboxMessage.filter(id__in=[m.id for m in pending]).using_db(conn).update(
                published_at=datetime.now(UTC)
            )
        if self.after_publish is not None:
            await self.after_publish(pending)
        return len(pending)

    async def drain(self) -> None:
        while await self.run_once() == self.batch_size:
            pass

    def _on_commit(self, _: frozenset[str]) -> None:
        self._loop.wake()

    def start(self) -> None:
        self._unregister = on_commit(self._on_commit)
        self._loop.start()

    async def stop(self) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        await self._loop.stop()


async def backlog() -> tuple[int, float]:
    """How many outbox rows wait to be published, and the age in seconds of the oldest."""
    pending = OutboxMessage.filter(published_at=None)
    count = await pending.count()
    oldest = await pending.order_by("id").first() if count else None
    age = (datetime.now(UTC) - oldest.created_at).total_seconds() if oldest else 0.0
    return count, max(age, 0.0)
