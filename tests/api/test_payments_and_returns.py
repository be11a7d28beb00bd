"""Paying with Stripe (a local server speaking its API) and offline, then returns and refunds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from domain.events.models import OrderEvent
from domain.inventory.models import StockLevel
from domain.payments.models import OperationStatus, PaymentOperation
from integrations.payments.stripe import StripeGateway
from tests import factories
from tests.domain.ledger import assert_ledger_matches
from tests.fakes.stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, signed
from tests.support import GraphQLClient, codes


@pytest.fixture
async def fake_stripe(app: Any) -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    await fake.start()
    gateways = app.state.services.gateways
    gateways["stripe"] = StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                                       api_base=fake.url, timeout=1.0)
    try:
        yield fake
    finally:
        gateways.pop("stripe", None)
        await fake.stop()


PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number paymentStatus total { amount } lines { id sku } }
  payment { id status pspReference } clientSecret userErrors { field code message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { status paymentStatus fulfillmentStatus
  payments { id status capturedAmount { amount } refundedAmount { amount } }
  returns { id status refundTotal { amount } lines { quantity quantityReceived restock } }
  events { type message } } }"""


async def _order(api: GraphQLClient, gid: str) -> dict[str, Any]:
    return (await api(ORDER, {"id": gid}))["order"]


async def _webhook(api: GraphQLClient, event: dict[str, Any], **sign: Any) -> Any:
    body, headers = signed(event, **sign)
    return await api.http.post("/webhooks/stripe", content=body, headers=headers)


async def _place(api: GraphQLClient, lines: dict[str, int], provider: str, method: str
                 ) -> dict[str, Any]:
    payload = (await api(PLACE, {"input": {
        "channel": "web", "email": "ann@example.com", "shippingAddress": factories.address(),
        "lines": [{"sku": s, "quantity": q} for s, q in lines.items()],
        "payment": {"provider": provider, "method": method}}}))["orderCreate"]
    assert payload["userErrors"] == [], payload
    return payload


async def _ship(api: GraphQLClient, order_gid: str, line_id: str, quantity: int) -> str:
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
              {"id": order_gid})
    created = await api("mutation($o: ID!, $l: ID!, $q: Int!) { shipmentCreate(input: "
                        "{orderId: $o, lines: [{orderLineId: $l, quantity: $q}]}) "
                        "{ shipment { id } userErrors { code message } } }",
                        {"o": order_gid, "l": line_id, "q": quantity})
    sid = created["shipmentCreate"]["shipment"]["id"]
    await api("mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) "
              "{ userErrors { code } } }", {"s": sid})
    return str(sid)


async def _return_and_receive(api: GraphQLClient, order_gid: str, line_id: str, quantity: int,
                              restock: bool) -> str:
    requested = await api("mutation($o: ID!, $l: ID!, $q: Int!) { returnRequest(input: "
                          "{orderId: $o, lines: [{orderLineId: $l, quantity: $q, reason: "
                          '"too small"}]}) { return { id status } userErrors { code message } } }',
                          {"o": order_gid, "l": line_id, "q": quantity})
    rid = requested["returnRequest"]["return"]["id"]
    await api("mutation($id: ID!) { returnApprove(id: $id) { userErrors { code } } }", {"id": rid})
    location = (await api("{ locations { id code } }"))["locations"][0]["id"]
    received = await api("mutation($r: ID!, $loc: ID!, $l: ID!, $q: Int!, $restock: Boolean!) "
                         "{ returnReceive(input: {returnId: $r, locationId: $loc, lines: "
                         "[{orderLineId: $l, quantity: $q, restock: $restock}]}) "
                         "{ return { status } userErrors { code message } } }",
                         {"r": rid, "loc": location, "l": line_id, "q": quantity,
                          "restock": restock})
    assert received["returnReceive"]["userErrors"] == []
    return rid


REFUND = """mutation($r: ID!, $amount: Decimal, $ship: Boolean) {
  returnRefund(input: {returnId: $r, amount: $amount, includeShipping: $ship}) {
    return { status refundTotal { amount } } userErrors { field code message } } }"""
CAPTURE = """mutation($p: ID!, $amount: Decimal) { paymentCapture(input: {paymentId: $p,
  amount: $amount}) { payment { status capturedAmount { amount } } userErrors { code message } } }"""


