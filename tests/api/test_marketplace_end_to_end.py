"""A Shopify order, end to end: webhook in, stock reserved, label from EasyPost, tracking
back to a live subscriber, fulfilment reported to Shopify, Shopify's stock pushed down once."""

from __future__ import annotations

import json
from typing import Any

from domain.marketplaces.models import MarketplaceFulfillment
from domain.marketplaces.service import connect
from domain.marketplaces.sync import push_dirty, push_fulfillments
from integrations.carriers.easypost import EasyPostCarrier
from integrations.marketplaces.shopify import ShopifyInventory
from tests import factories
from tests.api.test_subscriptions import subscriber
from tests.fakes.easypost import API_KEY as EASYPOST_KEY
from tests.fakes.easypost import WEBHOOK_SECRET as EASYPOST_SECRET
from tests.fakes.easypost import FakeEasyPost
from tests.fakes.shopify import ACCESS_TOKEN, LOCATION, FakeShopify, webhook_hmac
from tests.support import GraphQLClient, eventually

SECRET = "shpss_e2e"
ORDER_EVENTS = """subscription($id: ID!) { orderEvents(orderId: $id) { sequence type } }"""


async def test_a_shopify_order_from_webhook_to_delivery(app: Any, api: GraphQLClient) -> None:
    services = app.state.services
    await services.marketplace_sync.stop()  # pushed by hand below, so they can be counted
    shopify_api = ShopifyInventory()
    try:
        async with FakeShopify(["SHOE"]) as shopify, FakeEasyPost() as easypost:
            services.carriers["easypost"] = EasyPostCarrier(
                api_key=EASYPOST_KEY, webhook_secret=EASYPOST_SECRET, api_base=easypost.url)
            await factories.shop({"SHOE": {"a": 12}})
            await factories.channel("shopify", locations=["a"],
                                    kind=factories.ChannelKind.MARKETPLACE)
            await connect(channel="shopify", provider="shopify", settings={
                "webhookSecret": SECRET, "accessToken": ACCESS_TOKEN, "locationId": LOCATION,
                "apiBase": shopify.url, "buffer": 0})
            shopify.orders["gid://shopify/Order/4401"] = [("SHOE", 2)]
            body = json.dumps({"id": 4401, "name": "#4401", "email": "ann@example.com",
                               "currency": "EUR", "taxes_included": True,
                               "financial_status": "paid", "total_price": "54.88",
                               "line_items": [{"sku": "SHOE", "quantity": 2, "price": "24.99",
                                               "tax_lines": [{"price": "7.98", "rate": 0.19,
                                                              "title": "DE VAT"}]}],
                               "shipping_lines": [{"price": "4.90", "tax_lines": [
                                   {"price": "0.78", "rate": 0.19, "title": "DE VAT"}]}],
                               "shipping_address": {"name": "Ann", "address1": "Hauptstr. 5",
                                                    "city": "Berlin", "zip": "10117",
                                                    "country_code": "DE"}}).encode()
            arrived = await api.http.post("/webhooks/marketplaces/shopify/shopify", content=body,
                                          headers={"X-Shopify-Topic": "orders/create",
                                                   "X-Shopify-Webhook-Id": "e2e-1",
                                                   "X-Shopify-Hmac-Sha256":
                                                       webhook_hmac(body, SECRET)})
            assert arrived.json()["outcome"] == "order 1001 (PENDING)"
            placed = (await api('{ order(number: "1001") { id total { amount } '
                                'paymentStatus invoices { totals { tax { amount } } } } }'))[
                "order"]
            gid = placed["id"]
            # Shopify's amounts and its payment, not the catalogue's price
            assert (placed["total"], placed["paymentStatus"], placed["invoices"]) == (
                {"amount": "54.88"}, "PAID", [{"totals": {"tax": {"amount": "8.76"}}}])

            async with subscriber(app) as sub:
                await sub.init()
                await sub.subscribe(ORDER_EVENTS, {"id": gid})
                assert [d["orderEvents"]["type"] for d in await sub.data(2)] == [
                    "ORDER_PLACED", "STOCK_RESERVED"]
                await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors "
                          "{ code } } }", {"id": gid})
                sid = (await api('mutation($o: ID!) { shipmentCreate(input: {orderId: $o, '
                                 'carrier: "easypost"}) { shipment { id } } }', {"o": gid}))[
                    "shipmentCreate"]["shipment"]["id"]
                shipped = (await api("mutation($s: ID!) { shipmentShip(input: {shipmentId: $s})"
                                     " { shipment { trackingNumber } } }", {"s": sid}))
                tracking = shipped["shipmentShip"]["shipment"]["trackingNumber"]
                event, headers = easypost.tracker_updated(
                    tracking, ("in_transit", "2099-03-01T08:00:00Z", "Berlin"),
                    ("delivered", "2099-03-02T11:00:00Z", "Berlin"))
                await api.http.post("/webhooks/carriers/easypost", content=event,
                                    headers=headers)
                seen = []
                while "ORDER_COMPLETED" not in seen:
                    seen += [d["orderEvents"]["type"] for d in await sub.data(1)]
                assert {"ORDER_CONFIRMED", "SHIPMENT_LABEL_PURCHASED", "SHIPMENT_IN_TRANSIT",
                        "SHIPMENT_DELIVERED"} <= set(seen)

            async def queued() -> bool:
                await services.relay.drain()
                return await MarketplaceFulfillment.exists()

            await eventually(queued)
            pushers = {"shopify": shopify_api}
            assert await push_fulfillments(pushers) == 1
            (fulfillment,) = shopify.fulfillments
            assert fulfillment["trackingInfo"]["number"] == tracking
            assert await push_dirty(pushers) == 1  # reservation and shipment: one push
            assert shopify.available[shopify.items["SHOE"]] == 10
            assert shopify.calls["set"] == 1
    finally:
        services.carriers.pop("easypost", None)
        await shopify_api.close()
        services.marketplace_sync.start()
