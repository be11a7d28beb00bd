"""Payments around the order lifecycle: paying at checkout, capture by policy, void on cancel.

Each flow commits its order change first and talks to the gateway after, so
a gateway that fails never undoes or blocks the order change; the failure is
an order event, and an unknown outcome is repeated by the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.access import Scope
from domain.errors import PaymentFailed
from domain.fulfillment.models import Shipment
from domain.fulfillment.ports import Carrier
from domain.idempotency.service import IdempotencyKey
from domain.money import quantize
from domain.orders import lifecycle
from domain.orders.capture import OrderRequest, create_order
from domain.orders.models import FulfillmentStatus, Order, OrderLine
from domain.payments.models import Payment, PaymentState
from domain.payments.service import (
    Gateways,
    capture_payment,
    choose_gateway,
    start_payment,
    void_open_payments,
)

log = logging.getLogger(__name__)


class CapturePolicy(StrEnum):
    MANUAL = "manual"  # staff or partners call paymentCapture
    CONFIRMATION = "confirmation"  # when the order is confirmed
    FIRST_SHIPMENT = "first_shipment"  # when its first shipment leaves
    SHIPPED_VALUE = "shipped_value"  # at each shipment, the value shipped so far


@dataclass(frozen=True)
class PaymentChoice:
    provider: str
    method: str


@dataclass(frozen=True)
class Checkout:
    order: Order
    payment: Payment | None
    payment_error: PaymentFailed | None


async def place_order(
    *, request: OrderRequest, payment: PaymentChoice | None, gateways: Gateways,
    actor: str, idempotency: IdempotencyKey | None = None,
    carriers: Mapping[str, Carrier] | None = None, scope: Scope | None = None,
) -> Checkout:
    """Place the order; then open its payment. A payment that cannot start leaves the order
    placed and unpaid (``payment_error``), ready for another attempt."""
    if payment is not None:
        choose_gateway(gateways, payment.provider, payment.method)  # before anything is written
    order = await create_order(request=request, actor=actor, idempotency=idempotency,
                               carriers=carriers, scope=scope)
    if payment is None:
        return Checkout(order, None, None)
    existing = await Payment.filter(order_id=order.id).exclude(
        state__in=[PaymentState.FAILED, PaymentState.VOIDED]).first()
    if existing is not None:  # an idempotent replay of the checkout
        return Checkout(order, existing, None)
    try:
        opened = await start_payment(order_id=order.id, provider=payment.provider,
                                     method=payment.method, gateways=gateways, actor=actor)
    except PaymentFailed as failure:
        return Checkout(await Order.get(id=order.id), None, failure)
    return Checkout(await Order.get(id=order.id), opened, None)


async def capture_authorized(*, order_id: int, gateways: Gateways, actor: str) -> None:
    for payment in await Payment.filter(order_id=order_id, state=PaymentState.AUTHORIZED):
        try:
            await capture_payment(payment_id=payment.id, amount=None, gateways=gateways,
                                  actor=actor)
        except PaymentFailed as failure:
            log.warning("capture of payment %s failed: %s", payment.id, failure.message)


async def confirm_order(
    *, order_id: int, actor: str, gateways: Gateways, policy: CapturePolicy,
    idempotency: IdempotencyKey | None = None,
) -> Order:
    order = await lifecycle.confirm_order(order_id=order_id, actor=actor, idempotency=idempotency)
    if policy is CapturePolicy.CONFIRMATION:
        await capture_authorized(order_id=order_id, gateways=gateways, actor=actor)
    return await Order.get(id=order.id)


async def after_shipment(
    *, shipment: Shipment, gateways: Gateways, policy: CapturePolicy, actor: str
) -> None:
    if policy is CapturePolicy.FIRST_SHIPMENT:
        await capture_authorized(order_id=shipment.order_id, gateways=gateways, actor=actor)
    elif policy is CapturePolicy.SHIPPED_VALUE:
        await capture_shipped_value(order_id=shipment.order_id, gateways=gateways, actor=actor)


async def capture_shipped_value(*, order_id: int, gateways: Gateways, actor: str) -> None:
    """Capture what has shipped (lines at their paid price, shipping with the first parcel);
    the capture that completes the order is final."""
    order = await Order.get(id=order_id)
    lines = await OrderLine.filter(order_id=order_id)
    shipped = sum((line.unit_price * line.quantity_shipped for line in lines), Decimal(0))
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


async def cancel_order(
    *, order_id: int, reason: str | None, actor: str, gateways: Gateways,
    idempotency: IdempotencyKey | None = None,
) -> Order:
    order = await lifecycle.cancel_order(order_id=order_id, reason=reason, actor=actor,
                                         idempotency=idempotency)
    try:
        await void_open_payments(order_id=order_id, gateways=gateways, actor=actor)
    except PaymentFailed as failure:
        log.warning("voiding the payments of order %s failed: %s", order_id, failure.message)
    return await Order.get(id=order.id)