async def test_stripe_from_checkout_to_refund(api: GraphQLClient, fake_stripe: FakeStripe) -> None:
    await factories.shop({"SHOE": {"a": 5}, "TEE": {"a": 5}})
    placed = await _place(api, {"SHOE": 1, "TEE": 2}, "stripe", "card")
    order_gid, payment = placed["order"]["id"], placed["payment"]
    assert placed["clientSecret"].startswith(payment["pspReference"] + "_secret_")
    assert placed["order"]["paymentStatus"] == "UNPAID"
    intent = fake_stripe.intents[payment["pspReference"]]
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (3000, "eur",
                                                                                  "manual")

    confirmed = fake_stripe.customer_confirms(payment["pspReference"])
    assert (await _webhook(api, confirmed)).json()["outcome"] == "applied"
    assert (await _order(api, order_gid))["paymentStatus"] == "AUTHORIZED"

    _, tee = placed["order"]["lines"]
    parcel = await _ship(api, order_gid, tee["id"], 2)
    captured = (await api(CAPTURE, {"p": payment["id"]}))["paymentCapture"]
    assert captured["payment"] == {"status": "CAPTURED", "capturedAmount": {"amount": "30.00"}}
    assert (await _order(api, order_gid))["paymentStatus"] == "PAID"

    before = (await StockLevel.get(variant__sku="TEE")).on_hand
    rid = await _return_and_receive(api, order_gid, tee["id"], 1, restock=True)
    assert (await StockLevel.get(variant__sku="TEE")).on_hand == before + 1
    refunded = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert refunded["return"] == {"status": "REFUNDED", "refundTotal": {"amount": "10.00"}}
    assert [(r["amount"], r["payment_intent"]) for r in fake_stripe.refunds.values()] == [
        (1000, payment["pspReference"])]

    order = await _order(api, order_gid)
    assert order["paymentStatus"] == "PARTIALLY_REFUNDED"
    assert order["fulfillmentStatus"] == "PARTIALLY_RETURNED"
    await api("""mutation($s: ID!) { shipmentTrackingEventAdd(input: {shipmentId: $s,
        status: DELIVERED}) { userErrors { code } } }""", {"s": parcel})
    late = await _order(api, order_gid)  # a late tracking update leaves the return standing
    assert late["fulfillmentStatus"] == "PARTIALLY_RETURNED"
    payment_row = order["payments"][0]
    assert (payment_row["capturedAmount"], payment_row["refundedAmount"]) == (
        {"amount": "30.00"}, {"amount": "10.00"})
    # The events tell the same story as the money.
    events = await OrderEvent.filter(order__number=placed["order"]["number"]).order_by("sequence")
    moved = {e.type: e.message for e in events if e.type in ("PAYMENT_CAPTURED",
                                                             "PAYMENT_REFUNDED")}
    assert "30.00 EUR" in moved["PAYMENT_CAPTURED"] and "10.00 EUR" in moved["PAYMENT_REFUNDED"]
    # Stripe's own charge.refunded arrives later and changes nothing more.
    late = await _webhook(api, fake_stripe.charge_refunded(payment["pspReference"]))
    assert late.status_code == 200 and late.json()["outcome"] == "applied"
    assert (await _order(api, order_gid))["payments"][0]["refundedAmount"] == {"amount": "10.00"}
    await assert_ledger_matches()


async def test_forged_stale_and_replayed_webhooks_change_nothing(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 1}, "stripe", "card")
    event = fake_stripe.customer_confirms(placed["payment"]["pspReference"])
    forged = await _webhook(api, event, secret="whsec_someone_else")
    stale = await _webhook(api, event, timestamp=int(time.time()) - 3600)
    assert (forged.status_code, stale.status_code) == (400, 400)
    assert (await _order(api, placed["order"]["id"]))["paymentStatus"] == "UNPAID"
    assert (await _webhook(api, event)).json()["outcome"] == "applied"
    count = await OrderEvent.filter(order__number=placed["order"]["number"]).count()
    assert (await _webhook(api, event)).json()["outcome"] == "duplicate"
    assert await OrderEvent.filter(order__number=placed["order"]["number"]).count() == count


