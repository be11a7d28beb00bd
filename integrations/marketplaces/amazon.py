"""Amazon Selling Partner API: orders pulled by polling, since a stored cursor.

Access tokens come from Login with Amazon (refresh-token grant) and are renewed
before they expire. ``GET /orders/v0/orders`` is paged (``NextToken``) and
filtered by ``LastUpdatedAfter``; each order's items come from
``/orders/v0/orders/{id}/orderItems``. A 429 (or 5xx) is retried with
exponential backoff. The cursor only moves forward, after a page is imported,
so a poll that overlaps the previous one imports nothing twice (orders are
keyed by their Amazon order id).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from domain.marketplaces.ports import ImportedOrder, LinePrice, MarketplaceMoney, MarketplaceTax
from domain.money import CURRENCY_EXPONENTS, quantize
from integrations.payloads import mapping, optional_amount

LWA_URL = "https://api.amazon.com/auth/o2/token"
SP_API = "https://sellingpartnerapi-eu.amazon.com"
IMPORTABLE = {"Unshipped", "PartiallyShipped"}
PAID = {"Unshipped", "PartiallyShipped", "Shipped"}  # Amazon took the money


class AmazonUnavailable(Exception):
    pass


def _address(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {"name": raw.get("Name") or "Customer", "line1": raw.get("AddressLine1"),
            "line2": raw.get("AddressLine2"), "city": raw.get("City"),
            "region": raw.get("StateOrRegion"), "postalCode": raw.get("PostalCode"),
            "country": raw.get("CountryCode"), "phone": raw.get("Phone")}


def _money_of(raw: Mapping[str, Any], key: str, what: str) -> Decimal:
    """A ``Money`` field (``{CurrencyCode, Amount}``), zero when Amazon sends none."""
    money = raw.get(key)
    if money is None:
        return Decimal(0)
    return optional_amount(mapping(money, f"{what}.{key}").get("Amount"),
                           f"{what}.{key}.Amount") or Decimal(0)


def _reproduces(rate: Decimal, tax: Decimal, base: Decimal, included: bool,
                currency: str) -> bool:
    expected = base - base / (1 + rate / 100) if included else base * rate / 100
    return quantize(expected, currency) == tax


def _rate(tax: Decimal, base: Decimal, included: bool, currency: str,
          others: Sequence[Decimal] = ()) -> Decimal:
    """Amazon sends the tax, not its rate: the rate is read off the amounts, for receipts
    and invoices. A whole percentage, or another line's rate, that gives exactly this tax
    wins; else the rate to a tenth of a percent."""
    net = base - tax if included else base
    if net <= 0 or currency not in CURRENCY_EXPONENTS:
        return Decimal(0)
    derived = tax / net * 100
    for rate in (*others, derived.quantize(Decimal(1))):
        if _reproduces(rate, tax, base, included, currency):
            return rate
    return derived.quantize(Decimal("0.1"))


@dataclass(frozen=True)
class _Row:
    quantity: int
    price: Decimal
    discount: Decimal
    tax: Decimal
    shipping: Decimal
    shipping_tax: Decimal


def _money(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
           ) -> MarketplaceMoney | None:
    """The order at Amazon's amounts, when it carries its ``OrderTotal``. Each item's
    ``ItemPrice`` is its line's price for ``QuantityOrdered`` (tax included in EU
    marketplaces, not in the US: whichever makes the items add up to the total, the tax
    being ``ItemTax``); ``PromotionDiscount`` is its discount; the shipping is every
    item's ``ShippingPrice`` less its ``ShippingDiscount``, taxed by its ``ShippingTax``
    (the discounts' own tax, ``PromotionDiscountTax`` and ``ShippingDiscountTax``, taken
    off). Amazon's orders are paid at Amazon."""
    total_raw = order.get("OrderTotal")
    if total_raw is None:
        return None
    total_of = mapping(total_raw, "OrderTotal")
    total = optional_amount(total_of.get("Amount"), "OrderTotal.Amount") or Decimal(0)
    rows = []
    for n, item in enumerate(items):
        what = f"OrderItems[{n}]"

        def of(key: str, what: str = what, item: Mapping[str, Any] = item) -> Decimal:
            return _money_of(item, key, what)

        rows.append(_Row(
            quantity=int(item.get("QuantityOrdered") or 0), price=of("ItemPrice"),
            discount=of("PromotionDiscount"),
            tax=of("ItemTax") - of("PromotionDiscountTax"),
            shipping=of("ShippingPrice") - of("ShippingDiscount"),
            shipping_tax=of("ShippingTax") - of("ShippingDiscountTax")))
    shipping = sum((r.shipping for r in rows), Decimal(0))
    shipping_tax = sum((r.shipping_tax for r in rows), Decimal(0))
    included = sum((r.price - r.discount for r in rows), shipping) == total
    name = "VAT" if included else "Tax"
    currency = str(total_of.get("CurrencyCode") or "")
    rates: list[Decimal] = []  # the largest lines' first, for the others to reproduce
    for r in sorted(rows, key=lambda r: r.price - r.discount, reverse=True):
        if r.tax:
            rates.append(_rate(r.tax, r.price - r.discount, included, currency, rates))

    def taxes(tax: Decimal, base: Decimal) -> list[MarketplaceTax]:
        if not tax:
            return []
        return [MarketplaceTax(rate=_rate(tax, base, included, currency, rates), name=name,
                               amount=tax)]

    lines = [LinePrice(
        unit_price=r.price / r.quantity if r.quantity else r.price,
        line_amount=r.price, discount=r.discount,
        taxes=taxes(r.tax, r.price - r.discount)) for r in rows]
    return MarketplaceMoney(
        currency=currency, total=total, taxes_included=included,
        lines=lines, shipping=shipping, shipping_taxes=taxes(shipping_tax, shipping),
        financial_status="paid" if order.get("OrderStatus") in PAID else "pending")


