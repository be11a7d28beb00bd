"""The outbox relay: nothing committed is lost, several relays never double-send, and
webhook deliveries are made exactly once, with the mark that their row is published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from domain.db import Writes, atomic
from domain.events.models import OutboxMessage
from domain.events.relay import OutboxRelay
from domain.webhooks.models import WebhookDelivery, WebhookSubscription
from domain.webhooks.service import fan_out


class RecordingBus:
    def __init__(self, delay: float = 0.0) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.delay = delay

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow bus widens the race between relays
        self.published.append((topic, message))

    async def publish_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        for topic, message in messages:
            await self.publish(topic, message)


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


@pytest.fixture
async def paused_app_relay_and_worker(paused_app_relay: None, app: Any) -> AsyncIterator[None]:
    """Neither the app's relay nor its webhook worker runs: the deliveries stay for the test."""
    worker = app.state.services.webhooks
    await worker.stop()
    try:
        yield
    finally:
        await WebhookDelivery.all().delete()  # to hooks.example.com: never sent
        worker.start()


async def _subscribed(events: list[str]) -> WebhookSubscription:
    return await WebhookSubscription.create(owner="admin", url="https://hooks.example.com/",
                                            events=events, secret="s" * 20)


class Crash(Exception):
    pass


async def test_deliveries_are_made_with_the_mark_or_not_at_all(
    paused_app_relay_and_worker: None,
) -> None:
    subscription = await _subscribed(["inventory"])
    await OutboxMessage.bulk_create([OutboxMessage(
        topic="stock", payload={"kind": "stock_changed", "sku": f"S{i}"}) for i in range(4)])

    async def dies_before_marking(conn: Any, published: list[OutboxMessage],
                                  writes: Writes) -> None:
        await fan_out(conn, published, writes)
        await writes.send(conn)
        raise Crash  # as if the process died after writing the deliveries

    crashing = OutboxRelay(RecordingBus(), record=dies_before_marking)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        await crashing.run_once()
    assert await WebhookDelivery.all().count() == 0  # neither deliveries ...
    assert await OutboxMessage.filter(published_at=None).count() == 4  # ... nor the mark
    relay = OutboxRelay(RecordingBus(), record=fan_out)  # type: ignore[arg-type]
    assert await relay.run_once() == 4
    assert await relay.run_once() == 0
    rows = await WebhookDelivery.filter(subscription_id=subscription.id).values_list(
        "outbox_id", flat=True)
    assert sorted(rows) == sorted(await OutboxMessage.all().values_list("id", flat=True))


async def test_an_outbox_row_owes_a_subscription_one_delivery(
    paused_app_relay_and_worker: None,
) -> None:
    subscription = await _subscribed(["inventory"])
    message = await OutboxMessage.create(topic="stock", payload={"kind": "stock_changed"})
    async with atomic() as conn:
        writes = Writes()
        assert await fan_out(conn, [message], writes) == 1
        await writes.send(conn)
    with pytest.raises(IntegrityError):
        async with atomic() as conn:
            writes = Writes()
            await fan_out(conn, [message], writes)
            await writes.send(conn)
    assert await WebhookDelivery.filter(subscription_id=subscription.id).count() == 1


async def test_concurrent_relays_make_each_delivery_once(
    paused_app_relay_and_worker: None, needs_postgres: None,
) -> None:
    await _subscribed(["inventory"])
    await _subscribed(["inventory.changed"])
    await OutboxMessage.bulk_create([OutboxMessage(
        topic="stock", payload={"kind": "stock_changed", "n": i}) for i in range(60)])
    relays = [OutboxRelay(RecordingBus(delay=0.001), batch_size=10,  # type: ignore[arg-type]
                          record=fan_out) for _ in range(3)]
    await asyncio.gather(*(relay.drain() for relay in relays))
    pairs = await WebhookDelivery.all().values_list("subscription_id", "outbox_id")
    assert len(pairs) == len(set(pairs)) == 120
