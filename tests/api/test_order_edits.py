"""Editing a placed order before it ships: a session of staged changes, a calculated order
with its balance, and a commit that moves stock and money at once, or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from api.graphql.relay import from_global_id
from domain.access import ADMIN, Scope
from domain.catalog.models import Variant
from domain.customers.models import Customer
from domain.edits.models import EditStatus, OrderEdit
from domain.events.catalogue import CATALOGUE, EventType
from domain.inventory.models import StockLevel
from domain.payments.models import AllocationKind, RefundAllocation
from domain.reports.customers import insights
from domain.reports.sales import GroupBy, sales_query
from tests import factories
from tests.domain.ledger import assert_ledger_matches
from tests.notifications_support import Mail
from tests.support import GraphQLClient, codes, eventually

PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id lines { id sku } } payment { id } userErrors { code message } } }"""
CALC = """id status shippingMethod subtotal { amount } shippingTotal { amount }
  total { amount } originalTotal { amount } covered { amount } balance { amount }
  amountToCollect { amount } amountToRefund { amount }
  lines { id sku quantity originalQuantity fulfilledQuantity change total { amount } }"""
BEGIN = f"""mutation($id: ID!) {{ orderEditBegin(orderId: $id) {{
  calculatedOrder {{ {CALC} }} userErrors {{ field code message }} }} }}"""
ADD = f"""mutation($e: ID!, $sku: String!, $q: Int!) {{ orderEditAddLine(input: {{editId: $e,
  sku: $sku, quantity: $q}}) {{ calculatedOrder {{ {CALC} }} userErrors {{ field code message }}
  }} }}"""
SET = f"""mutation($e: ID!, $l: ID!, $q: Int!) {{ orderEditSetQuantity(input: {{editId: $e,
  lineId: $l, quantity: $q}}) {{ calculatedOrder {{ {CALC} }}
  userErrors {{ field code message }} }} }}"""
REMOVE = f"""mutation($e: ID!, $l: ID!) {{ orderEditRemoveLine(input: {{editId: $e,
  lineId: $l}}) {{ calculatedOrder {{ {CALC} }} userErrors {{ field code message }} }} }}"""
SHIPPING = f"""mutation($e: ID!, $m: String) {{ orderEditSetShippingMethod(input: {{editId: $e,
  shippingMethod: $m}}) {{ calculatedOrder {{ {CALC} }} userErrors {{ field code message }} }} }}"""
COMMIT = """mutation($id: ID!, $note: String, $key: String) { orderEditCommit(id: $id,
  notifyCustomer: true, staffNote: $note, idempotencyKey: $key) {
  order { id total { amount } shippingTotal { amount } shippingMethod paymentStatus
    lines { sku quantity total { amount } quantityAllocated }
    payments { id amount { amount } capturedAmount { amount } refundedAmount { amount } }
    events { type message } }
  calculatedOrder { status balance { amount } }
  payment { id status amount { amount } }
  userErrors { field code message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { total { amount } shippingMethod
  lines { sku quantity quantityAllocated } events { type } } }"""
CAPTURE = """mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) {
  payment { capturedAmount { amount } } userErrors { code message } } }"""
SHIP = """mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) { shipment { id }
  userErrors { code message } } }"""
CONFIRM = "mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }"


async def _shop() -> None:
    await factories.shop({"SHOE": {"a": 5}, "HAT": {"a": 5}, "CAP": {"a": 3}})


async def _place(api: GraphQLClient, lines: dict[str, int], *, paid: bool = True
                 ) -> dict[str, Any]:
    payload = (await api(PLACE, {"input": {
        "channel": "web", "email": "ann@example.com", "shippingAddress": factories.address(),
        "shippingMethod": "standard",
        "lines": [{"sku": s, "quantity": q} for s, q in lines.items()],
        **({"payment": {"provider": "manual", "method": "invoice"}} if paid else {})}}))
    placed = payload["orderCreate"]
    assert placed["userErrors"] == []
    if paid:
        captured = (await api(CAPTURE, {"p": placed["payment"]["id"]}))["paymentCapture"]
        assert captured["userErrors"] == []
    return placed


