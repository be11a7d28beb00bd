"""Money through a gateway, never twice (DESIGN rule 3).

Every gateway call follows one pattern: write the intent (a PENDING
operation with a deterministic idempotency key) and commit; call the gateway
outside any transaction; record the outcome in a new transaction. If the
gateway does not answer, the operation stays PENDING and the next attempt
(by the caller, or the sweep) repeats it with the same key, which the
gateway applies once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from domain.cross_aggregate import require_capture_allowed
from domain.errors import (
    AlreadyRefunded,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PaidAtMarketplace,
    PaymentFailed,
)
from domain.events.catalogue import EventType, payment_status_event
from domain.events.service import record_order_event
from domain.invoices import service as invoicing
from domain.money import parse_price, quantize
from domain.orders.lifecycle import lock_order
from domain.orders.models import Order, OrderStatus
from domain.payments.allocation import RefundTarget, allocate
from domain.payments.models import (
    OperationKind,
    OperationStatus,
    Payment,
    PaymentOperation,
    PaymentState,
)
from domain.payments.ports import (
    GatewayDeclined,
    GatewayResult,
    GatewayUnavailable,
    PaymentGateway,
)
from domain.payments.status import TRANSITIONS, derive
from domain.uow import unit_of_work

# How long one caller holds an operation while calling the gateway (longer than any
# gateway timeout); after that a repeat may take over, in case the caller died.
CALL_LEASE = timedelta(minutes=2)
log = logging.getLogger(__name__)
Gateways = Mapping[str, PaymentGateway]
# The provider of payments taken by a marketplace (its name is the payment's method): its
# gateway moves no money. Refunds of them are made on the marketplace and refused here.
MARKETPLACE = "marketplace"


async def sync_order_payment_status(conn: BaseDBAsyncClient, order: Order, *, actor: str) -> None:
    """Set the order's payment status from its payments; the order row is locked."""
    payments = await Payment.filter(order_id=order.id).using_db(conn)
    status = derive(payments, order.total, order.exchange_credit)
    if status != order.payment_status:
        if status not in TRANSITIONS[order.payment_status]:
            raise InvalidTransition("Order payment", order.number or str(order.id),
                                    order.payment_status, status)
        order.payment_status = status
        await order.save(update_fields=["payment_status", "updated_at"], using_db=conn)
        await record_order_event(conn, order_id=order.id, type=payment_status_event(status),
                                 actor=actor, message=f"Order {order.number} is "
                                 f"{status.value.lower().replace('_', ' ')}")
    # Its invoice once paid, a credit note per refund: in this transaction, so never a
    # paid order without its invoice, and (asked again) never a second one.
    await invoicing.after_payment(conn, order, actor=actor)


def _gateway(gateways: Gateways, name: str) -> PaymentGateway:
    gateway = gateways.get(name)
    if gateway is None:
        raise InvalidInput(f"Unknown payment provider {name!r} (configured: "
                           f"{', '.join(sorted(gateways)) or 'none'})", field=("provider",))
    return gateway


async def _intend(
    payment_id: int, kind: OperationKind, amount: Decimal, *, return_id: int | None = None,
    final: bool = True,
    check: Callable[[BaseDBAsyncClient, Payment], Awaitable[None]] | None = None,
    record: Callable[[BaseDBAsyncClient, Payment, PaymentOperation], Awaitable[object]]
    | None = None,
) -> PaymentOperation:
    """Write the intent to call (or find the unfinished one to repeat) and commit it;
    ``record`` writes what goes with a new operation (a refund's allocation) with it."""
    async with unit_of_work() as conn:
        payment = await Payment.filter(id=payment_id).select_for_update().using_db(conn).first()
        if payment is None:
            raise NotFound("Payment", str(payment_id), field=("paymentId",))
        unfinished = await PaymentOperation.filter(
            payment_id=payment_id, kind=kind, status=OperationStatus.PENDING, return_id=return_id,
        ).using_db(conn).first()
        if unfinished is not None:
            return unfinished  # the same call again, with the same key
        if check is not None:
            await check(conn, payment)
        attempt = await PaymentOperation.filter(payment_id=payment_id, kind=kind).using_db(
            conn).count() + 1
        created = await PaymentOperation.create(
            payment_id=payment_id, kind=kind, amount=amount, return_id=return_id, final=final,
            idempotency_key=f"oms-payment-{payment_id}-{kind.value.lower()}-{attempt}",
            using_db=conn)
        if record is not None:
            await record(conn, payment, created)
        return created


