"""An order's fulfilment status follows its lines; delivery of everything completes it."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.events.catalogue import EventType, fulfillment_event
from domain.events.service import record_order_event
from domain.fulfillment.models import Shipment, ShipmentStatus
from domain.fulfillment.states import ARRIVED
from domain.invoices import service as invoicing
from domain.orders.models import FulfillmentStatus, Order, OrderLine, OrderStatus


def fulfillment_status(lines: Sequence[OrderLine]) -> FulfillmentStatus:
    """From the lines: returned units first, then shipped units."""
    ordered = sum(line.quantity for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    returned = sum(line.quantity_returned for line in lines)
    if returned:
        return FulfillmentStatus.RETURNED if returned >= ordered else (
            FulfillmentStatus.PARTIALLY_RETURNED)
    if shipped == 0:
        return FulfillmentStatus.UNFULFILLED
    return FulfillmentStatus.FULFILLED if shipped >= ordered else (
        FulfillmentStatus.PARTIALLY_FULFILLED)


async def refresh_progress(conn: BaseDBAsyncClient, order: Order, *, actor: str) -> None:
    """Recompute the fulfilment status, and complete the order once everything arrived.

    Every change to shipped or returned units calls it, so no caller's status
    overwrites another's (a late tracking update keeps a return's RETURNED).

    The caller holds the order row's lock. Each change is an order event.
    """
    lines = await OrderLine.filter(order_id=order.id).using_db(conn)
    status = fulfillment_status(lines)
    if status != order.fulfillment_status:
        order.fulfillment_status = status
        await order.save(update_fields=["fulfillment_status", "updated_at"], using_db=conn)
        await record_order_event(conn, order_id=order.id, type=fulfillment_event(status),
                                 actor=actor, message=f"Order {order.number} is "
                                 f"{status.value.lower().replace('_', ' ')}")
        # Its invoice once everything shipped, where the merchant invoices on shipment.
        await invoicing.after_fulfilment(conn, order, actor=actor)
    everything_shipped = sum(ln.quantity_shipped for ln in lines) >= sum(
        ln.quantity for ln in lines)
    if order.status is not OrderStatus.CONFIRMED or not everything_shipped:
        return
    shipments = await Shipment.filter(order_id=order.id).exclude(
        status=ShipmentStatus.CANCELLED).using_db(conn)
    if shipments and all(s.status in ARRIVED for s in shipments):
        order.status = OrderStatus.COMPLETED
        await order.save(update_fields=["status", "updated_at"], using_db=conn)
        await record_order_event(conn, order_id=order.id, type=EventType.ORDER_COMPLETED, actor=actor,
                                 message=f"Order {order.number} completed: every shipment arrived")
