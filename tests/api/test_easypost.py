"""Labels from EasyPost (a local server speaking its API), tracking back by signed webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from domain.fulfillment.models import Shipment, TrackingEvent
from domain.orders.models import Order
from integrations.carriers.easypost import EasyPostCarrier
from tests import factories
from tests.fakes.easypost import API_KEY, WEBHOOK_SECRET, FakeEasyPost
from tests.support import GraphQLClient, codes

SHIP = """mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) {
  shipment { status carrier service trackingNumber labelUrl } userErrors { code message } } }"""
ADDRESS = {"name": "Ann", "line1": "Hauptstr. 5", "city": "Hamburg", "postalCode": "20095",
           "country": "DE"}


@pytest.fixture
async def easypost(app: Any) -> AsyncIterator[FakeEasyPost]:
    async with FakeEasyPost() as fake:
        carriers = app.state.services.carriers
        carriers["easypost"] = EasyPostCarrier(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                                               api_base=fake.url, timeout=2)
        try:
            yield fake
        finally:
            await carriers.pop("easypost").close()


async def _pending_shipment(api: GraphQLClient, service: str | None = None) -> tuple[str, str]:
    await factories.shop({"SHOE": {"a": 5}})
    order = await factories.place({"SHOE": 1}, shipping_address=ADDRESS)
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    created = await api("mutation($o: ID!, $svc: String) { shipmentCreate(input: {orderId: $o, "
                        'carrier: "easypost", service: $svc}) { shipment { id } } }',
                        {"o": gid, "svc": service})
    return gid, created["shipmentCreate"]["shipment"]["id"]


async def test_shipping_buys_the_cheapest_label_and_tracking_flows_back(
    api: GraphQLClient, easypost: FakeEasyPost,
) -> None:
    gid, sid = await _pending_shipment(api)
    shipped = (await api(SHIP, {"s": sid}))["shipmentShip"]
    shipment = shipped["shipment"]
    assert shipped["userErrors"] == []
    assert (shipment["status"], shipment["carrier"], shipment["service"]) == (
        "LABEL_PURCHASED", "easypost", "Standard")
    assert shipment["trackingNumber"].startswith("EZ")
    assert shipment["labelUrl"].startswith("https://labels.example/shp_")
    body, headers = easypost.tracker_updated(
        shipment["trackingNumber"], ("in_transit", "2099-03-01T08:00:00Z", "Berlin"),
        ("out_for_delivery", "2099-03-02T07:00:00Z", "Hamburg"),
        ("delivered", "2099-03-02T11:30:00Z", "Hamburg"))
    response = await api.http.post("/webhooks/carriers/easypost", content=body, headers=headers)
    assert response.json() == {"applied": 3, "unmatched": []}
    again = await api.http.post("/webhooks/carriers/easypost", content=body, headers=headers)
    assert again.status_code == 200  # EasyPost retries; nothing new is recorded
    row = await Shipment.get(tracking_number=shipment["trackingNumber"])
    assert await TrackingEvent.filter(shipment_id=row.id).count() == 4
    order = await api("query($id: ID!) { order(id: $id) { status events { type } } }",
                      {"id": gid})
    assert order["order"]["status"] == "COMPLETED"
    assert "SHIPMENT_DELIVERED" in [e["type"] for e in order["order"]["events"]]


async def test_a_forged_easypost_event_changes_nothing(
    api: GraphQLClient, easypost: FakeEasyPost,
) -> None:
    _, sid = await _pending_shipment(api)
    tracking = (await api(SHIP, {"s": sid}))["shipmentShip"]["shipment"]["trackingNumber"]
    body, _ = easypost.tracker_updated(tracking, ("delivered", "2099-03-02T11:30:00Z", "Kiel"))
    forged = {"X-Hmac-Signature": "hmac-sha256-hex=" + "0" * 64}
    assert (await api.http.post("/webhooks/carriers/easypost", content=body,
                                headers=forged)).status_code == 400
    assert (await Shipment.get(tracking_number=tracking)).status.value == "LABEL_PURCHASED"


async def test_a_lost_answer_is_retried_without_buying_twice(
    api: GraphQLClient, easypost: FakeEasyPost,
) -> None:
    _, sid = await _pending_shipment(api, service="Express")
    easypost.fail_next = [503]  # EasyPost is down when the shipment is first opened
    down = (await api(SHIP, {"s": sid}))["shipmentShip"]
    assert codes(down) == ["CARRIER_FAILED"]
    easypost.lose_next_purchase = True  # the label is bought, but its answer never arrives
    lost = (await api(SHIP, {"s": sid}))["shipmentShip"]
    assert codes(lost) == ["CARRIER_FAILED"]
    assert (await Shipment.get()).status.value == "PENDING"
    retried = (await api(SHIP, {"s": sid}))["shipmentShip"]["shipment"]
    assert (retried["status"], retried["service"]) == ("LABEL_PURCHASED", "Express")
    assert (easypost.calls["create"], easypost.calls["buy"]) == (1, 1)


async def test_an_address_the_carrier_refuses_is_a_clear_error(
    api: GraphQLClient, easypost: FakeEasyPost,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    order = await factories.place({"SHOE": 1})
    # One placed before a shipping address was required, without one.
    await Order.filter(id=order.id).update(shipping_address=None)  # type: ignore[attr-defined]
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    sid = (await api('mutation($o: ID!) { shipmentCreate(input: {orderId: $o, carrier: '
                     '"easypost"}) { shipment { id } } }', {"o": gid}))["shipmentCreate"][
        "shipment"]["id"]
    refused = (await api(SHIP, {"s": sid}))["shipmentShip"]
    assert codes(refused) == ["CARRIER_FAILED"]
    assert "street1" in refused["userErrors"][0]["message"]


async def _auto(api: GraphQLClient, method: str) -> tuple[str, dict[str, Any]]:
    order = await factories.place({"SHOE": 1}, shipping_address=ADDRESS, shipping_method=method,
                                  carriers=None)
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    sid = (await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                     "{ shipment { id } } }", {"o": gid}))["shipmentCreate"]["shipment"]["id"]
    shipped = (await api('mutation($s: ID!) { shipmentShip(input: {shipmentId: $s, carrier: '
                         '"auto"}) { shipment { status carrier service } userErrors { code '
                         "message } } }", {"s": sid}))["shipmentShip"]
    events = await api("query($id: ID!) { order(id: $id) { events { type message } } }",
                       {"id": gid})
    reason = next(e["message"] for e in events["order"]["events"]
                  if e["type"] == "CARRIER_CHOSEN")
    return reason, shipped


async def test_the_cheapest_rate_keeping_the_promise_is_chosen_and_explained(
    api: GraphQLClient, easypost: FakeEasyPost, app: Any,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    reason, shipped = await _auto(api, "express")  # 2 days: built-in express 9.90 wins
    assert shipped["shipment"]["carrier"] == "builtin"
    assert shipped["shipment"]["service"] == "express"
    assert "builtin express at 9.90 EUR, 2 day(s) within the 2-day promise of 'express'" in reason
    services = app.state.services
    original = services.deps  # only EasyPost's Express keeps a 1-day promise
    services.deps = replace(original, shipping_promises={**original.shipping_promises,
                                                         "express": 1})
    try:
        reason, shipped = await _auto(api, "express")
    finally:
        services.deps = original
    assert (shipped["shipment"]["status"], shipped["shipment"]["carrier"],
            shipped["shipment"]["service"]) == ("LABEL_PURCHASED", "easypost", "Express")
    assert reason.startswith("Shipment 2: easypost Express at 24.10 EUR, 1 day(s)")


async def test_the_tracking_url_template_serves_easypost_shipments(
    api: GraphQLClient, app: Any, settings: Any,
) -> None:
    from dataclasses import replace

    from api.app import make_carriers

    async with FakeEasyPost() as fake:
        configured = replace(settings, easypost_api_key=API_KEY,
                             easypost_webhook_secret=WEBHOOK_SECRET, easypost_api_base=fake.url,
                             tracking_url_template="https://track.example/{tracking_number}")
        carriers = app.state.services.carriers
        carriers["easypost"] = make_carriers(configured)["easypost"]
        try:
            _, sid = await _pending_shipment(api)
            shipped = (await api("mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) "
                                 "{ shipment { trackingNumber trackingUrl } "
                                 "userErrors { code } } }", {"s": sid}))["shipmentShip"]
        finally:
            await carriers.pop("easypost").close()
    shipment = shipped["shipment"]
    assert shipped["userErrors"] == []
    assert shipment["trackingUrl"] == f"https://track.example/{shipment['trackingNumber']}"


async def test_no_label_is_bought_for_a_cancelled_order(
    api: GraphQLClient, easypost: FakeEasyPost,
) -> None:
    gid, sid = await _pending_shipment(api)
    cancelled = await api("mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }",
                          {"id": gid})
    assert cancelled["orderCancel"]["userErrors"] == []
    refused = (await api(SHIP, {"s": sid}))["shipmentShip"]
    assert codes(refused) == ["INVALID_TRANSITION"]
    assert sum(easypost.calls.values()) == 0  # no carrier shipment opened, no label bought
