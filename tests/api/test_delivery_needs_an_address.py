"""An order to be delivered needs a shipping address; one collected in store does not."""

from __future__ import annotations

from domain.inventory.models import StockLevel
from domain.orders.models import Order
from tests import factories
from tests.api.test_orders import CREATE
from tests.support import GraphQLClient


def _input(**extra: object) -> dict[str, object]:
    return {"input": {"channel": "web", "email": "ann@example.com",
                      "lines": [{"sku": "SHOE", "quantity": 1}], **extra}}


async def test_an_order_without_address_or_pickup_is_refused(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    refused = (await api(CREATE, _input()))["orderCreate"]
    assert refused["order"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["shippingAddress"], "INVALID_INPUT")]
    assert "shipping address" in refused["userErrors"][0]["message"]
    assert await Order.all().count() == 0
    assert [s.reserved for s in await StockLevel.all()] == [0]


async def test_a_pickup_order_needs_no_shipping_address(api: GraphQLClient) -> None:
    await factories.location("store", pickup=True, kind=factories.LocationKind.STORE)
    await factories.channel("web", locations=["store"])
    await factories.product("SHOE")
    await factories.stock("SHOE", {"store": 3})
    placed = (await api(CREATE, _input(pickupLocation="store")))["orderCreate"]
    assert placed["userErrors"] == [] and placed["order"]["status"] == "PENDING"
