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
from domain.risk.ports import RiskUnavailable
from domain.risk.rules import RiskFacts, RiskReason
from domain.risk.screening import Screening

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentChoice:
    provider: str
    method: str


@dataclass(frozen=True)
class RiskSignals:
    """What the caller knows of the buyer beyond the order: the buyer's IP address (a
    storefront's caller, or what a server-side integration relays) and the card's
    fingerprint from the payment provider."""

    ip_address: str | None = None
    card_fingerprint: str | None = None


@dataclass(frozen=True)
class Checkout:
    order: Order
    payment: Payment | None
    payment_error: PaymentFailed | None


async def _provider_reasons(deps: Deps, request: OrderRequest,
                            signals: RiskSignals) -> list[RiskReason]:
    """Ask the external risk providers, before the order's transaction opens."""
    if not deps.risk_providers:
        return []
    facts = RiskFacts(email=request.email, customer_id=request.customer_id,
                      ip_address=signals.ip_address, card_fingerprint=signals.card_fingerprint,
                      shipping_address=request.shipping_address,
                      billing_address=request.billing_address,
                      shipping_method=request.shipping_method, total=None, currency=None,
                      channel=request.channel)
    reasons: list[RiskReason] = []
    for provider in deps.risk_providers:
        try:
            reasons += await provider.assess(facts)
        except RiskUnavailable as failure:
            log.warning("risk provider %s did not answer: %s", provider.name, failure)
            reasons.append(RiskReason("PROVIDER_UNAVAILABLE", 0,
                                      f"{provider.name} did not answer"))
    return reasons


async def place(
    deps: Deps, *, request: OrderRequest, payment: PaymentChoice | None, actor: str,
    idempotency: IdempotencyKey | None = None, scope: Scope | None = None,
    signals: RiskSignals | None = None,
) -> Checkout:
    """Screen and place the order; then open its payment (a company's order on NET terms
    without one: a manual ``invoice`` payment, paid when the money arrives). A payment
    that cannot start leaves the order placed and unpaid (``payment_error``), ready for
    another attempt.

    An order the risk rules hold is placed ON_HOLD (risk hold) with its stock reserved;
    its payment is authorised as any other and captured only once staff release it
    (the capture policy applies from there)."""
    if payment is not None:
        choose_gateway(deps.gateways, payment.provider, payment.method)  # before anything is written
    signals = signals or RiskSignals()
    screening = Screening(defaults=deps.risk, ip_address=signals.ip_address,
                          card_fingerprint=signals.card_fingerprint,
                          provider_reasons=await _provider_reasons(deps, request, signals))
    order = await create_order(request=request, actor=actor, idempotency=idempotency,
                               carriers=deps.carriers, taxes=deps.taxes, scope=scope,
                               screening=screening)
    if payment is None and order.payment_terms not in (None, "DUE_ON_RECEIPT") \
            and "manual" in deps.gateways:
        # A company's order on NET terms is placed without paying: it is invoiced, and the
        # money is recorded on its manual payment when it arrives.
        payment = PaymentChoice("manual", "invoice")
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
    """A pending order is held (manual hold); a confirmed one not fully shipped gets a
    fulfilment hold: nothing of it is shipped until it is released."""
    return await lifecycle.hold_order(order_id=order_id, reason=reason, actor=actor,
                                      idempotency=idempotency)


async def release(deps: Deps, *, order_id: int, actor: str,
                  idempotency: IdempotencyKey | None = None) -> Order:
    """Lift a hold: a fulfilment hold goes back to CONFIRMED (and may ship again), any
    other to PENDING, ready to be confirmed (and captured by the policy)."""
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
