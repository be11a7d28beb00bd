"""The order state machine: confirm, hold, release, cancel (DESIGN rule 7).

A hold has a kind (``HoldKind``): a pending order held by staff is a manual hold, one held
by risk screening a risk hold (both released to PENDING); a confirmed order that has not
shipped everything can be held from shipping (a fulfilment hold, released to CONFIRMED;
while it lasts ``cross_aggregate.require_order_ships`` refuses every shipment).

Each transition locks the order row, checks the table below, writes the new
status and its event in one transaction. Cancelling also releases every
active reservation, with a ledger row for each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.cross_aggregate import require_nothing_left, require_something_to_ship
from domain.errors import InvalidTransition, NotFound
from domain.events.catalogue import EventType
from domain.events.service import record_order_event, record_stock_changed
from domain.fulfillment.models import Shipment, ShipmentStatus
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.inventory.reservation import release
from domain.orders.models import Allocation, HoldKind, Order, OrderLine, OrderStatus

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.ON_HOLD, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.PENDING, S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.COMPLETED, S.CANCELLED, S.ON_HOLD}),  # a fulfilment hold
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


async def lock_order(conn: BaseDBAsyncClient, order_id: int) -> Order:
    order = await Order.filter(id=order_id).select_for_update().using_db(conn).first()
    if order is None:
        raise NotFound("Order", str(order_id), field=("id",))
    return order


Effect = Callable[[BaseDBAsyncClient, Order], Awaitable[None]]


async def _transition(
    *, order_id: int, target: OrderStatus | Callable[[Order], OrderStatus], event: EventType,
    actor: str, message: str, idempotency: IdempotencyKey | None, effect: Effect | None = None,
) -> Order:
    async def run(conn: BaseDBAsyncClient) -> Order:
        order = await lock_order(conn, order_id)
        to = target(order) if callable(target) else target
        if not can_transition(order.status, to):
            raise InvalidTransition("Order", order.number or str(order.id), order.status, to)
        if effect is not None:
            await effect(conn, order)
        order.status = to
        await order.save(update_fields=["status", "hold_reason", "hold_kind", "cancel_reason",
                                        "updated_at"], using_db=conn)
        await record_order_event(conn, order_id=order.id, type=event, actor=actor,
                                 message=message.replace("{number}", order.number or str(order.id)))
        return order

    return await idempotent(
        key=idempotency, operation=f"order:{event}", request=[order_id, message], run=run,
        encode=lambda order: {"order": order.id},
        decode=lambda result: Order.get(id=result["order"]),
    )


async def confirm_order(
    *, order_id: int, actor: str, idempotency: IdempotencyKey | None = None
) -> Order:
    """PENDING, or ON_HOLD with a manual, risk or stock hold -> CONFIRMED (the hold is
    lifted). A fulfilment hold is lifted by releasing it, not by confirming again."""
    async def lift(_: BaseDBAsyncClient, order: Order) -> None:
        if order.hold_kind is HoldKind.FULFILLMENT:
            raise InvalidTransition("Order", order.number or str(order.id),
                                    "on a fulfilment hold", "confirmed (release it instead)")
        order.hold_kind = None
        order.hold_reason = None

    return await _transition(order_id=order_id, target=S.CONFIRMED, event=EventType.ORDER_CONFIRMED,
                             actor=actor, message="Order {number} confirmed",
                             idempotency=idempotency, effect=lift)


async def hold_order(
    *, order_id: int, reason: str, actor: str, idempotency: IdempotencyKey | None = None
) -> Order:
    """PENDING -> ON_HOLD (a manual hold), or CONFIRMED with units left to ship -> ON_HOLD
    (a fulfilment hold: no shipment is created or dispatched until it is released), with
    the reason a merchant will read. A fully shipped order has nothing to hold."""
    why = v.required_text(reason, field=("reason",), max_length=500)

    async def note(conn: BaseDBAsyncClient, order: Order) -> None:
        if order.status is S.CONFIRMED:
            require_something_to_ship(
                order, await OrderLine.filter(order_id=order.id).using_db(conn),
                await Shipment.filter(order_id=order.id).using_db(conn))
            order.hold_kind = HoldKind.FULFILLMENT
        else:
            order.hold_kind = HoldKind.MANUAL
        order.hold_reason = why

    return await _transition(order_id=order_id, target=S.ON_HOLD, event=EventType.ORDER_ON_HOLD,
                             actor=actor, message=f"Order {{number}} put on hold: {why}",
                             idempotency=idempotency, effect=note)


async def release_order(
    *, order_id: int, actor: str, idempotency: IdempotencyKey | None = None
) -> Order:
    """ON_HOLD -> CONFIRMED for a fulfilment hold, ON_HOLD -> PENDING for any other."""
    async def clear(_: BaseDBAsyncClient, order: Order) -> None:
        order.hold_reason = None
        order.hold_kind = None

    def back(order: Order) -> OrderStatus:
        return S.CONFIRMED if order.hold_kind is HoldKind.FULFILLMENT else S.PENDING

    return await _transition(order_id=order_id, target=back, event=EventType.ORDER_RELEASED,
                             actor=actor, message="Order {number} released from hold",
                             idempotency=idempotency, effect=clear)


async def cancel_order(
    *, order_id: int, reason: str | None, actor: str,
    idempotency: IdempotencyKey | None = None,
) -> Order:
    """Cancel an order that has shipped nothing, releasing every reservation it holds.

    An order with a shipment that has left (labelled, shipped, ready for
    pickup or beyond) is refused (INVALID_TRANSITION). Its pending shipments,
    which moved no stock, are cancelled with it.
    """
    why = v.text(reason, field=("reason",), max_length=500)

    async def release_all(conn: BaseDBAsyncClient, order: Order) -> None:
        lines = await OrderLine.filter(order_id=order.id).using_db(conn)
        shipments = await Shipment.filter(order_id=order.id).using_db(conn)
        require_nothing_left(order, lines, shipments)
        for pending in sorted((s for s in shipments if s.status is ShipmentStatus.PENDING),
                              key=lambda s: s.id):
            pending.status = ShipmentStatus.CANCELLED
            await pending.save(update_fields=["status", "updated_at"], using_db=conn)
            await record_order_event(conn, order_id=order.id, type=EventType.SHIPMENT_CANCELLED,
                                     actor=actor,
                                     message=f"Shipment {pending.id} cancelled with the order")
        active = await (
            Allocation.filter(order_line__order_id=order.id, released=False)
            .order_by("stock_level_id").using_db(conn)
        )
        for allocation in active:
            await release(conn, allocation.stock_level_id, allocation.quantity,
                          reference=f"order:{order.id}", actor=actor, reason="order cancelled")
        await Allocation.filter(id__in=[a.id for a in active]).using_db(conn).update(
            released=True
        )
        order.cancel_reason = why
        order.hold_reason = None
        order.hold_kind = None
        if active:
            await record_stock_changed(conn, {line.sku for line in lines})
            await record_order_event(
                conn, order_id=order.id, type=EventType.STOCK_RELEASED, actor=actor,
                message=f"Released {sum(a.quantity for a in active)} reserved unit(s)",
            )

    suffix = f": {why}" if why else ""
    return await _transition(order_id=order_id, target=S.CANCELLED, event=EventType.ORDER_CANCELLED,
                             actor=actor, message=f"Order {{number}} cancelled{suffix}",
                             idempotency=idempotency, effect=release_all)
