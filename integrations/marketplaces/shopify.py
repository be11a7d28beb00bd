"""Shopify order webhooks: ``orders/create``, ``orders/cancelled``, and ``orders/updated``
(which matters here when it carries a cancellation; other edits stay with the merchant).

Verified with ``X-Shopify-Hmac-Sha256``: the base64 HMAC-SHA256 of the raw body,
keyed with the app's client secret (the channel's ``webhookSecret``). Deliveries
are deduplicated by ``X-Shopify-Webhook-Id``; orders by their Shopify id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from domain.marketplaces.ports import ImportedOrder, InvalidNotification, Notification
from domain.marketplaces.sync import FulfillmentReport, StaleQuantity


def hmac_header(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _address(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    name = raw.get("name") or " ".join(
        p for p in (raw.get("first_name"), raw.get("last_name")) if p)
    return {"name": name or "Customer", "line1": raw.get("address1"), "line2": raw.get("address2"),
            "city": raw.get("city"), "region": raw.get("province_code"),
            "postalCode": raw.get("zip"), "country": raw.get("country_code"),
            "phone": raw.get("phone")}


class ShopifyMarketplace:
    provider = "shopify"

    def parse_notification(self, body: bytes, headers: Mapping[str, str],
                           settings: Mapping[str, Any]) -> Notification:
        secret = str(settings.get("webhookSecret", ""))
        given = headers.get("x-shopify-hmac-sha256", "")
        if not secret or not hmac.compare_digest(hmac_header(body, secret), given):
            raise InvalidNotification("X-Shopify-Hmac-Sha256 does not match the body")
        delivery = headers.get("x-shopify-webhook-id") or hmac_header(body, secret)
        topic = headers.get("x-shopify-topic", "")
        try:
            order = json.loads(body)
            if topic == "orders/create":
                return Notification("order_created", delivery, order=ImportedOrder(
                    external_id=str(order["id"]),
                    lines=[(str(item["sku"]), int(item["quantity"]))
                           for item in order["line_items"]],
                    email=order.get("email") or order.get("contact_email"),
                    shipping_address=_address(order.get("shipping_address")),
                    po_number=order.get("name")))
            if topic == "orders/cancelled" or (topic == "orders/updated"
                                               and order.get("cancelled_at")):
                return Notification("order_cancelled", delivery, external_id=str(order["id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"unreadable Shopify order: {error}") from None
        return Notification("ignored", delivery)


API_VERSION = "2025-01"
FIND_ITEM = """query($q: String!) { productVariants(first: 1, query: $q) {
  edges { node { sku inventoryItem { id } } } } }"""
GET_QUANTITY = """query($item: ID!, $location: ID!) { inventoryItem(id: $item) {
  inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } } }"""
FULFILLMENT_ORDERS = """query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 20) {
  edges { node { id status lineItems(first: 100) { edges { node {
    id remainingQuantity lineItem { sku } } } } } } } } }"""
CREATE_FULFILLMENT = """mutation($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id status }
    userErrors { field message } } }"""
SET_QUANTITY = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id } userErrors { field message code } } }"""


class ShopifyInventory:
    """Pushes sellable quantities through the Admin GraphQL API."""

    def __init__(self, timeout: float = 20.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout)

    async def _graphql(self, settings: Mapping[str, Any], query: str,
                       variables: dict[str, Any]) -> dict[str, Any]:
        base = settings.get("apiBase") or f"https://{settings['shop']}"
        response = await self._client.post(
            f"{base}/admin/api/{API_VERSION}/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": str(settings["accessToken"])})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(f"Shopify: {body['errors']}")
        return body["data"]

    async def find_item(self, settings: Mapping[str, Any], sku: str) -> str | None:
        data = await self._graphql(settings, FIND_ITEM, {"q": f"sku:{sku}"})
        edges = data["productVariants"]["edges"]
        return str(edges[0]["node"]["inventoryItem"]["id"]) if edges else None

    async def set_quantity(self, settings: Mapping[str, Any], item: str, quantity: int,
                           compare: int | None) -> None:
        line: dict[str, Any] = {"inventoryItemId": item, "locationId": settings["locationId"],
                                "quantity": quantity}
        if compare is not None:
            line["compareQuantity"] = compare
        data = await self._graphql(settings, SET_QUANTITY, {"input": {
            "name": "available", "reason": "correction", "quantities": [line],
            "ignoreCompareQuantity": compare is None}})
        errors = data["inventorySetQuantities"]["userErrors"]
        if any(e.get("code") == "COMPARE_QUANTITY_STALE" for e in errors):
            raise StaleQuantity(None)
        if errors:
            raise RuntimeError(f"Shopify refused the quantity: {errors}")

    async def report_fulfillment(self, settings: Mapping[str, Any],
                                 report: FulfillmentReport) -> None:
        """fulfillmentCreate for the parcel's units, taken from the open fulfillment orders."""
        data = await self._graphql(settings, FULFILLMENT_ORDERS, {
            "id": f"gid://shopify/Order/{report.external_order_id}"})
        wanted = dict(report.lines)
        by_order: list[dict[str, Any]] = []
        for edge in ((data.get("order") or {}).get("fulfillmentOrders") or {}).get("edges", []):
            node = edge["node"]
            items = []
            for item_edge in node["lineItems"]["edges"]:
                item = item_edge["node"]
                sku = str((item.get("lineItem") or {}).get("sku") or "")
                take = min(wanted.get(sku, 0), int(item["remainingQuantity"]))
                if take:
                    items.append({"id": item["id"], "quantity": take})
                    wanted[sku] -= take
            if items:
                by_order.append({"fulfillmentOrderId": node["id"],
                                 "fulfillmentOrderLineItems": items})
        if not by_order:
            raise RuntimeError("nothing open to fulfil for these SKUs on Shopify")
        created = await self._graphql(settings, CREATE_FULFILLMENT, {"fulfillment": {
            "lineItemsByFulfillmentOrder": by_order, "notifyCustomer": True,
            "trackingInfo": {"company": report.carrier, "number": report.tracking_number,
                             "url": report.tracking_url}}})
        errors = created["fulfillmentCreate"]["userErrors"]
        if errors:
            raise RuntimeError(f"Shopify refused the fulfilment: {errors}")

    async def get_quantity(self, settings: Mapping[str, Any], item: str) -> int | None:
        data = await self._graphql(settings, GET_QUANTITY, {"item": item,
                                                            "location": settings["locationId"]})
        level = (data.get("inventoryItem") or {}).get("inventoryLevel")
        if not level:
            return None
        return next((int(q["quantity"]) for q in level["quantities"]
                     if q["name"] == "available"), None)

    async def close(self) -> None:
        await self._client.aclose()
