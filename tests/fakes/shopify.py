"""A small Shopify Admin GraphQL API: variants by SKU and inventorySetQuantities."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import LocalServer

ACCESS_TOKEN = "shpat_test_oms"
LOCATION = "gid://shopify/Location/1"


class FakeShopify:
    def __init__(self, skus: list[str]) -> None:
        self.items = {sku: f"gid://shopify/InventoryItem/{i + 1}" for i, sku in enumerate(skus)}
        self.available: dict[str, int] = {}  # item -> quantity at LOCATION
        self.orders: dict[str, list[tuple[str, int]]] = {}  # order GID -> (SKU, quantity)
        self.fulfillments: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self._server = LocalServer(Starlette(routes=[
            Route("/admin/api/{version}/graphql.json", self.graphql, methods=["POST"])]))
        self.url = self._server.url

    async def graphql(self, request: Request) -> JSONResponse:
        if request.headers.get("x-shopify-access-token") != ACCESS_TOKEN:
            return JSONResponse({"errors": "[API] Invalid API key or access token"},
                                status_code=401)
        body = await request.json()
        query, variables = body["query"], body.get("variables", {})
        if "productVariants" in query:
            sku = variables["q"].removeprefix("sku:")
            edges = [{"node": {"sku": sku, "inventoryItem": {"id": self.items[sku]}}}] \
                if sku in self.items else []
            return JSONResponse({"data": {"productVariants": {"edges": edges}}})
        if "fulfillmentOrders" in query:
            lines = self.orders.get(variables["id"], [])
            done = {f["sku"]: f["quantity"] for f in self._fulfilled()}
            node = {"id": variables["id"].replace("Order", "FulfillmentOrder"), "status": "OPEN",
                    "lineItems": {"edges": [
                        {"node": {"id": f"{variables['id']}/line/{sku}",
                                  "remainingQuantity": quantity - done.get(sku, 0),
                                  "lineItem": {"sku": sku}}} for sku, quantity in lines]}}
            return JSONResponse({"data": {"order": {"fulfillmentOrders": {
                "edges": [{"node": node}] if lines else []}}}})
        if "fulfillmentCreate" in query:
            fulfillment = variables["fulfillment"]
            self.fulfillments.append(fulfillment)
            return JSONResponse({"data": {"fulfillmentCreate": {
                "fulfillment": {"id": f"gid://shopify/Fulfillment/{len(self.fulfillments)}",
                                "status": "SUCCESS"}, "userErrors": []}}})
        if "inventoryLevel" in query:
            quantity = self.available.get(variables["item"])
            level = None if quantity is None else {
                "quantities": [{"name": "available", "quantity": quantity}]}
            return JSONResponse({"data": {"inventoryItem": {"inventoryLevel": level}}})
        if "inventorySetQuantities" in query:
            return JSONResponse({"data": {"inventorySetQuantities": self._set(
                variables["input"])}})
        return JSONResponse({"errors": [{"message": "unknown operation"}]}, status_code=400)

    def _fulfilled(self) -> list[dict[str, Any]]:
        return [{"sku": item["id"].rsplit("/", 1)[1], "quantity": item["quantity"]}
                for f in self.fulfillments for group in f["lineItemsByFulfillmentOrder"]
                for item in group["fulfillmentOrderLineItems"]]

    def _set(self, change: dict[str, Any]) -> dict[str, Any]:
        errors = []
        for line in change["quantities"]:
            if line["locationId"] != LOCATION:
                errors.append({"field": ["locationId"], "message": "no such location",
                               "code": "INVALID_LOCATION"})
                continue
            current = self.available.get(line["inventoryItemId"])
            if not change.get("ignoreCompareQuantity") and line.get("compareQuantity") != current:
                errors.append({"field": ["compareQuantity"], "code": "COMPARE_QUANTITY_STALE",
                               "message": "The compareQuantity value does not match"})
                continue
            self.available[line["inventoryItemId"]] = line["quantity"]
            self.calls["set"] += 1
        return {"inventoryAdjustmentGroup": None if errors else {"id": "gid://shopify/Group/1"},
                "userErrors": errors}

    async def __aenter__(self) -> FakeShopify:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._server.stop()


def webhook_hmac(body: bytes, secret: str) -> str:
    """Shopify's documented webhook header, written here rather than taken from the
    adapter: base64 of the HMAC-SHA256 of the raw body keyed by the app secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
