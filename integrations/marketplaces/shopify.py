"""Shopify order webhooks: ``orders/create``, ``orders/cancelled``, and ``orders/updated``
(which matters here when it carries a cancellation; other edits stay with the merchant).
What a delivery does is read from its signed body (see ``ShopifyMarketplace``).

Verified with ``X-Shopify-Hmac-Sha256``: the base64 HMAC-SHA256 of the raw body,
keyed with the app's client secret (the channel's ``webhookSecret``). Deliveries
are deduplicated by ``X-Shopify-Webhook-Id``; orders by their Shopify id.

An order that carries ``total_price`` is read with its money (``MarketplaceMoney``):
each line's ``price``, discount (``discount_allocations``, else ``total_discount``) and
``tax_lines`` (rates are fractions: 0.19), ``taxes_included``, ``currency``, the
``shipping_lines`` (``discounted_price``, else ``price``, and their ``tax_lines``) and
``financial_status`` (with ``total_outstanding`` for a partially paid one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from domain.marketplaces.ports import (
    FINANCIAL_STATUSES,
    ImportedOrder,
    InvalidNotification,
    LinePrice,
    MarketplaceMoney,
    MarketplaceTax,
    Notification,
)
from domain.marketplaces.sync import FulfillmentReport, StaleQuantity
from integrations.payloads import (
    UnreadablePayload,
    amount,
    integer,
    items,
    json_object,
    mapping,
    optional_amount,
    optional_mapping,
    optional_text,
    text,
)

TOPICS = ("orders/create", "orders/updated", "orders/cancelled")


def hmac_header(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _address(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    if not raw:
        return None

    def field(name: str) -> str | None:
        return optional_text(raw.get(name), f"shipping_address.{name}")

    name = field("name") or " ".join(
        p for p in (field("first_name"), field("last_name")) if p)
    return {"name": name or "Customer", "line1": field("address1"), "line2": field("address2"),
            "city": field("city"), "region": field("province_code"),
            "postalCode": field("zip"), "country": field("country_code"),
            "phone": field("phone")}


def _taxes(raw: Any, what: str) -> list[MarketplaceTax]:
    """``tax_lines``: each ``{price, rate, title}``, the rate a fraction (0.19)."""
    taxes = []
    for n, entry in enumerate(items(raw if raw is not None else [], what)):
        tax = mapping(entry, f"{what}[{n}]")
        taxes.append(MarketplaceTax(
            rate=amount(tax.get("rate", 0), f"{what}[{n}].rate") * 100,
            name=optional_text(tax.get("title"), f"{what}[{n}].title", max_length=255),
            amount=amount(tax.get("price"), f"{what}[{n}].price")))
    return taxes


def _line_price(item: Mapping[str, Any], quantity: int, what: str) -> LinePrice:
    """A line's price, its discount (its ``discount_allocations``, else its
    ``total_discount``) and its ``tax_lines``."""
    price = amount(item.get("price"), f"{what}.price")
    allocations = item.get("discount_allocations")
    if allocations:
        discount = sum((amount(mapping(a, f"{what}.discount_allocations[{n}]").get("amount"),
                               f"{what}.discount_allocations[{n}].amount")
                        for n, a in enumerate(items(allocations,
                                                    f"{what}.discount_allocations"))),
                       Decimal(0))
    else:
        discount = optional_amount(item.get("total_discount"), f"{what}.total_discount") \
            or Decimal(0)
    return LinePrice(unit_price=price, line_amount=price * quantity, discount=discount,
                     taxes=_taxes(item.get("tax_lines"), f"{what}.tax_lines"))


def _money(order: Mapping[str, Any], lines: list[LinePrice]) -> MarketplaceMoney | None:
    """The order's own money, when it carries its total (``total_price``)."""
    total = optional_amount(order.get("total_price"), "total_price")
    if total is None:
        return None
    shipping = Decimal(0)
    shipping_taxes: list[MarketplaceTax] = []
    for n, raw in enumerate(items(order.get("shipping_lines") or [], "shipping_lines")):
        line = mapping(raw, f"shipping_lines[{n}]")
        discounted = optional_amount(line.get("discounted_price"),
                                     f"shipping_lines[{n}].discounted_price")
        shipping += discounted if discounted is not None else amount(
            line.get("price"), f"shipping_lines[{n}].price")
        shipping_taxes += _taxes(line.get("tax_lines"), f"shipping_lines[{n}].tax_lines")
    status = optional_text(order.get("financial_status"), "financial_status",
                           max_length=32) or "pending"
    if status not in FINANCIAL_STATUSES:  # e.g. "expired": nothing received
        status = "pending"
    outstanding = optional_amount(order.get("total_outstanding"), "total_outstanding")
    included = order.get("taxes_included", False)
    if not isinstance(included, bool):
        raise UnreadablePayload("taxes_included is not true or false")
    return MarketplaceMoney(
        currency=text(order.get("currency"), "currency", max_length=3), total=total,
        taxes_included=included, lines=lines, shipping=shipping,
        shipping_taxes=shipping_taxes, financial_status=status,
        paid=total - outstanding if outstanding is not None else None)


