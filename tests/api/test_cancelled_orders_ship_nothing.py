"""A cancelled or held order ships nothing; an order whose parcel left cannot be cancelled."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.api.test_fulfillment import CREATE, SHIP, _confirmed, _order, _stock
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes

CANCEL_ORDER = """mutation($id: ID!) { orderCancel(id: $id) { order { status }
  userErrors { field code message } } }"""
HOLD = """mutation($id: ID!) { orderHold(id: $id, reason: "fraud check") { order { status }
  userErrors { code } } }"""


async def _create(api: GraphQLClient, order: dict[str, Any]) -> dict[str, Any]:
    return (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]


async def test_a_cancelled_order_does_not_ship_its_pending_shipment(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    order = await _confirmed(api, {"SHOE": 1})
    shipment = (await _create(api, order))["shipment"]
    cancelled = (await api(CANCEL_ORDER, {"id": order["id"]}))["orderCancel"]
    assert cancelled["userErrors"] == [] and cancelled["order"]["status"] == "CANCELLED"
    assert await _stock("SHOE") == {"berlin": (5, 0)}

    refused = (await api(SHIP, {"input": {"shipmentId": shipment["id"],
                                          "trackingNumber": "TRK-9"}}))["shipmentShip"]
    assert codes(refused) == ["INVALID_TRANSITION"]
    after = await _order(api)
    assert (after["status"], after["fulfillmentStatus"]) == ("CANCELLED", "UNFULFILLED")
    assert [ln["quantityShipped"] for ln in after["lines"]] == [0]
    assert [s["status"] for s in after["shipments"]] == ["CANCELLED"]  # cancelled with it
    assert "SHIPMENT_CANCELLED" in [e["type"] for e in after["events"]]
    assert await _stock("SHOE") == {"berlin": (5, 0)}
    assert codes(await _create(api, order)) == ["INVALID_TRANSITION"]
    await assert_ledger_matches()


async def test_an_order_whose_shipment_left_cannot_be_cancelled(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    order = await _confirmed(api, {"SHOE": 2})
    line = order["lines"][0]["id"]
    first = (await api(CREATE, {"input": {"orderId": order["id"], "lines": [
        {"orderLineId": line, "quantity": 1}]}}))["shipmentCreate"]["shipment"]
    await api(SHIP, {"input": {"shipmentId": first["id"]}})
    refused = (await api(CANCEL_ORDER, {"id": order["id"]}))["orderCancel"]
    assert codes(refused) == ["INVALID_TRANSITION"]
    after = await _order(api)
    assert after["status"] == "CONFIRMED"
    assert await _stock("SHOE") == {"berlin": (4, 1)}
    await assert_ledger_matches()


async def test_a_held_order_creates_and_ships_no_shipment(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    placed = await factories.place({"SHOE": 1})
    gid = (await _order(api, placed.number))["id"]  # type: ignore[attr-defined]
    assert (await api(HOLD, {"id": gid}))["orderHold"]["userErrors"] == []
    refused = await _create(api, {"id": gid})
    assert codes(refused) == ["INVALID_TRANSITION"]
    after = await _order(api)
    assert (after["status"], after["shipments"]) == ("ON_HOLD", [])
    assert await _stock("SHOE") == {"berlin": (5, 1)}
