"""What one aggregate's state forbids of another, decided here and nowhere else.

Each aggregate's own state table stays the authority on its own transitions
(orders/lifecycle.py ``TRANSITIONS``, fulfillment/states.py, payments/status.py). A change
that one aggregate allows but another's state forbids is a rule of this module: shipping
for an order that is not confirmed (pending, held, cancelled, completed), handing a
collected parcel over while its order is held, holding an order that has shipped
everything, cancelling an order a shipment of which has left. The service making the
change calls the rule in its transaction, after locking the order row, so a concurrent
change cannot slip between the check and the write; a refusal is ``INVALID_TRANSITION`` and changes nothing.

A new rule between aggregates is one function here, called where the change is made, with
its test in tests/domain/test_cross_aggregate_rules.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import InvalidTransition
from domain.fulfillment.models import Shipment, ShipmentStatus
from domain.fulfillment.states import DISPATCHED
from domain.orders.models import HoldKind, Order, OrderLine, OrderStatus


def _ref(order: Order) -> str:
    return order.number or str(order.id)


def require_order_ships(order: Order) -> None:
    """Shipments are created, labelled and dispatched only for a confirmed order: never
    for a pending, held (any kind of hold, a fulfilment hold included), cancelled or
    completed one."""
    _refuse_unless_shipping(order)


def _refuse_unless_shipping(order: Order) -> None:
    if order.status is OrderStatus.ON_HOLD:
        kind = (order.hold_kind or HoldKind.MANUAL).value.lower()
        then = "release it first" if order.hold_kind is HoldKind.FULFILLMENT \
            else "release and confirm it first"
        raise InvalidTransition("Order", _ref(order), order.status,
                                f"shipped (on a {kind} hold: {then})")
    if order.status is not OrderStatus.CONFIRMED:
        then = "shipped (confirm it first)" if order.status is OrderStatus.PENDING else "shipped"
        raise InvalidTransition("Order", _ref(order), order.status, then)


def require_handover_allowed(order: Order, shipment: Shipment, target: ShipmentStatus) -> None:
    """A parcel waiting at a store is not handed to the customer while its order is held;
    a carrier's parcel already on its way keeps moving (its tracking is what happened)."""
    if (shipment.status is ShipmentStatus.READY_FOR_PICKUP
            and target is ShipmentStatus.PICKED_UP):
        _refuse_unless_shipping(order)


def require_capture_allowed(order: Order) -> None:
    """An order held for risk review keeps its payment authorised: nothing is captured
    until staff release it (a capture would move money a review may give back)."""
    if order.status is OrderStatus.ON_HOLD and order.hold_kind is HoldKind.RISK:
        raise InvalidTransition("Order", _ref(order), "ON_HOLD",
                                "captured (on a risk hold: release it first)")


def require_something_to_ship(order: Order, lines: Iterable[OrderLine],
                              shipments: Iterable[Shipment]) -> None:
    """A confirmed order is held from shipping only while some of it is left to ship, or
    to hand over (a parcel waiting at the store)."""
    if all(line.quantity_shipped >= line.quantity for line in lines) and not any(
            s.status is ShipmentStatus.READY_FOR_PICKUP for s in shipments):
        raise InvalidTransition("Order", _ref(order), "fully shipped",
                                "held (nothing is left to ship)")


def require_nothing_left(order: Order, lines: Iterable[OrderLine],
                         shipments: Iterable[Shipment]) -> None:
    """An order is cancelled only while nothing of it has left: no line shipped, no
    shipment labelled, in transit, ready for pickup or beyond (pending ones may go)."""
    if any(line.quantity_shipped for line in lines) or any(
            s.status in DISPATCHED for s in shipments):
        raise InvalidTransition("Order", _ref(order), f"{order.status} with shipped lines",
                                OrderStatus.CANCELLED)
