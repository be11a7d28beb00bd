"""An order event whose type is not in the catalogue is refused when emitted, before any
row is written: neither the event nor its outbox row exists."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.transactions import in_transaction

from domain.events.catalogue import EventType, topic_of
from domain.events.models import OrderEvent, OutboxMessage
from domain.events.service import record_order_event
from tests import factories


@pytest.mark.parametrize("type", ["ORDER_TELEPORTED", "ORDER_PLACED", "order.placed"])
async def test_an_uncatalogued_event_type_is_refused(app: object, db: None, type: str) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    placed: Any = await factories.place({"SHOE": 1})
    events, rows = await OrderEvent.all().count(), await OutboxMessage.all().count()
    with pytest.raises(TypeError, match="not in the event catalogue"):
        async with in_transaction() as conn:
            await record_order_event(conn, order_id=placed.id, type=type,  # type: ignore[arg-type]
                                     actor="test")
    assert (await OrderEvent.all().count(), await OutboxMessage.all().count()) == (events, rows)


async def test_a_catalogued_event_type_is_recorded_with_its_topic(app: object, db: None) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    placed: Any = await factories.place({"SHOE": 1})
    async with in_transaction() as conn:
        event = await record_order_event(conn, order_id=placed.id,
                                         type=EventType.ORDER_CONFIRMED, actor="test")
    row = await OutboxMessage.all().order_by("-id").first()
    assert row is not None and row.payload["type"] == "ORDER_CONFIRMED"
    assert row.payload["sequence"] == event.sequence
    assert topic_of(row.payload) == "order.confirmed"
