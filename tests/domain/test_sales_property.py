"""Whatever happens to orders, the sales report and customers' lifetime value say what the
orders' own rows say.

Random histories (orders on two channels in two currencies, for two customers and
guests, cancelled, shipped in part or in full, returned and refunded with or without
shipping, refunded directly with and without saying which lines or at the gateway only
(its refunded total in a webhook event), exchanged for a
dearer, cheaper or equal item, the difference asked for or paid back) go through the
domain's own functions and use cases; then every
grouping of the sales report (DAY, CHANNEL, SKU, LOCATION, totals, top SKUs) and
every customer's figures are compared with a plain recomputation from the rows,
written here: an order counts unless cancelled, an exchange's replacement is no new
order, a line's refunds are the allocations charged to it (an exchange credit, or a
refund whose operation succeeded), a location's share of them is by its units.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.access import ADMIN, Scope
from domain.application import returns as application_returns
from domain.catalog.models import Channel, Location
from domain.customers.models import Customer
from domain.db import connection
from domain.errors import DomainError
from domain.fulfillment import service as fulfillment
from domain.fulfillment.models import Shipment, ShipmentLine, ShipmentStatus
from domain.money import quantize
from domain.orders import lifecycle
from domain.orders.capture import LineRequest
from domain.orders.models import Allocation, Order, OrderLine, OrderStatus, PaymentStatus
from domain.payments.allocation import remaining
from domain.payments.events import apply_gateway_event
from domain.payments.models import (
    AllocationKind,
    OperationKind,
    OperationStatus,
    Payment,
    PaymentOperation,
    RefundAllocation,
)
from domain.payments.ports import GatewayDeclined, GatewayEvent, GatewayResult
from domain.reports.customers import insights
from domain.reports.sales import UNASSIGNED, GroupBy, SalesRow, sales_query
from domain.returns import service as returns
from domain.returns.models import Return, ReturnStatus
from integrations.payments.manual import ManualGateway
from tests import factories
from tests.conftest import _truncate

SKUS = {"EUR": ["SHOE", "TEE", "SOCK"], "USD": ["HAT", "CAP"]}
PRICES = {"SHOE": "10.00", "TEE": "3.35", "SOCK": "1.01", "HAT": "5.00", "CAP": "2.50"}
CHANNELS = {"web": "EUR", "us": "USD"}


class _Declines(ManualGateway):
    async def refund(self, *, reference: str, amount: Decimal, currency: str,
                     key: str) -> GatewayResult:
        raise GatewayDeclined("refund declined")


_DECLINING = {"manual": _Declines()}


def _order_plan() -> Any:
    def lines(channel: str) -> Any:
        return st.dictionaries(st.sampled_from(SKUS[CHANNELS[channel]]), st.integers(1, 3),
                               min_size=1, max_size=3)

    return st.sampled_from(sorted(CHANNELS)).flatmap(lambda channel: st.fixed_dictionaries({
        "channel": st.just(channel),
        "lines": lines(channel),
        "customer": st.sampled_from([None, 0, 1]),
        "shipping": st.sampled_from([True, True, False]) if channel == "web" else st.just(False),
        "minutes": st.integers(0, 3 * 24 * 60),  # when it was placed, back from now
        "then": st.sampled_from(["nothing", "cancel", "ship part", "ship all"]),
        "returned": st.integers(0, 3),  # units of the first shipped line returned
        "exchange": st.sampled_from([None, *SKUS[CHANNELS[channel]]]),
        "refund shipping": st.booleans(),
        "declined first": st.booleans(),  # the gateway declines the return's first refund
        "refund": st.sampled_from([None, "share", "line", "line and shipping", "at gateway"]),
        "fraction": st.sampled_from([Decimal("0.1"), Decimal("0.37"), Decimal("0.5"),
                                     Decimal(1)]),
    }))


async def _setup() -> list[int]:
    await factories.location("a", priority=0)
    await factories.location("b", priority=1)
    await factories.channel("web", currency="EUR", locations=["a", "b"])
    await factories.channel("us", currency="USD", locations=["a"])
    for currency, skus in SKUS.items():
        for sku in skus:
            await factories.product(sku, price=PRICES[sku], currency=currency,
                                    track_inventory=sku != "SOCK")
            if sku != "SOCK":
                await factories.stock(sku, {"a": 4, "b": 40} if currency == "EUR" else {"a": 40})
    return [(await Customer.create(email=f"c{i}@example.com")).id for i in range(2)]


async def _ship(order: Order, carriers: Any, *, everything: bool) -> None:
    await lifecycle.confirm_order(order_id=order.id, actor="test")
    reserved = await Allocation.filter(order_line__order_id=order.id, released=False,
                                       quantity__gt=0).order_by("id")
    for location_id in dict.fromkeys(a.location_id for a in reserved):
        lines = None if everything else [fulfillment.ShipmentLineRequest(
            next(a.order_line_id for a in reserved if a.location_id == location_id), 1)]
        shipment = await fulfillment.create_shipment(
            order_id=order.id, location_id=location_id, lines=lines, carriers=carriers,
            actor="test")
        await fulfillment.ship_shipment(shipment_id=shipment.id, carriers=carriers,
                                        actor="test")
        if not everything:
            return


async def _return(order: Order, plan: dict[str, Any]) -> None:
    shipped = [ln for ln in await OrderLine.filter(order_id=order.id).order_by("position")
               if ln.quantity_shipped]
    if not shipped or not plan["returned"]:
        return
    line = shipped[0]
    units = min(plan["returned"], line.quantity_shipped)
    replacement = [LineRequest(plan["exchange"], 1)] if plan["exchange"] else []
    asked = await returns.request_return(order_id=order.id, actor="test", replacement=replacement,
                                         lines=[returns.ReturnLineRequest(line.id, units)])
    await application_returns.approve_return(factories.deps(), return_id=asked.id,  # type: ignore[arg-type]
                                              actor="test")
    location = await Location.get(code="a")
    await returns.receive_return(return_id=asked.id, location_id=location.id, actor="test",
                                 lines=[returns.ReceivedLine(line.id, units, True)])
    if plan["declined first"]:
        with suppress(DomainError):
            await returns.refund_return(return_id=asked.id, gateways=_DECLINING,  # type: ignore[arg-type]
                                        include_shipping=plan["refund shipping"], actor="test")
    await returns.refund_return(return_id=asked.id, gateways=factories.gateways(),  # type: ignore[arg-type]
                                include_shipping=plan["refund shipping"], actor="test")


async def _refund(order: Order, plan: dict[str, Any]) -> None:
    fresh = await Order.get(id=order.id)
    line = (await OrderLine.filter(order_id=order.id).order_by("position"))[-1]
    if plan["refund"] == "at gateway":  # made in the gateway's dashboard: seen in its event
        paid: Any = await factories.pay(fresh)
        payment = await Payment.get(id=paid.id)
        _, left = await remaining(connection(), fresh)
        room = min(payment.captured_amount - payment.refunded_amount,
                   sum((max(v, Decimal(0)) for v in left.values()), Decimal(0)))
        amount = quantize(room * plan["fraction"], fresh.currency)
        if amount > 0:
            await apply_gateway_event(provider="manual", event=GatewayEvent(
                f"evt-{payment.id}-{payment.refunded_amount}", "refunded",
                payment.psp_reference, payment.refunded_amount + amount))
    elif plan["refund"] == "share":
        await factories.refund(fresh, quantize(fresh.total * plan["fraction"], fresh.currency))
    elif plan["refund"] is not None:
        part = quantize(line.total * plan["fraction"], fresh.currency)
        shipping = (quantize(fresh.shipping_total * plan["fraction"], fresh.currency)
                    if plan["refund"] == "line and shipping" else None)
        await factories.refund(fresh, part + (shipping or 0), lines={line.id: str(part)},
                               shipping=str(shipping) if shipping is not None else None)


async def _play(plan: dict[str, Any], customers: list[int], carriers: Any) -> None:
    customer = customers[plan["customer"]] if plan["customer"] is not None else None
    order: Any = await factories.place(
        plan["lines"], channel=plan["channel"], customer_id=customer,
        email=f"c{plan['customer']}@example.com" if customer else "guest@example.com",
        shipping_method="standard" if plan["shipping"] else None)
    await Order.filter(id=order.id).update(
        created_at=datetime.now(UTC) - timedelta(minutes=plan["minutes"]))
    await factories.pay(order)
    if plan["then"] == "cancel":
        await lifecycle.cancel_order(order_id=order.id, reason=None, actor="test")
        return
    if plan["then"] != "nothing":
        await _ship(order, carriers, everything=plan["then"] == "ship all")
    with suppress(DomainError):  # refused (nothing left to refund): must leave no trace
        await _return(order, plan)
    with suppress(DomainError):
        await _refund(order, plan)


# The plain recomputation.


class _Sums:
    def __init__(self) -> None:
        self.orders: set[int] = set()
        self.units = 0
        self.gross = Decimal(0)
        self.refunds = Decimal(0)


async def _expected() -> dict[GroupBy | None, dict[tuple[str, str], _Sums]]:
    channels = {c.id: c.code for c in await Channel.all()}
    locations = {loc.id: loc.code for loc in await Location.all()}
    orders = {o.id: o for o in await Order.all() if o.status is not OrderStatus.CANCELLED}
    succeeded = set(await PaymentOperation.filter(status=OperationStatus.SUCCEEDED)
                    .values_list("id", flat=True))
    refunded: dict[int, Decimal] = defaultdict(Decimal)
    for a in await RefundAllocation.all():
        if a.order_line_id is not None and (a.payment_operation_id is None
                                            or a.payment_operation_id in succeeded):
            refunded[a.order_line_id] += a.amount
    at: dict[int, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    shipments = {s.id: s for s in await Shipment.all()}
    for sl in await ShipmentLine.all():
        parcel = shipments[sl.shipment_id]
        if parcel.shipped_at is not None and parcel.status is not ShipmentStatus.CANCELLED:
            at[sl.order_line_id][parcel.location_id] += sl.quantity
    for a in await Allocation.filter(released=False, quantity__gt=0):
        at[a.order_line_id][a.location_id] += a.quantity
    groups: dict[GroupBy | None, dict[tuple[str, str], _Sums]] = {
        g: defaultdict(_Sums) for g in (GroupBy.DAY, GroupBy.CHANNEL, GroupBy.SKU,
                                        GroupBy.LOCATION, None)}
    for line in await OrderLine.all():
        order = orders.get(line.order_id)
        if order is None:
            continue
        keys = {GroupBy.DAY: order.created_at.astimezone(UTC).date().isoformat(),
                GroupBy.CHANNEL: channels[order.channel_id], GroupBy.SKU: line.sku,
                None: "TOTAL"}
        for group, key in keys.items():
            sums = groups[group][(key, order.currency)]
            if order.replaces_order_id is None:
                sums.orders.add(order.id)
            sums.units += line.quantity
            sums.gross += line.total
            sums.refunds += refunded[line.id]
        placed = dict(at[line.id])
        placed[None] = line.quantity - sum(placed.values())
        for location_id, units in placed.items():
            if units <= 0:
                continue
            code = locations[location_id] if location_id is not None else UNASSIGNED
            sums = groups[GroupBy.LOCATION][(code, order.currency)]
            if order.replaces_order_id is None:
                sums.orders.add(order.id)
            sums.units += units
            sums.gross += line.unit_price * units
            sums.refunds += refunded[line.id] * units / line.quantity
    return groups


def _agrees(got: SalesRow, want: _Sums) -> bool:
    """Equal to the minor unit; a location's share that is exactly half a minor unit may be
    rounded either way where the database sums in binary floating point (SQLite)."""
    unit = Decimal(1).scaleb(got.gross.as_tuple().exponent)  # type: ignore[arg-type]
    refunds = quantize(want.refunds, got.currency)
    tie = abs((want.refunds / unit) % 1 - Decimal("0.5")) < Decimal("1e-9")
    return ((got.orders, got.units, got.gross) == (len(want.orders), want.units,
                                                   quantize(want.gross, got.currency))
            and (got.refunds == refunds or (tie and abs(got.refunds - refunds) <= unit)))


async def _check_report() -> None:
    expected = await _expected()
    today = datetime.now(UTC).date()
    for group in (GroupBy.DAY, GroupBy.CHANNEL, GroupBy.SKU, GroupBy.LOCATION):
        query = await sales_query(scope=Scope(ADMIN), start=today - timedelta(days=4),
                                  end=today + timedelta(days=1), time_zone="UTC",
                                  group_by=group)
        rows, totals, top = await query.rows(), await query.totals(), await query.top_skus()
        want = expected[group]
        assert {(r.group, r.currency) for r in rows} == set(want), group
        for row in rows:
            assert _agrees(row, want[(row.group, row.currency)]), (group, row,
                                                                   vars(want[(row.group,
                                                                              row.currency)]))
        assert {(t.group, t.currency) for t in totals} == set(expected[None])
        for total in totals:
            assert _agrees(total, expected[None][("TOTAL", total.currency)]), total
        by_units = sorted(expected[GroupBy.SKU].items(),
                          key=lambda item: (-item[1].units, item[0][0], item[0][1]))[:10]
        assert [(t.group, t.currency, t.units) for t in top] == [
            (sku, currency, sums.units) for (sku, currency), sums in by_units]


async def _check_customers(customers: list[int]) -> None:
    found = await insights(customers)
    orders = [o for o in await Order.filter(customer_id__in=customers)
              if o.status is not OrderStatus.CANCELLED]
    succeeded = set(await PaymentOperation.filter(status=OperationStatus.SUCCEEDED)
                    .values_list("id", flat=True))
    paid_back: dict[int, Decimal] = defaultdict(Decimal)
    for a in await RefundAllocation.all():
        if a.payment_operation_id is None or a.payment_operation_id in succeeded:
            paid_back[a.order_id] += a.amount
    for customer in customers:
        mine = [o for o in orders if o.customer_id == customer]
        value: dict[str, Decimal] = defaultdict(Decimal)
        for o in mine:
            value[o.currency] += o.total - paid_back[o.id]
        assert found[customer].order_count == sum(1 for o in mine if o.replaces_order_id is None)
        assert found[customer].lifetime_value == {c: quantize(v, c) for c, v in value.items()}


async def _check_allocations() -> None:
    """The allocations themselves, against the money: each refund's shares add up to it,
    no line is paid back more than it cost, each order's money refunds are what its
    payments say were refunded, and each exchange is credited once."""
    allocations = await RefundAllocation.all()
    operations = {op.id: op for op in await PaymentOperation.filter(
        kind=OperationKind.REFUND)}
    by_operation: dict[int, Decimal] = defaultdict(Decimal)
    by_line: dict[int, Decimal] = defaultdict(Decimal)
    refunded: dict[int, Decimal] = defaultdict(Decimal)
    for a in allocations:
        op = operations.get(a.payment_operation_id) if a.payment_operation_id else None
        if a.payment_operation_id is not None:
            by_operation[a.payment_operation_id] += a.amount
        if op is not None and op.status is not OperationStatus.SUCCEEDED:
            continue
        if a.order_line_id is not None:
            by_line[a.order_line_id] += a.amount
        if op is not None:
            refunded[a.order_id] += a.amount
    for op_id, total in by_operation.items():
        assert total == operations[op_id].amount, (op_id, total)
    for op in operations.values():  # every refund made, whichever path made it, is charged
        if op.status is OperationStatus.SUCCEEDED:
            assert by_operation.get(op.id) == op.amount, (op.id, op.amount)
    for line in await OrderLine.filter(id__in=list(by_line)):
        assert by_line[line.id] <= line.total, (line.sku, by_line[line.id], line.total)
    for payment in await Payment.all():
        assert refunded[payment.order_id] == payment.refunded_amount, payment.order_id
    for rma in await Return.all():
        credited = await RefundAllocation.filter(
            return_id=rma.id, kind=AllocationKind.EXCHANGE).values_list("order_line_id",
                                                                       flat=True)
        assert len(credited) == len(set(credited)), rma.id  # one credit per line, once


async def _check_exchanges() -> None:
    """Each exchange settles its difference: what the goods pay of the replacement is the
    credit its return recorded, a dearer replacement has one payment asking for the rest
    (the originals here are paid), and an equal or cheaper one none, paid by the goods."""
    for rma in await Return.filter(replacement_order_id__isnull=False):
        replacement = await Order.get(id=rma.replacement_order_id)
        assert replacement.replaces_order_id == rma.order_id
        due = replacement.total - replacement.exchange_credit
        assert 0 <= replacement.exchange_credit <= replacement.total
        if rma.status is ReturnStatus.REFUNDED:
            credited = sum(await RefundAllocation.filter(
                return_id=rma.id, kind=AllocationKind.EXCHANGE).values_list("amount", flat=True),
                Decimal(0))
            assert credited == replacement.exchange_credit, (rma.id, credited)
        asked = [p.amount for p in await Payment.filter(order_id=replacement.id)]
        assert asked == ([due] if due > 0 else []), (rma.id, asked, due)
        if due == 0:
            assert replacement.payment_status is PaymentStatus.PAID, rma.id


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plans=st.lists(_order_plan(), min_size=1, max_size=6))
async def test_every_report_says_what_the_orders_say(app: Any, plans: list[dict[str, Any]]
                                                     ) -> None:
    await _truncate()
    customers = await _setup()
    for plan in plans:
        await _play(plan, customers, app.state.services.carriers)
    await _check_report()
    await _check_customers(customers)
    await _check_allocations()
    await _check_exchanges()
