"""The sales report's rule: every refund, however made, is charged to the lines and
shipping it refunds; an exchange counts as the difference; customers' figures agree."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from api.graphql.relay import to_global_id
from domain.access import ADMIN, Scope
from domain.application import returns as application_returns
from domain.catalog.models import Location
from domain.errors import DomainError, InvalidInput
from domain.fulfillment import service as fulfillment
from domain.orders import lifecycle
from domain.orders.capture import LineRequest
from domain.orders.models import Order, OrderLine
from domain.payments.models import OperationStatus, PaymentOperation, RefundAllocation
from domain.payments.ports import GatewayDeclined, GatewayResult
from domain.reports.customers import insights
from domain.reports.sales import GroupBy, SalesRow, sales_query
from domain.returns import service as returns
from integrations.payments.manual import ManualGateway
from tests import factories
from tests.support import GraphQLClient, codes


async def _report(group: GroupBy) -> tuple[list[SalesRow], list[SalesRow]]:
    today = datetime.now(UTC).date()
    query = await sales_query(scope=Scope(ADMIN), start=today, end=today, time_zone="UTC",
                              group_by=group)
    return await query.rows(), await query.totals()


def _money(rows: list[SalesRow]) -> list[tuple[str, int, str, str, str]]:
    return [(r.group, r.orders, f"{r.gross}", f"{r.refunds}", f"{r.net}") for r in rows]


async def _shipped(app: Any, lines: dict[str, int], **extra: Any) -> Any:
    order = await factories.place(lines, **extra)
    await lifecycle.confirm_order(order_id=order.id, actor="test")  # type: ignore[attr-defined]
    carriers = app.state.services.carriers
    shipment = await fulfillment.create_shipment(order_id=order.id,  # type: ignore[attr-defined]
                                                 carriers=carriers, actor="test")
    await fulfillment.ship_shipment(shipment_id=shipment.id, carriers=carriers, actor="test")
    await factories.pay(order)
    return order


async def _return(order: Any, sku: str, quantity: int, *,
                  replacement: dict[str, int] | None = None, **refund: Any) -> Any:
    line = await OrderLine.get(order_id=order.id, sku=sku)
    asked = await returns.request_return(
        order_id=order.id, actor="test", lines=[returns.ReturnLineRequest(line.id, quantity)],
        replacement=[LineRequest(s, q) for s, q in (replacement or {}).items()])
    await application_returns.approve_return(factories.deps(), return_id=asked.id,  # type: ignore[arg-type]
                                              actor="test")
    location = await Location.get(code="a")
    await returns.receive_return(return_id=asked.id, location_id=location.id,
                                 actor="test",
                                 lines=[returns.ReceivedLine(line.id, quantity, True)])
    return await returns.refund_return(return_id=asked.id, gateways=factories.gateways(),  # type: ignore[arg-type]
                                       actor="test", **refund)


async def test_a_direct_refund_reaches_the_sales_report(api: GraphQLClient, app: Any) -> None:
    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    order = await _shipped(app, {"SHOE": 2, "TEE": 1},  # 20.00 + 10.00, 4.90 shipping
                           shipping_method="standard")
    await factories.refund(order, "7.35")  # said nothing: by what remains of each part
    rows, totals = await _report(GroupBy.SKU)
    # 735 cents by 2000 : 1000 : 490 is 421.2 + 210.6 + 103.2; the cent left goes to the tee
    assert _money(rows) == [("SHOE", 1, "20.00", "4.21", "15.79"),
                            ("TEE", 1, "10.00", "2.11", "7.89")]
    assert _money(totals) == [("TOTAL", 1, "30.00", "6.32", "23.68")]  # shipping is no sale
    shares = await RefundAllocation.filter(order_id=order.id).order_by("id")
    assert sum(s.amount for s in shares) == Decimal("7.35")
    assert [s.amount for s in shares if s.order_line_id is None] == [Decimal("1.03")]


async def test_a_returns_refund_is_charged_to_the_returned_sku(
        api: GraphQLClient, app: Any) -> None:
    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    order = await _shipped(app, {"SHOE": 2, "TEE": 1})
    await _return(order, "TEE", 1)
    rows, _ = await _report(GroupBy.SKU)
    assert _money(rows) == [("SHOE", 1, "20.00", "0.00", "20.00"),
                            ("TEE", 1, "10.00", "10.00", "0.00")]
    location_rows, _ = await _report(GroupBy.LOCATION)
    assert _money(location_rows) == [("a", 1, "30.00", "10.00", "20.00")]
    (refund,) = await RefundAllocation.filter(order_id=order.id)
    tee = await OrderLine.get(order_id=order.id, sku="TEE")
    assert (refund.order_line_id, refund.amount, refund.units) == (tee.id, Decimal("10.00"), 1)


async def test_an_exchange_counts_the_difference_not_two_sales(
        api: GraphQLClient, app: Any) -> None:
    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    await factories.product("CAP", price="4.00")
    await factories.stock("CAP", {"a": 10})
    order = await _shipped(app, {"SHOE": 1})  # 10.00
    exchanged = await _return(order, "SHOE", 1, replacement={"TEE": 1})  # 10.00 for 10.00
    replacement = await Order.get(id=exchanged.replacement_order_id)
    assert replacement.replaces_order_id == order.id  # type: ignore[attr-defined]
    rows, totals = await _report(GroupBy.SKU)
    assert _money(rows) == [("SHOE", 1, "10.00", "10.00", "0.00"),
                            ("TEE", 0, "10.00", "0.00", "10.00")]
    assert _money(totals) == [("TOTAL", 1, "20.00", "10.00", "10.00")]

    cheaper = await _shipped(app, {"TEE": 1})  # 10.00, exchanged for a 4.00 cap: 6.00 back
    await _return(cheaper, "TEE", 1, replacement={"CAP": 1})
    _, totals = await _report(GroupBy.DAY)
    assert _money(totals) == [("TOTAL", 2, "34.00", "20.00", "14.00")]


async def test_a_customers_lifetime_value_is_what_they_paid_net_of_refunds(
        api: GraphQLClient, app: Any) -> None:
    from domain.customers.models import Customer

    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    customer = await Customer.create(email="lou@example.com")
    order = await _shipped(app, {"SHOE": 1, "TEE": 1}, customer_id=customer.id,
                           email="lou@example.com", shipping_method="standard")  # 20.00 + 4.90 shipping
    await _return(order, "TEE", 1, replacement={"SHOE": 1})  # exchanged at the same price
    await factories.refund(order, "4.90", shipping="4.90")
    found = (await insights([customer.id]))[customer.id]
    assert (found.order_count, found.lifetime_value) == (1, {"EUR": Decimal("20.00")})


REFUND = """mutation($input: PaymentRefundInput!) { paymentRefund(input: $input) {
  payment { refundedAmount { amount } } userErrors { field code message } } }"""


async def test_a_direct_refund_says_what_it_refunds(api: GraphQLClient, app: Any) -> None:
    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    order = await _shipped(app, {"SHOE": 2, "TEE": 1}, shipping_method="standard")
    other = await _shipped(app, {"TEE": 1})
    payment = to_global_id("Payment", (await factories.pay(order)).id)  # type: ignore[attr-defined]
    shoe, tee = (to_global_id("OrderLine", line.id) for line in
                 await OrderLine.filter(order_id=order.id).order_by("position", "id"))
    foreign = to_global_id("OrderLine", (await OrderLine.get(order_id=other.id)).id)  # type: ignore[attr-defined]

    async def refund(amount: str, lines: list[tuple[str, str]], shipping: str | None = None
                     ) -> dict[str, Any]:
        said: dict[str, Any] = {"paymentId": payment, "amount": amount,
                                "lines": [{"orderLineId": i, "amount": a} for i, a in lines]}
        if shipping is not None:
            said["shipping"] = shipping
        return (await api(REFUND, {"input": said}))["paymentRefund"]

    wrong = await refund("5.00", [(foreign, "5.00")])
    assert codes(wrong) == ["NOT_FOUND"] and wrong["userErrors"][0]["field"] == [
        "lines", "0", "orderLineId"]
    too_much = await refund("11.00", [(tee, "11.00")])
    assert codes(too_much) == ["ALREADY_REFUNDED"]
    assert too_much["userErrors"][0]["field"] == ["lines", "0", "amount"]
    ship_too_much = await refund("5.00", [], shipping="5.00")
    assert codes(ship_too_much) == ["ALREADY_REFUNDED"]
    mismatch = await refund("6.00", [(tee, "5.00")])
    assert codes(mismatch) == ["INVALID_INPUT"]
    twice = await refund("4.00", [(tee, "2.00"), (tee, "2.00")])
    assert codes(twice) == ["INVALID_INPUT"]
    assert await RefundAllocation.filter(order_id=order.id).count() == 0  # nothing written

    done = await refund("8.00", [(tee, "6.00")], shipping="2.00")
    assert done["userErrors"] == [] and done["payment"]["refundedAmount"]["amount"] == "8.00"
    beyond = await refund("5.00", [(tee, "5.00")])  # 4.00 of the tee remains
    assert codes(beyond) == ["ALREADY_REFUNDED"]
    assert "4.00 EUR remains" in beyond["userErrors"][0]["message"]
    rest = await refund("4.00", [(tee, "4.00"), (shoe, "0.00")])
    assert codes(rest) == ["ALREADY_REFUNDED"]  # each line named refunds something
    rows, _ = await _report(GroupBy.SKU)
    assert _money(rows) == [("SHOE", 1, "20.00", "0.00", "20.00"),
                            ("TEE", 2, "20.00", "6.00", "14.00")]


async def test_the_rounding_remainder_goes_where_rounding_lost_most(
        api: GraphQLClient, app: Any) -> None:
    from domain.payments.allocation import split

    assert [s.amount for s in split(Decimal("10.00"), [(1, Decimal("10")), (2, Decimal("10")),
                                                       (3, Decimal("10"))], "EUR")] == [
        Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert [s.amount for s in split(Decimal("1.00"), [(1, Decimal("1")), (2, Decimal("2")),
                                                      (None, Decimal("0.00"))], "EUR")] == [
        Decimal("0.33"), Decimal("0.67")]
    assert [s.amount for s in split(Decimal("100"), [(1, Decimal("150")),
                                                     (2, Decimal("150"))], "JPY")] == [
        Decimal("50"), Decimal("50")]


class _DeclinesOnce(ManualGateway):
    """The offline gateway, but its first refund is declined."""

    declined = False

    async def refund(self, *, reference: str, amount: Decimal, currency: str,
                     key: str) -> GatewayResult:
        if not self.declined:
            self.declined = True
            raise GatewayDeclined("refund declined")
        return await super().refund(reference=reference, amount=amount, currency=currency,
                                    key=key)


async def test_an_exchange_refund_tried_again_after_a_decline_credits_the_exchange_once(
        api: GraphQLClient, app: Any) -> None:
    await factories.shop({"TEE": {"a": 10}})
    await factories.product("CAP", price="4.00")
    await factories.stock("CAP", {"a": 10})
    order = await _shipped(app, {"TEE": 1})  # 10.00, exchanged for a 4.00 cap: 6.00 back
    line = await OrderLine.get(order_id=order.id, sku="TEE")
    asked = await returns.request_return(
        order_id=order.id, actor="test", lines=[returns.ReturnLineRequest(line.id, 1)],
        replacement=[LineRequest("CAP", 1)])
    await application_returns.approve_return(factories.deps(), return_id=asked.id,  # type: ignore[arg-type]
                                              actor="test")
    location = await Location.get(code="a")
    await returns.receive_return(return_id=asked.id, location_id=location.id, actor="test",
                                 lines=[returns.ReceivedLine(line.id, 1, True)])
    gateways = {"manual": _DeclinesOnce()}
    with suppress(DomainError):
        await returns.refund_return(return_id=asked.id, gateways=gateways,  # type: ignore[arg-type]
                                    actor="test")
    await returns.refund_return(return_id=asked.id, gateways=gateways,  # type: ignore[arg-type]
                                actor="test")
    allocations = sorted((a.kind.value, f"{a.amount:.2f}")
                         for a in await RefundAllocation.filter(return_id=asked.id))
    assert allocations == [("EXCHANGE", "4.00"), ("REFUND", "6.00"), ("REFUND", "6.00")]
    paid_back = await PaymentOperation.filter(return_id=asked.id,
                                              status=OperationStatus.SUCCEEDED)
    assert [f"{op.amount:.2f}" for op in paid_back] == ["6.00"]
    _, totals = await _report(GroupBy.DAY)
    assert _money(totals) == [("TOTAL", 1, "14.00", "10.00", "4.00")]


async def test_an_exchange_settles_the_difference(api: GraphQLClient, app: Any) -> None:
    """Dearer: the difference is asked for as a payment and the replacement is paid once it
    is; equal: no money moves and the goods pay for the replacement; cheaper: the rest is
    refunded. Reports and lifetime value count each exchange as its difference."""
    from domain.customers.models import Customer
    from domain.payments import service as payments
    from domain.payments.models import Payment, PaymentState

    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    await factories.product("BOOT", price="25.00")
    await factories.stock("BOOT", {"a": 10})
    await factories.product("CAP", price="4.00")
    await factories.stock("CAP", {"a": 10})
    customer = await Customer.create(email="lou@example.com")
    mine = {"customer_id": customer.id, "email": "lou@example.com"}

    dearer = await _shipped(app, {"SHOE": 1}, **mine)  # 10.00 for 25.00 boots: 15.00 due
    exchanged = await _return(dearer, "SHOE", 1, replacement={"BOOT": 1})
    boots = await Order.get(id=exchanged.replacement_order_id)
    (difference,) = await Payment.filter(order_id=boots.id)
    assert (difference.amount, difference.provider, difference.state) == (
        Decimal("15.0000"), "manual", PaymentState.PENDING)
    assert boots.payment_status.value == "UNPAID"
    assert exchanged.refund_total == 0
    await payments.capture_payment(payment_id=difference.id, amount=None,
                                   gateways=factories.gateways(), actor="test")  # type: ignore[arg-type]
    assert (await Order.get(id=boots.id)).payment_status.value == "PAID"
    found = (await insights([customer.id]))[customer.id]
    assert (found.order_count, found.lifetime_value) == (1, {"EUR": Decimal("25.00")})

    equal = await _shipped(app, {"TEE": 1}, **mine)  # 10.00 for 10.00
    swapped = await _return(equal, "TEE", 1, replacement={"SHOE": 1})
    shoe = await Order.get(id=swapped.replacement_order_id)
    assert await Payment.filter(order_id=shoe.id).count() == 0
    assert shoe.payment_status.value == "PAID"  # paid by the goods
    with pytest.raises(InvalidInput):  # nothing left to ask for
        await payments.start_payment(order_id=shoe.id, provider="manual", method="invoice",
                                     gateways=factories.gateways(), actor="test")  # type: ignore[arg-type]

    cheaper = await _shipped(app, {"TEE": 1}, **mine)  # 10.00 for a 4.00 cap: 6.00 back
    back = await _return(cheaper, "TEE", 1, replacement={"CAP": 1})
    assert back.refund_total == Decimal("6.00")
    cap = await Order.get(id=back.replacement_order_id)
    assert await Payment.filter(order_id=cap.id).count() == 0
    assert cap.payment_status.value == "PAID"

    _, totals = await _report(GroupBy.DAY)
    # Sold: 10 + 25, 10 + 10, 10 + 4 (69.00); paid back by goods or money: 10 + 10 + 10.
    assert _money(totals) == [("TOTAL", 3, "69.00", "30.00", "39.00")]
    found = (await insights([customer.id]))[customer.id]
    # Paid: 10 + 15, 10, 10 - 6: what the three exchanges cost the customer.
    assert (found.order_count, found.lifetime_value) == (3, {"EUR": Decimal("39.00")})
