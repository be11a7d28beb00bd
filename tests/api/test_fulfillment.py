"""Shipping orders through the API: shipments, stock leaving, tracking, completion."""

from __future__ import annotations

from typing import Any

from domain.inventory.models import StockLevel
from tests import factories
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes

ORDER = """query($n: String!) { order(number: $n) { id status fulfillmentStatus
  lines { id sku quantity quantityShipped quantityAllocated }
  shipments { id status location { code } lines { quantity orderLine { sku } } }
  events { sequence type message } } }"""
SHIPMENT_FIELDS = """shipment { id status carrier trackingNumber trackingUrl location { code }
  lines { quantity orderLine { sku } } events { sequence status description } }
  userErrors { field code message }"""
CREATE = f"""mutation($input: ShipmentCreateInput!) {{ shipmentCreate(input: $input) {{
  {SHIPMENT_FIELDS} }} }}"""
SHIP = f"""mutation($input: ShipmentShipInput!) {{ shipmentShip(input: $input) {{
  {SHIPMENT_FIELDS} }} }}"""
TRACK = f"""mutation($input: TrackingEventInput!) {{ shipmentTrackingEventAdd(input: $input) {{
  {SHIPMENT_FIELDS} }} }}"""
CANCEL = f"""mutation($id: ID!) {{ shipmentCancel(id: $id) {{ {SHIPMENT_FIELDS} }} }}"""


async def _order(api: GraphQLClient, number: str = "1001") -> dict[str, Any]:
    return (await api(ORDER, {"n": number}))["order"]


async def _confirmed(api: GraphQLClient, lines: dict[str, int], **extra: Any) -> dict[str, Any]:
    order = await factories.place(lines, **extra)
    gid = (await _order(api, order.number))["id"]  # type: ignore[attr-defined]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    return await _order(api, order.number)  # type: ignore[attr-defined]


async def _stock(sku: str) -> dict[str, tuple[int, int]]:
    rows = await StockLevel.filter(variant__sku=sku).prefetch_related("location")
    return {r.location.code: (r.on_hand, r.reserved) for r in rows}


async def test_ship_track_and_deliver_an_order(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}, "TEE": {"berlin": 5}})
    order = await _confirmed(api, {"SHOE": 2, "TEE": 1})
    created = (await api(CREATE, {"input": {"orderId": order["id"], "carrier": "builtin"}}))
    shipment = created["shipmentCreate"]["shipment"]
    assert shipment["status"] == "PENDING" and shipment["location"] == {"code": "berlin"}
    assert sorted((ln["orderLine"]["sku"], ln["quantity"]) for ln in shipment["lines"]) == [
        ("SHOE", 2), ("TEE", 1)]
    assert await _stock("SHOE") == {"berlin": (5, 2)}  # still on the shelf

    shipped = (await api(SHIP, {"input": {"shipmentId": shipment["id"],
                                          "trackingNumber": "TRK-1"}}))["shipmentShip"]
    assert shipped["userErrors"] == []
    assert shipped["shipment"]["status"] == "IN_TRANSIT"
    assert shipped["shipment"]["events"] == [
        {"sequence": 1, "status": "IN_TRANSIT", "description": "Shipped from berlin"}]
    assert await _stock("SHOE") == {"berlin": (3, 0)}
    after_ship = await _order(api)
    assert after_ship["fulfillmentStatus"] == "FULFILLED"
    assert [ln["quantityShipped"] for ln in after_ship["lines"]] == [2, 1]

    for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
        tracked = await api(TRACK, {"input": {"shipmentId": shipment["id"], "status": status,
                                              "location": "Berlin"}})
        assert tracked["shipmentTrackingEventAdd"]["userErrors"] == []
    done = await _order(api)
    assert done["status"] == "COMPLETED"
    assert [e["type"] for e in done["events"]][-6:] == [
        "SHIPMENT_CREATED", "SHIPMENT_IN_TRANSIT", "ORDER_FULFILLED",
        "SHIPMENT_OUT_FOR_DELIVERY", "SHIPMENT_DELIVERED", "ORDER_COMPLETED"]
    by_number = await api('{ shipment(trackingNumber: "TRK-1") { status events { status } } }')
    assert by_number["shipment"]["status"] == "DELIVERED"
    await assert_ledger_matches()