class AmazonOrders:
    def __init__(self, settings: Mapping[str, Any], *, retries: int = 5,
                 backoff: float = 1.0) -> None:
        self.settings = settings
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.AsyncClient(timeout=30)
        self._token: str | None = None
        self._expires = 0.0

    async def _access_token(self) -> str:
        if self._token is None or time.monotonic() > self._expires - 60:
            response = await self._client.post(self.settings.get("lwaUrl") or LWA_URL, data={
                "grant_type": "refresh_token", "refresh_token": self.settings["refreshToken"],
                "client_id": self.settings["clientId"],
                "client_secret": self.settings["clientSecret"]})
            if response.status_code != 200:
                raise AmazonUnavailable(f"Login with Amazon: HTTP {response.status_code}")
            body = response.json()
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 3600))
        return self._token

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One SP-API call with a fresh access token, retried with backoff on 429 and 5xx."""
        base = self.settings.get("apiBase") or SP_API
        for attempt in range(self.retries + 1):
            response = await self._client.request(method, f"{base}{path}", params=params,
                                                   json=body, headers={
                "x-amz-access-token": await self._access_token()})
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self.retries:
                    raise AmazonUnavailable(f"HTTP {response.status_code} after {attempt} retries")
                await asyncio.sleep(self.backoff * 2 ** attempt)
                continue
            response.raise_for_status()
            answer: dict[str, Any] = response.json() if response.content else {}
            return answer
        raise AmazonUnavailable("unreachable")

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = (await self.request("GET", path, params=params))["payload"]
        return payload

    async def pages(self, since: str) -> AsyncIterator[tuple[list[ImportedOrder], str]]:
        """Orders updated after ``since``, a page at a time, with the cursor after each page."""
        params: dict[str, Any] = {"MarketplaceIds": self.settings["marketplaceId"],
                                  "LastUpdatedAfter": since}
        while True:
            page = await self._get("/orders/v0/orders", params)
            imported = []
            cursor = since
            for order in page.get("Orders", []):
                cursor = max(cursor, str(order["LastUpdateDate"]))
                if order.get("OrderStatus") not in IMPORTABLE:
                    continue
                items = await self._get(f"/orders/v0/orders/{order['AmazonOrderId']}"
                                        "/orderItems", {})
                rows = items.get("OrderItems", [])
                imported.append(ImportedOrder(
                    external_id=str(order["AmazonOrderId"]),
                    lines=[(str(i["SellerSKU"]), int(i["QuantityOrdered"])) for i in rows],
                    email=(order.get("BuyerInfo") or {}).get("BuyerEmail"),
                    shipping_address=_address(order.get("ShippingAddress")),
                    po_number=str(order["AmazonOrderId"]), money=_money(order, rows)))
            yield imported, cursor
            token = page.get("NextToken")
            if not token:
                return
            params = {"MarketplaceIds": self.settings["marketplaceId"], "NextToken": token}

    async def close(self) -> None:
        await self._client.aclose()


class AmazonSeller:
    """Stock and shipments back to Amazon, for the marketplace sync (an InventoryPusher).

    Quantities go through the Listings Items API (``fulfillment_availability``);
    Amazon offers no compare-and-set, so the last pushed quantity is checked by
    reading the listing first. Shipments are confirmed on the order with their
    tracking number.
    """

    def __init__(self) -> None:
        self._clients: dict[str, AmazonOrders] = {}

    def _client(self, settings: Mapping[str, Any]) -> AmazonOrders:
        key = str(settings["refreshToken"])
        if key not in self._clients:
            self._clients[key] = AmazonOrders(settings)
        return self._clients[key]

    async def find_item(self, settings: Mapping[str, Any], sku: str) -> str | None:
        return sku  # Amazon lists by the seller's own SKU

    async def get_quantity(self, settings: Mapping[str, Any], item: str) -> int | None:
        listing = await self._client(settings).request(
            "GET", f"/listings/2021-08-01/items/{settings['sellerId']}/{item}",
            params={"marketplaceIds": settings["marketplaceId"],
                    "includedData": "fulfillmentAvailability"})
        for entry in listing.get("fulfillmentAvailability", []):
            if entry.get("fulfillmentChannelCode") == "DEFAULT":
                return int(entry.get("quantity", 0))
        return None

    async def set_quantity(self, settings: Mapping[str, Any], item: str, quantity: int,
                           compare: int | None) -> None:
        from domain.marketplaces.sync import StaleQuantity

        if compare is not None:
            held = await self.get_quantity(settings, item)
            if held is not None and held != compare:
                raise StaleQuantity(held)
        await self._client(settings).request(
            "PATCH", f"/listings/2021-08-01/items/{settings['sellerId']}/{item}",
            params={"marketplaceIds": settings["marketplaceId"]},
            body={"productType": "PRODUCT", "patches": [{
                "op": "replace", "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]}]})

    async def report_fulfillment(self, settings: Mapping[str, Any], report: Any) -> None:
        client = self._client(settings)
        order_id = report.external_order_id
        items = (await client.request("GET", f"/orders/v0/orders/{order_id}/orderItems")
                 )["payload"]["OrderItems"]
        wanted = dict(report.lines)
        lines = [{"orderItemId": i["OrderItemId"], "quantity": wanted[i["SellerSKU"]]}
                 for i in items if wanted.get(i["SellerSKU"])]
        await client.request("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation", body={
            "marketplaceId": settings["marketplaceId"],
            "packageDetail": {"packageReferenceId": "1", "carrierCode": report.carrier or "Other",
                              "trackingNumber": report.tracking_number,
                              "shipDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "orderItems": lines}})

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