def _imported(order: Mapping[str, Any], external_id: str) -> ImportedOrder:
    lines = []
    prices = []
    priced = order.get("total_price") is not None
    for n, raw in enumerate(items(order.get("line_items"), "line_items")):
        item = mapping(raw, f"line_items[{n}]")
        quantity = integer(item.get("quantity"), f"line_items[{n}].quantity", minimum=1,
                           maximum=10**6)
        lines.append((text(item.get("sku"), f"line_items[{n}].sku", max_length=64), quantity))
        if priced:
            prices.append(_line_price(item, quantity, f"line_items[{n}]"))
    return ImportedOrder(
        external_id=external_id, lines=lines,
        email=optional_text(order.get("email"), "email", max_length=320)
        or optional_text(order.get("contact_email"), "contact_email", max_length=320),
        shipping_address=_address(optional_mapping(order.get("shipping_address"),
                                                   "shipping_address")),
        po_number=optional_text(order.get("name"), "name", max_length=64),
        money=_money(order, prices))


class ShopifyMarketplace:
    """Reads order webhooks. Shopify signs the body only: the topic and webhook id headers
    are not covered by the HMAC, so what to do is read from the signed order itself. The
    topic only narrows it: an ``orders/create`` imports only an order that is not
    cancelled, and a cancellation (``orders/cancelled``, or an ``orders/updated`` that
    carries one) needs the signed body's ``cancelled_at``. A captured body resent under
    another topic does nothing its content does not say."""

    provider = "shopify"

    def parse_notification(self, body: bytes, headers: Mapping[str, str],
                           settings: Mapping[str, Any]) -> Notification:
        secret = str(settings.get("webhookSecret", ""))
        given = headers.get("x-shopify-hmac-sha256", "")
        if not secret or not hmac.compare_digest(hmac_header(body, secret).encode(),
                                                 given.encode()):
            raise InvalidNotification("X-Shopify-Hmac-Sha256 does not match the body")
        delivery = text(headers.get("x-shopify-webhook-id") or hmac_header(body, secret),
                        "X-Shopify-Webhook-Id", max_length=128)
        topic = headers.get("x-shopify-topic", "")
        order = json_object(body, "the Shopify order")
        if topic not in TOPICS:
            return Notification("ignored", delivery)
        external_id = text(order.get("id"), "id", max_length=64)
        cancelled = order.get("cancelled_at") is not None
        if topic == "orders/create":
            if cancelled:  # not a new order, whatever the header says
                return Notification("ignored", delivery)
            return Notification("order_created", delivery,
                                order=_imported(order, external_id))
        if cancelled:
            return Notification("order_cancelled", delivery, external_id=external_id)
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
