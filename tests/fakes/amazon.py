"""A small Selling Partner API: Login with Amazon, paged Orders, order items, throttling."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import LocalServer

CLIENT_ID, CLIENT_SECRET, REFRESH = "amzn1.application-oa2-client.x", "secret", "Atzr|refresh"
MARKETPLACE = "A1PA6795UKMFR9"


class FakeAmazon:
    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []  # oldest first
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.throttle_next = 0
        self.listings: dict[str, int] = {}  # seller SKU -> DEFAULT fulfilment quantity
        self.confirmations: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self._server = LocalServer(Starlette(routes=[
            Route("/auth/o2/token", self.token, methods=["POST"]),
            Route("/orders/v0/orders", self.list_orders),
            Route("/orders/v0/orders/{id}/orderItems", self.order_items),
            Route("/orders/v0/orders/{id}/shipmentConfirmation", self.confirm, methods=["POST"]),
            Route("/listings/2021-08-01/items/{seller}/{sku}", self.listing,
                  methods=["GET", "PATCH"]),
        ]))
        self.url = self._server.url

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        if (form.get("grant_type"), form.get("refresh_token"), form.get("client_id"),
                form.get("client_secret")) != ("refresh_token", REFRESH, CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.calls["token"] += 1
        return JSONResponse({"access_token": f"Atza|{self.calls['token']}",
                             "token_type": "bearer", "expires_in": 3600})

    def _refused(self, request: Request) -> JSONResponse | None:
        if not request.headers.get("x-amz-access-token", "").startswith("Atza|"):
            return JSONResponse({"errors": [{"code": "Unauthorized"}]}, status_code=403)
        if self.throttle_next:
            self.throttle_next -= 1
            self.calls["throttled"] += 1
            return JSONResponse({"errors": [{"code": "QuotaExceeded"}]}, status_code=429)
        return None

    async def list_orders(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        token = request.query_params.get("NextToken")
        if token:
            since, start = token.split("|")[0], int(token.split("|")[1])
        else:
            since, start = request.query_params["LastUpdatedAfter"], 0
        matching = [o for o in self.orders if o["LastUpdateDate"] > since]
        page = matching[start:start + 2]
        payload: dict[str, Any] = {"Orders": page}
        if start + 2 < len(matching):
            payload["NextToken"] = f"{since}|{start + 2}"
        self.calls["orders"] += 1
        return JSONResponse({"payload": payload})

    async def order_items(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        return JSONResponse({"payload": {"AmazonOrderId": request.path_params["id"],
                                         "OrderItems": self.items[request.path_params["id"]]}})

    async def confirm(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        self.confirmations.append({"order": request.path_params["id"], **await request.json()})
        return JSONResponse({}, status_code=204)

    async def listing(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        sku = request.path_params["sku"]
        if request.method == "PATCH":
            patch = (await request.json())["patches"][0]
            self.listings[sku] = patch["value"][0]["quantity"]
            self.calls["listing_patch"] += 1
            return JSONResponse({"sku": sku, "status": "ACCEPTED", "issues": []})
        quantity = self.listings.get(sku)
        availability = [] if quantity is None else [
            {"fulfillmentChannelCode": "DEFAULT", "quantity": quantity}]
        return JSONResponse({"sku": sku, "fulfillmentAvailability": availability})

    def add(self, order_id: str, updated: str, sku: str, quantity: int,
            status: str = "Unshipped", *, money: dict[str, str] | None = None,
            total: str | None = None, currency: str = "EUR") -> None:
        """An order of one item; ``money`` gives the item's amounts by their SP-API names
        (ItemPrice, ItemTax, ShippingPrice, PromotionDiscount, ...), ``total`` its
        OrderTotal."""
        order: dict[str, Any] = {
            "AmazonOrderId": order_id, "LastUpdateDate": updated, "OrderStatus": status,
            "BuyerInfo": {"BuyerEmail": f"{order_id}@marketplace.amazon.de"},
            "ShippingAddress": {"Name": "Kim", "AddressLine1": "Ring 1", "City": "Köln",
                                "PostalCode": "50667", "CountryCode": "DE"}}
        if total is not None:
            order["OrderTotal"] = {"CurrencyCode": currency, "Amount": total}
        self.orders.append(order)
        item: dict[str, Any] = {"SellerSKU": sku, "QuantityOrdered": quantity,
                                "OrderItemId": f"item-{order_id}"}
        for name, amount in (money or {}).items():
            item[name] = {"CurrencyCode": currency, "Amount": amount}
        self.items[order_id] = [item]

    async def __aenter__(self) -> FakeAmazon:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._server.stop()