async def _settle(
    operation: PaymentOperation, result: GatewayResult | None, error: str | None, *, actor: str,
) -> Payment:
    """Record a call's outcome, and what it means for the payment and the order."""
    async with unit_of_work() as conn:
        payment = await Payment.get(id=operation.payment_id, using_db=conn)
        order = await lock_order(conn, payment.order_id)
        payment = await Payment.filter(id=payment.id).select_for_update().using_db(conn).get()
        op = await PaymentOperation.filter(id=operation.id).using_db(conn).get()
        if op.status is not OperationStatus.PENDING:
            return payment  # settled already, by a webhook or another attempt
        op.status = OperationStatus.FAILED if error else OperationStatus.SUCCEEDED
        op.error = error[:500] if error else None
        op.settled_at = datetime.now(UTC)
        if result is not None and op.kind is OperationKind.REFUND:
            op.psp_reference = result.reference
        await op.save(using_db=conn)
        verb = op.kind.value.lower()
        if error:
            if op.kind is OperationKind.AUTHORIZE:
                payment.state = PaymentState.FAILED
                await payment.save(update_fields=["state", "updated_at"], using_db=conn)
            await record_order_event(conn, order_id=order.id, type=EventType.PAYMENT_FAILED, actor=actor,
                                     message=f"Payment {payment.id}: {verb} failed: {error}")
            await sync_order_payment_status(conn, order, actor=actor)
            return payment
        _apply_success(payment, op, result)
        await payment.save(using_db=conn)
        amount = quantize(op.amount, payment.currency)
        await record_order_event(
            conn, order_id=order.id, type=EventType(f"PAYMENT_{_past(op.kind)}"), actor=actor,
            message=f"Payment {payment.id} ({payment.provider}): {_past(op.kind).lower()}"
                    + (f" {amount} {payment.currency}" if op.kind is not OperationKind.VOID
                       else ""),
            data={"payment_id": payment.id, "amount": str(amount),
                  "currency": payment.currency})
        await sync_order_payment_status(conn, order, actor=actor)
        return payment


def _past(kind: OperationKind) -> str:
    return {OperationKind.AUTHORIZE: "STARTED", OperationKind.CAPTURE: "CAPTURED",
            OperationKind.VOID: "VOIDED", OperationKind.REFUND: "REFUNDED"}[kind]


def _apply_success(payment: Payment, op: PaymentOperation, result: GatewayResult | None) -> None:
    if op.kind is OperationKind.AUTHORIZE and result is not None:
        payment.psp_reference = result.reference
        payment.client_secret = result.client_secret
        if result.amount_captured:
            payment.captured_amount = result.amount_captured
            payment.state = PaymentState.CAPTURED
        elif result.amount_authorized:
            payment.authorized_amount = result.amount_authorized
            payment.state = PaymentState.AUTHORIZED
    elif op.kind is OperationKind.CAPTURE:
        payment.captured_amount += op.amount
        more_to_come = not op.final and payment.captured_amount < payment.authorized_amount
        payment.state = PaymentState.AUTHORIZED if more_to_come else PaymentState.CAPTURED
    elif op.kind is OperationKind.VOID:
        payment.state = PaymentState.VOIDED
    elif op.kind is OperationKind.REFUND:
        payment.refunded_amount += op.amount
        if payment.refunded_amount >= payment.captured_amount:
            payment.state = PaymentState.REFUNDED


def _request(
    operation: PaymentOperation, payment: Payment, gateway: PaymentGateway
) -> Callable[[str], Awaitable[GatewayResult]]:
    """The gateway call an operation stands for, given its idempotency key."""
    reference = payment.psp_reference or ""
    if operation.kind is OperationKind.AUTHORIZE:
        return lambda key: gateway.authorize(
            amount=payment.amount, currency=payment.currency, method=payment.method, key=key,
            metadata={"order_id": str(payment.order_id), "payment_id": str(payment.id)})
    if operation.kind is OperationKind.CAPTURE:
        return lambda key: gateway.capture(reference=reference, amount=operation.amount,
                                           currency=payment.currency, key=key,
                                           final=operation.final)
    if operation.kind is OperationKind.VOID:
        return lambda key: gateway.void(reference=reference, key=key)
    return lambda key: gateway.refund(reference=reference, amount=operation.amount,
                                      currency=payment.currency, key=key)


