"""Applying a gateway's webhook events: each event id once, amounts as the gateway reports them."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from domain.events.catalogue import EventType
from domain.events.service import record_order_event
from domain.money import quantize
from domain.orders.lifecycle import lock_order
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