async def test_partial_shipments_and_what_remains(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    order = await _confirmed(api, {"SHOE": 3})
    line_id = order["lines"][0]["id"]
    first = (await api(CREATE, {"input": {"orderId": order["id"], "lines": [
        {"orderLineId": line_id, "quantity": 2}]}}))["shipmentCreate"]["shipment"]
    too_many = (await api(CREATE, {"input": {"orderId": order["id"], "lines": [
        {"orderLineId": line_id, "quantity": 2}]}}))["shipmentCreate"]
    assert codes(too_many) == ["QUANTITY_EXCEEDS_REMAINING"]
    assert "1 remaining" in too_many["userErrors"][0]["message"]
    await api(SHIP, {"input": {"shipmentId": first["id"]}})
    assert (await _order(api))["fulfillmentStatus"] == "PARTIALLY_FULFILLED"
    rest = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]
    assert [ln["quantity"] for ln in rest["shipment"]["lines"]] == [1]
    await api(SHIP, {"input": {"shipmentId": rest["shipment"]["id"]}})
    assert (await _order(api))["fulfillmentStatus"] == "FULFILLED"
    nothing = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]
    assert codes(nothing) == ["INVALID_INPUT"]
    await assert_ledger_matches()


async def test_a_split_order_ships_from_each_location(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 2, "b": 3}})
    order = await _confirmed(api, {"SHOE": 5})
    first = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]
    assert first["shipment"]["location"] == {"code": "b"}  # the location holding the most
    second = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]
    assert second["shipment"]["location"] == {"code": "a"}
    assert [ln["quantity"] for ln in second["shipment"]["lines"]] == [2]


async def test_what_cannot_ship(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await factories.product("PRE", backorder=factories.BackorderPolicy.CONTINUE)
    await factories.stock("PRE", {"a": 0})
    pending = await factories.place({"SHOE": 1})
    gid = (await _order(api, pending.number))["id"]  # type: ignore[attr-defined]
    unconfirmed = (await api(CREATE, {"input": {"orderId": gid}}))["shipmentCreate"]
    assert codes(unconfirmed) == ["INVALID_TRANSITION"]
    order = await _confirmed(api, {"PRE": 2})
    created = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]
    refused = (await api(SHIP, {"input": {"shipmentId": created["shipment"]["id"]}}))
    assert codes(refused["shipmentShip"]) == ["INSUFFICIENT_STOCK"]
    await factories.stock("PRE", {"a": 2})  # the backordered units arrive
    shipped = (await api(SHIP, {"input": {"shipmentId": created["shipment"]["id"]}}))
    assert shipped["shipmentShip"]["shipment"]["status"] == "IN_TRANSIT"
    unknown = (await api(CREATE, {"input": {"orderId": "T3JkZXI6OTk5"}}))["shipmentCreate"]
    assert codes(unknown) == ["NOT_FOUND"]
    bad_carrier = (await api(CREATE, {"input": {"orderId": order["id"], "carrier": "ufo"}}))
    assert codes(bad_carrier["shipmentCreate"]) == ["INVALID_INPUT"]
    await assert_ledger_matches()


async def test_cancelling_a_shipment_that_has_not_left(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    order = await _confirmed(api, {"SHOE": 2})
    shipment = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"][
        "shipment"]
    cancelled = (await api(CANCEL, {"id": shipment["id"]}))["shipmentCancel"]
    assert cancelled["shipment"]["status"] == "CANCELLED"
    again = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]
    assert [ln["quantity"] for ln in again["shipment"]["lines"]] == [2]
    await api(SHIP, {"input": {"shipmentId": again["shipment"]["id"]}})
    gone = (await api(CANCEL, {"id": again["shipment"]["id"]}))["shipmentCancel"]
    assert codes(gone) == ["INVALID_TRANSITION"]
    await assert_ledger_matches()


