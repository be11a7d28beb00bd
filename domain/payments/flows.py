"""Capturing by policy: when an order's authorized payments are captured.

The use cases of domain/application call these after the order change they follow has
committed, so a gateway that fails never undoes or blocks the order change; the failure
is logged and an order event, and an unknown outcome is repeated by the sweep.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from enum import StrEnum

from domain.errors import PaymentFailed
from domain.fulfillment.models import Shipment
from domain.money import quantize
from domain.orders.models import FulfillmentStatus, Order, OrderLine
from domain.payments.models import Payment, PaymentState
from domain.payments.service import (
    Gateways,
    capture_payment,
)

log = logging.getLogger(__name__)


class CapturePolicy(StrEnum):
    MANUAL = "manual"  # staff or partners call paymentCapture
    CONFIRMATION = "confirmation"  # when the order is confirmed
    FIRST_SHIPMENT = "first_shipment"  # when its first shipment leaves
    SHIPPED_VALUE = "shipped_value"  # at each shipment, the value shipped so far


async def capture_authorized(*, order_id: int, gateways: Gateways, actor: str) -> None:
    for payment in await Payment.filter(order_id=order_id, state=PaymentState.AUTHORIZED):
        try:
            await capture_payment(payment_id=payment.id, amount=None, gateways=gateways,
                                  actor=actor)
        except PaymentFailed as failure:
            log.warning("capture of payment %s failed: %s", payment.id, failure.message)


async def after_shipment(
    *, shipment: Shipment, gateways: Gateways, policy: CapturePolicy, actor: str
) -> None:
    if policy is CapturePolicy.FIRST_SHIPMENT:
        await capture_authorized(order_id=shipment.order_id, gateways=gateways, actor=actor)
    elif policy is CapturePolicy.SHIPPED_VALUE:
        await capture_shipped_value(order_id=shipment.order_id, gateways=gateways, actor=actor)


async def capture_shipped_value(*, order_id: int, gateways: Gateways, actor: str) -> None:
    """Capture what has shipped (each line's share of what it is charged, tax included, by
    its units shipped; shipping with the first parcel); the capture that completes the
    order is final."""
    order = await Order.get(id=order_id)
    lines = await OrderLine.filter(order_id=order_id)
    shipped = sum((line.total * line.quantity_shipped / line.quantity
                   for line in lines if line.quantity), Decimal(0))
    if shipped:
        shipped += order.shipping_total
    complete = order.fulfillment_status is FulfillmentStatus.FULFILLED
    for payment in await Payment.filter(order_id=order_id, state=PaymentState.AUTHORIZED):
        ceiling = payment.authorized_amount - payment.captured_amount
        due = ceiling if complete else quantize(
            min(shipped, payment.authorized_amount) - payment.captured_amount, order.currency)
        if due <= 0:
            continue
        try:
            await capture_payment(payment_id=payment.id, amount=due, gateways=gateways,
                                  actor=actor, final=complete)
        except PaymentFailed as failure:
            log.warning("capture of payment %s failed: %s", payment.id, failure.message)