async def _reserved() -> dict[str, int]:
    totals: dict[str, int] = {}
    for level in await StockLevel.all().prefetch_related("variant"):
        totals[level.variant.sku] = totals.get(level.variant.sku, 0) + level.reserved
    return totals


def _line(placed: dict[str, Any], sku: str) -> str:
    return str(next(ln["id"] for ln in placed["order"]["lines"] if ln["sku"] == sku))


async def test_lowering_a_paid_order_refunds_the_difference_and_releases_stock(
    api: GraphQLClient, mail: Mail,
) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 2, "HAT": 1})  # 30.00 + 4.90 standard, paid
    begun = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"]
    assert begun["userErrors"] == []
    calc = begun["calculatedOrder"]
    assert (calc["status"], calc["total"], calc["balance"]) == (
        "OPEN", {"amount": "34.90"}, {"amount": "0.00"})
    assert {ln["change"] for ln in calc["lines"]} == {"UNCHANGED"}
    edit = calc["id"]

    await api(SET, {"e": edit, "l": _line(placed, "SHOE"), "q": 1})
    await api(REMOVE, {"e": edit, "l": _line(placed, "HAT")})
    calc = (await api(SHIPPING, {"e": edit, "m": "express"}))[
        "orderEditSetShippingMethod"]["calculatedOrder"]
    assert [(ln["sku"], ln["originalQuantity"], ln["quantity"], ln["change"])
            for ln in calc["lines"]] == [("SHOE", 2, 1, "DECREASED"), ("HAT", 1, 0, "REMOVED")]
    assert (calc["subtotal"], calc["shippingTotal"], calc["total"], calc["covered"]) == (
        {"amount": "10.00"}, {"amount": "9.90"}, {"amount": "19.90"}, {"amount": "34.90"})
    assert (calc["balance"], calc["amountToRefund"], calc["amountToCollect"]) == (
        {"amount": "-15.00"}, {"amount": "15.00"}, {"amount": "0.00"})
    # Staging changed nothing yet.
    assert await _reserved() == {"SHOE": 2, "HAT": 1, "CAP": 0}

    committed = (await api(COMMIT, {"id": edit, "note": "Customer called",
                                    "key": "edit-1"}))["orderEditCommit"]
    assert committed["userErrors"] == []
    order = committed["order"]
    assert (order["total"], order["shippingTotal"], order["shippingMethod"]) == (
        {"amount": "19.90"}, {"amount": "9.90"}, "express")
    assert [(ln["sku"], ln["quantity"], ln["total"]["amount"], ln["quantityAllocated"])
            for ln in order["lines"]] == [("SHOE", 1, "10.00", 1), ("HAT", 0, "0.00", 0)]
    assert order["payments"][0]["refundedAmount"] == {"amount": "15.00"}
    assert order["paymentStatus"] == "PARTIALLY_REFUNDED"
    types = [e["type"] for e in order["events"]]
    assert {"STOCK_RELEASED", "ORDER_EDITED", "PAYMENT_REFUNDED"} <= set(types)
    assert CATALOGUE[EventType.ORDER_EDITED].topic == "order.edited"  # for webhooks
    edited = next(e for e in order["events"] if e["type"] == "ORDER_EDITED")
    assert "15.00 EUR to refund" in edited["message"]
    # The staff note is a note of the timeline of its own, kept from the buyer.
    assert "Customer called" not in edited["message"]
    assert {"type": "ORDER_NOTE_ADDED", "message": "Customer called"} in order["events"]
    assert committed["calculatedOrder"]["status"] == "COMMITTED"
    assert await _reserved() == {"SHOE": 1, "HAT": 0, "CAP": 0}

    async def told() -> list[Any] | None:
        return [m for m in mail.server.arrived if "was changed" in m.message["Subject"]] or None

    email = (await eventually(told))[0]  # notifyCustomer: the customer hears what it holds
    text = email.part("plain")
    assert email.to == ["ann@example.com"]
    assert "1 x" in text and "SHOE" in text and "HAT" not in text  # taken off: not listed
    assert "19.90 EUR" in text and "Customer called" not in text
    # The refund is charged to what the edit took off, and is no refund in the sales.
    shares = await RefundAllocation.all().order_by("order_line_id")
    assert {s.kind for s in shares} == {AllocationKind.EDIT}
    assert sum((s.amount for s in shares), Decimal(0)) == Decimal("15.00")

    again = (await api(COMMIT, {"id": edit, "note": "Customer called", "key": "edit-1"}))[
        "orderEditCommit"]
    assert again["userErrors"] == [] and again["order"]["payments"][0]["refundedAmount"] == {
        "amount": "15.00"}  # the same key: refunded once
    assert codes((await api(COMMIT, {"id": edit}))["orderEditCommit"]) == ["INVALID_TRANSITION"]
    await assert_ledger_matches()