async def test_tracking_absorbs_duplicates_and_never_goes_back(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    order = await _confirmed(api, {"SHOE": 1})
    sid = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]["shipment"][
        "id"]
    pending = await api(TRACK, {"input": {"shipmentId": sid, "status": "DELIVERED"}})
    assert codes(pending["shipmentTrackingEventAdd"]) == ["INVALID_TRANSITION"]
    await api(SHIP, {"input": {"shipmentId": sid}})
    event = {"shipmentId": sid, "status": "OUT_FOR_DELIVERY", "externalId": "evt-1",
             "occurredAt": "2099-01-01T10:00:00Z"}
    await api(TRACK, {"input": event})
    twice = (await api(TRACK, {"input": event}))["shipmentTrackingEventAdd"]["shipment"]
    assert [e["status"] for e in twice["events"]] == ["IN_TRANSIT", "OUT_FOR_DELIVERY"]
    older = {"shipmentId": sid, "status": "IN_TRANSIT", "occurredAt": "2099-01-01T08:00:00Z",
             "description": "Hub scan"}
    kept = (await api(TRACK, {"input": older}))["shipmentTrackingEventAdd"]["shipment"]
    assert kept["status"] == "OUT_FOR_DELIVERY"  # recorded, but the parcel does not go back
    assert [e["description"] for e in kept["events"]][-1] == "Hub scan"
    await api(TRACK, {"input": {"shipmentId": sid, "status": "DELIVERED",
                                "occurredAt": "2099-01-01T12:00:00Z"}})
    after = (await api(TRACK, {"input": {"shipmentId": sid, "status": "EXCEPTION",
                                         "occurredAt": "2099-01-01T13:00:00Z"}}))
    assert codes(after["shipmentTrackingEventAdd"]) == ["INVALID_TRANSITION"]


async def test_click_and_collect(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"wh": 10}})
    await factories.location("store", kind=factories.LocationKind.STORE, pickup=True)
    await factories.channel("shop", locations=["wh", "store"])
    await factories.stock("SHOE", {"store": 2})
    order = await _confirmed(api, {"SHOE": 2}, channel="shop", pickup_location="store")
    assert order["lines"][0]["quantityAllocated"] == 2
    assert await _stock("SHOE") == {"wh": (10, 0), "store": (2, 2)}
    sid = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"]["shipment"][
        "id"]
    ready = (await api(SHIP, {"input": {"shipmentId": sid}}))["shipmentShip"]["shipment"]
    assert ready["status"] == "READY_FOR_PICKUP"
    await api(TRACK, {"input": {"shipmentId": sid, "status": "PICKED_UP"}})
    assert (await _order(api))["status"] == "COMPLETED"
    assert await _stock("SHOE") == {"wh": (10, 0), "store": (0, 0)}
    only_the_store = await api(
        "mutation($input: OrderCreateInput!) { orderCreate(input: $input) "
        "{ userErrors { code message } } }",
        {"input": {"channel": "shop", "email": "a@example.com", "pickupLocation": "store",
                   "lines": [{"sku": "SHOE", "quantity": 1}]}})
    assert codes(only_the_store["orderCreate"]) == ["INSUFFICIENT_STOCK"]


async def test_a_delivery_stamped_just_before_our_ship_time_is_applied(api: GraphQLClient) -> None:
    from datetime import datetime, timedelta

    await factories.shop({"SHOE": {"berlin": 5}})
    order = await _confirmed(api, {"SHOE": 1})
    sid = (await api(CREATE, {"input": {"orderId": order["id"]}}))["shipmentCreate"][
        "shipment"]["id"]
    await api(SHIP, {"input": {"shipmentId": sid, "trackingNumber": "TRK-SKEW"}})
    shipped_at = datetime.fromisoformat(
        (await api('{ shipment(trackingNumber: "TRK-SKEW") { shippedAt } }'))[
            "shipment"]["shippedAt"])
    long_before = (await api(TRACK, {"input": {
        "shipmentId": sid, "status": "DELIVERED",
        "occurredAt": (shipped_at - timedelta(hours=1)).isoformat()}}))
    assert long_before["shipmentTrackingEventAdd"]["shipment"]["status"] == "IN_TRANSIT"
    just_before = (await api(TRACK, {"input": {
        "shipmentId": sid, "status": "DELIVERED", "description": "Delivered",
        "occurredAt": (shipped_at - timedelta(milliseconds=300)).isoformat()}}))
    tracked = just_before["shipmentTrackingEventAdd"]
    assert tracked["userErrors"] == [] and tracked["shipment"]["status"] == "DELIVERED"
    assert (await _order(api))["status"] == "COMPLETED"
