"""Staff notes on an order: an internal event in the order's timeline.

A note is an ``ORDER_NOTE_ADDED`` event, numbered with the order's other events and signed
by its author like them; it is one of ``INTERNAL_EVENTS``, so the buyer never sees it
(domain/access) and is never sent it (no customer notification is kind of it).
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.events.catalogue import EventType
from domain.events.models import OrderEvent
from domain.events.service import record_order_event
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.orders.lifecycle import lock_order

MAX_NOTE = 5000


async def add_note(*, order_id: int, message: str, actor: str,
                   idempotency: IdempotencyKey | None = None) -> OrderEvent:
    """Append a note to the order's timeline. A blank note, or one over MAX_NOTE
    characters, is INVALID_INPUT and writes nothing."""
    text = v.required_text(message, field=("message",), max_length=MAX_NOTE)

    async def run(conn: BaseDBAsyncClient) -> OrderEvent:
        await lock_order(conn, order_id)
        return await record_order_event(conn, order_id=order_id, type=EventType.ORDER_NOTE_ADDED,
                                        actor=actor, message=text)

    return await idempotent(
        key=idempotency, operation="order:note", request=[order_id, text], run=run,
        encode=lambda event: {"event": event.id},
        decode=lambda result: OrderEvent.get(id=result["event"]),
    )
