"""Cancelling unshipped units of some lines after part of the order has shipped: stock
released, what was paid for them refunded, the fulfilment status recomputed, or nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from api.graphql.relay import from_global_id
from domain.events.catalogue import CATALOGUE, EventType
from domain.events.models import OrderEvent
from domain.fulfillment.models import ShipmentLine
from domain.orders.models import Order, OrderLine
from domain.payments.models import AllocationKind, PaymentOperation, RefundAllocation
from tests import factories
from tests.api.test_order_edits import CONFIRM, _line, _place, _reserved
from tests.domain.ledger import assert_ledger_matches
from tests.notifications_support import Mail
from tests.support import GraphQLClient, codes, eventually

CANCEL = """mutation($input: OrderLinesCancelInput!) { orderLinesCancel(input: $input) {
  order { id total { amount } subtotal { amount } paymentStatus fulfillmentStatus status
    lines { sku quantity quantityCancelled quantityShipped quantityAllocated total { amount } }
    payments { amount { amount } capturedAmount { amount } refundedAmount { amount } }
    events { type message } }
  userErrors { field code message } } }"""
SHIP_LINES = """mutation($o: ID!, $lines: [ShipmentLineInput!]) {
  shipmentCreate(input: {orderId: $o, lines: $lines}) { shipment { id } userErrors { code } } }"""
DISPATCH = """mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) {
  userErrors { code message } } }"""


async def _shop() -> None:
    await factories.shop({"SHOE": {"a": 5}, "HAT": {"a": 5}, "CAP": {"a": 3}})


async def _ship(api: GraphQLClient, placed: dict[str, Any], sku: str, units: int, *,
                dispatch: bool = True) -> str:
    created = (await api(SHIP_LINES, {"o": placed["order"]["id"], "lines": [
        {"orderLineId": _line(placed, sku), "quantity": units}]}))["shipmentCreate"]
    assert created["userErrors"] == []
    shipment = str(created["shipment"]["id"])
    if dispatch:
        assert (await api(DISPATCH, {"s": shipment}))["shipmentShip"]["userErrors"] == []
    return shipment


def _cancel(placed: dict[str, Any], lines: dict[str, int], **more: Any) -> dict[str, Any]:
    return {"input": {"orderId": placed["order"]["id"], **more, "lines": [
        {"lineId": _line(placed, sku), "quantity": q} for sku, q in lines.items()]}}


async def test_cancelling_the_unshipped_part_refunds_it_and_releases_its_stock(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 3, "HAT": 2})  # 50.00 + 4.90 standard, paid
    await api(CONFIRM, {"id": placed["order"]["id"]})
    await _ship(api, placed, "SHOE", 2)
    assert await _reserved() == {"SHOE": 1, "HAT": 2, "CAP": 0}

    done = (await api(CANCEL, _cancel(placed, {"SHOE": 1, "HAT": 1}, reason="Out of colour",
                                      idempotencyKey="cut-1")))["orderLinesCancel"]
    assert done["userErrors"] == []
    order = done["order"]
    assert [(ln["sku"], ln["quantity"], ln["quantityCancelled"], ln["quantityShipped"],
             ln["quantityAllocated"], ln["total"]["amount"]) for ln in order["lines"]] == [
        ("SHOE", 2, 1, 2, 0, "20.00"), ("HAT", 1, 1, 0, 1, "10.00")]
    # 3 x 10.00 + 2 x 10.00 + 4.90 paid; 1 SHOE and 1 HAT off: 34.90 kept, 20.00 back.
    assert (order["subtotal"], order["total"]) == ({"amount": "30.00"}, {"amount": "34.90"})
    assert order["payments"][0]["refundedAmount"] == {"amount": "20.00"}
    assert (order["paymentStatus"], order["fulfillmentStatus"], order["status"]) == (
        "PARTIALLY_REFUNDED", "PARTIALLY_FULFILLED", "CONFIRMED")
    assert await _reserved() == {"SHOE": 0, "HAT": 1, "CAP": 0}
    cancelled = next(e for e in order["events"] if e["type"] == "ORDER_LINES_CANCELLED")
    assert "cancelled 1 x SHOE, 1 x HAT" in cancelled["message"]
    assert "20.00 EUR to refund" in cancelled["message"]
    assert "Reason: Out of colour" in cancelled["message"]
    assert {"STOCK_RELEASED", "PAYMENT_REFUNDED"} <= {e["type"] for e in order["events"]}
    assert CATALOGUE[EventType.ORDER_LINES_CANCELLED].topic == "order.lines_cancelled"
    # The refund is charged to the lines whose units were cancelled, 10.00 each.
    skus = {ln.id: ln.sku for ln in await OrderLine.all()}
    shares = await RefundAllocation.all()
    assert sorted((skus[s.order_line_id], s.amount, s.kind) for s in shares) == [
        ("HAT", Decimal("10.0000"), AllocationKind.EDIT),
        ("SHOE", Decimal("10.0000"), AllocationKind.EDIT)]

    # The same key again: the same answer, refunded once.
    again = (await api(CANCEL, _cancel(placed, {"SHOE": 1, "HAT": 1}, reason="Out of colour",
                                       idempotencyKey="cut-1")))["orderLinesCancel"]
    assert again["userErrors"] == []
    assert again["order"]["payments"][0]["refundedAmount"] == {"amount": "20.00"}
    assert await PaymentOperation.filter(kind="REFUND").count() == 1
    assert not [m for m in mail.server.arrived if "was changed" in m.message["Subject"]]

    # The rest that had not shipped: the order is fulfilled with what shipped.
    rest = (await api(CANCEL, _cancel(placed, {"HAT": 1}, notifyCustomer=True)))[
        "orderLinesCancel"]
    assert rest["userErrors"] == []
    assert (rest["order"]["total"], rest["order"]["fulfillmentStatus"]) == (
        {"amount": "24.90"}, "FULFILLED")
    assert rest["order"]["payments"][0]["refundedAmount"] == {"amount": "30.00"}
    assert [(ln["sku"], ln["quantity"], ln["quantityCancelled"])
            for ln in rest["order"]["lines"]] == [("SHOE", 2, 1), ("HAT", 0, 2)]
    assert await _reserved() == {"SHOE": 0, "HAT": 0, "CAP": 0}

    async def told() -> list[Any] | None:
        return [m for m in mail.server.arrived if "was changed" in m.message["Subject"]] or None

    email = (await eventually(told))[0]  # notifyCustomer: the customer hears what is left
    assert "2 x" in email.part("plain") and "HAT" not in email.part("plain")
    await assert_ledger_matches()


async def test_an_unpaid_order_asks_for_less_instead_of_refunding(api: GraphQLClient) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 2, "CAP": 1}, paid=False)  # 30.00 + 4.90
    opened = (await api("""mutation($o: ID!) { paymentCreate(input: {orderId: $o,
      provider: "manual", method: "invoice"}) { userErrors { code } } }""",
                        {"o": placed["order"]["id"]}))["paymentCreate"]
    assert opened["userErrors"] == []
    done = (await api(CANCEL, _cancel(placed, {"CAP": 1})))["orderLinesCancel"]
    assert done["userErrors"] == []
    assert done["order"]["total"] == {"amount": "24.90"}
    # The invoice not paid yet asks for what is left; nothing was paid, nothing goes back.
    assert [(p["amount"], p["refundedAmount"]) for p in done["order"]["payments"]] == [
        ({"amount": "24.90"}, {"amount": "0.00"})]
    assert done["order"]["paymentStatus"] == "UNPAID"
    assert await PaymentOperation.filter(kind="REFUND").count() == 0
    assert await _reserved() == {"SHOE": 2, "HAT": 0, "CAP": 0}
    await assert_ledger_matches()


async def test_bad_cancellations_are_refused_and_change_nothing(api: GraphQLClient) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 3, "HAT": 1})
    other = await _place(api, {"CAP": 1})
    await api(CONFIRM, {"id": placed["order"]["id"]})
    await _ship(api, placed, "SHOE", 1)  # shipped
    await _ship(api, placed, "SHOE", 1, dispatch=False)  # being prepared
    before = (await _reserved(), [(ln.sku, ln.quantity, ln.quantity_cancelled)
                                  for ln in await OrderLine.all().order_by("id")])
    last_event = (await OrderEvent.all().order_by("-id").first()).id

    async def refused(variables: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
        payload = (await api(CANCEL, variables))["orderLinesCancel"]
        assert payload["order"] is None
        return [(e["field"], e["code"]) for e in payload["userErrors"]]

    order_id = placed["order"]["id"]
    assert await refused({"input": {"orderId": order_id, "lines": []}}) == [
        (["lines"], "INVALID_INPUT")]
    assert await refused(_cancel(placed, {"HAT": 0})) == [
        (["lines", "0", "quantity"], "INVALID_INPUT")]
    hat = {"lineId": _line(placed, "HAT"), "quantity": 1}
    assert await refused({"input": {"orderId": order_id, "lines": [hat, hat]}}) == [
        (["lines", "1", "lineId"], "INVALID_INPUT")]
    # A line of another order, and ids that name no line.
    assert await refused({"input": {"orderId": order_id, "lines": [
        {"lineId": _line(other, "CAP"), "quantity": 1}]}}) == [
        (["lines", "0", "lineId"], "NOT_FOUND")]
    assert await refused({"input": {"orderId": order_id, "lines": [
        {"lineId": "nonsense", "quantity": 1}]}}) == [(["lines", "0", "lineId"], "NOT_FOUND")]
    assert await refused({"input": {"orderId": "T3JkZXI6OTk5OQ==", "lines": [hat]}}) == [
        (["orderId"], "NOT_FOUND")]
    # 3 SHOE: 1 shipped and 1 in a shipment being prepared leave 1 to cancel.
    assert await refused(_cancel(placed, {"SHOE": 2})) == [
        (["lines", "0", "quantity"], "QUANTITY_EXCEEDS_REMAINING")]
    assert await refused(_cancel(placed, {"HAT": 1}, reason="x" * 501)) == [
        (["reason"], "INVALID_INPUT")]
    # All of an order that shipped nothing is a cancellation of the order.
    assert await refused(_cancel(other, {"CAP": 1})) == [(["lines"], "INVALID_INPUT")]
    held = (await api('mutation($id: ID!) { orderHold(id: $id, reason: "check") '
                      "{ userErrors { code } } }", {"id": order_id}))["orderHold"]
    assert held["userErrors"] == []
    assert await refused(_cancel(placed, {"HAT": 1})) == [(None, "INVALID_TRANSITION")]
    await api("mutation($id: ID!) { orderRelease(id: $id) { userErrors { code } } }",
              {"id": order_id})
    await api('mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }',
              {"id": other["order"]["id"]})
    assert await refused(_cancel(other, {"CAP": 1})) == [(None, "INVALID_TRANSITION")]
    # Only the hold, its release and the other order's cancellation were written: none of
    # the refused calls changed a line, a unit or the timeline.
    written = [(e.order_id, e.type) for e in await OrderEvent.filter(id__gt=last_event)
               .order_by("id")]
    mine, theirs = _pk(placed["order"]["id"], "Order"), _pk(other["order"]["id"], "Order")
    assert [t for o, t in written if o == mine] == ["ORDER_ON_HOLD", "ORDER_RELEASED"]
    assert "ORDER_LINES_CANCELLED" not in [t for o, t in written if o == theirs]
    assert [(ln.sku, ln.quantity, ln.quantity_cancelled)
            for ln in await OrderLine.all().order_by("id")] == before[1]
    assert await _reserved() == {**before[0], "CAP": 0}  # the other order's, cancelled
    assert (await Order.get(id=mine)).total == Decimal("44.9000")
    await assert_ledger_matches()


async def test_a_cancellation_racing_a_shipment_takes_each_unit_once(
    api: GraphQLClient,
) -> None:
    """On PostgreSQL a real race: the shipment of everything left and the cancellation of
    one unit. Either the cancellation goes first (the shipment takes what is left) or the
    shipment does (the cancellation is refused); never both for the same unit."""
    await factories.shop({"SHOE": {"a": 40}, "HAT": {"a": 40}})
    outcomes = set()
    for _ in range(6):
        placed = await _place(api, {"SHOE": 2, "HAT": 1}, paid=False)
        await api(CONFIRM, {"id": placed["order"]["id"]})
        cut, shipped = await asyncio.gather(
            api(CANCEL, _cancel(placed, {"SHOE": 1})),
            api(SHIP_LINES, {"o": placed["order"]["id"], "lines": None}))
        cut, shipped = cut["orderLinesCancel"], shipped["shipmentCreate"]
        assert shipped["userErrors"] == []
        assert cut["userErrors"] == [] or codes(cut) == ["QUANTITY_EXCEEDS_REMAINING"]
        outcomes.add(bool(cut["userErrors"]))
        shoe = await OrderLine.get(id=_pk(_line(placed, "SHOE")))
        being_shipped = sum(sl.quantity for sl in await ShipmentLine.filter(
            order_line_id=shoe.id))
        assert shoe.quantity + shoe.quantity_cancelled == 2
        assert being_shipped == shoe.quantity  # every unit left is shipped, none cancelled
    assert outcomes  # at least one ordering was seen (both, usually, on PostgreSQL)
    await assert_ledger_matches()



def _pk(gid: str, kind: str = "OrderLine") -> int:
    decoded = from_global_id(gid, expect=kind)
    assert decoded is not None
    return decoded[1]
