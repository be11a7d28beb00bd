"""What an outside review found callers could read that was not theirs, each shut."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests import factories
from tests.api.test_access_from_schema import _storefront
from tests.api.test_customers_and_guests import _register, bearer
from tests.api.test_partners import CREATE_CLIENT, _bearer
from tests.support import GraphQLClient, codes

PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number email customer { id email name orders { edges { node { number } } } } }
  userErrors { field code } } }"""
TODAY = datetime.now(UTC).date().isoformat()


def _order(**extra: Any) -> dict[str, Any]:
    return {"input": {"channel": "web", "lines": [{"sku": "SHOE", "quantity": 1}],
                      "shippingAddress": {"name": "N", "line1": "1 St", "city": "Berlin",
                                          "postalCode": "10115", "country": "DE"}, **extra}}


async def test_a_storefront_order_never_shows_the_account_behind_an_email(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    victim = bearer((await _register(api, "victim@example.com"))["accessToken"])
    await api(PLACE, _order(email="victim@example.com"), admin=False, headers=victim)
    victim_id = (await api('{ customer(email: "victim@example.com") { id } }'))["customer"]["id"]
    storefront = await _storefront(api)
    placed = (await api(PLACE, _order(email="victim@example.com"), admin=False,
                        headers=storefront))["orderCreate"]
    assert placed["userErrors"] == []
    assert placed["order"]["email"] == "victim@example.com"  # what the caller typed
    assert placed["order"]["customer"] is None  # linked for the merchant, not shown
    admin_view = (await api('query($id: ID!) { order(id: $id) { customer { id } } }',
                            {"id": placed["order"]["id"]}))["order"]
    assert admin_view["customer"]["id"] == victim_id
    # Naming the customer is refused: the caller may not read that record.
    by_id = (await api(PLACE, _order(customerId=victim_id), admin=False,
                       headers=storefront))["orderCreate"]
    assert (by_id["order"], codes(by_id)) == (None, ["NOT_FOUND"])


async def test_an_external_id_never_returns_another_buyers_order(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    first = (await api(PLACE, _order(email="ann@example.com", externalId="M-1")))["orderCreate"]
    assert first["userErrors"] == []
    storefront = await _storefront(api)
    again = (await api(PLACE, _order(email="eve@example.com", externalId="M-1"), admin=False,
                       headers=storefront))["orderCreate"]
    assert (again["order"], codes(again)) == (None, ["DUPLICATE"])
    # The owner of the order (here the admin) still gets it back, as marketplaces expect.
    owner = (await api(PLACE, _order(email="ann@example.com", externalId="M-1")))["orderCreate"]
    assert owner["order"]["id"] == first["order"]["id"]


SALES = ('query($ch: String) { salesReport(from: "' + TODAY + '", to: "' + TODAY + '", '
         "groupBy: CHANNEL, channel: $ch) { rows { group orders } } }")


async def test_reports_keep_to_a_partners_channels(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    await factories.channel("other", locations=["a"])
    await factories.place({"SHOE": 1})
    await factories.place({"SHOE": 2}, channel="other")
    everything = (await api(SALES))["salesReport"]["rows"]
    assert sorted(r["group"] for r in everything) == ["other", "web"]
    web = await _bearer(api, ["reports:read"], channels=["web"])
    own = (await api(SALES, admin=False, headers=web))["salesReport"]["rows"]
    assert own == [{"group": "web", "orders": 1}]
    refused = await api.errors(SALES, {"ch": "other"}, admin=False, headers=web)
    assert refused[0]["extensions"]["code"] == "BAD_REQUEST"
    both = await _bearer(api, ["reports:read"], channels=["web", "other"])
    unnamed = await api.errors(SALES, admin=False, headers=both)
    assert "Name one of your channels" in unnamed[0]["message"]
    named = (await api(SALES, {"ch": "other"}, admin=False, headers=both))["salesReport"]
    assert named["rows"] == [{"group": "other", "orders": 1}]
    csv = await api.http.get("/reports/sales.csv", params={"from": TODAY, "to": TODAY,
                                                           "groupBy": "CHANNEL"}, headers=web)
    assert csv.status_code == 200 and "other" not in csv.text and "web" in csv.text


async def test_a_partner_limited_to_no_channel_is_refused(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    data = (await api(CREATE_CLIENT, {"input": {"name": "ERP", "scopes": ["orders:read"],
                                                "channels": []}}))["oauthClientCreate"]
    assert codes(data) == ["INVALID_INPUT"]


async def test_stock_levels_need_inventory_read(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    document = '{ variant(sku: "SHOE") { sku stock { onHand reserved safetyStock } } }'
    anonymous = await api.errors(document, admin=False)
    assert anonymous[0]["extensions"]["code"] == "UNAUTHENTICATED"
    public = await api('{ variant(sku: "SHOE") { sku } availability(skus: ["SHOE"]) '
                       "{ available } }", admin=False)
    assert public["availability"] == [{"available": 10}]
    reader = await _bearer(api, ["inventory:read"])
    assert (await api(document, admin=False, headers=reader))["variant"]["stock"] == [
        {"onHand": 10, "reserved": 0, "safetyStock": 0}]
