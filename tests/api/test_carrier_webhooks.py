"""Carriers push tracking updates to a signed webhook; forged or stale ones change nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from domain.fulfillment.models import Shipment, ShipmentStatus, TrackingEvent
from integrations.carriers.builtin import sign
from tests import factories
from tests.support import GraphQLClient

SECRET = "carrier-secret"


@pytest.fixture(autouse=True)
def carrier_secret(app: Any) -> Any:
    carrier = app.state.services.carriers["builtin"]
    carrier._secret = SECRET  # the suite's app has no secret configured
    yield
    carrier._secret = None


async def _shipped(api: GraphQLClient) -> Shipment:
    await factories.shop({"SHOE": {"a": 5}})
    order = await factories.place({"SHOE": 1})
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    sid = (await api('mutation($o: ID!) { shipmentCreate(input: {orderId: $o, carrier: '
                     '"builtin"}) { shipment { id } } }', {"o": gid}))["shipmentCreate"][
        "shipment"]["id"]
    await api('mutation($s: ID!) { shipmentShip(input: {shipmentId: $s, trackingNumber: '
              '"TRK-9"}) { userErrors { code } } }', {"s": sid})
    return await Shipment.get(tracking_number="TRK-9")


def _body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


async def _post(api: GraphQLClient, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-OMS-Signature"] = signature
    return await api.http.post("/webhooks/carriers/builtin", content=body, headers=headers)


async def test_signed_updates_move_the_shipment_once(api: GraphQLClient) -> None:
    shipment = await _shipped(api)
    body = _body(
        {"id": "e1", "trackingNumber": "TRK-9", "status": "out-for-delivery",
         "occurredAt": "2099-05-01T08:00:00Z", "location": "Berlin"},
        {"id": "e2", "trackingNumber": "TRK-9", "status": "delivered",
         "occurredAt": "2099-05-01T11:00:00Z"},
    )
    response = await _post(api, body, sign(body, SECRET))
    assert response.status_code == 200
    assert response.json() == {"applied": 2, "unmatched": []}
    again = await _post(api, body, sign(body, SECRET))  # the carrier retries
    assert again.status_code == 200
    await shipment.refresh_from_db()
    assert shipment.status is ShipmentStatus.DELIVERED
    assert await TrackingEvent.filter(shipment_id=shipment.id).count() == 3


async def test_forged_stale_or_unsigned_updates_change_nothing(api: GraphQLClient) -> None:
    shipment = await _shipped(api)
    body = _body({"id": "e1", "trackingNumber": "TRK-9", "status": "delivered",
                  "occurredAt": "2099-05-01T11:00:00Z"})
    stale = sign(body, SECRET, timestamp=int(time.time()) - 3600)
    for signature in (sign(body, "wrong-secret"), stale, None, "t=abc,v1=00"):
        response = await _post(api, body, signature)
        assert response.status_code == 400, signature
    tampered = body.replace(b"delivered", b"exception")
    assert (await _post(api, tampered, sign(body, SECRET))).status_code == 400
    await shipment.refresh_from_db()
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert await TrackingEvent.filter(shipment_id=shipment.id).count() == 1


async def test_unknown_statuses_carriers_and_numbers(api: GraphQLClient) -> None:
    await _shipped(api)
    body = _body({"trackingNumber": "TRK-9", "status": "teleported",
                  "occurredAt": "2099-05-01T11:00:00Z"})
    assert (await _post(api, body, sign(body, SECRET))).status_code == 400
    other = _body({"trackingNumber": "NOPE", "status": "delivered",
                   "occurredAt": "2099-05-01T11:00:00Z"})
    response = await _post(api, other, sign(other, SECRET))
    assert response.json() == {"applied": 0, "unmatched": ["NOPE"]}
    missing = await api.http.post("/webhooks/carriers/ufo", content=b"{}")
    assert missing.status_code == 404
