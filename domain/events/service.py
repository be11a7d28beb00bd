"""Writing order events and outbox rows inside the caller's transaction (DESIGN rule 4)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import execute, fetch
from domain.events.catalogue import (
    EventType,
    LowStockPayload,
    OrderEventPayload,
    StockChangedPayload,
)
from domain.events.models import OrderEvent, OutboxMessage
from domain.events.ports import order_topic, stock_topic

CommitListener = Callable[[frozenset[str]], Awaitable[None] | None]
_commit_listeners: set[CommitListener] = set()
# SKUs whose stock the current transaction changed, told to listeners after commit.
_touched_skus: ContextVar[set[str] | None] = ContextVar("touched_skus", default=None)


def on_commit(listener: CommitListener) -> Callable[[], None]:
    """Register a callback told, after each commit, which SKUs' stock the transaction changed."""
    _commit_listeners.add(listener)
    return lambda: _commit_listeners.discard(listener)


@contextmanager
def tracking_touched_skus() -> Iterator[set[str]]:
    touched: set[str] = set()
    token = _touched_skus.set(touched)
    try:
        yield touched
    finally:
        _touched_skus.reset(token)


async def committed(skus: frozenset[str] = frozenset()) -> None:
    """Call after commit: relays publish at once, caches drop what the commit changed."""
    for listener in list(_commit_listeners):
        result = listener(skus)
        if inspect.isawaitable(result):
            await result


async def record_order_event(
    conn: BaseDBAsyncClient,
    *,
    order_id: int,
    type: EventType,
    actor: str | None,
    message: str | None = None,
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Append the order's next event (gapless sequence) and its outbox row.

    The sequence comes from one UPDATE on the order row, which also serialises
    concurrent writers of the same order until commit. ``type`` is an entry of the
    catalogue (domain/events/catalogue.py); anything else is refused before a write.
    """
    if not isinstance(type, EventType):
        raise TypeError(f"Order event type {type!r} is not in the event catalogue")
    rows = await fetch(
        conn,
        "UPDATE orders SET event_seq = event_seq + 1, updated_at = ? WHERE id = ? "
        "RETURNING event_seq",
        [datetime.now(UTC), order_id],
    )
    sequence = int(rows[0]["event_seq"])
    event = await OrderEvent.create(
        order_id=order_id, sequence=sequence, type=type, actor=actor, message=message,
        data=data, using_db=conn,
    )
    await OutboxMessage.create(
        topic=order_topic(order_id), payload=event_payload(event), using_db=conn
    )
    return event


def event_payload(event: OrderEvent) -> dict[str, Any]:
    return OrderEventPayload(
        order_id=event.order_id, sequence=event.sequence, type=str(event.type),
        message=event.message, actor=event.actor, data=event.data,
        created_at=event.created_at.isoformat(), actor_staff_id=event.actor_staff_id,
    ).to_json()


async def record_stock_changed(conn: BaseDBAsyncClient, skus: Iterable[str]) -> None:
    """One outbox row per SKU whose stock changed in this transaction, and the low-stock
    alerts those changes crossed."""
    changed = sorted(set(skus))
    if not changed:
        return
    await OutboxMessage.bulk_create(await stock_changed_messages(conn, changed), using_db=conn)


async def stock_changed_messages(
    conn: BaseDBAsyncClient, skus: Iterable[str], *,
    changed_rows: list[dict[str, Any]] | None = None,
) -> list[OutboxMessage]:
    """The outbox rows ``record_stock_changed`` writes, for a caller that writes them in a
    batch of its own (in the same transaction).

    A caller that holds every stock row it changed, locked and up to date, passes them as
    ``changed_rows`` (the columns ``_low_stock_alerts`` reads, with ``sku`` and ``code``):
    the alerts are then worked out from them without reading the rows again.
    """
    changed = sorted(set(skus))
    if not changed:
        return []
    touched = _touched_skus.get()
    if touched is not None:
        touched.update(changed)
    messages = [
        OutboxMessage(topic=stock_topic(sku), payload=StockChangedPayload(sku=sku).to_json())
        for sku in changed
    ]
    if changed_rows is not None:
        return messages + await _alerts_for(conn, changed_rows)
    return messages + await _low_stock_alerts(conn, changed)


async def _low_stock_alerts(conn: BaseDBAsyncClient, skus: list[str]) -> list[OutboxMessage]:
    """One alert when a row falls to or below its threshold; rising above re-arms it."""
    rows = await fetch(
        conn,
        "SELECT s.id, s.on_hand, s.reserved, s.safety_stock, s.low_stock_threshold, "
        "s.low_stock_alerted, v.sku, l.code FROM stock_level s "
        "JOIN variant v ON v.id = s.variant_id JOIN location l ON l.id = s.location_id "
        f"WHERE s.low_stock_threshold IS NOT NULL AND v.sku IN ({', '.join('?' * len(skus))})",
        skus,
    )
    return await _alerts_for(conn, rows)


async def _alerts_for(conn: BaseDBAsyncClient, rows: list[dict[str, Any]]) -> list[OutboxMessage]:
    alerts = []
    for row in rows:
        if row["low_stock_threshold"] is None:
            continue
        available = row["on_hand"] - row["reserved"] - row["safety_stock"]
        low = available <= row["low_stock_threshold"]
        if low == bool(row["low_stock_alerted"]):
            continue
        await execute(conn, "UPDATE stock_level SET low_stock_alerted = ? WHERE id = ?",
                      [low, row["id"]])
        if low:
            alerts.append(OutboxMessage(topic=stock_topic(row["sku"]), payload=LowStockPayload(
                sku=row["sku"], location=row["code"], available=available,
                threshold=row["low_stock_threshold"]).to_json()))
    return alerts
