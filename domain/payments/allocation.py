"""Every refund charged to what it refunds: the order's lines and its shipping.

``allocate`` is the one function every refund path calls (a direct refund, a
return's refund, an exchange's credit), in the transaction that writes the
refund's payment operation, so a refund and its allocation are committed together
or not at all. Its rows (``refund_allocation``) are what the sales report, the
customer figures and anything else that needs "how much of this line was paid
back" read.

The rules:

- **Said explicitly** (``RefundTarget``): each line once, a line of the refund's
  order (``NOT_FOUND``), an amount above 0 (shipping: 0 or more) and no more than
  what remains refundable of it: what was paid for it less what earlier refunds
  charged it (``ALREADY_REFUNDED``); the parts add up to the refund's amount
  exactly (``INVALID_INPUT``).
- **Said nothing**: charged to the parts (each line, then the shipping) in
  proportion to what remains refundable of each. Shares are rounded down to the
  currency's minor unit; the minor units left over go one each to the parts whose
  shares lost the most in rounding (ties: the earlier part, lines in their order,
  shipping last), so the shares add up to the refund exactly and none exceeds
  what remains of its part.
- **A return**: its parts are its received lines (their paid price per unit
  received, no more than remains refundable of the line) and, when asked, the
  shipping. An exchange's credit (what the returned goods pay of the replacement
  order, recorded when it was approved) is charged to its lines first (goods for
  goods: never to the shipping), the money refunded after.

Earlier refunds are counted unless their payment operation failed: a refund still
out at the gateway holds its share, as it holds its amount of the payment.

- **An order edit** that lowers an order pays back the difference (``allocate_edit``),
  charged to what the edit took off: each reduced line by its reduction, then the
  shipping. Those lines already show their lower amounts, so these rows (kind ``EDIT``)
  are not counted against what remains refundable of them, nor as refunds in the sales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.errors import AlreadyRefunded, DomainError, InvalidInput, NotFound, raise_all
from domain.money import exponent, parse_price
from domain.orders.models import Order, OrderLine
from domain.payments.models import (
    AllocationKind,
    OperationStatus,
    PaymentOperation,
    RefundAllocation,
)

# A part of an order a refund can be charged to: an order line's id, or None for shipping.
Part = int | None
SHIPPING: Part = None


@dataclass(frozen=True)
class LineRefund:
    order_line_id: int
    amount: Decimal | str


@dataclass(frozen=True)
class RefundTarget:
    """What a direct refund says it refunds: amounts per line, and of the shipping."""

    lines: Sequence[LineRefund] = ()
    shipping: Decimal | str | None = None


@dataclass(frozen=True)
class Share:
    part: Part
    amount: Decimal
    units: int | None = None


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def down(amount: Decimal, currency: str) -> Decimal:
    """An amount rounded down to the currency's minor unit."""
    return amount.quantize(_unit(currency), rounding=ROUND_DOWN)