async def test_adding_to_a_paid_order_asks_for_the_difference(api: GraphQLClient) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 2})  # 24.90, paid
    edit = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    await api(SET, {"e": edit, "l": _line(placed, "SHOE"), "q": 3})
    calc = (await api(ADD, {"e": edit, "sku": "CAP", "q": 2}))["orderEditAddLine"][
        "calculatedOrder"]
    assert [(ln["sku"], ln["change"]) for ln in calc["lines"]] == [("SHOE", "INCREASED"),
                                                                  ("CAP", "ADDED")]
    assert (calc["total"], calc["amountToCollect"]) == ({"amount": "54.90"}, {"amount": "30.00"})

    committed = (await api(COMMIT, {"id": edit, "key": "grow-1"}))["orderEditCommit"]
    assert committed["userErrors"] == []
    assert committed["payment"]["amount"] == {"amount": "30.00"}
    repeated = (await api(COMMIT, {"id": edit, "key": "grow-1"}))["orderEditCommit"]
    assert repeated["payment"]["id"] == committed["payment"]["id"]  # asked for once
    assert len(repeated["order"]["payments"]) == 2
    order = committed["order"]
    assert order["paymentStatus"] == "PARTIALLY_PAID"
    assert [(ln["sku"], ln["quantity"], ln["quantityAllocated"]) for ln in order["lines"]] == [
        ("SHOE", 3, 3), ("CAP", 2, 2)]
    assert await _reserved() == {"SHOE": 3, "HAT": 0, "CAP": 2}
    assert "STOCK_RESERVED" in [e["type"] for e in order["events"]]
    # The difference paid: the order is paid again.
    captured = (await api(CAPTURE, {"p": committed["payment"]["id"]}))["paymentCapture"]
    assert captured["userErrors"] == []
    assert (await api("query($id: ID!) { order(id: $id) { paymentStatus } }",
                      {"id": placed["order"]["id"]}))["order"]["paymentStatus"] == "PAID"

    # More than is left: refused, and nothing changes.
    edit = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    await api(ADD, {"e": edit, "sku": "CAP", "q": 2})
    refused = (await api(COMMIT, {"id": edit}))["orderEditCommit"]
    assert codes(refused) == ["INSUFFICIENT_STOCK"] and refused["order"] is None
    assert await _reserved() == {"SHOE": 3, "HAT": 0, "CAP": 2}
    assert (await OrderEdit.get(id=_edit_pk(edit))).status is EditStatus.OPEN
    await assert_ledger_matches()


def _edit_pk(gid: str) -> int:
    decoded = from_global_id(gid, expect="OrderEdit")
    assert decoded is not None
    return decoded[1]