async def _call(
    operation: PaymentOperation, payment: Payment, gateway: PaymentGateway, *, actor: str
) -> Payment:
    """Call the gateway with the operation's key, then settle; unknown outcomes stay pending.

    One caller at a time: a repeat that arrives while the first call is still out
    is answered as retryable instead of calling the gateway a second time.
    """
    now = datetime.now(UTC)
    taken = await PaymentOperation.filter(
        Q(calling_since__isnull=True) | Q(calling_since__lt=now - CALL_LEASE),
        id=operation.id, status=OperationStatus.PENDING,
    ).update(calling_since=now)
    if not taken:
        raise PaymentFailed(f"this {operation.kind.value.lower()} is already being sent to "
                            f"{gateway.name}; ask again in a moment", retryable=True)
    try:
        result = await _request(operation, payment, gateway)(operation.idempotency_key)
    except GatewayDeclined as declined:
        await _settle(operation, None, str(declined), actor=actor)
        raise PaymentFailed(f"{gateway.name} declined: {declined}") from None
    except GatewayUnavailable as unavailable:
        log.warning("payment operation %s left pending: %s", operation.id, unavailable)
        raise PaymentFailed(f"{gateway.name} did not answer ({unavailable}); retrying later "
                            "repeats the same request", retryable=True) from None
    else:
        return await _settle(operation, result, None, actor=actor)
    finally:
        await PaymentOperation.filter(id=operation.id).update(calling_since=None)


def choose_gateway(gateways: Gateways, provider: str, method: str) -> PaymentGateway:
    """The gateway for a provider, if it takes the method; InvalidInput otherwise."""
    gateway = _gateway(gateways, provider)
    if method not in gateway.methods():
        raise InvalidInput(f"{provider} takes {', '.join(sorted(gateway.methods()))}",
                           field=("method",))
    return gateway


def amount_due(order: Order) -> Decimal:
    """What the order asks for in money: its total, less what an exchange's returned goods
    pay of it (a replacement order's ``exchange_credit``)."""
    return max(order.total - order.exchange_credit, Decimal(0))


async def start_payment(
    *, order_id: int, provider: str, method: str, gateways: Gateways, actor: str,
    amount: Decimal | None = None,
) -> Payment:
    """Open a payment for ``amount``, by default what the order asks for in money
    (``amount_due``: its total, or an exchange's difference); with Stripe, the client
    secret confirms it. More than is due, or a replacement its exchange paid in full, is
    INVALID_INPUT."""
    gateway = choose_gateway(gateways, provider, method)
    async with unit_of_work() as conn:
        order = await lock_order(conn, order_id)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
            raise InvalidTransition("Order", order.number or str(order.id), order.status, "paid")
        open_payments = await Payment.filter(order_id=order.id).exclude(
            state__in=[PaymentState.FAILED, PaymentState.VOIDED]).using_db(conn).count()
        if open_payments:
            raise InvalidInput(f"Order {order.number} already has an open payment",
                               field=("orderId",))
        due = amount_due(order)
        asked = due if amount is None else amount
        if due <= 0 < order.exchange_credit:
            raise InvalidInput(f"Order {order.number} asks for no money: the goods returned "
                               "in exchange paid for it", field=("orderId",))
        if not 0 <= asked <= due:
            raise InvalidInput(f"Order {order.number} asks for {quantize(due, order.currency)}"
                               f" {order.currency}", field=("amount",))
        payment = await Payment.create(order_id=order.id, provider=provider, method=method,
                                       currency=order.currency, amount=asked, using_db=conn)
    operation = await _intend(payment.id, OperationKind.AUTHORIZE, asked)
    return await _call(operation, payment, gateway, actor=actor)


