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
