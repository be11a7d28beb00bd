"""Kuaidi100 follows parcels of any Chinese carrier: subscribed on dispatch, pushes signed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.fulfillment.models import Shipment, ShipmentStatus, TrackingEvent
from integrations.carriers.kuaidi100 import Kuaidi100Carrier
from tests import factories
from tests.fakes.kuaidi100 import KEY, SALT, FakeKuaidi100
from tests.support import GraphQLClient

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def kuaidi(app: Any) -> AsyncIterator[FakeKuaidi100]:
    async with FakeKuaidi100() as fake:
        carriers = app.state.services.carriers
        carriers["kuaidi100"] = Kuaidi100Carrier(
            key=KEY, salt=SALT, callback_url="https://oms.example/webhooks/carriers/kuaidi100",
            api_base=fake.url)
        try:
            yield fake
        finally:
            await carriers.pop("kuaidi100").close()


async def _shipped(api: GraphQLClient, number: str) -> None:
    await factories.shop({"TEA": {"sz": 5}}, currency="CNY")
    order = await factories.place({"TEA": 1})
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    sid = (await api('mutation($o: ID!) { shipmentCreate(input: {orderId: $o, carrier: '
                     '"kuaidi100", service: "shunfeng"}) { shipment { id } } }', {"o": gid}))[
        "shipmentCreate"]["shipment"]["id"]
    shipped = await api("mutation($s: ID!, $t: String) { shipmentShip(input: {shipmentId: $s, "
                        "trackingNumber: $t}) { shipment { trackingUrl } userErrors { code } } }",
                        {"s": sid, "t": number})
    assert shipped["shipmentShip"]["userErrors"] == []


async def test_a_parcel_is_subscribed_and_followed_to_delivery(
    api: GraphQLClient, kuaidi: FakeKuaidi100,
) -> None:
    await _shipped(api, "SF1234567890")
    assert [(s["company"], s["number"]) for s in kuaidi.subscriptions] == [
        ("shunfeng", "SF1234567890")]
    assert kuaidi.subscriptions[0]["parameters"]["salt"] == SALT
    body = kuaidi.push("SF1234567890", "shunfeng",
                       ("签收", "2099-06-02 15:20:00", "已签收"),
                       ("派件", "2099-06-02 09:00:00", "快递员正在派件"),
                       ("在途", "2099-06-01 21:10:00", "到达深圳转运中心"))
    response = await api.http.post("/webhooks/carriers/kuaidi100", content=body, headers=FORM)
    assert response.json() == {"result": True, "returnCode": "200", "message": "成功"}
    again = await api.http.post("/webhooks/carriers/kuaidi100", content=body, headers=FORM)
    assert again.status_code == 200
    shipment = await Shipment.get(tracking_number="SF1234567890")
    assert shipment.status is ShipmentStatus.DELIVERED
    events = await TrackingEvent.filter(shipment_id=shipment.id).order_by("sequence")
    assert [e.status for e in events][1:] == [ShipmentStatus.IN_TRANSIT,
                                             ShipmentStatus.OUT_FOR_DELIVERY,
                                             ShipmentStatus.DELIVERED]
    assert events[-1].occurred_at.isoformat().startswith("2099-06-02T07:20:00")  # UTC+8


async def test_a_push_with_a_wrong_sign_changes_nothing(
    api: GraphQLClient, kuaidi: FakeKuaidi100,
) -> None:
    await _shipped(api, "YT0000001")
    forged = kuaidi.push("YT0000001", "yuantong", ("签收", "2099-06-02 15:20:00", "已签收"),
                         salt="not-our-salt")
    response = await api.http.post("/webhooks/carriers/kuaidi100", content=forged, headers=FORM)
    assert response.status_code == 400
    assert (await Shipment.get(tracking_number="YT0000001")).status is ShipmentStatus.IN_TRANSIT