async def test_a_capture_that_times_out_is_retried_and_captures_once(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 2}, "stripe", "card")
    pid = placed["payment"]["pspReference"]
    await _webhook(api, fake_stripe.customer_confirms(pid))
    fake_stripe.slow_next["capture"] = 3  # Stripe captures, but answers after our timeout
    first = (await api(CAPTURE, {"p": placed["payment"]["id"]}))["paymentCapture"]
    assert codes(first) == ["PAYMENT_FAILED"]
    order = await _order(api, placed["order"]["id"])
    assert order["paymentStatus"] == "AUTHORIZED"  # consistent: nothing recorded as captured
    assert await PaymentOperation.filter(status=OperationStatus.PENDING).count() == 1
    again = (await api(CAPTURE, {"p": placed["payment"]["id"]}))["paymentCapture"]
    assert again["payment"]["capturedAmount"] == {"amount": "20.00"}
    assert fake_stripe.calls["capture"] == 1
    assert (await _order(api, placed["order"]["id"]))["paymentStatus"] == "PAID"


async def test_two_refunds_of_one_return_at_once_refund_once(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 2}, "stripe", "card")
    await _webhook(api, fake_stripe.customer_confirms(placed["payment"]["pspReference"]))
    line = placed["order"]["lines"][0]["id"]
    await _ship(api, placed["order"]["id"], line, 2)
    await api(CAPTURE, {"p": placed["payment"]["id"]})
    rid = await _return_and_receive(api, placed["order"]["id"], line, 1, restock=False)
    results = await asyncio.gather(api(REFUND, {"r": rid}), api(REFUND, {"r": rid}))
    assert fake_stripe.calls["refund"] == 1
    assert sum(1 for r in results if r["returnRefund"]["return"]) >= 1
    order = await _order(api, placed["order"]["id"])
    assert order["payments"][0]["refundedAmount"] == {"amount": "10.00"}
    again = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert codes(again) == ["ALREADY_REFUNDED"]


async def test_cash_on_delivery_recorded_by_staff(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 3}, "manual", "cash_on_delivery")
    assert placed["clientSecret"] is None and placed["payment"]["status"] == "PENDING"
    order_gid, pid = placed["order"]["id"], placed["payment"]["id"]
    line = placed["order"]["lines"][0]["id"]
    await _ship(api, order_gid, line, 3)
    too_much = (await api(CAPTURE, {"p": pid, "amount": "31.00"}))["paymentCapture"]
    assert codes(too_much) == ["INVALID_INPUT"]
    partly = (await api(CAPTURE, {"p": pid, "amount": "10.00"}))["paymentCapture"]
    assert partly["payment"]["capturedAmount"] == {"amount": "10.00"}
    assert (await _order(api, order_gid))["paymentStatus"] == "PARTIALLY_PAID"
    await api(CAPTURE, {"p": pid})
    assert (await _order(api, order_gid))["paymentStatus"] == "PAID"
    rid = await _return_and_receive(api, order_gid, line, 3, restock=True)
    over = (await api(REFUND, {"r": rid, "amount": "31.00"}))["returnRefund"]
    assert codes(over) == ["ALREADY_REFUNDED"]
    full = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert full["return"]["refundTotal"] == {"amount": "30.00"}
    again = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert codes(again) == ["ALREADY_REFUNDED"]
    # Amounts read in the currency's minor units, not the stored four decimals.
    assert again["userErrors"][0]["message"] == (
        "30.00 EUR asked, only 0.00 EUR remains refundable")
    order = await _order(api, order_gid)
    assert (order["paymentStatus"], order["fulfillmentStatus"]) == ("REFUNDED", "RETURNED")


async def test_cancelling_before_capture_voids_the_payment(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 1}, "stripe", "card")
    pid = placed["payment"]["pspReference"]
    await _webhook(api, fake_stripe.customer_confirms(pid))
    await api("mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }",
              {"id": placed["order"]["id"]})
    order = await _order(api, placed["order"]["id"])
    assert (order["status"], order["paymentStatus"]) == ("CANCELLED", "VOIDED")
    assert fake_stripe.intents[pid]["status"] == "canceled"