def split(amount: Decimal, parts: Sequence[tuple[Part, Decimal]], currency: str,
          *, field: Sequence[str] = ("amount",)) -> list[Share]:
    """``amount`` shared out in proportion to each part's capacity (the rule above);
    ALREADY_REFUNDED when it is more than the capacities together."""
    unit = _unit(currency)
    caps = [(part, int(down(max(cap, Decimal(0)), currency) / unit)) for part, cap in parts]
    total = sum(cap for _, cap in caps)
    wanted = int(down(amount, currency) / unit)
    if amount != down(amount, currency) or wanted > total or wanted < 0:
        raise AlreadyRefunded(amount, Decimal(total) * unit, currency, field=field)
    if wanted == 0:
        return []
    floors = [(part, wanted * cap // total, wanted * cap % total) for part, cap in caps]
    left = wanted - sum(share for _, share, _ in floors)
    extra = {i for i, _ in sorted(enumerate(floors), key=lambda item: (-item[1][2], item[0]))
             [:left]}
    return [Share(part, Decimal(share + (1 if i in extra else 0)) * unit)
            for i, (part, share, _) in enumerate(floors) if share or i in extra]


async def remaining(conn: BaseDBAsyncClient, order: Order
                    ) -> tuple[list[OrderLine], dict[Part, Decimal]]:
    """The order's lines (in their order) and what remains refundable of each part."""
    lines = await OrderLine.filter(order_id=order.id).order_by("position", "id").using_db(conn)
    left: dict[Part, Decimal] = {line.id: down(line.total, order.currency) for line in lines}
    left[SHIPPING] = down(order.shipping_total, order.currency)
    allocations = await RefundAllocation.filter(order_id=order.id).using_db(conn)
    operations = {a.payment_operation_id for a in allocations} - {None}
    failed = set(await PaymentOperation.filter(
        id__in=list(operations), status=OperationStatus.FAILED).using_db(conn).values_list(
            "id", flat=True)) if operations else set()
    for allocation in allocations:
        if allocation.kind is AllocationKind.EDIT:
            continue  # the line's amount already shows what the edit took off
        if allocation.payment_operation_id not in failed and allocation.order_line_id in left:
            left[allocation.order_line_id] -= allocation.amount
    return lines, left


def _explicit(target: RefundTarget, amount: Decimal, order: Order,
              left: dict[Part, Decimal]) -> list[Share]:
    errors: list[DomainError] = []
    shares: list[Share] = []
    seen: set[int] = set()
    for i, wanted in enumerate(target.lines):
        at = ("lines", str(i))
        if wanted.order_line_id not in left:
            errors.append(NotFound("Order line", str(wanted.order_line_id),
                                   field=(*at, "orderLineId")))
            continue
        if wanted.order_line_id in seen:
            errors.append(InvalidInput("Each line may appear once", field=(*at, "orderLineId")))
            continue
        seen.add(wanted.order_line_id)
        try:
            value = parse_price(wanted.amount, order.currency, field=(*at, "amount"))
        except DomainError as error:
            errors.append(error)
            continue
        if value <= 0 or value > left[wanted.order_line_id]:
            errors.append(AlreadyRefunded(value, max(left[wanted.order_line_id], Decimal(0)),
                                          order.currency, field=(*at, "amount")))
            continue
        shares.append(Share(wanted.order_line_id, value))
    if target.shipping is not None:
        try:
            value = parse_price(target.shipping, order.currency, field=("shipping",))
            if value > left[SHIPPING]:
                errors.append(AlreadyRefunded(value, max(left[SHIPPING], Decimal(0)),
                                              order.currency, field=("shipping",)))
            elif value:
                shares.append(Share(SHIPPING, value))
        except DomainError as error:
            errors.append(error)
    raise_all(errors)
    said = sum((share.amount for share in shares), Decimal(0))
    if said != amount:
        raise InvalidInput(f"The lines and shipping add up to {said:f} {order.currency}, "
                           f"the refund is {amount:f} {order.currency}", field=("lines",))
    return shares


async def allocate(
    conn: BaseDBAsyncClient, *, order: Order, amount: Decimal, operation_id: int | None,
    return_id: int | None = None, kind: AllocationKind = AllocationKind.REFUND,
    target: RefundTarget | None = None, parts: Sequence[tuple[Part, Decimal]] | None = None,
    units: dict[Part, int] | None = None, field: Sequence[str] = ("amount",),
) -> list[Share]:
    """Charge ``amount`` to what it refunds and record it: ``target`` when the caller said
    what, else in proportion to ``parts`` (a return's) or to every part's remaining value."""
    lines, left = await remaining(conn, order)
    if target is not None and (target.lines or target.shipping is not None):
        shares = _explicit(target, amount, order, left)
    else:
        ordered = [(line.id, left[line.id]) for line in lines] + [(SHIPPING, left[SHIPPING])]
        if parts is not None:
            capacity = dict(parts)
            ordered = [(part, min(cap, capacity[part])) for part, cap in ordered
                       if part in capacity]
        shares = split(amount, ordered, order.currency, field=field)
    units = units or {}
    await RefundAllocation.bulk_create([
        RefundAllocation(order_id=order.id, order_line_id=share.part, amount=share.amount,
                         payment_operation_id=operation_id, return_id=return_id, kind=kind,
                         units=units.get(share.part))
        for share in shares], using_db=conn)
    return [Share(s.part, s.amount, units.get(s.part)) for s in shares]


async def allocate_edit(
    conn: BaseDBAsyncClient, *, order: Order, amount: Decimal, operation_id: int,
    reductions: Sequence[tuple[Part, Decimal]],
) -> list[Share]:
    """Charge an edit's refund to what the edit took off (``reductions``: each reduced line
    and the shipping by how much), in proportion; money the order held beyond them (paid
    before, never charged) goes to the shipping part."""
    cuts: dict[Part, Decimal] = {}
    for part, cut in reductions:
        if cut > 0:
            cuts[part] = cuts.get(part, Decimal(0)) + cut
    beyond = amount - sum(cuts.values(), Decimal(0))
    if beyond > 0:  # one shipping part, however many reasons put money there
        cuts[SHIPPING] = cuts.get(SHIPPING, Decimal(0)) + beyond
    parts = list(cuts.items())
    shares = split(amount, parts, order.currency)
    await RefundAllocation.bulk_create([
        RefundAllocation(order_id=order.id, order_line_id=share.part, amount=share.amount,
                         payment_operation_id=operation_id, kind=AllocationKind.EDIT)
        for share in shares], using_db=conn)
    return shares