async def capture_payment(
    *, payment_id: int, amount: Decimal | str | None, gateways: Gateways, actor: str,
    final: bool = True,
) -> Payment:
    """Capture an authorised payment (or record money received, for manual payments).

    Without an amount, what remains of the authorisation (or of the order total).
    A capture that is not ``final`` leaves the rest authorised for later ones.
    """
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None:
        raise NotFound("Payment", str(payment_id), field=("paymentId",))
    gateway = _gateway(gateways, payment.provider)
    wanted = (parse_price(amount, payment.currency, field=("amount",))
              if amount is not None else None)

    async def check(conn: BaseDBAsyncClient, locked: Payment) -> None:
        require_capture_allowed(await Order.get(id=locked.order_id, using_db=conn))
        if locked.state not in (PaymentState.AUTHORIZED, PaymentState.PENDING,
                                PaymentState.CAPTURED) or (
                locked.provider != "manual" and locked.state is not PaymentState.AUTHORIZED):
            raise InvalidTransition("Payment", str(locked.id), locked.state, "CAPTURED")

    ceiling = (payment.authorized_amount if payment.provider != "manual"
               else payment.amount) - payment.captured_amount
    capture = wanted if wanted is not None else ceiling
    if capture <= 0 or capture > ceiling:
        raise InvalidInput(f"Between 0 and {quantize(ceiling, payment.currency)} "
                           f"{payment.currency} can be captured", field=("amount",))
    operation = await _intend(payment.id, OperationKind.CAPTURE, capture, check=check,
                              final=final or capture >= ceiling)
    return await _call(operation, payment, gateway, actor=actor)


def refuse_marketplace_refund(payment: Payment) -> None:
    """PAYMENT_FAILED (PaidAtMarketplace) for a payment a marketplace took: the
    marketplace holds the money and refunds it."""
    if payment.provider == MARKETPLACE:
        raise PaidAtMarketplace(payment.id, payment.method)


async def record_marketplace_payment(
    conn: BaseDBAsyncClient, order: Order, *, marketplace: str, status: str,
    paid: Decimal | None = None, actor: str,
) -> Payment | None:
    """Record, in the imported order's own transaction, what the marketplace says of its
    payment (its financial status): paid (refunded ones too: their refunds are the
    marketplace's) captured in full; partially paid captured for ``paid``; authorized
    held for the total; voided, voided; pending (or partially paid with nothing said)
    records nothing, the order stays UNPAID. The order's payment status follows at once,
    and so does its invoice when invoices are issued on payment."""
    total = order.total
    captured = Decimal(0)
    if status in ("paid", "refunded", "partially_refunded"):
        captured = total
    elif status == "partially_paid" and paid is not None and paid > 0:
        captured = min(quantize(paid, order.currency), total)
    elif status not in ("authorized", "voided"):
        return None
    state = (PaymentState.CAPTURED if captured else PaymentState.VOIDED if status == "voided"
             else PaymentState.AUTHORIZED)
    payment = await Payment.create(
        order_id=order.id, provider=MARKETPLACE, method=marketplace, state=state,
        currency=order.currency, amount=total, authorized_amount=total,
        captured_amount=captured, psp_reference=f"{marketplace}:{order.external_id}"[:128],
        using_db=conn)
    now = datetime.now(UTC)
    kinds = [OperationKind.AUTHORIZE] + ([OperationKind.CAPTURE] if captured else []) + (
        [OperationKind.VOID] if state is PaymentState.VOIDED else [])
    await PaymentOperation.bulk_create([PaymentOperation(
        payment_id=payment.id, kind=kind, status=OperationStatus.SUCCEEDED,
        amount=captured if kind is OperationKind.CAPTURE else
        Decimal(0) if kind is OperationKind.VOID else total,
        idempotency_key=f"oms-payment-{payment.id}-{kind.value.lower()}-1",
        psp_reference=payment.psp_reference, settled_at=now) for kind in kinds],
        using_db=conn)
    event, verb, amount = {
        PaymentState.CAPTURED: (EventType.PAYMENT_CAPTURED, "captured", captured),
        PaymentState.AUTHORIZED: (EventType.PAYMENT_AUTHORIZED, "authorized", total),
        PaymentState.VOIDED: (EventType.PAYMENT_VOIDED, "voided", total)}[state]
    shown = quantize(amount, order.currency)
    await record_order_event(
        conn, order_id=order.id, type=event, actor=actor,
        message=f"Payment {payment.id} ({marketplace}): {verb} {shown} {order.currency} "
                f"on {marketplace}",
        data={"payment_id": payment.id, "amount": str(shown), "currency": order.currency})
    await sync_order_payment_status(conn, order, actor=actor)
    return payment