async def test_only_unfulfilled_units_change_and_a_shipment_since_begin_refuses_the_commit(
    api: GraphQLClient,
) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 2, "HAT": 1}, paid=False)
    order_id = placed["order"]["id"]
    await api(CONFIRM, {"id": order_id})
    edit = (await api(BEGIN, {"id": order_id}))["orderEditBegin"]["calculatedOrder"]["id"]
    await api(SET, {"e": edit, "l": _line(placed, "SHOE"), "q": 1})
    before = (await api(ORDER, {"id": order_id}))["order"]

    shipped = (await api(SHIP, {"o": order_id}))["shipmentCreate"]
    assert shipped["userErrors"] == []
    refused = (await api(COMMIT, {"id": edit}))["orderEditCommit"]
    assert codes(refused) == ["EDIT_CONFLICT"]
    after = (await api(ORDER, {"id": order_id}))["order"]
    assert (after["total"], after["lines"]) == (before["total"], before["lines"])
    assert await _reserved() == {"SHOE": 2, "HAT": 1, "CAP": 0}

    # Begun again, the units in the shipment being prepared cannot be taken off.
    edit = (await api(BEGIN, {"id": order_id}))["orderEditBegin"]["calculatedOrder"]
    assert [ln["fulfilledQuantity"] for ln in edit["lines"]] == [2, 1]
    staged = (await api(SET, {"e": edit["id"], "l": _line(placed, "SHOE"), "q": 1}))[
        "orderEditSetQuantity"]
    assert [(e["field"], e["code"]) for e in staged["userErrors"]] == [
        (["quantity"], "QUANTITY_EXCEEDS_REMAINING")]
    more = (await api(SET, {"e": edit["id"], "l": _line(placed, "SHOE"), "q": 4}))[
        "orderEditSetQuantity"]
    assert more["userErrors"] == []
    assert (await api(COMMIT, {"id": edit["id"]}))["orderEditCommit"]["userErrors"] == []
    assert await _reserved() == {"SHOE": 4, "HAT": 1, "CAP": 0}
    await assert_ledger_matches()


async def test_a_second_edit_of_the_same_order_cannot_commit_over_the_first(
    api: GraphQLClient,
) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 1}, paid=False)
    first = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    second = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    await api(ADD, {"e": first, "sku": "HAT", "q": 1})
    await api(ADD, {"e": second, "sku": "CAP", "q": 1})
    assert (await api(COMMIT, {"id": first}))["orderEditCommit"]["userErrors"] == []
    assert codes((await api(COMMIT, {"id": second}))["orderEditCommit"]) == ["EDIT_CONFLICT"]
    lines = (await api(ORDER, {"id": placed["order"]["id"]}))["order"]["lines"]
    assert [ln["sku"] for ln in lines] == ["SHOE", "HAT"]
    assert await _reserved() == {"SHOE": 1, "HAT": 1, "CAP": 0}


async def test_a_staff_note_written_during_an_edit_does_not_refuse_its_commit(
    api: GraphQLClient,
) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 1}, paid=False)
    edit = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    await api(ADD, {"e": edit, "sku": "HAT", "q": 1})
    noted = await api('mutation($id: ID!) { orderNoteAdd(input: {orderId: $id, message: '
                      '"Customer called about the hat"}) { userErrors { code } } }',
                      {"id": placed["order"]["id"]})
    assert noted["orderNoteAdd"]["userErrors"] == []
    assert (await api(COMMIT, {"id": edit}))["orderEditCommit"]["userErrors"] == []
    lines = (await api(ORDER, {"id": placed["order"]["id"]}))["order"]["lines"]
    assert [ln["sku"] for ln in lines] == ["SHOE", "HAT"]


