"""Use cases of an order's life that reach other areas: placing (with its payment),
confirming (capture by policy), holding, releasing and cancelling (voiding payments)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.access import Scope
from domain.application.deps import Deps
from domain.errors import PaymentFailed
from domain.idempotency.service import IdempotencyKey
from domain.orders import lifecycle
from domain.orders.capture import OrderRequest, create_order
from domain.orders.models import Order
from domain.payments.flows import CapturePolicy, capture_authorized
from domain.payments.models import Payment, PaymentState
from domain.payments.service import choose_gateway, start_payment, void_open_payments
from domain.payments.status import derive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentChoice:
    provider: str
    method: str


@dataclass(frozen=True)
class Checkout:
    order: Order
    payment: Payment | None
    payment_error: PaymentFailed | None


async def place(
    deps: Deps, *, request: OrderRequest, payment: PaymentChoice | None, actor: str,
    idempotency: IdempotencyKey | None = None, scope: Scope | None = None,
) -> Checkout:
    """Place the order; then open its payment. A payment that cannot start leaves the order
    placed and unpaid (``payment_error``), ready for another attempt."""
    if payment is not None:
        choose_gateway(deps.gateways, payment.provider, payment.method)  # before anything is written
    order = await create_order(request=request, actor=actor, idempotency=idempotency,
                               carriers=deps.carriers, scope=scope)
    if payment is None:
        return Checkout(order, None, None)
    existing = await Payment.filter(order_id=order.id).exclude(
        state__in=[PaymentState.FAILED, PaymentState.VOIDED]).first()
    if existing is not None:  # an idempotent replay of the checkout
        return Checkout(order, existing, None)
    try:
        opened = await start_payment(order_id=order.id, provider=payment.provider,
                                     method=payment.method, gateways=deps.gateways, actor=actor)
    except PaymentFailed as failure:  # a failed payment leaves the new order unpaid, as it was
        return Checkout(order, None, failure)
    # The order is read again only if the payment changed its status (a payment captured
    # at once); one waiting for the buyer, as most are, leaves the order as written.
    if derive([opened], order.total, order.exchange_credit) is not order.payment_status:
        order = await Order.get(id=order.id)
    return Checkout(order, opened, None)


async def confirm(deps: Deps, *, order_id: int, actor: str,
                  idempotency: IdempotencyKey | None = None) -> Order:
    """Confirm (the order's state table decides); then capture if the policy says so."""
    order = await lifecycle.confirm_order(order_id=order_id, actor=actor, idempotency=idempotency)
    if deps.capture_policy is CapturePolicy.CONFIRMATION:
        await capture_authorized(order_id=order_id, gateways=deps.gateways, actor=actor)
    return await Order.get(id=order.id)


async def hold(deps: Deps, *, order_id: int, reason: str, actor: str,
               idempotency: IdempotencyKey | None = None) -> Order:
    return await lifecycle.hold_order(order_id=order_id, reason=reason, actor=actor,
                                      idempotency=idempotency)


async def release(deps: Deps, *, order_id: int, actor: str,
                  idempotency: IdempotencyKey | None = None) -> Order:
    return await lifecycle.release_order(order_id=order_id, actor=actor, idempotency=idempotency)


async def cancel(deps: Deps, *, order_id: int, reason: str | None, actor: str,
                 idempotency: IdempotencyKey | None = None) -> Order:
    """Cancel (refused once a shipment has left: the order lifecycle decides) and release
    stock in one transaction; then void the open payments."""
    order = await lifecycle.cancel_order(order_id=order_id, reason=reason, actor=actor,
                                         idempotency=idempotency)
    try:
        await void_open_payments(order_id=order_id, gateways=deps.gateways, actor=actor)
    except PaymentFailed as failure:
        log.warning("voiding the payments of order %s failed: %s", order_id, failure.message)
    return await Order.get(id=order.id)
