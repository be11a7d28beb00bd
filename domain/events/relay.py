"""The outbox relay: publishes committed outbox rows to the event bus, then marks them.

Every server process runs one. On PostgreSQL they share the work with
``FOR UPDATE SKIP LOCKED``; a row whose publish failed, or whose process died
before marking it, is sent again on a later pass (at-least-once delivery;
subscribers de-duplicate by sequence).

What must follow from a row exactly once (webhook deliveries, owed notifications,
marketplace listings to push) is written by the ``record`` hook in the transaction that
marks the row published, all of it in one statement on PostgreSQL (``Writes``): a crash at
any point leaves both or neither, and the row's lock keeps other relays off it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.background import Periodic
from domain.db import Writes, as_datetime, atomic, fetch, is_postgres
from domain.events.models import OutboxMessage
from domain.events.ports import EventBus
from domain.events.service import on_commit

log = logging.getLogger(__name__)

Batch = list[OutboxMessage]
# A busy process publishes what its commits wrote in the last 50 ms in one pass (one
# transaction and one pipelined publish for all of them), not one pass per commit.
PASS_GAP = 0.05


_TAKE = """UPDATE outbox_message SET published_at = ? WHERE id IN (
    SELECT id FROM outbox_message WHERE published_at IS NULL ORDER BY id LIMIT ?)
    RETURNING id, topic, payload, created_at"""
# Rows another relay holds are skipped, not waited for.
_TAKE_POSTGRES = _TAKE.replace("LIMIT ?)", "LIMIT ? FOR UPDATE SKIP LOCKED)")


def _message(row: dict[str, Any]) -> OutboxMessage:
    payload = row["payload"]
    return OutboxMessage(id=row["id"], topic=row["topic"], created_at=as_datetime(
        row["created_at"]), payload=json.loads(payload) if isinstance(payload, str) else payload)


class OutboxRelay:
    def __init__(
        self, bus: EventBus, *, interval: float = 1.0, batch_size: int = 200,
        record: Callable[[BaseDBAsyncClient, Batch, Writes], Awaitable[None]] | None = None,
        after_publish: Callable[[Batch], Awaitable[None]] | None = None,
    ) -> None:
        self.bus = bus
        self.record = record
        self.after_publish = after_publish
        self.interval = interval
        self.batch_size = batch_size
        self._loop = Periodic("outbox-relay", self.drain, interval=interval, min_gap=PASS_GAP)
        self._unregister: Callable[[], None] | None = None

    async def run_once(self) -> int:
        """Publish one batch of pending rows; return how many were published."""
        async with atomic() as conn:
            # Taken and marked in one statement; a publish or record that fails rolls the
            # mark back with the rest of the transaction.
            taken = await fetch(conn, _TAKE_POSTGRES if is_postgres(conn) else _TAKE,
                                [datetime.now(UTC), self.batch_size])
            if not taken:
                return 0
            pending = sorted((_message(row) for row in taken), key=lambda m: m.id)
            # One call for the batch: the Redis bus sends it as one pipelined round trip.
            await self.bus.publish_many([(m.topic, m.payload) for m in pending])
            if self.record is not None:
                writes = Writes()
                await self.record(conn, pending, writes)
                await writes.send(conn)
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
