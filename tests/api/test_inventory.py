"""Stock through the API: set, adjust, transfer, availability, and idempotent retries."""

from __future__ import annotations

from tests import factories
from tests.support import GraphQLClient, codes

SET = """mutation($input: InventorySetInput!) { inventorySet(input: $input) {
  stockLevel { onHand reserved available safetyStock lowStockThreshold location { code } }
  userErrors { field code message } } }"""
ADJUST = """mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) {
  stockLevel { onHand available } userErrors { field code message } } }"""
TRANSFER = """mutation($input: InventoryTransferInput!) { inventoryTransfer(input: $input) {
  from { onHand location { code } } to { onHand location { code } }
  userErrors { field code message } } }"""
AVAILABILITY = """query($skus: [String!]!, $channel: String) {
  availability(skus: $skus, channel: $channel) {
    sku available backorderable locations { location { code } available } } }"""


async def _shop() -> None:
    await factories.location("berlin", priority=1)
    await factories.location("paris", priority=2)
    await factories.location("outlet", priority=3)
    await factories.channel("web", locations=["berlin", "paris"])
    await factories.product("SHOE")


async def _on_hand(api: GraphQLClient, sku: str = "SHOE") -> dict[str, int]:
    data = await api('query($sku: String!) { variant(sku: $sku) { stock { location { code } '
                     'onHand } } }', {"sku": sku})
    return {s["location"]["code"]: s["onHand"] for s in data["variant"]["stock"]}


async def test_count_adjust_and_transfer_stock(api: GraphQLClient) -> None:
    await _shop()
    counted = await api(SET, {"input": {"sku": "SHOE", "location": "berlin", "onHand": 10,
                                        "safetyStock": 2, "lowStockThreshold": 3}})
    assert counted["inventorySet"]["stockLevel"] == {
        "onHand": 10, "reserved": 0, "available": 8, "safetyStock": 2, "lowStockThreshold": 3,
        "location": {"code": "berlin"},
    }
    received = await api(ADJUST, {"input": {"sku": "SHOE", "location": "paris", "delta": 5,
                                            "reason": "purchase order 17"}})
    assert received["inventoryAdjust"]["stockLevel"] == {"onHand": 5, "available": 5}
    moved = await api(TRANSFER, {"input": {"sku": "SHOE", "from": "berlin", "to": "paris",
                                           "quantity": 8}})
    assert moved["inventoryTransfer"]["from"]["onHand"] == 2
    assert moved["inventoryTransfer"]["to"]["onHand"] == 13
    assert await _on_hand(api) == {"berlin": 2, "paris": 13}


async def test_availability_counts_only_the_channels_locations(api: GraphQLClient) -> None:
    await _shop()
    await factories.product("UNTRACKED", track_inventory=False)
    await factories.stock("SHOE", {"berlin": 4, "paris": 3, "outlet": 50})
    await api(SET, {"input": {"sku": "SHOE", "location": "paris", "onHand": 3,
                              "safetyStock": 5}})
    data = await api(AVAILABILITY, {"skus": ["SHOE", "UNTRACKED", "GHOST"], "channel": "web"},
                     admin=False)
    assert data["availability"] == [
        {"sku": "SHOE", "available": 4, "backorderable": False, "locations": [
            {"location": {"code": "berlin"}, "available": 4},
            {"location": {"code": "paris"}, "available": 0}]},
        {"sku": "UNTRACKED", "available": 0, "backorderable": True, "locations": []},
    ]
    everywhere = await api(AVAILABILITY, {"skus": ["SHOE"]}, admin=False)
    assert everywhere["availability"][0]["available"] == 54
    errors = await api.errors(AVAILABILITY, {"skus": ["SHOE"], "channel": "nope"}, admin=False)
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert "UNKNOWN_CHANNEL" in errors[0]["message"]


async def test_bad_stock_input_gets_clear_errors_and_changes_nothing(api: GraphQLClient) -> None:
    await _shop()
    await factories.stock("SHOE", {"berlin": 5})
    cases = [
        (SET, {"sku": "NOPE", "location": "berlin", "onHand": 1}, "inventorySet", ["UNKNOWN_SKU"]),
        (SET, {"sku": "SHOE", "location": "nowhere", "onHand": 1}, "inventorySet",
         ["UNKNOWN_LOCATION"]),
        (SET, {"sku": "SHOE", "location": "berlin", "onHand": -1}, "inventorySet",
         ["INVALID_INPUT"]),
        (ADJUST, {"sku": "SHOE", "location": "berlin", "delta": -6, "reason": "lost"},
         "inventoryAdjust", ["STOCK_BELOW_RESERVED"]),
        (ADJUST, {"sku": "SHOE", "location": "berlin", "delta": 0, "reason": "x"},
         "inventoryAdjust", ["INVALID_INPUT"]),
        (ADJUST, {"sku": "SHOE", "location": "berlin", "delta": 1, "reason": "r" * 501},
         "inventoryAdjust", ["INVALID_INPUT"]),
        (TRANSFER, {"sku": "SHOE", "from": "berlin", "to": "paris", "quantity": 6},
         "inventoryTransfer", ["INSUFFICIENT_STOCK"]),
        (TRANSFER, {"sku": "SHOE", "from": "berlin", "to": "paris", "quantity": 0},
         "inventoryTransfer", ["INVALID_INPUT"]),
        (TRANSFER, {"sku": "SHOE", "from": "berlin", "to": "mars", "quantity": 1},
         "inventoryTransfer", ["UNKNOWN_LOCATION"]),
    ]
    for document, variables, field, expected in cases:
        payload = (await api(document, {"input": variables}))[field]
        assert codes(payload) == expected, (variables, payload)
    shortfall = (await api(TRANSFER, {"input": {"sku": "SHOE", "from": "berlin", "to": "paris",
                                                "quantity": 6}}))["inventoryTransfer"]
    assert "6 requested, 5 available" in shortfall["userErrors"][0]["message"]
    assert await _on_hand(api) == {"berlin": 5}
    non_integer = await api.errors(SET, {"input": {"sku": "SHOE", "location": "berlin",
                                                   "onHand": 1.5}})
    assert non_integer[0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_repeated_idempotency_key_applies_once(api: GraphQLClient) -> None:
    await _shop()
    adjust = {"sku": "SHOE", "location": "berlin", "delta": 5, "reason": "delivery",
              "idempotencyKey": "delivery-1"}
    first = await api(ADJUST, {"input": adjust})
    again = await api(ADJUST, {"input": adjust})
    assert first == again
    assert await _on_hand(api) == {"berlin": 5}
    other = await api(ADJUST, {"input": {**adjust, "delta": 7}})
    assert codes(other["inventoryAdjust"]) == ["IDEMPOTENCY_KEY_REUSED"]
    header = {"Idempotency-Key": "count-1"}
    count = {"sku": "SHOE", "location": "paris", "onHand": 3}
    await api(SET, {"input": count}, headers=header)
    await api(ADJUST, {"input": {"sku": "SHOE", "location": "paris", "delta": 1,
                                 "reason": "found"}})
    replay = await api(SET, {"input": count}, headers=header)
    assert replay["inventorySet"]["stockLevel"]["onHand"] == 4  # the count was not applied again
    assert await _on_hand(api) == {"berlin": 5, "paris": 4}
