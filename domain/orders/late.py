"""Orders not shipped within the shop's promise: each one noted once, as an event the staff
are alerted by (``ORDER_SHIPPING_LATE``, webhook topic ``order.shipping_late``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.events.catalogue import EventType
from domain.events.models import OrderEvent
from domain.events.service import record_order_event
from domain.orders.lifecycle import lock_order
from domain.orders.models import FulfillmentStatus, Order, OrderStatus
from domain.uow import unit_of_work

UNSHIPPED = (FulfillmentStatus.UNFULFILLED, FulfillmentStatus.PARTIALLY_FULFILLED)


async def flag_late_orders(*, ship_within: timedelta, now: datetime | None = None,
                           limit: int = 200) -> int:
    """Note every confirmed order placed more than ``ship_within`` ago that has not shipped
    in full, once; return how many were noted."""
    now = now or datetime.now(UTC)
    candidates = await (Order.filter(status=OrderStatus.CONFIRMED,
                                     fulfillment_status__in=list(UNSHIPPED),
                                     created_at__lt=now - ship_within)
                        .order_by("id").limit(limit).values_list("id", flat=True))
    if not candidates:
        return 0
    noted = set(await OrderEvent.filter(order_id__in=list(candidates),
                                        type=EventType.ORDER_SHIPPING_LATE)
                .values_list("order_id", flat=True))
    flagged = 0
    hours = int(ship_within.total_seconds() // 3600)
    for order_id in candidates:
        if order_id in noted:
            continue
        async with unit_of_work() as conn:
            order = await lock_order(conn, int(order_id))  # type: ignore[call-overload]
            if order.status is not OrderStatus.CONFIRMED or order.fulfillment_status not in \
                    UNSHIPPED or await OrderEvent.filter(
                        order_id=order.id, type=EventType.ORDER_SHIPPING_LATE).using_db(
                        conn).exists():
                continue
            await record_order_event(
                conn, order_id=order.id, type=EventType.ORDER_SHIPPING_LATE,
                actor="system:promises",
                message=f"Order {order.number} not shipped within {hours} hours of being placed",
                data={"ship_within_hours": hours})
            flagged += 1
    return flagged
