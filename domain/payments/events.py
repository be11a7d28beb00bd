"""Applying a gateway's webhook events: each event id once, amounts as the gateway reports them."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain.errors import AlreadyRefunded
from domain.events.catalogue import EventType
from domain.events.service import record_order_event
from domain.money import quantize
from domain.orders.lifecycle import lock_order
from domain.orders.models import Order
from domain.payments.allocation import allocate, remaining
from domain.payments.models import (
    OperationKind,
    OperationStatus,
    Payment,
    PaymentOperation,
    PaymentState,
    ProcessedWebhook,
)
from domain.payments.ports import GatewayEvent
from domain.payments.service import sync_order_payment_status
from domain.uow import unit_of_work

log = logging.getLogger(__name__)


async def apply_gateway_event(*, provider: str, event: GatewayEvent) -> str:
    """Apply one event; returns 'applied', 'duplicate', 'ignored' or 'unknown payment'."""
    if event.kind == "ignored" or event.reference is None:
        return "ignored"
    payment = await Payment.get_or_none(provider=provider, psp_reference=event.reference)
    if payment is None:
        return "unknown payment"
    actor = f"gateway:{provider}"
    try:
        async with unit_of_work() as conn:
            await ProcessedWebhook.create(provider=provider, event_id=event.event_id,
                                          using_db=conn)
            order = await lock_order(conn, payment.order_id)
            payment = await Payment.filter(id=payment.id).select_for_update().using_db(
                conn).get()
            settle_kind = None
            if event.kind == "authorized" and payment.state is PaymentState.PENDING:
                payment.authorized_amount = event.amount or payment.amount
                payment.state = PaymentState.AUTHORIZED
            elif event.kind == "captured" and event.amount is not None:
                payment.captured_amount = max(payment.captured_amount, event.amount)
                payment.state = PaymentState.CAPTURED
                settle_kind = OperationKind.CAPTURE
            elif event.kind == "refunded" and event.amount is not None:
                payment.refunded_amount = max(payment.refunded_amount, event.amount)
                if payment.refunded_amount >= payment.captured_amount:
                    payment.state = PaymentState.REFUNDED
                settle_kind = OperationKind.REFUND
            elif event.kind == "failed" and payment.state is PaymentState.PENDING:
                payment.state = PaymentState.FAILED
            elif event.kind == "disputed":
                payment.disputed = True
            await payment.save(using_db=conn)
            if settle_kind is not None:
                # The gateway's totals include calls whose answers we never got: settle them.
                await PaymentOperation.filter(
                    payment_id=payment.id, kind=settle_kind, status=OperationStatus.PENDING,
                ).using_db(conn).update(status=OperationStatus.SUCCEEDED,
                                        settled_at=datetime.now(UTC))
            if settle_kind is OperationKind.REFUND and event.amount is not None:
                await _record_gateway_refund(conn, order, payment, event)
            amount = f" {quantize(event.amount, payment.currency)} {payment.currency}" \
                if event.amount is not None else ""
            note = f": {event.message}" if event.message else ""
            await record_order_event(
                conn, order_id=order.id, type=EventType(f"PAYMENT_{event.kind.upper()}"), actor=actor,
                message=f"Payment {payment.id} {event.kind}{amount} ({provider} event "
                        f"{event.event_id}){note}")
            await sync_order_payment_status(conn, order, actor=actor)
    except IntegrityError:
        return "duplicate"
    return "applied"


async def _record_gateway_refund(conn: BaseDBAsyncClient, order: Order, payment: Payment,
                                 event: GatewayEvent) -> None:
    """A refund made at the gateway only (in its dashboard): the gateway's refunded total
    is more than our refunds add up to. The rest is recorded as a refund of its own,
    succeeded, and charged to the order's lines and shipping by the allocation rule
    (``domain.payments.allocation``: in proportion to what remains of each), so the sales
    report and lifetime value count it like any refund."""
    assert event.amount is not None
    ours = sum((op.amount for op in await PaymentOperation.filter(
        payment_id=payment.id, kind=OperationKind.REFUND, status=OperationStatus.SUCCEEDED,
    ).using_db(conn)), Decimal(0))
    extra = quantize(event.amount - ours, payment.currency)
    if extra <= 0:
        return
    key = f"oms-payment-{payment.id}-refund-at-{payment.provider}-{event.event_id}"
    operation = await PaymentOperation.create(
        payment_id=payment.id, kind=OperationKind.REFUND, status=OperationStatus.SUCCEEDED,
        amount=extra, settled_at=datetime.now(UTC), using_db=conn,
        idempotency_key=key if len(key) <= 128 else hashlib.sha256(key.encode()).hexdigest())
    try:
        await allocate(conn, order=order, amount=extra, operation_id=operation.id)
    except AlreadyRefunded:  # more than the order has left: what it has, the rest unexplained
        log.warning("payment %s: %s %s refunded at the gateway is more than order %s has "
                    "left to refund", payment.id, extra, payment.currency, order.id)
        _, left = await remaining(conn, order)
        await allocate(conn, order=order, amount=min(extra, sum(
            (max(v, Decimal(0)) for v in left.values()), Decimal(0))), operation_id=operation.id)