async def test_what_cannot_be_returned_or_refunded(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 2}, "manual", "invoice")
    order_gid, line = placed["order"]["id"], placed["order"]["lines"][0]["id"]
    ask = ("mutation($o: ID!, $l: ID!, $q: Int!) { returnRequest(input: {orderId: $o, lines: "
           "[{orderLineId: $l, quantity: $q}]}) { return { id } userErrors { code message } } }")
    unshipped = (await api(ask, {"o": order_gid, "l": line, "q": 1}))["returnRequest"]
    assert codes(unshipped) == ["QUANTITY_EXCEEDS_REMAINING"]
    await _ship(api, order_gid, line, 1)
    first = (await api(ask, {"o": order_gid, "l": line, "q": 1}))["returnRequest"]
    assert first["userErrors"] == []
    second = (await api(ask, {"o": order_gid, "l": line, "q": 1}))["returnRequest"]
    assert codes(second) == ["QUANTITY_EXCEEDS_REMAINING"]  # the open return holds the unit
    rid = first["return"]["id"]
    declined = await api('mutation($id: ID!) { returnDecline(id: $id, reason: "worn") '
                         "{ return { status } userErrors { code } } }", {"id": rid})
    assert declined["returnDecline"]["return"]["status"] == "DECLINED"
    refund = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert codes(refund) == ["INVALID_TRANSITION"]
    unknown = await api("mutation { paymentCapture(input: {paymentId: \"bm9wZQ==\"}) "
                        "{ userErrors { code } } }")
    assert codes(unknown["paymentCapture"]) == ["NOT_FOUND"]
    bad_method = (await api(PLACE, {"input": {
        "channel": "web", "email": "a@example.com", "lines": [{"sku": "SHOE", "quantity": 1}],
        "shippingAddress": factories.address(),
        "payment": {"provider": "manual", "method": "card"}}}))["orderCreate"]
    assert codes(bad_method) == ["INVALID_INPUT"] and bad_method["order"] is None
    assert (await api('{ order(number: "1002") { id } }'))["order"] is None


async def test_the_sweep_settles_a_call_whose_outcome_was_never_recorded(
    api: GraphQLClient, fake_stripe: FakeStripe, app: Any,
) -> None:
    from datetime import timedelta

    from domain.payments.service import retry_pending

    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 1}, "stripe", "card")
    await _webhook(api, fake_stripe.customer_confirms(placed["payment"]["pspReference"]))
    fake_stripe.slow_next["capture"] = 3  # as if the process died waiting for the answer
    await api(CAPTURE, {"p": placed["payment"]["id"]})
    gateways = app.state.services.gateways
    assert await retry_pending(gateways=gateways, older_than=timedelta(0), actor="test") == 1
    assert await retry_pending(gateways=gateways, older_than=timedelta(0), actor="test") == 0
    assert fake_stripe.calls["capture"] == 1
    assert (await _order(api, placed["order"]["id"]))["paymentStatus"] == "PAID"


@pytest.fixture
def capture_policy(app: Any) -> Any:
    from domain.payments.flows import CapturePolicy

    services = app.state.services
    original = services.deps

    def use(name: str) -> None:
        services.deps = replace(original, capture_policy=CapturePolicy(name))

    yield use
    services.deps = original


async def _authorized(api: GraphQLClient, fake: FakeStripe, lines: dict[str, int]
                      ) -> dict[str, Any]:
    placed = await _place(api, lines, "stripe", "card")
    await _webhook(api, fake.customer_confirms(placed["payment"]["pspReference"]))
    return placed


async def test_capture_at_confirmation(api: GraphQLClient, fake_stripe: FakeStripe,
                                       capture_policy: Any) -> None:
    capture_policy("confirmation")
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _authorized(api, fake_stripe, {"SHOE": 1})
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
              {"id": placed["order"]["id"]})
    assert (await _order(api, placed["order"]["id"]))["paymentStatus"] == "PAID"


async def test_capture_at_first_shipment(api: GraphQLClient, fake_stripe: FakeStripe,
                                         capture_policy: Any) -> None:
    capture_policy("first_shipment")
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _authorized(api, fake_stripe, {"SHOE": 2})
    await _ship(api, placed["order"]["id"], placed["order"]["lines"][0]["id"], 1)
    order = await _order(api, placed["order"]["id"])
    assert (order["paymentStatus"], order["payments"][0]["capturedAmount"]) == (
        "PAID", {"amount": "20.00"})


