"""Shopify orders arrive by signed webhook and go through the same path as every order."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from domain.inventory.models import StockLevel
from domain.orders.models import Order, OrderStatus
from tests import factories
from tests.fakes.shopify import webhook_hmac
from tests.support import GraphQLClient

SECRET = "shpss_client_secret"
PATH = "/webhooks/marketplaces/shopify/shopify-eu"


async def _connect(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 3}})
    await factories.channel("shopify-eu", locations=["a"], kind=factories.ChannelKind.MARKETPLACE)
    connected = await api('mutation($s: String!) { marketplaceConnect(input: {channel: '
                          '"shopify-eu", provider: "shopify", webhookSecret: $s, shop: '
                          '"oms-demo.myshopify.com"}) { webhookPath userErrors { code } } }',
                          {"s": SECRET})
    assert connected["marketplaceConnect"]["webhookPath"] == PATH


def _order(shopify_id: int, quantity: int) -> dict[str, Any]:
    return {"id": shopify_id, "name": f"#{shopify_id % 10000}", "email": "buyer@example.com",
            "line_items": [{"sku": "SHOE", "quantity": quantity, "price": "10.00"}],
            "shipping_address": {"first_name": "Ann", "last_name": "Buyer",
                                 "address1": "Hauptstr. 5", "city": "Berlin", "zip": "10117",
                                 "country_code": "DE"}}


async def _deliver(api: GraphQLClient, topic: str, payload: dict[str, Any],
                   webhook_id: str | None = None, secret: str = SECRET) -> Any:
    body = json.dumps(payload).encode()
    return await api.http.post(PATH, content=body, headers={
        "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": webhook_hmac(body, secret),
        "X-Shopify-Webhook-Id": webhook_id or secrets.token_hex(8),
        "Content-Type": "application/json"})


async def test_an_order_arrives_once_however_often_it_is_delivered(api: GraphQLClient) -> None:
    await _connect(api)
    first = await _deliver(api, "orders/create", _order(820982911946154508, 2), "w-1")
    assert first.status_code == 200 and first.json()["outcome"] == "order 1001 (PENDING)"
    assert (await _deliver(api, "orders/create", _order(820982911946154508, 2),
                           "w-1")).json() == {"outcome": "duplicate"}
    redelivered = await _deliver(api, "orders/create", _order(820982911946154508, 2), "w-2")
    assert redelivered.json()["outcome"] == "order 1001 (PENDING)"  # same Shopify order id
    order = await Order.get(external_id="820982911946154508")
    assert (order.po_number, order.email) == ("#4508", "buyer@example.com")
    assert (await StockLevel.get()).reserved == 2
    cancelled = await _deliver(api, "orders/cancelled", {
        **_order(820982911946154508, 2), "cancelled_at": "2099-01-01T10:00:00Z",
        "cancel_reason": "customer"})
    assert cancelled.json()["outcome"] == "order 1001 cancelled"
    assert (await StockLevel.get()).reserved == 0


async def test_an_order_without_stock_is_kept_on_hold(api: GraphQLClient) -> None:
    await _connect(api)
    response = await _deliver(api, "orders/create", _order(5551, 5))
    assert response.json()["outcome"] == "order 1001 (ON_HOLD)"
    order = await Order.get(external_id="5551")
    assert order.status is OrderStatus.ON_HOLD
    assert order.hold_reason == "Not enough stock: SHOE (5 ordered, 3 available)"
    assert (await StockLevel.get()).reserved == 0


async def test_an_update_that_cancels_cancels_and_other_updates_are_ignored(
    api: GraphQLClient,
) -> None:
    await _connect(api)
    await _deliver(api, "orders/create", _order(7001, 1))
    edited = await _deliver(api, "orders/updated", {**_order(7001, 1), "note": "gift"})
    assert edited.json() == {"outcome": "ignored"}
    cancelled = await _deliver(api, "orders/updated",
                               {**_order(7001, 1), "cancelled_at": "2099-01-01T10:00:00Z"})
    assert cancelled.json()["outcome"] == "order 1001 cancelled"


async def test_forged_notifications_are_refused(api: GraphQLClient) -> None:
    await _connect(api)
    forged = await _deliver(api, "orders/create", _order(1, 1), secret="someone-else")
    assert forged.status_code == 401
    elsewhere = await api.http.post("/webhooks/marketplaces/shopify/web", content=b"{}")
    assert elsewhere.status_code == 404
    assert await Order.all().count() == 0


async def test_a_signed_order_resent_under_another_topic_does_only_what_its_body_says(
    api: GraphQLClient,
) -> None:
    """Shopify's HMAC covers the body, not the X-Shopify-Topic or X-Shopify-Webhook-Id
    headers: a captured orders/create replayed as a cancellation must not cancel."""
    await _connect(api)
    placed = _order(9001, 2)
    assert (await _deliver(api, "orders/create", placed)).json()["outcome"] == (
        "order 1001 (PENDING)")
    for topic in ("orders/cancelled", "orders/updated"):
        replayed = await _deliver(api, topic, placed)  # same signed body, a new webhook id
        assert replayed.status_code == 200 and replayed.json() == {"outcome": "ignored"}
    order = await Order.get(external_id="9001")
    assert order.status is OrderStatus.PENDING
    assert (await StockLevel.get()).reserved == 2
    cancelled_body = {**placed, "cancelled_at": "2099-01-01T10:00:00Z"}
    as_new = await _deliver(api, "orders/create", {**cancelled_body, "id": 9002})
    assert as_new.json() == {"outcome": "ignored"}  # a cancelled order is no new order
    assert not await Order.exists(external_id="9002")
    cancelled = await _deliver(api, "orders/cancelled", cancelled_body)
    assert cancelled.json()["outcome"] == "order 1001 cancelled"


async def test_a_refused_order_is_imported_when_shopify_retries_it(api: GraphQLClient) -> None:
    await _connect(api)
    order = {**_order(9001, 1), "line_items": [{"sku": "HAT", "quantity": 1, "price": "5.00"}]}
    refused = await _deliver(api, "orders/create", order, "w-retry")
    assert refused.status_code == 422 and "HAT" in refused.json()["error"]
    assert await Order.all().count() == 0
    await factories.product("HAT")  # the merchant fixes the catalogue
    await factories.stock("HAT", {"a": 2})
    retried = await _deliver(api, "orders/create", order, "w-retry")
    assert retried.status_code == 200 and retried.json() == {"outcome": "order 1001 (PENDING)"}
    assert (await _deliver(api, "orders/create", order, "w-retry")).json() == {
        "outcome": "duplicate"}
    assert await Order.filter(external_id="9001").count() == 1


async def test_an_order_without_a_shipping_address_is_refused_with_the_reason(
    api: GraphQLClient,
) -> None:
    await _connect(api)
    digital = {key: value for key, value in _order(9002, 1).items()
               if key != "shipping_address"}
    refused = await _deliver(api, "orders/create", digital)
    assert refused.status_code == 422 and "shipping address" in refused.json()["error"]
    assert await Order.all().count() == 0


async def test_the_longest_channel_code_and_webhook_id_are_deduplicated(
    api: GraphQLClient,
) -> None:
    code = "s" * 64
    await factories.shop({"SHOE": {"a": 3}})
    await factories.channel(code, locations=["a"], kind=factories.ChannelKind.MARKETPLACE)
    await api('mutation($c: String!, $s: String!) { marketplaceConnect(input: {channel: $c, '
              'provider: "shopify", webhookSecret: $s, shop: "oms-demo.myshopify.com"}) '
              '{ userErrors { code } } }', {"c": code, "s": SECRET})
    body = json.dumps(_order(9003, 1)).encode()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256":
               webhook_hmac(body, SECRET), "X-Shopify-Webhook-Id": "w" * 128,
               "Content-Type": "application/json"}
    path = f"/webhooks/marketplaces/shopify/{code}"
    first = await api.http.post(path, content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"outcome": "order 1001 (PENDING)"}
    again = await api.http.post(path, content=body, headers=headers)
    assert again.json() == {"outcome": "duplicate"}


async def test_a_cancellation_from_shopify_voids_the_orders_payment(api: GraphQLClient) -> None:
    """Cancelled on the marketplace: cancelled here as any cancellation is, stock released
    and the payment not yet received voided."""
    await _connect(api)
    await _deliver(api, "orders/create", _order(7301, 1))
    order = await Order.get(external_id="7301")
    from api.graphql.relay import to_global_id

    opened = await api('mutation($o: ID!) { paymentCreate(input: {orderId: $o, provider: '
                       '"manual", method: "cash_on_delivery"}) { payment { status } '
                       "userErrors { code } } }", {"o": to_global_id("Order", order.id)})
    assert opened["paymentCreate"]["payment"] == {"status": "PENDING"}
    cancelled = await _deliver(api, "orders/cancelled",
                               {**_order(7301, 1), "cancelled_at": "2099-01-01T10:00:00Z"})
    assert cancelled.json()["outcome"] == "order 1001 cancelled"
    found = (await api('query($id: ID!) { order(id: $id) { status paymentStatus '
                       "payments { status } } }",
                       {"id": to_global_id("Order", order.id)}))["order"]
    assert found == {"status": "CANCELLED", "paymentStatus": "VOIDED",
                     "payments": [{"status": "VOIDED"}]}
    assert (await StockLevel.get()).reserved == 0


async def test_a_cancellation_that_failed_on_our_side_is_cancelled_by_the_retry(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _connect(api)
    await _deliver(api, "orders/create", _order(7302, 1))
    from domain.orders import lifecycle

    real = lifecycle.cancel_order

    async def down(**kwargs: Any) -> Any:
        raise ConnectionError("database went away")

    monkeypatch.setattr(lifecycle, "cancel_order", down)
    cancellation = {**_order(7302, 1), "cancelled_at": "2099-01-01T10:00:00Z"}
    with pytest.raises(ConnectionError):  # the marketplace sees a failure and retries
        await _deliver(api, "orders/cancelled", cancellation, "c-1")
    assert (await Order.get(external_id="7302")).status.value == "PENDING"
    monkeypatch.setattr(lifecycle, "cancel_order", real)
    retried = await _deliver(api, "orders/cancelled", cancellation, "c-1")
    assert retried.json()["outcome"] == "order 1001 cancelled"
    assert (await Order.get(external_id="7302")).status.value == "CANCELLED"


# The marketplace's own money: prices, discounts, taxes, shipping and financial status.

ORDER_MONEY = """query($id: ID!) { order(id: $id) { total { amount currency }
  subtotal { amount } shippingTotal { amount } taxTotal { amount } discountTotal { amount }
  pricesIncludeTax paymentStatus
  lines { unitPrice { amount } quantity discountAmount { amount } total { amount }
          taxRate taxName taxAmount { amount } }
  taxLines { name rate base { amount } amount { amount } }
  payments { id provider method status capturedAmount { amount } }
  invoices { kind totals { total { amount } tax { amount } }
             taxLines { rate taxable { amount } tax { amount } } } } }"""


def _paid_order(shopify_id: int, **changes: Any) -> dict[str, Any]:
    """19.99 x 2 less a 5.00 discount, 19 % VAT included, shipping 4.90 with its VAT:
    what Shopify sends for a paid order in a shop whose prices include tax."""
    return {**_order(shopify_id, 2), "currency": "EUR", "taxes_included": True,
            "financial_status": "paid", "total_price": "39.88", "total_tax": "6.37",
            "total_discounts": "5.00",
            "line_items": [{"sku": "SHOE", "quantity": 2, "price": "19.99",
                            "total_discount": "0.00",
                            "discount_allocations": [{"amount": "5.00",
                                                      "discount_application_index": 0}],
                            "tax_lines": [{"price": "5.59", "rate": 0.19, "title": "DE VAT"}]}],
            "shipping_lines": [{"title": "Standard", "price": "4.90",
                                "discounted_price": "4.90",
                                "tax_lines": [{"price": "0.78", "rate": 0.19,
                                               "title": "DE VAT"}]}],
            **changes}


async def _money_of(api: GraphQLClient, external_id: str) -> dict[str, Any]:
    from api.graphql.relay import to_global_id

    order = await Order.get(external_id=external_id)
    found: dict[str, Any] = (await api(ORDER_MONEY, {"id": to_global_id("Order", order.id)}))[
        "order"]
    return found


async def test_a_paid_shopify_order_keeps_shopifys_money_and_is_paid(api: GraphQLClient) -> None:
    await _connect(api)  # the catalogue sells SHOE at 10.00: not what Shopify charged
    delivered = await _deliver(api, "orders/create", _paid_order(8101))
    assert delivered.status_code == 200, delivered.text
    assert delivered.json() == {"outcome": "order 1001 (PENDING)"}
    money = await _money_of(api, "8101")
    assert money["lines"] == [{"unitPrice": {"amount": "19.99"}, "quantity": 2,
                               "discountAmount": {"amount": "5.00"},
                               "total": {"amount": "34.98"}, "taxRate": "19",
                               "taxName": "DE VAT", "taxAmount": {"amount": "5.59"}}]
    assert (money["total"], money["subtotal"], money["shippingTotal"], money["taxTotal"],
            money["discountTotal"]) == ({"amount": "39.88", "currency": "EUR"},
                                        {"amount": "34.98"}, {"amount": "4.90"},
                                        {"amount": "6.37"}, {"amount": "5.00"})
    assert money["pricesIncludeTax"] is True
    assert money["taxLines"] == [{"name": "DE VAT", "rate": "19", "base": {"amount": "33.51"},
                                  "amount": {"amount": "6.37"}}]
    # Paid on Shopify: a captured payment that moved no money here, in the same transaction.
    assert money["paymentStatus"] == "PAID"
    assert [{k: v for k, v in p.items() if k != "id"} for p in money["payments"]] == [
        {"provider": "marketplace", "method": "shopify", "status": "CAPTURED",
         "capturedAmount": {"amount": "39.88"}}]
    # Invoiced on payment, with Shopify's tax.
    (invoice,) = money["invoices"]
    assert invoice["kind"] == "INVOICE"
    assert invoice["totals"]["total"] == {"amount": "39.88"}
    assert invoice["totals"]["tax"] == {"amount": "6.37"}
    assert invoice["taxLines"] == [{"rate": "19", "taxable": {"amount": "33.51"},
                                    "tax": {"amount": "6.37"}}]


async def test_a_marketplace_payment_is_refunded_on_the_marketplace_not_here(
    api: GraphQLClient,
) -> None:
    await _connect(api)
    await _deliver(api, "orders/create", _paid_order(8102))
    money = await _money_of(api, "8102")
    payment = money["payments"][0]["id"]
    refused = await api('mutation($p: ID!) { paymentRefund(input: {paymentId: $p, amount: '
                        '"10.00"}) { payment { status } userErrors { code message field } } }',
                        {"p": payment})
    (error,) = refused["paymentRefund"]["userErrors"]
    assert error["code"] == "PAYMENT_FAILED"
    assert "refund it on shopify" in error["message"]
    assert refused["paymentRefund"]["payment"] is None
    after = await _money_of(api, "8102")
    assert after["paymentStatus"] == "PAID"
    assert after["payments"][0]["status"] == "CAPTURED"
    from domain.payments.models import PaymentOperation, RefundAllocation

    assert not await PaymentOperation.filter(kind="REFUND").exists()
    assert not await RefundAllocation.exists()
    # Nor can anyone open a payment with the marketplace's provider.
    opened = await api('mutation($o: ID!) { paymentCreate(input: {orderId: $o, provider: '
                       '"marketplace", method: "shopify"}) { userErrors { code } } }',
                       {"o": (await api('{ order(number: "1001") { id } }'))["order"]["id"]})
    assert opened["paymentCreate"]["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_a_us_order_adds_its_taxes_to_the_prices(api: GraphQLClient) -> None:
    await factories.shop({"CAP": {"a": 3}}, currency="USD")
    await factories.channel("shopify-us", currency="USD", locations=["a"],
                            kind=factories.ChannelKind.MARKETPLACE)
    await api('mutation($s: String!) { marketplaceConnect(input: {channel: "shopify-us", '
              'provider: "shopify", webhookSecret: $s, shop: "oms-us.myshopify.com"}) '
              '{ userErrors { code } } }', {"s": SECRET})
    body = {**_order(8201, 1), "currency": "USD", "taxes_included": False,
            "financial_status": "authorized", "total_price": "31.81",
            "shipping_address": {"name": "Sam", "address1": "1 Main St", "city": "Austin",
                                 "province_code": "TX", "zip": "78701", "country_code": "US"},
            "line_items": [{"sku": "CAP", "quantity": 1, "price": "25.00",
                            "discount_allocations": [],
                            "tax_lines": [{"price": "1.56", "rate": 0.0625, "title": "TX State"},
                                          {"price": "0.25", "rate": 0.01, "title": "Austin"}]}],
            "shipping_lines": [{"price": "5.00", "tax_lines": []}]}
    payload = json.dumps(body).encode()
    delivered = await api.http.post("/webhooks/marketplaces/shopify/shopify-us", content=payload,
                                    headers={"X-Shopify-Topic": "orders/create",
                                             "X-Shopify-Hmac-Sha256": webhook_hmac(payload,
                                                                                   SECRET)})
    assert delivered.status_code == 200, delivered.text
    money = await _money_of(api, "8201")
    assert money["lines"] == [{"unitPrice": {"amount": "25.00"}, "quantity": 1,
                               "discountAmount": {"amount": "0.00"},
                               "total": {"amount": "26.81"}, "taxRate": "7.25",
                               "taxName": "TX State + Austin", "taxAmount": {"amount": "1.81"}}]
    assert money["total"] == {"amount": "31.81", "currency": "USD"}
    assert money["shippingTotal"] == {"amount": "5.00"}
    assert money["pricesIncludeTax"] is False
    # Authorized on Shopify: held, not paid; the capture records what Shopify captured.
    assert money["paymentStatus"] == "AUTHORIZED"
    payment = money["payments"][0]
    assert (payment["status"], payment["capturedAmount"]) == ("AUTHORIZED", {"amount": "0.00"})
    captured = await api('mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) '
                         '{ payment { status } userErrors { code } } }', {"p": payment["id"]})
    assert captured["paymentCapture"] == {"payment": {"status": "CAPTURED"}, "userErrors": []}
    assert (await _money_of(api, "8201"))["paymentStatus"] == "PAID"


async def test_a_yen_order_keeps_whole_yen(api: GraphQLClient) -> None:
    await factories.shop({"CUP": {"a": 5}}, currency="JPY")
    await factories.channel("shopify-jp", currency="JPY", locations=["a"],
                            kind=factories.ChannelKind.MARKETPLACE)
    await api('mutation($s: String!) { marketplaceConnect(input: {channel: "shopify-jp", '
              'provider: "shopify", webhookSecret: $s, shop: "oms-jp.myshopify.com"}) '
              '{ userErrors { code } } }', {"s": SECRET})

    async def deliver(body: dict[str, Any]) -> Any:
        payload = json.dumps(body).encode()
        return await api.http.post("/webhooks/marketplaces/shopify/shopify-jp",
                                   content=payload, headers={
                                       "X-Shopify-Topic": "orders/create",
                                       "X-Shopify-Hmac-Sha256": webhook_hmac(payload, SECRET)})

    body = {**_order(8301, 2), "currency": "JPY", "taxes_included": True,
            "financial_status": "pending", "total_price": "4460",
            "shipping_address": {"name": "Aiko", "address1": "1-1 Marunouchi",
                                 "city": "Tokyo", "zip": "100-0005", "country_code": "JP"},
            "line_items": [{"sku": "CUP", "quantity": 2, "price": "1980",
                            "tax_lines": [{"price": "360", "rate": 0.1, "title": "JCT"}]}],
            "shipping_lines": [{"price": "500", "tax_lines": [{"price": "45", "rate": 0.1,
                                                               "title": "JCT"}]}]}
    fractional = {**body, "id": 8302, "total_price": "4460.50"}
    refused = await deliver(fractional)
    assert refused.status_code == 422 and "JPY amounts have 0 decimal places" in (
        refused.json()["error"])
    delivered = await deliver(body)
    assert delivered.status_code == 200, delivered.text
    money = await _money_of(api, "8301")
    assert money["total"] == {"amount": "4460", "currency": "JPY"}
    assert money["lines"][0]["total"] == {"amount": "3960"}
    assert money["taxTotal"] == {"amount": "405"}
    assert (money["paymentStatus"], money["payments"]) == ("UNPAID", [])  # pending


async def test_figures_that_do_not_add_up_are_refused_until_shopify_sends_them_right(
    api: GraphQLClient,
) -> None:
    await _connect(api)
    wrong = _paid_order(8401, total_price="39.89")  # a cent more than its lines come to
    refused = await _deliver(api, "orders/create", wrong, "w-total")
    assert refused.status_code == 422
    assert refused.json()["error"] == ("The marketplace's total 39.89 EUR is not its lines, "
                                       "shipping and taxes, which come to 39.88 EUR")
    assert await Order.all().count() == 0
    other = await _deliver(api, "orders/create", _paid_order(8402, currency="USD"))
    assert other.status_code == 422 and "in USD, but the channel sells in EUR" in (
        other.json()["error"])
    negative = _paid_order(8403)
    negative["line_items"][0]["discount_allocations"] = [{"amount": "-5.00"}]
    assert (await _deliver(api, "orders/create", negative)).status_code == 422
    assert await Order.all().count() == 0
    assert (await StockLevel.get()).reserved == 0
    retried = await _deliver(api, "orders/create", _paid_order(8401), "w-total")
    assert retried.status_code == 200 and retried.json() == {"outcome": "order 1001 (PENDING)"}
    assert (await _money_of(api, "8401"))["total"]["amount"] == "39.88"


async def test_the_sales_report_counts_shopifys_amounts(api: GraphQLClient) -> None:
    from datetime import UTC, datetime

    await _connect(api)
    await _deliver(api, "orders/create", _paid_order(8501))
    today = datetime.now(UTC).date().isoformat()
    report = (await api("""query($d: Date!) { salesReport(from: $d, to: $d, groupBy: CHANNEL,
        timeZone: "UTC") { rows { group currency orders units grossSales { amount }
        netSales { amount } } } }""", {"d": today}))["salesReport"]
    # The line as Shopify charged it (19.99 x 2 less its 5.00), not the catalogue's 10.00.
    assert report["rows"] == [{"group": "shopify-eu", "currency": "EUR", "orders": 1,
                               "units": 2, "grossSales": {"amount": "34.98"},
                               "netSales": {"amount": "34.98"}}]


async def test_a_returned_marketplace_order_is_received_but_refunded_on_the_marketplace(
    api: GraphQLClient,
) -> None:
    from tests.api.test_payments_and_returns import REFUND, _return_and_receive, _ship

    await _connect(api)
    await _deliver(api, "orders/create", _paid_order(8601))
    order = (await api('{ order(number: "1001") { id lines { id } } }'))["order"]
    await _ship(api, order["id"], order["lines"][0]["id"], 2)
    rid = await _return_and_receive(api, order["id"], order["lines"][0]["id"], 1, True)
    refused = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert refused["return"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["PAYMENT_FAILED"]
    assert "refund it on shopify" in refused["userErrors"][0]["message"]
    from domain.payments.models import PaymentOperation, RefundAllocation
    from domain.returns.models import Return, ReturnStatus

    assert not await PaymentOperation.filter(kind="REFUND").exists()
    assert not await RefundAllocation.exists()
    assert (await Return.get()).status is ReturnStatus.RECEIVED  # the goods are back
    assert (await _money_of(api, "8601"))["paymentStatus"] == "PAID"


@pytest.mark.parametrize(("status", "extra", "payment_status", "payments"), [
    ("partially_paid", {"total_outstanding": "9.88"}, "PARTIALLY_PAID",
     [("CAPTURED", "30.00")]),
    ("voided", {}, "VOIDED", [("VOIDED", "0.00")]),
    ("refunded", {}, "PAID", [("CAPTURED", "39.88")]),  # Shopify's refunds stay Shopify's
    ("expired", {}, "UNPAID", []),  # not a status we record: nothing received
])
async def test_each_financial_status_is_recorded(
    api: GraphQLClient, status: str, extra: dict[str, str], payment_status: str,
    payments: list[tuple[str, str]],
) -> None:
    await _connect(api)
    delivered = await _deliver(api, "orders/create",
                               _paid_order(8701, financial_status=status, **extra))
    assert delivered.status_code == 200, delivered.text
    money = await _money_of(api, "8701")
    assert money["paymentStatus"] == payment_status
    assert [(p["status"], p["capturedAmount"]["amount"]) for p in money["payments"]] == payments
    assert money["total"]["amount"] == "39.88"


async def test_an_edit_of_a_marketplace_order_sends_no_refund(api: GraphQLClient) -> None:
    from domain.payments.models import PaymentOperation
    from tests.api.test_order_edits import BEGIN, COMMIT, SET

    await _connect(api)
    await _deliver(api, "orders/create", _paid_order(8801))
    order = (await api('{ order(number: "1001") { id lines { id } } }'))["order"]
    edit = (await api(BEGIN, {"id": order["id"]}))["orderEditBegin"]["calculatedOrder"]["id"]
    await api(SET, {"e": edit, "l": order["lines"][0]["id"], "q": 1})
    committed = (await api(COMMIT, {"id": edit, "note": None, "key": "e-1"}))["orderEditCommit"]
    assert committed["userErrors"] == []
    assert not await PaymentOperation.filter(kind="REFUND").exists()  # Shopify refunds it
    after = await _money_of(api, "8801")
    assert after["payments"][0]["status"] == "CAPTURED"
    assert after["paymentStatus"] == "PAID"
