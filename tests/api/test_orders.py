"""Placing orders through the API: pricing, routing, reservation, and the bad input."""

from __future__ import annotations

from typing import Any

from domain.inventory.models import StockLevel
from domain.orders.models import Order
from tests import factories
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number status paymentStatus fulfillmentStatus email
    subtotal { amount currency } total { amount currency } shippingTotal { amount }
    channel { code } customer { email }
    lines { sku quantity unitPrice { amount } total { amount } quantityAllocated
            quantityBackordered allocations { location { code } quantity } }
    events { sequence type message actor } }
  userErrors { field code message } } }"""
ADDRESS = {"name": "Ann Buyer", "line1": "Hauptstr. 5", "city": "Berlin", "postalCode": "10117",
           "country": "DE"}


def order_input(lines: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {"input": {"channel": "web", "email": "Ann@Example.com", "shippingAddress": ADDRESS,
                      "lines": [{"sku": s, "quantity": q} for s, q in lines.items()], **extra}}


async def _reserved() -> dict[tuple[str, str], int]:
    rows = await StockLevel.all().prefetch_related("variant", "location")
    return {(r.variant.sku, r.location.code): r.reserved for r in rows if r.reserved}


async def test_an_order_is_priced_from_the_catalogue_and_reserves_its_stock(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"berlin": 5}, "TEE": {"berlin": 9}})
    data = await api(CREATE, order_input({"SHOE": 2, "TEE": 1}))
    payload = data["orderCreate"]
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["number"] == "1001"
    assert (order["status"], order["paymentStatus"], order["fulfillmentStatus"]) == (
        "PENDING", "UNPAID", "UNFULFILLED")
    assert order["email"] == "ann@example.com"
    assert order["customer"] == {"email": "ann@example.com"}
    assert order["subtotal"] == {"amount": "30.00", "currency": "EUR"}
    assert order["total"] == {"amount": "30.00", "currency": "EUR"}
    assert [(ln["sku"], ln["unitPrice"]["amount"], ln["total"]["amount"],
             ln["quantityAllocated"]) for ln in order["lines"]] == [
        ("SHOE", "10.00", "20.00", 2), ("TEE", "10.00", "10.00", 1)]
    assert [(e["sequence"], e["type"]) for e in order["events"]] == [
        (1, "ORDER_PLACED"), (2, "STOCK_RESERVED")]
    assert "berlin can serve the whole order" in order["events"][1]["message"]
    assert await _reserved() == {("SHOE", "berlin"): 2, ("TEE", "berlin"): 1}
    availability = await api('{ availability(skus: ["SHOE"], channel: "web") { available } }')
    assert availability["availability"] == [{"available": 3}]
    await assert_ledger_matches()


async def test_one_location_serving_everything_beats_a_preferred_partial_one(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"near": 5, "far": 5}, "TEE": {"near": 0, "far": 2}},
                         priorities={"near": 1, "far": 2})
    order = (await api(CREATE, order_input({"SHOE": 2, "TEE": 2})))["orderCreate"]["order"]
    assert {(a["location"]["code"], a["quantity"]) for ln in order["lines"]
            for a in ln["allocations"]} == {("far", 2)}


async def test_an_order_no_location_can_serve_alone_is_split(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 2, "b": 3, "c": 10}}, priorities={"a": 1, "b": 2, "c": 3})
    await factories.location("elsewhere")
    await factories.stock("SHOE", {"elsewhere": 100})
    order = (await api(CREATE, order_input({"SHOE": 12})))["orderCreate"]["order"]
    allocations = {a["location"]["code"]: a["quantity"] for a in order["lines"][0]["allocations"]}
    # c covers the most, then a (priority 1) and b both cover the rest: the preferred one wins.
    assert allocations == {"c": 10, "a": 2}
    assert "split across c, a" in order["events"][1]["message"]


async def test_short_stock_names_every_short_sku_and_writes_nothing(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 2, "b": 1}, "TEE": {"a": 1}, "CAP": {"a": 5}})
    payload = (await api(CREATE, order_input({"SHOE": 4, "TEE": 2, "CAP": 1})))["orderCreate"]
    assert payload["order"] is None
    assert [(e["code"], e["message"]) for e in payload["userErrors"]] == [
        ("INSUFFICIENT_STOCK", "Not enough stock for SHOE: 4 requested, 3 available"),
        ("INSUFFICIENT_STOCK", "Not enough stock for TEE: 2 requested, 1 available"),
    ]
    assert await Order.all().count() == 0
    assert await _reserved() == {}
    placed = (await api(CREATE, order_input({"CAP": 1})))["orderCreate"]["order"]
    assert placed["number"] == "1001"  # the refused order took no number
    await assert_ledger_matches()


async def test_lines_sharing_a_sku_are_summed_before_the_check(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 3}})
    variables = order_input({})
    variables["input"]["lines"] = [{"sku": "SHOE", "quantity": 2}, {"sku": "SHOE", "quantity": 2}]
    payload = (await api(CREATE, variables))["orderCreate"]
    assert codes(payload) == ["INSUFFICIENT_STOCK"]
    variables["input"]["lines"][1]["quantity"] = 1
    order = (await api(CREATE, variables))["orderCreate"]["order"]
    assert [ln["quantityAllocated"] for ln in order["lines"]] == [2, 1]


async def test_backorderable_and_untracked_variants(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 1}})
    await factories.product("PRE", backorder=factories.BackorderPolicy.CONTINUE)
    await factories.stock("PRE", {"a": 2})
    await factories.product("GIFTCARD", track_inventory=False)
    order = (await api(CREATE, order_input({"PRE": 5, "GIFTCARD": 3})))["orderCreate"]["order"]
    pre, gift = order["lines"]
    assert (pre["quantityAllocated"], pre["quantityBackordered"]) == (5, 3)
    assert (gift["quantityAllocated"], gift["allocations"]) == (0, [])
    stock = await api('{ variant(sku: "PRE") { stock { onHand reserved available } } }')
    assert stock["variant"]["stock"] == [{"onHand": 2, "reserved": 5, "available": -3}]
    availability = await api('{ availability(skus: ["PRE"]) { available backorderable } }')
    assert availability["availability"] == [{"available": 0, "backorderable": True}]
    await assert_ledger_matches()


async def test_an_idempotent_retry_returns_the_first_order(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    variables = order_input({"SHOE": 1}, idempotencyKey="cart-42")
    first = (await api(CREATE, variables))["orderCreate"]["order"]
    again = (await api(CREATE, variables))["orderCreate"]["order"]
    assert again["id"] == first["id"]
    assert await Order.all().count() == 1
    changed = (await api(CREATE, order_input({"SHOE": 2}, idempotencyKey="cart-42")))
    assert codes(changed["orderCreate"]) == ["IDEMPOTENCY_KEY_REUSED"]
    by_header = order_input({"SHOE": 1})
    one = (await api(CREATE, by_header, headers={"Idempotency-Key": "h-1"}))["orderCreate"]
    two = (await api(CREATE, by_header, headers={"Idempotency-Key": "h-1"}))["orderCreate"]
    assert one["order"]["id"] == two["order"]["id"]
    assert await _reserved() == {("SHOE", "a"): 2}


async def test_a_repeated_external_id_returns_the_existing_order(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    first = (await api(CREATE, order_input({"SHOE": 1}, externalId="AMZ-1")))["orderCreate"]
    again = (await api(CREATE, order_input({"SHOE": 1}, externalId="AMZ-1")))["orderCreate"]
    assert again["order"]["number"] == first["order"]["number"]
    assert again["userErrors"] == []
    assert await _reserved() == {("SHOE", "a"): 1}


async def test_bad_orders_get_clear_errors_and_change_nothing(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await factories.product("USD-ONLY", currency="USD")
    long = "x" * 129
    cases: list[tuple[dict[str, Any], list[tuple[list[str] | None, str]]]] = [
        (order_input({}), [(["lines"], "INVALID_INPUT")]),
        (order_input({"SHOE": 0}), [(["lines", "0", "quantity"], "INVALID_INPUT")]),
        (order_input({"SHOE": -2}), [(["lines", "0", "quantity"], "INVALID_INPUT")]),
        (order_input({f"S{i}": 1 for i in range(251)}), [(["lines"], "INVALID_INPUT")]),
        (order_input({"NOPE": 1}), [(["lines", "0", "sku"], "UNKNOWN_SKU")]),
        (order_input({"SHOE": 1}, channel="mars"), [(["channel"], "UNKNOWN_CHANNEL")]),
        (order_input({"USD-ONLY": 1}), [(["lines", "0", "sku"], "NO_PRICE")]),
        (order_input({"SHOE": 1}, shippingAddress={**ADDRESS, "country": ""}),
         [(["shippingAddress", "country"], "INVALID_ADDRESS")]),
        (order_input({"SHOE": 1}, shippingAddress={**ADDRESS, "postalCode": "1234"}),
         [(["shippingAddress", "postalCode"], "INVALID_ADDRESS")]),
        (order_input({"SHOE": 1}, externalId=long), [(["externalId"], "INVALID_INPUT")]),
        (order_input({"SHOE": 1}, email="not-an-email"), [(["email"], "INVALID_INPUT")]),
        (order_input({"SHOE": 1}, pickupLocation="a"), [(["pickupLocation"], "INVALID_INPUT")]),
    ]
    for variables, expected in cases:
        payload = (await api(CREATE, variables))["orderCreate"]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, variables
        assert payload["order"] is None
    assert await Order.all().count() == 0
    assert await _reserved() == {}


async def test_shipping_is_priced_from_the_carrier_rates(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    order = (await api(CREATE, order_input({"SHOE": 1}, shippingMethod="express")))[
        "orderCreate"]["order"]
    assert order["shippingTotal"] == {"amount": "9.90"}
    assert order["total"] == {"amount": "19.90", "currency": "EUR"}
    unknown = (await api(CREATE, order_input({"SHOE": 1}, shippingMethod="teleport")))
    assert [(e["field"], e["code"]) for e in unknown["orderCreate"]["userErrors"]] == [
        (["shippingMethod"], "INVALID_INPUT")]


async def test_routing_prefers_the_nearest_location_and_says_why(api: GraphQLClient) -> None:
    await factories.location("berlin", priority=2, latitude=52.52, longitude=13.40)
    await factories.location("paris", priority=1, country="FR", latitude=48.86, longitude=2.35)
    await factories.channel("web", locations=["berlin", "paris"])
    await factories.product("SHOE")
    await factories.stock("SHOE", {"berlin": 5, "paris": 5})
    near_hamburg = {**ADDRESS, "postalCode": "20095", "city": "Hamburg", "latitude": 53.55,
                    "longitude": 9.99}
    order = (await api(CREATE, order_input({"SHOE": 1}, shippingAddress=near_hamburg)))[
        "orderCreate"]["order"]
    assert order["lines"][0]["allocations"] == [{"location": {"code": "berlin"}, "quantity": 1}]
    assert "berlin is the nearest (" in order["events"][1]["message"]
