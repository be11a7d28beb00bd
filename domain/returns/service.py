"""Returns: what may come back, receiving it (restocked or written off), and the refund.

Quantities never exceed what was shipped minus what is returned or already
asked for in open returns. The refund is computed from the returned lines'
paid prices (plus shipping when asked), may be overridden by an explicit
amount no larger than what remains refundable, and goes through the order's
gateway. The return row is locked before the refund is written, so two
refunds of one return at once make exactly one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.catalog.models import Location, Variant
from domain.db import connection
from domain.errors import (
    AlreadyRefunded,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QuantityExceedsRemaining,
    UnknownLocation,
    UnknownSku,
    raise_all,
)
from domain.events.catalogue import EventType, return_event
from domain.events.service import record_order_event, record_stock_changed
from domain.inventory.models import MovementKind
from domain.inventory.service import locked_stock_level, move
from domain.money import parse_price, quantize
from domain.orders.capture import LineRequest, OrderRequest, create_order
from domain.orders.lifecycle import lock_order
from domain.orders.models import Order, OrderLine, OrderStatus
from domain.orders.progress import refresh_progress
from domain.payments.allocation import SHIPPING, Part, allocate, down, remaining
from domain.payments.models import (
    AllocationKind,
    OperationKind,
    OperationStatus,
    Payment,
    PaymentOperation,
    PaymentState,
    RefundAllocation,
)
from domain.payments.service import (
    Gateways,
    check_refundable,
    refundable,
    refuse_marketplace_refund,
    send_operation,
    sync_order_payment_status,
)
from domain.returns.models import Return, ReturnLine, ReturnStatus
from domain.uow import unit_of_work

R = ReturnStatus
TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.DECLINED, R.CANCELLED}),
    R.APPROVED: frozenset({R.RECEIVED, R.CANCELLED}),
    R.RECEIVED: frozenset({R.REFUNDED}),
    R.DECLINED: frozenset(),
    R.REFUNDED: frozenset(),
    R.CANCELLED: frozenset(),
}
OPEN = (R.REQUESTED, R.APPROVED)


@dataclass(frozen=True)
class ReturnLineRequest:
    order_line_id: int
    quantity: int
    reason: str | None = None


@dataclass(frozen=True)
class ReceivedLine:
    order_line_id: int
    quantity: int
    restock: bool


async def _lock_return(conn: BaseDBAsyncClient, return_id: int) -> tuple[Return, Order]:
    found = await Return.get_or_none(id=return_id, using_db=conn)
    if found is None:
        raise NotFound("Return", str(return_id), field=("returnId",))
    order = await lock_order(conn, found.order_id)
    locked = await Return.filter(id=return_id).select_for_update().using_db(conn).get()
    return locked, order


def _check(current: ReturnStatus, target: ReturnStatus, return_id: int) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition("Return", str(return_id), current, target)


async def request_return(
    *, order_id: int, lines: Sequence[ReturnLineRequest], actor: str,
    replacement: Sequence[LineRequest] = (),
) -> Return:
    """Ask to return shipped units; more than remains is QUANTITY_EXCEEDS_REMAINING.

    An exchange names ``replacement`` lines: approving the return places them as
    a linked order, and the refund is reduced by that order's value.
    """
    if not lines:
        raise InvalidInput("A return needs at least one line", field=("lines",))
    for i, wanted in enumerate(replacement):
        v.quantity(wanted.quantity, field=("replacementLines", str(i), "quantity"))
    unknown = {w.sku for w in replacement} - set(
        await Variant.filter(sku__in=[w.sku for w in replacement]).values_list("sku", flat=True))
    if unknown:
        raise UnknownSku(sorted(unknown)[0], field=("replacementLines",))
    async with unit_of_work() as conn:
        order = await lock_order(conn, order_id)
        order_lines = {ln.id: ln for ln in await OrderLine.filter(order_id=order.id).using_db(conn)}
        pending: dict[int, int] = defaultdict(int)
        for rl in await ReturnLine.filter(rma__order_id=order.id,
                                          rma__status__in=list(OPEN)).using_db(conn):
            pending[rl.order_line_id] += rl.quantity
        errors: list[DomainError] = []
        seen: set[int] = set()
        for i, req in enumerate(lines):
            at = ("lines", str(i))
            line = order_lines.get(req.order_line_id)
            if line is None:
                errors.append(NotFound("Order line", str(req.order_line_id),
                                       field=(*at, "orderLineId")))
                continue
            if line.id in seen:
                errors.append(InvalidInput("Each line may appear once", field=(*at, "orderLineId")))
                continue
            seen.add(line.id)
            try:
                v.quantity(req.quantity, field=(*at, "quantity"))
                v.text(req.reason, field=(*at, "reason"), max_length=500)
            except DomainError as error:
                errors.append(error)
                continue
            left = line.quantity_shipped - line.quantity_returned - pending[line.id]
            if req.quantity > left:
                errors.append(QuantityExceedsRemaining(f"{line.sku} returnable", req.quantity,
                                                       max(left, 0), field=(*at, "quantity")))
        raise_all(errors)
        created = await Return.create(
            order_id=order.id, using_db=conn,
            replacement=[{"sku": w.sku, "quantity": w.quantity} for w in replacement] or None)
        await ReturnLine.bulk_create([
            ReturnLine(rma_id=created.id, order_line_id=req.order_line_id,
                       quantity=req.quantity, reason=v.text(req.reason, field=("reason",),
                                                            max_length=500))
            for req in lines], using_db=conn)
        units = sum(req.quantity for req in lines)
        await record_order_event(conn, order_id=order.id, type=EventType.RETURN_REQUESTED, actor=actor,
                                 message=f"Return {created.id} of {units} unit(s) requested")
    return created


async def _transition(return_id: int, target: ReturnStatus, *, actor: str,
                      reason: str | None = None,
                      replacement_order_id: int | None = None) -> Return:
    async with unit_of_work() as conn:
        found, order = await _lock_return(conn, return_id)
        _check(found.status, target, found.id)
        found.status = target
        if target is R.DECLINED:
            found.decline_reason = reason
        if replacement_order_id is not None:
            found.replacement_order_id = replacement_order_id
            await _link_replacement(conn, found, order, replacement_order_id, actor=actor)
            reason = f"replacement order placed (id {replacement_order_id})"
        await found.save(using_db=conn)
        why = f": {reason}" if reason else ""
        await record_order_event(conn, order_id=order.id, type=return_event(target),
                                 actor=actor, message=f"Return {found.id} "
                                 f"{target.value.lower()}{why}")
    return found


async def _link_replacement(conn: BaseDBAsyncClient, found: Return, order: Order,
                            replacement_id: int, *, actor: str) -> None:
    """Link the replacement to the order it replaces (the sales report counts an exchange
    by it: the difference, not two sales) and record what the returned goods pay of it:
    its total, up to what they are worth. What is left is due in money, and its payment
    status is decided against that."""
    replacement = await lock_order(conn, replacement_id)  # after the original: ids ascend
    parts, _, _ = await _returned_parts(conn, found, order, received=False)
    worth = sum((cap for _, cap in parts), Decimal(0))
    replacement.replaces_order_id = order.id
    replacement.exchange_credit = min(worth, down(replacement.total, order.currency))
    await replacement.save(update_fields=["replaces_order_id", "exchange_credit", "updated_at"],
                           using_db=conn)
    await sync_order_payment_status(conn, replacement, actor=actor)


async def is_exchange(return_id: int) -> bool:
    """Whether the return names replacement lines; NOT_FOUND for no such return."""
    found = await Return.get_or_none(id=return_id)
    if found is None:
        raise NotFound("Return", str(return_id), field=("id",))
    return bool(found.replacement)


async def place_replacement(*, return_id: int, actor: str) -> Order:
    """Place an exchange's replacement order (stock reserved like any order; placing it
    again returns the same order, by its external id), before the return is approved."""
    found = await Return.get_or_none(id=return_id)
    if found is None:
        raise NotFound("Return", str(return_id), field=("id",))
    _check(found.status, R.APPROVED, found.id)
    if not found.replacement:
        raise InvalidInput(f"Return {found.id} names no replacement", field=("id",))
    order = await Order.get(id=found.order_id).prefetch_related("channel")
    return await create_order(actor=actor, request=OrderRequest(
        channel=order.channel.code, email=order.email, customer_id=order.customer_id,
        lines=[LineRequest(w["sku"], int(w["quantity"])) for w in found.replacement],
        shipping_address=order.shipping_address, billing_address=order.billing_address,
        external_id=f"exchange-{found.id}"))


async def approve_return(*, return_id: int, actor: str,
                         replacement_order_id: int | None = None) -> Return:
    """Approve. An exchange is approved with its replacement order (placed first by
    ``place_replacement``; ``domain.application.exchanges`` does both and settles the
    difference), which is linked to the original in the approving transaction."""
    found = await Return.get_or_none(id=return_id)
    if found is None:
        raise NotFound("Return", str(return_id), field=("id",))
    _check(found.status, R.APPROVED, found.id)
    if bool(found.replacement) != (replacement_order_id is not None):
        raise InvalidInput(f"Return {found.id} is approved "
                           + ("with its replacement order" if found.replacement
                              else "without a replacement order"), field=("id",))
    return await _transition(return_id, R.APPROVED, actor=actor,
                             replacement_order_id=replacement_order_id)


async def decline_return(*, return_id: int, reason: str, actor: str) -> Return:
    why = v.required_text(reason, field=("reason",), max_length=500)
    return await _transition(return_id, R.DECLINED, actor=actor, reason=why)


async def cancel_return(*, return_id: int, actor: str) -> Return:
    return await _transition(return_id, R.CANCELLED, actor=actor)


async def receive_return(
    *, return_id: int, location_id: int, lines: Sequence[ReceivedLine], actor: str
) -> Return:
    """Receive returned units at a location: restocked units go back on hand (ledger rows),
    damaged ones are recorded only. Lines left out were not received."""
    async with unit_of_work() as conn:
        found, order = await _lock_return(conn, return_id)
        _check(found.status, R.RECEIVED, found.id)
        location = await Location.get_or_none(id=location_id, using_db=conn)
        if location is None:
            raise UnknownLocation(str(location_id), field=("locationId",))
        return_lines = {rl.order_line_id: rl for rl in
                        await ReturnLine.filter(rma_id=found.id).using_db(conn)}
        errors: list[DomainError] = []
        for i, got in enumerate(lines):
            rl = return_lines.get(got.order_line_id)
            at = ("lines", str(i))
            if rl is None:
                errors.append(NotFound("Return line", str(got.order_line_id),
                                       field=(*at, "orderLineId")))
            elif not 0 <= got.quantity <= rl.quantity:
                errors.append(QuantityExceedsRemaining("received", got.quantity, rl.quantity,
                                                       field=(*at, "quantity")))
        if not lines:
            errors.append(InvalidInput("Say what was received", field=("lines",)))
        raise_all(errors)
        skus: list[str] = []
        for got in lines:
            rl = return_lines[got.order_line_id]
            line = await OrderLine.get(id=got.order_line_id, using_db=conn)
            rl.quantity_received = got.quantity
            rl.quantity_restocked = got.quantity if got.restock else 0
            await rl.save(using_db=conn)
            line.quantity_returned += got.quantity
            await line.save(update_fields=["quantity_returned"], using_db=conn)
            if got.restock and got.quantity and line.variant_id is not None:
                variant = await line.variant.using_db(conn)  # type: ignore[union-attr]
                level = await locked_stock_level(variant, location, conn)
                await move(conn, level, kind=MovementKind.RESTOCK, on_hand=got.quantity,
                           reference=f"return:{found.id}", actor=actor,
                           reason="returned in sellable condition")
                skus.append(line.sku)
        found.status = R.RECEIVED
        await found.save(using_db=conn)
        restocked = sum(g.quantity for g in lines if g.restock)
        received = sum(g.quantity for g in lines)
        short = await _shrink_exchange_credit(conn, found, order, actor=actor)
        await record_order_event(
            conn, order_id=order.id, type=EventType.RETURN_RECEIVED, actor=actor,
            message=f"Return {found.id}: {received} unit(s) received at {location.code}, "
                    f"{restocked} restocked, {received - restocked} written off" + short)
        await refresh_progress(conn, order, actor=actor)
        await record_stock_changed(conn, skus)
    return found


async def _shrink_exchange_credit(conn: BaseDBAsyncClient, found: Return, order: Order, *,
                                  actor: str) -> str:
    """Fewer units came back than an exchange was approved for: its goods pay only what
    the received ones are worth, and the replacement asks for the rest in money (a payment
    for the shortfall through the original's provider, requested after commit by
    ``domain.application.returns.receive_return``). Returns what the event says of it."""
    if found.replacement_order_id is None:
        return ""
    parts, _units, _left = await _returned_parts(conn, found, order, received=True)
    worth = sum((cap for _, cap in parts), Decimal(0))
    replacement = await lock_order(conn, found.replacement_order_id)
    if worth >= replacement.exchange_credit:
        return ""
    short = replacement.exchange_credit - worth
    replacement.exchange_credit = worth
    await replacement.save(update_fields=["exchange_credit", "updated_at"], using_db=conn)
    paid_with = await Payment.filter(order_id=order.id).exclude(
        state__in=[PaymentState.FAILED, PaymentState.VOIDED]).order_by("-id").using_db(
        conn).first()
    asked = paid_with is not None and replacement.status is not OrderStatus.CANCELLED
    if asked:
        assert paid_with is not None
        await Payment.create(order_id=replacement.id, provider=paid_with.provider,
                             method=paid_with.method, currency=replacement.currency,
                             amount=short, using_db=conn)
    await sync_order_payment_status(conn, replacement, actor=actor)
    return (f"; the goods pay {quantize(worth, order.currency)} {order.currency} of order "
            f"{replacement.number}, which " + ("asks for" if asked else "owes")
            + f" {quantize(short, order.currency)} more")


async def _returned_parts(conn: BaseDBAsyncClient, found: Return, order: Order, *,
                          received: bool, credited: Mapping[Part, Decimal] | None = None,
                          ) -> tuple[list[tuple[Part, Decimal]], dict[Part, int],
                                     dict[Part, Decimal]]:
    """Each returned line at its paid price per unit (the units received, or asked for),
    no more than remains refundable of it; the units; what remains of each part (the
    order's lines are read once, with what earlier refunds took of them)."""
    lines, left = await remaining(conn, order)
    for part, amount in (credited or {}).items():
        left[part] += amount
    by_id = {line.id: line for line in lines}
    parts: list[tuple[Part, Decimal]] = []
    units: dict[Part, int] = {}
    for rl in await ReturnLine.filter(rma_id=found.id).order_by("id").using_db(conn):
        quantity = rl.quantity_received if received else rl.quantity
        line = by_id.get(rl.order_line_id)
        if not quantity or line is None:
            continue
        paid = down(line.total * quantity / line.quantity, order.currency)
        parts.append((line.id, max(min(paid, left[line.id]), Decimal(0))))
        units[line.id] = quantity
    return parts, units, left


async def refund_parts(found: Return, order: Order, *, include_shipping: bool,
                       conn: BaseDBAsyncClient | None = None,
                       credited: Mapping[Part, Decimal] | None = None,
                       ) -> tuple[list[tuple[Part, Decimal]], dict[Part, int]]:
    """What a return refunds, part by part: each received line at its paid price per unit,
    and the shipping if asked, each no more than remains refundable of it; and the units.
    ``credited``: what this return's exchange credit already took of each part, counted
    as still refundable here (the credit is part of what the return is worth)."""
    conn = conn or connection()
    parts, units, left = await _returned_parts(conn, found, order, received=True,
                                               credited=credited)
    if include_shipping:
        parts.append((SHIPPING, max(left[SHIPPING], Decimal(0))))
    return parts, units


async def exchange_credit(found: Return, worth: Decimal, order: Order,
                          conn: BaseDBAsyncClient | None = None) -> Decimal:
    """What an exchange's returned goods pay of its replacement order: the credit recorded
    when it was approved (the replacement's total, up to what the goods asked back were
    worth; the total for one approved before credits were recorded), up to what the goods
    received are worth (``worth``); 0 for a return that is no exchange."""
    if found.replacement_order_id is None:
        return Decimal(0)
    replacement = await Order.get(id=found.replacement_order_id, using_db=conn)
    return min(worth, replacement.exchange_credit or down(replacement.total, order.currency))


async def refund_return(
    *, return_id: int, amount: Decimal | str | None = None, include_shipping: bool = False,
    gateways: Gateways, actor: str,
) -> Return:
    """Refund a received return through the order's gateway, once.

    The refund is claimed (a pending payment operation keyed to the return)
    while the return row is locked; a repeated call repeats that same
    operation, so the gateway refunds once however often it is asked.
    """
    async with unit_of_work() as conn:
        found, order = await _lock_return(conn, return_id)
        if found.status is R.REFUNDED:
            raise AlreadyRefunded(found.refund_total, 0, order.currency, field=("returnId",))
        _check(found.status, R.REFUNDED, found.id)
        # A refund already claimed is repeated, one already made (by a concurrent call
        # that has not marked the return yet) is not made again.
        claimed = await PaymentOperation.filter(
            return_id=found.id, kind=OperationKind.REFUND,
            status__in=[OperationStatus.PENDING, OperationStatus.SUCCEEDED],
        ).using_db(conn).first()
        if claimed is None:
            claimed = await _claim_refund(conn, found, order, amount=amount,
                                          include_shipping=include_shipping)
    value = Decimal(0)
    if claimed is not None:
        value = claimed.amount
        if claimed.status is OperationStatus.PENDING:
            # That very operation, unless a concurrent call settled it meanwhile: asking for
            # a refund of the amount again would make a second one once the first settled.
            await send_operation(operation_id=claimed.id, gateways=gateways, actor=actor)
    async with unit_of_work() as conn:
        found, order = await _lock_return(conn, return_id)
        if found.status is not R.REFUNDED:
            found.status = R.REFUNDED
            await found.save(using_db=conn)
            await record_order_event(conn, order_id=order.id, type=EventType.RETURN_REFUNDED, actor=actor,
                                     message=f"Return {found.id} refunded "
                                     f"{quantize(value, order.currency)} {order.currency}")
    return found


async def _claim_refund(
    conn: BaseDBAsyncClient, found: Return, order: Order, *, amount: Decimal | str | None,
    include_shipping: bool,
) -> PaymentOperation | None:
    # A refund tried again after the gateway declined it: the exchange credit recorded the
    # first time stands (once), and the parts count what it took of them.
    credited: dict[Part, Decimal] = defaultdict(Decimal)
    for earlier in await RefundAllocation.filter(
            return_id=found.id, kind=AllocationKind.EXCHANGE).using_db(conn):
        credited[earlier.order_line_id] += earlier.amount
    parts, units = await refund_parts(found, order, include_shipping=include_shipping,
                                      conn=conn, credited=credited)
    worth = sum((cap for _, cap in parts), Decimal(0))
    goods = [(part, cap) for part, cap in parts if part is not SHIPPING]
    credit = (sum(credited.values(), Decimal(0)) if credited else await exchange_credit(
        found, sum((cap for _, cap in goods), Decimal(0)), order, conn))
    value = parse_price(amount, order.currency, field=("amount",)) if amount is not None \
        else worth - credit
    payment = await Payment.filter(order_id=order.id, captured_amount__gt=0).order_by(
        "id").select_for_update().using_db(conn).first()
    if payment is not None:
        refuse_marketplace_refund(payment)  # refunded on the marketplace, before any claim
    if credit and not credited:  # the returned goods pay for the replacement first
        credited.update({share.part: share.amount for share in await allocate(
            conn, order=order, amount=credit, operation_id=None, return_id=found.id,
            kind=AllocationKind.EXCHANGE, parts=goods, units=units)})  # goods for goods
    if value == 0 and found.replacement_order_id is not None:
        found.refund_total = value
        await found.save(using_db=conn)
        return None  # the replacement is worth all of it: nothing to pay back
    check_refundable(value, await refundable(conn, payment) if payment else Decimal(0),
                     order.currency)
    assert payment is not None  # nothing refundable without a captured payment
    found.refund_total = value
    found.refund_shipping = include_shipping
    await found.save(using_db=conn)
    attempt = await PaymentOperation.filter(return_id=found.id).using_db(conn).count() + 1
    operation = await PaymentOperation.create(
        payment_id=payment.id, kind=OperationKind.REFUND, amount=value, return_id=found.id,
        idempotency_key=f"oms-return-{found.id}-refund-{attempt}", using_db=conn)
    await allocate(conn, order=order, amount=value, operation_id=operation.id,
                   return_id=found.id, parts=[(part, cap - credited.get(part, Decimal(0)))
                                              for part, cap in parts],
                   units=None if credited else units)
    return operation
