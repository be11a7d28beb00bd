"""The outbox relay publishes committed changes to the configured event bus."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import StockBelowReserved
from domain.events.models import OutboxMessage
from domain.events.ports import stock_topic
from domain.inventory import service
from tests import factories


async def test_a_committed_stock_change_reaches_bus_subscribers(app, db) -> None:  # type: ignore[no-untyped-def]
    bus = app.state.services.bus
    await factories.location("wh")
    await factories.product("SKU-1")
    async with bus.subscribe(stock_topic("SKU-1")) as messages:
        await service.adjust_stock(target=service.StockTarget("SKU-1", "wh"), delta=3,
                                   reason="delivery", actor="test")
        message = await asyncio.wait_for(anext(messages), timeout=10)
    assert message == {"kind": "stock_changed", "sku": "SKU-1"}


async def test_a_refused_change_publishes_nothing(app, db) -> None:  # type: ignore[no-untyped-def]
    await factories.location("wh")
    await factories.product("SKU-1")
    before = await OutboxMessage.all().count()
    with pytest.raises(StockBelowReserved):
        await service.adjust_stock(target=service.StockTarget("SKU-1", "wh"), delta=-1,
                                   reason="loss", actor="test")
    assert await OutboxMessage.all().count() == before


async def test_the_in_process_bus_delivers_a_batch_in_order() -> None:
    from integrations.bus.memory import InMemoryBus

    bus = InMemoryBus()
    async with bus.subscribe("a", "b") as messages:
        await bus.publish_many([("a", {"n": 1}), ("c", {"n": 2}), ("b", {"n": 3})])
        got = [await asyncio.wait_for(anext(messages), timeout=5) for _ in range(2)]
    assert got == [{"n": 1}, {"n": 3}]
