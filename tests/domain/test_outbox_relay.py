"""The outbox relay: nothing committed is lost, and several relays never double-send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.events.models import OutboxMessage
from domain.events.relay import OutboxRelay


class RecordingBus:
    def __init__(self, delay: float = 0.0) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.delay = delay

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow bus widens the race between relays
        self.published.append((topic, message))


@pytest.fixture
async def paused_app_relay(app: Any, db: None) -> AsyncIterator[None]:
    relay = app.state.services.relay
    await relay.stop()
    try:
        yield
    finally:
        relay.start()


async def test_rows_committed_before_a_crash_are_published_by_the_next_pass(
    paused_app_relay: None,
) -> None:
    # As if a process committed these and died before its relay published them.
    await OutboxMessage.bulk_create(
        [OutboxMessage(topic=f"order.{i}", payload={"n": i}) for i in range(5)]
    )
    bus = RecordingBus()
    relay = OutboxRelay(bus)  # type: ignore[arg-type]
    assert await relay.run_once() == 5
    assert [m["n"] for _, m in bus.published] == [0, 1, 2, 3, 4]
    assert await relay.run_once() == 0
    assert await OutboxMessage.filter(published_at=None).count() == 0


async def test_concurrent_relays_publish_each_row_once(
    paused_app_relay: None, needs_postgres: None,
) -> None:
    await OutboxMessage.bulk_create(
        [OutboxMessage(topic="t", payload={"n": i}) for i in range(60)]
    )
    buses = [RecordingBus(delay=0.001) for _ in range(3)]
    relays = [OutboxRelay(bus, batch_size=10) for bus in buses]  # type: ignore[arg-type]
    await asyncio.gather(*(relay.drain() for relay in relays))
    sent = sorted(m["n"] for bus in buses for _, m in bus.published)
    assert sent == list(range(60))
    assert sum(1 for bus in buses if bus.published) > 1  # the work was shared