async def refundable(conn: BaseDBAsyncClient, payment: Payment) -> Decimal:
    """What may still be refunded: captured, less refunded, less refunds out at the gateway."""
    in_flight = sum((op.amount for op in await PaymentOperation.filter(
        payment_id=payment.id, kind=OperationKind.REFUND,
        status=OperationStatus.PENDING).using_db(conn)), Decimal(0))
    return payment.captured_amount - payment.refunded_amount - in_flight


def check_refundable(amount: Decimal, available: Decimal, currency: str) -> None:
    """ALREADY_REFUNDED unless 0 < amount <= what may still be refunded."""
    if amount <= 0 or amount > available:
        raise AlreadyRefunded(quantize(amount, currency),
                              quantize(max(available, Decimal(0)), currency), currency)


async def refund_payment(
    *, payment_id: int, amount: Decimal | str, gateways: Gateways, actor: str,
    return_id: int | None = None, target: RefundTarget | None = None,
) -> Payment:
    """Refund captured money; never more than captured minus refunded (ALREADY_REFUNDED).

    The refund is charged to what ``target`` names, or by the rule of
    ``domain.payments.allocation`` when it names nothing; a return's refund is charged
    by the return (``return_id``), when it claims the refund."""
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None:
        raise NotFound("Payment", str(payment_id), field=("paymentId",))
    refuse_marketplace_refund(payment)
    gateway = _gateway(gateways, payment.provider)
    amount = parse_price(amount, payment.currency, field=("amount",))

    async def check(conn: BaseDBAsyncClient, locked: Payment) -> None:
        check_refundable(amount, await refundable(conn, locked), locked.currency)

    async def record(conn: BaseDBAsyncClient, locked: Payment, op: PaymentOperation) -> None:
        if return_id is None:
            order = await Order.get(id=locked.order_id, using_db=conn)
            await allocate(conn, order=order, amount=op.amount, operation_id=op.id,
                           target=target)

    operation = await _intend(payment.id, OperationKind.REFUND, amount, return_id=return_id,
                              check=check, record=record)
    return await _call(operation, payment, gateway, actor=actor)


async def send_operation(*, operation_id: int, gateways: Gateways, actor: str) -> Payment:
    """Send an operation whose intent was committed with the change it follows (an order
    edit's refund), unless it has been settled already: asked again, it is not made twice."""
    operation = await PaymentOperation.get(id=operation_id)
    payment = await Payment.get(id=operation.payment_id)
    if operation.status is not OperationStatus.PENDING:
        return payment
    return await _call(operation, payment, _gateway(gateways, payment.provider), actor=actor)


async def request_payment(*, payment_id: int, gateways: Gateways, actor: str) -> Payment:
    """Ask for a payment written with the change it follows (an order edit's balance): its
    authorisation, once; a payment already asked for is returned as it is."""
    payment = await Payment.get(id=payment_id)
    done = await PaymentOperation.filter(payment_id=payment.id, kind=OperationKind.AUTHORIZE,
                                         status=OperationStatus.SUCCEEDED).exists()
    if done or payment.state is not PaymentState.PENDING:
        return payment
    gateway = _gateway(gateways, payment.provider)
    operation = await _intend(payment.id, OperationKind.AUTHORIZE, payment.amount)
    return await _call(operation, payment, gateway, actor=actor)


async def void_open_payments(*, order_id: int, gateways: Gateways, actor: str) -> None:
    """After a cancellation: void every payment not captured yet."""
    for payment in await Payment.filter(order_id=order_id,
                                        state__in=[PaymentState.AUTHORIZED, PaymentState.PENDING]):
        gateway = _gateway(gateways, payment.provider)
        operation = await _intend(payment.id, OperationKind.VOID, Decimal(0))
        await _call(operation, payment, gateway, actor=actor)


async def retry_pending(*, gateways: Gateways, older_than: timedelta, actor: str) -> int:
    """The sweep: repeat every call whose outcome was never recorded, with its own key."""
    cutoff = datetime.now(UTC) - older_than
    pending = await PaymentOperation.filter(status=OperationStatus.PENDING,
                                            created_at__lt=cutoff).prefetch_related("payment")
    settled = 0
    for op in pending:
        gateway = gateways.get(op.payment.provider)
        if gateway is None:
            continue
        try:
            await _call(op, op.payment, gateway, actor=actor)
            settled += 1
        except PaymentFailed as failure:
            log.info("sweep: payment operation %s: %s", op.id, failure.message)
    return settled