async def test_bad_edits_are_refused_with_their_reasons(api: GraphQLClient) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 1}, paid=False)
    edit = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    assert codes((await api(ADD, {"e": edit, "sku": "NOPE", "q": 1}))["orderEditAddLine"]) == [
        "UNKNOWN_SKU"]
    assert codes((await api(ADD, {"e": edit, "sku": "HAT", "q": 0}))["orderEditAddLine"]) == [
        "INVALID_INPUT"]
    hat = await Variant.get(sku="HAT").select_related("product")
    hat.product.archived_at = datetime.now(UTC)
    await hat.product.save()
    assert codes((await api(ADD, {"e": edit, "sku": "HAT", "q": 1}))["orderEditAddLine"]) == [
        "VARIANT_ARCHIVED"]  # an archived product's variants are added to no order
    assert codes((await api(SHIPPING, {"e": edit, "m": "teleport"}))[
        "orderEditSetShippingMethod"]) == ["INVALID_INPUT"]
    assert codes((await api(COMMIT, {"id": edit}))["orderEditCommit"]) == ["INVALID_INPUT"]
    await api("mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }",
              {"id": placed["order"]["id"]})
    assert codes((await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"]) == [
        "INVALID_TRANSITION"]


async def test_taking_off_what_has_not_shipped_leaves_the_order_fulfilled(
    api: GraphQLClient,
) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 2, "HAT": 1}, paid=False)
    order_id = placed["order"]["id"]
    await api(CONFIRM, {"id": order_id})
    created = await api("mutation($o: ID!, $l: ID!) { shipmentCreate(input: {orderId: $o, "
                        "lines: [{orderLineId: $l, quantity: 1}]}) { shipment { id } } }",
                        {"o": order_id, "l": _line(placed, "SHOE")})
    await api("mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) { userErrors "
              "{ code } } }", {"s": created["shipmentCreate"]["shipment"]["id"]})
    edit = (await api(BEGIN, {"id": order_id}))["orderEditBegin"]["calculatedOrder"]["id"]
    assert codes((await api(REMOVE, {"e": edit, "l": _line(placed, "SHOE")}))[
        "orderEditRemoveLine"]) == ["QUANTITY_EXCEEDS_REMAINING"]  # one has shipped
    await api(SET, {"e": edit, "l": _line(placed, "SHOE"), "q": 1})
    await api(REMOVE, {"e": edit, "l": _line(placed, "HAT")})
    committed = (await api(COMMIT, {"id": edit}))["orderEditCommit"]
    assert committed["userErrors"] == []
    status = (await api("query($id: ID!) { order(id: $id) { fulfillmentStatus } }",
                        {"id": order_id}))["order"]["fulfillmentStatus"]
    assert status == "FULFILLED"
    assert await _reserved() == {"SHOE": 0, "HAT": 0, "CAP": 0}
    await assert_ledger_matches()


async def test_the_sales_count_an_edited_order_once_at_its_new_lines(api: GraphQLClient) -> None:
    await _shop()
    placed = await _place(api, {"SHOE": 2, "HAT": 1})  # 34.90 paid
    edit = (await api(BEGIN, {"id": placed["order"]["id"]}))["orderEditBegin"][
        "calculatedOrder"]["id"]
    await api(SET, {"e": edit, "l": _line(placed, "SHOE"), "q": 1})
    assert (await api(COMMIT, {"id": edit}))["orderEditCommit"]["userErrors"] == []  # 10 back
    today = datetime.now(UTC).date()
    query = await sales_query(scope=Scope(ADMIN), start=today, end=today, time_zone="UTC",
                              group_by=GroupBy.SKU)
    assert [(r.group, r.orders, f"{r.gross}", f"{r.refunds}", f"{r.net}")
            for r in await query.rows()] == [("HAT", 1, "10.00", "0.00", "10.00"),
                                             ("SHOE", 1, "10.00", "0.00", "10.00")]
    # The customer paid 34.90 and got 10.00 back: 24.90, what the edited order comes to.
    customer = await Customer.get(email="ann@example.com")
    assert (await insights([customer.id]))[customer.id].lifetime_value == {
        "EUR": Decimal("24.90")}
    # A later refund of the line may take what is left of it, no more.
    shoe = next(ln for ln in placed["order"]["lines"] if ln["sku"] == "SHOE")
    refund = """mutation($input: PaymentRefundInput!) { paymentRefund(input: $input) {
      userErrors { field code } } }"""
    payment = placed["payment"]["id"]
    too_much = (await api(refund, {"input": {"paymentId": payment, "amount": "10.01",
                                             "lines": [{"orderLineId": shoe["id"],
                                                        "amount": "10.01"}]}}))
    assert codes(too_much["paymentRefund"]) == ["ALREADY_REFUNDED"]
    exact = (await api(refund, {"input": {"paymentId": payment, "amount": "10.00",
                                          "lines": [{"orderLineId": shoe["id"],
                                                     "amount": "10.00"}]}}))
    assert exact["paymentRefund"]["userErrors"] == []
