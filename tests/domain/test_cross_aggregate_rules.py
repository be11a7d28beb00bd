"""Refusals between aggregates are decided in domain/cross_aggregate.py, once: each rule
on every status, and through the use cases that hit it (nothing changes when refused)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from domain import application, cross_aggregate
from domain.errors import InvalidTransition
from domain.fulfillment import service as shipments
from domain.fulfillment.models import Shipment, ShipmentStatus
from domain.fulfillment.states import DISPATCHED
from domain.orders.models import Allocation, HoldKind, Order, OrderLine, OrderStatus
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "test"


def _deps(app: Any) -> application.Deps:
    deps: application.Deps = app.state.services.deps
    return deps


@pytest.mark.parametrize("status", list(OrderStatus))
def test_only_a_confirmed_order_ships(status: OrderStatus) -> None:
    order = Order(id=7, number="N-7", status=status)
    if status is OrderStatus.CONFIRMED:
        cross_aggregate.require_order_ships(order)
        return
    with pytest.raises(InvalidTransition) as refused:
        cross_aggregate.require_order_ships(order)
    assert (refused.value.entity, refused.value.current) == ("Order", status)


@pytest.mark.parametrize("kind", list(HoldKind))
def test_no_kind_of_hold_ships(kind: HoldKind) -> None:
    order = Order(id=7, number="N-7", status=OrderStatus.ON_HOLD, hold_kind=kind)
    with pytest.raises(InvalidTransition) as refused:
        cross_aggregate.require_order_ships(order)
    assert f"on a {kind.value.lower()} hold" in refused.value.message


def test_a_parcel_at_the_store_is_not_handed_over_while_held() -> None:
    held = Order(id=7, number="N-7", status=OrderStatus.ON_HOLD, hold_kind=HoldKind.FULFILLMENT)
    waiting = Shipment(status=ShipmentStatus.READY_FOR_PICKUP)
    with pytest.raises(InvalidTransition):
        cross_aggregate.require_handover_allowed(held, waiting, ShipmentStatus.PICKED_UP)
    # a carrier's parcel already on its way keeps moving
    cross_aggregate.require_handover_allowed(held, Shipment(status=ShipmentStatus.IN_TRANSIT),
                                             ShipmentStatus.DELIVERED)
    confirmed = Order(id=7, number="N-7", status=OrderStatus.CONFIRMED)
    cross_aggregate.require_handover_allowed(confirmed, waiting, ShipmentStatus.PICKED_UP)


def test_only_an_order_with_units_left_to_ship_is_held_from_shipping() -> None:
    order = Order(id=7, number="N-7", status=OrderStatus.CONFIRMED)
    cross_aggregate.require_something_to_ship(
        order, [OrderLine(quantity=2, quantity_shipped=1)], [])
    shipped = [OrderLine(quantity=2, quantity_shipped=2)]
    cross_aggregate.require_something_to_ship(  # still to hand over at the store
        order, shipped, [Shipment(status=ShipmentStatus.READY_FOR_PICKUP)])
    with pytest.raises(InvalidTransition):
        cross_aggregate.require_something_to_ship(
            order, shipped, [Shipment(status=ShipmentStatus.IN_TRANSIT)])


@pytest.mark.parametrize("status", list(ShipmentStatus))
def test_an_order_cancels_only_while_no_shipment_left(status: ShipmentStatus) -> None:
    order = Order(id=7, number="N-7", status=OrderStatus.CONFIRMED)
    unshipped = [OrderLine(quantity_shipped=0)]
    if status in DISPATCHED:
        with pytest.raises(InvalidTransition) as refused:
            cross_aggregate.require_nothing_left(order, unshipped, [Shipment(status=status)])
        assert refused.value.target == OrderStatus.CANCELLED
    else:
        cross_aggregate.require_nothing_left(order, unshipped, [Shipment(status=status)])
    with pytest.raises(InvalidTransition):  # a line shipped is enough on its own
        cross_aggregate.require_nothing_left(order, [OrderLine(quantity_shipped=1)], [])


def test_the_rules_are_decided_in_one_place() -> None:
    """Each rule is called by the services making the change it guards, and by no other."""
    users: dict[str, set[str]] = {}
    for path in (ROOT / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id.startswith("require_") and \
                    hasattr(cross_aggregate, node.func.id):
                users.setdefault(node.func.id, set()).add(str(path.relative_to(ROOT)))
    assert users == {
        "require_order_ships": {"domain/fulfillment/service.py", "domain/fulfillment/labels.py"},
        "require_nothing_left": {"domain/orders/lifecycle.py"},
        "require_something_to_ship": {"domain/orders/lifecycle.py"},
        "require_handover_allowed": {"domain/fulfillment/tracking.py"},
        "require_capture_allowed": {"domain/payments/service.py"},
    }


async def _confirmed(app: Any, quantity: int = 1) -> Order:
    await factories.shop({"SHOE": {"berlin": 5}})
    placed: Any = await factories.place({"SHOE": quantity})
    return await application.confirm(_deps(app), order_id=placed.id, actor=ACTOR)


async def test_shipping_for_a_cancelled_order_is_refused(app: Any, db: None) -> None:
    order = await _confirmed(app)
    shipment = await shipments.create_shipment(order_id=order.id, carriers=_deps(app).carriers,
                                               actor=ACTOR)
    cancelled = await application.cancel(_deps(app), order_id=order.id, reason=None,
                                         actor=ACTOR)
    assert cancelled.status is OrderStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        await application.ship(_deps(app), shipment_id=shipment.id, tracking_number="TRK-1",
                               carrier=None, service=None, actor=ACTOR)
    assert (await Shipment.get(id=shipment.id)).status is ShipmentStatus.CANCELLED
    assert [ln.quantity_shipped for ln in await OrderLine.filter(order_id=order.id)] == [0]


async def test_shipping_for_a_held_order_is_refused(app: Any, db: None) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    placed: Any = await factories.place({"SHOE": 1})
    held = await application.hold(_deps(app), order_id=placed.id, reason="fraud check",
                                  actor=ACTOR)
    assert held.status is OrderStatus.ON_HOLD
    with pytest.raises(InvalidTransition):
        await shipments.create_shipment(order_id=placed.id, carriers=_deps(app).carriers,
                                        actor=ACTOR)
    assert await Shipment.filter(order_id=placed.id).count() == 0


async def test_cancelling_an_order_whose_shipment_left_is_refused(app: Any, db: None) -> None:
    order = await _confirmed(app, quantity=2)
    line = (await OrderLine.filter(order_id=order.id))[0]
    first = await shipments.create_shipment(
        order_id=order.id, lines=[shipments.ShipmentLineRequest(line.id, 1)],
        carriers=_deps(app).carriers, actor=ACTOR)
    await application.ship(_deps(app), shipment_id=first.id, tracking_number="TRK-2",
                           carrier=None, service=None, actor=ACTOR)
    with pytest.raises(InvalidTransition):
        await application.cancel(_deps(app), order_id=order.id, reason=None, actor=ACTOR)
    assert (await Order.get(id=order.id)).status is OrderStatus.CONFIRMED
    assert await Allocation.filter(order_line__order_id=order.id, released=False).count() == 1