async def test_capture_per_shipped_value(api: GraphQLClient, fake_stripe: FakeStripe,
                                         capture_policy: Any) -> None:
    capture_policy("shipped_value")
    await factories.shop({"SHOE": {"a": 5}, "TEE": {"a": 5}})
    placed = await _authorized(api, fake_stripe, {"SHOE": 1, "TEE": 2})
    _, tee = placed["order"]["lines"]
    await _ship(api, placed["order"]["id"], tee["id"], 2)
    order = await _order(api, placed["order"]["id"])
    assert (order["paymentStatus"], order["payments"][0]["capturedAmount"]) == (
        "PARTIALLY_PAID", {"amount": "20.00"})
    created = await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                        "{ shipment { id } } }", {"o": placed["order"]["id"]})
    await api("mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) { userErrors { code } } }",
              {"s": created["shipmentCreate"]["shipment"]["id"]})
    order = await _order(api, placed["order"]["id"])
    assert (order["paymentStatus"], order["payments"][0]["capturedAmount"]) == (
        "PAID", {"amount": "30.00"})
    intent = fake_stripe.intents[placed["payment"]["pspReference"]]
    assert (intent["amount_received"], intent["status"]) == (3000, "succeeded")
    assert fake_stripe.calls["capture"] == 2


async def test_alipay_is_captured_when_the_buyer_pays(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    placed = await _place(api, {"SHOE": 1}, "stripe", "alipay")
    intent = fake_stripe.intents[placed["payment"]["pspReference"]]
    assert (intent["capture_method"], intent["payment_method_types"]) == ("automatic", ["alipay"])
    await _webhook(api, fake_stripe.customer_confirms(intent["id"]))
    order = await _order(api, placed["order"]["id"])
    assert (order["paymentStatus"], order["payments"][0]["status"]) == ("PAID", "CAPTURED")


async def test_an_exchange_places_a_replacement_and_reduces_the_refund(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE-42": {"a": 5}})
    await factories.product("SHOE-43", price="8.00")
    await factories.stock("SHOE-43", {"a": 1})
    placed = await _authorized(api, fake_stripe, {"SHOE-42": 1})
    order_gid, line = placed["order"]["id"], placed["order"]["lines"][0]["id"]
    await _ship(api, order_gid, line, 1)
    await api(CAPTURE, {"p": placed["payment"]["id"]})
    requested = await api(
        "mutation($o: ID!, $l: ID!) { returnRequest(input: {orderId: $o, lines: [{orderLineId: "
        '$l, quantity: 1, reason: "too small"}], replacementLines: [{sku: "SHOE-43", '
        "quantity: 1}]}) { return { id } userErrors { code message } } }",
        {"o": order_gid, "l": line})
    rid = requested["returnRequest"]["return"]["id"]
    approved = await api("mutation($id: ID!) { returnApprove(id: $id) { return { status "
                         "replacementOrder { number lines { sku quantityAllocated } } } "
                         "userErrors { code message } } }", {"id": rid})
    replacement = approved["returnApprove"]["return"]["replacementOrder"]
    assert replacement["lines"] == [{"sku": "SHOE-43", "quantityAllocated": 1}]
    location = (await api("{ locations { id } }"))["locations"][0]["id"]
    await api("mutation($r: ID!, $loc: ID!, $l: ID!) { returnReceive(input: {returnId: $r, "
              "locationId: $loc, lines: [{orderLineId: $l, quantity: 1, restock: true}]}) "
              "{ userErrors { code } } }", {"r": rid, "loc": location, "l": line})
    refunded = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert refunded["return"]["refundTotal"] == {"amount": "2.00"}  # 10.00 less 8.00
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [200]


async def test_a_dearer_exchange_asks_for_the_difference_through_the_gateway(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    await factories.shop({"SHOE-42": {"a": 5}})
    await factories.product("BOOT-42", price="25.00")
    await factories.stock("BOOT-42", {"a": 1})
    placed = await _authorized(api, fake_stripe, {"SHOE-42": 1})  # 10.00
    order_gid, line = placed["order"]["id"], placed["order"]["lines"][0]["id"]
    await _ship(api, order_gid, line, 1)
    await api(CAPTURE, {"p": placed["payment"]["id"]})
    requested = await api(
        "mutation($o: ID!, $l: ID!) { returnRequest(input: {orderId: $o, lines: [{orderLineId: "
        '$l, quantity: 1, reason: "too small"}], replacementLines: [{sku: "BOOT-42", '
        "quantity: 1}]}) { return { id } userErrors { code message } } }",
        {"o": order_gid, "l": line})
    rid = requested["returnRequest"]["return"]["id"]
    approved = await api("mutation($id: ID!) { returnApprove(id: $id) { return { "
                         "replacementOrder { id total { amount } paymentStatus payments { id "
                         "status amount { amount } pspReference } } } "
                         "payment { id amount { amount } } clientSecret "
                         "userErrors { code message } } }", {"id": rid})
    assert approved["returnApprove"]["userErrors"] == []
    replacement = approved["returnApprove"]["return"]["replacementOrder"]
    (difference,) = replacement["payments"]
    assert (replacement["total"], difference["amount"]) == ({"amount": "25.00"},
                                                            {"amount": "15.00"})
    assert approved["returnApprove"]["payment"] == {"id": difference["id"],
                                                    "amount": {"amount": "15.00"}}
    assert approved["returnApprove"]["clientSecret"].startswith(
        difference["pspReference"] + "_secret_")  # the buyer confirms the difference with it
    intent = fake_stripe.intents[difference["pspReference"]]
    assert (intent["amount"], intent["metadata"]["order_id"]) == (
        1500, str(await _pk("Order", replacement["id"])))
    await _webhook(api, fake_stripe.customer_confirms(intent["id"]))
    assert (await _order(api, replacement["id"]))["paymentStatus"] == "AUTHORIZED"
    captured = (await api(CAPTURE, {"p": difference["id"]}))["paymentCapture"]
    assert captured["payment"]["capturedAmount"] == {"amount": "15.00"}
    # Paid: against the difference, not the replacement's 25.00.
    assert (await _order(api, replacement["id"]))["paymentStatus"] == "PAID"
    location = (await api("{ locations { id } }"))["locations"][0]["id"]
    await api("mutation($r: ID!, $loc: ID!, $l: ID!) { returnReceive(input: {returnId: $r, "
              "locationId: $loc, lines: [{orderLineId: $l, quantity: 1, restock: true}]}) "
              "{ userErrors { code } } }", {"r": rid, "loc": location, "l": line})
    refunded = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert refunded["return"] == {"status": "REFUNDED", "refundTotal": {"amount": "0.00"}}
    assert fake_stripe.refunds == {}  # the goods paid 10.00 of the boots, the card the rest
    again = (await api("mutation($o: ID!) { paymentCreate(input: {orderId: $o, provider: "
                       '"stripe", method: "card"}) { userErrors { code message } } }',
                       {"o": replacement["id"]}))["paymentCreate"]
    assert codes(again) == ["INVALID_INPUT"]  # it has its payment
    assert fake_stripe.calls["create"] == 2


async def _pk(kind: str, gid: str) -> int:
    from api.graphql.relay import from_global_id

    found = from_global_id(gid)
    assert found is not None and found[0] == kind
    return int(found[1])


async def test_a_refund_made_in_the_stripe_dashboard_reaches_the_reports(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    """Seen only in the signed charge.refunded webhook: recorded as a refund, charged to
    the order's lines by the allocation rule, and counted by the sales report and the
    customer's lifetime value; our own refunds in the same total are not counted again."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from domain.access import ADMIN, Scope
    from domain.customers.models import Customer
    from domain.payments.models import RefundAllocation
    from domain.reports.customers import insights
    from domain.reports.sales import GroupBy, sales_query

    await factories.shop({"SHOE": {"a": 5}, "TEE": {"a": 5}})
    placed = await _authorized(api, fake_stripe, {"SHOE": 1, "TEE": 2})  # 10.00 + 20.00
    order_gid, payment = placed["order"]["id"], placed["payment"]
    await api(CAPTURE, {"p": payment["id"]})
    pid = payment["pspReference"]

    forged_body, headers = signed(fake_stripe.dashboard_refund(pid, 600),
                                  secret="whsec_someone_else")
    forged = await api.http.post("/webhooks/stripe", content=forged_body, headers=headers)
    assert forged.status_code == 400
    assert await RefundAllocation.all().count() == 0  # a forged event moves nothing

    event = fake_stripe.charge_refunded(pid)  # Stripe's own, signed with our secret
    assert (await _webhook(api, event)).json()["outcome"] == "applied"
    assert (await _webhook(api, event)).json()["outcome"] == "duplicate"
    order = await _order(api, order_gid)
    assert order["paymentStatus"] == "PARTIALLY_REFUNDED"
    assert order["payments"][0]["refundedAmount"] == {"amount": "6.00"}
    order_pk = await _pk("Order", order_gid)
    shares = sorted(f"{a.amount:.2f}" for a in await RefundAllocation.filter(order_id=order_pk))
    assert shares == ["2.00", "4.00"]  # 6.00 by 10.00 : 20.00

    # Our own refund, then another in the dashboard: the total counts each once.
    tee = placed["order"]["lines"][1]["id"]
    ours = (await api("mutation($p: ID!, $l: ID!) { paymentRefund(input: {paymentId: $p, "
                      'amount: "5.00", lines: [{orderLineId: $l, amount: "5.00"}]}) '
                      "{ userErrors { code message } } }",
                      {"p": payment["id"], "l": tee}))["paymentRefund"]
    assert ours["userErrors"] == []
    assert (await _webhook(api, fake_stripe.charge_refunded(pid))).json()["outcome"] == "applied"
    assert await RefundAllocation.filter(order_id=order_pk).count() == 3  # nothing new
    await _webhook(api, fake_stripe.dashboard_refund(pid, 100))
    order = await _order(api, order_gid)
    assert order["payments"][0]["refundedAmount"] == {"amount": "12.00"}

    today = datetime.now(UTC).date()
    query = await sales_query(scope=Scope(ADMIN), start=today, end=today, time_zone="UTC",
                              group_by=GroupBy.SKU)
    by_sku = {r.group: (f"{r.gross}", f"{r.refunds}") for r in await query.rows()}
    # Dashboard 6.00 (2.00 + 4.00), ours 5.00 on the tees, dashboard 1.00 by what remained
    # (8.00 : 11.00 -> 0.42 + 0.58).
    assert by_sku == {"SHOE": ("10.00", "2.42"), "TEE": ("20.00", "9.58")}
    (total,) = await query.totals()
    assert total.refunds == Decimal("12.00")
    customer = await Customer.get(email="ann@example.com")
    found = (await insights([customer.id]))[customer.id]
    assert found.lifetime_value == {"EUR": Decimal("18.00")}


async def _exchange(api: GraphQLClient, fake: FakeStripe, sku: str, replacement_sku: str
                    ) -> tuple[str, str, dict[str, Any]]:
    """An approved exchange of one shipped, paid unit: (return id, its order's id, the
    replacement order)."""
    placed = await _authorized(api, fake, {sku: 1})
    order_gid, line = placed["order"]["id"], placed["order"]["lines"][0]["id"]
    await _ship(api, order_gid, line, 1)
    await api(CAPTURE, {"p": placed["payment"]["id"]})
    requested = await api(
        "mutation($o: ID!, $l: ID!, $r: String!) { returnRequest(input: {orderId: $o, lines: "
        '[{orderLineId: $l, quantity: 1, reason: "too small"}], replacementLines: [{sku: $r, '
        "quantity: 1}]}) { return { id } } }", {"o": order_gid, "l": line, "r": replacement_sku})
    rid = requested["returnRequest"]["return"]["id"]
    approved = await api("mutation($id: ID!) { returnApprove(id: $id) { return { "
                         "replacementOrder { id lines { id } } } userErrors { code } } }",
                         {"id": rid})
    assert approved["returnApprove"]["userErrors"] == []
    return rid, order_gid, approved["returnApprove"]["return"]["replacementOrder"]


RETURN_CANCEL = """mutation($id: ID!) { returnCancel(id: $id) { return { status }
  userErrors { code message } } }"""


async def test_cancelling_an_exchange_cancels_its_replacement(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    """The replacement's stock is released and the difference's payment voided; once the
    replacement has shipped, the return stays open and nothing changes."""
    await factories.shop({"SHOE-42": {"a": 5}})
    await factories.product("BOOT-42", price="25.00")
    await factories.stock("BOOT-42", {"a": 1})
    rid, _, replacement = await _exchange(api, fake_stripe, "SHOE-42", "BOOT-42")
    cancelled = (await api(RETURN_CANCEL, {"id": rid}))["returnCancel"]
    assert cancelled == {"return": {"status": "CANCELLED"}, "userErrors": []}
    after = await _order(api, replacement["id"])
    assert after["status"] == "CANCELLED"
    assert [p["status"] for p in after["payments"]] == ["VOIDED"]  # the 15.00 difference
    again = await api(PLACE, {"input": {
        "channel": "web", "email": "bo@example.com", "shippingAddress": factories.address(),
        "lines": [{"sku": "BOOT-42", "quantity": 1}]}})
    assert again["orderCreate"]["userErrors"] == []  # the only boot is sellable again

    await factories.stock("BOOT-42", {"a": 2})
    rid, original, replacement = await _exchange(api, fake_stripe, "SHOE-42", "BOOT-42")
    await _ship(api, replacement["id"], replacement["lines"][0]["id"], 1)
    refused = (await api(RETURN_CANCEL, {"id": rid}))["returnCancel"]
    assert codes(refused) == ["INVALID_TRANSITION"]
    assert "on its way" in refused["userErrors"][0]["message"]
    after = await _order(api, replacement["id"])
    assert after["status"] != "CANCELLED" and after["fulfillmentStatus"] == "FULFILLED"
    assert [r["status"] for r in (await _order(api, original))["returns"]] == ["APPROVED"]


async def test_an_exchange_whose_goods_come_back_short_asks_for_the_rest(
    api: GraphQLClient, fake_stripe: FakeStripe,
) -> None:
    """Two shoes exchanged for two others of the same price; one comes back: the goods
    pay 10.00 of the 20.00 replacement, which asks for the other 10.00 by card."""
    await factories.shop({"SHOE-42": {"a": 5}, "SHOE-43": {"a": 5}})
    placed = await _authorized(api, fake_stripe, {"SHOE-42": 2})  # 20.00
    order_gid, line = placed["order"]["id"], placed["order"]["lines"][0]["id"]
    await _ship(api, order_gid, line, 2)
    await api(CAPTURE, {"p": placed["payment"]["id"]})
    requested = await api(
        "mutation($o: ID!, $l: ID!) { returnRequest(input: {orderId: $o, lines: [{orderLineId: "
        '$l, quantity: 2, reason: "too small"}], replacementLines: [{sku: "SHOE-43", '
        "quantity: 2}]}) { return { id } } }", {"o": order_gid, "l": line})
    rid = requested["returnRequest"]["return"]["id"]
    approved = (await api("mutation($id: ID!) { returnApprove(id: $id) { return { "
                          "replacementOrder { id } } payment { id } userErrors { code } } }",
                          {"id": rid}))["returnApprove"]
    assert (approved["userErrors"], approved["payment"]) == ([], None)  # the goods pay it all
    replacement = approved["return"]["replacementOrder"]["id"]
    assert (await _order(api, replacement))["paymentStatus"] == "PAID"
    created = fake_stripe.calls["create"]

    location = (await api("{ locations { id } }"))["locations"][0]["id"]
    received = await api("mutation($r: ID!, $loc: ID!, $l: ID!) { returnReceive(input: "
                         "{returnId: $r, locationId: $loc, lines: [{orderLineId: $l, "
                         "quantity: 1, restock: true}]}) { userErrors { code } } }",
                         {"r": rid, "loc": location, "l": line})
    assert received["returnReceive"]["userErrors"] == []
    after = await _order(api, replacement)
    assert after["paymentStatus"] == "UNPAID"
    assert len(after["payments"]) == 1  # the rest, asked for
    assert fake_stripe.calls["create"] == created + 1
    intent = list(fake_stripe.intents.values())[-1]
    assert (intent["amount"], intent["metadata"]["order_id"]) == (
        1000, str(await _pk("Order", replacement)))
    events = [e["message"] for e in (await _order(api, order_gid))["events"]
              if e["type"] == "RETURN_RECEIVED"]
    assert events and "asks for 10.00 more" in events[0]
    await _webhook(api, fake_stripe.customer_confirms(intent["id"]))
    assert (await _order(api, replacement))["paymentStatus"] == "AUTHORIZED"
    refunded = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert refunded["return"] == {"status": "REFUNDED", "refundTotal": {"amount": "0.00"}}
    assert fake_stripe.refunds == {}  # the shoe that came back paid for half the pair
