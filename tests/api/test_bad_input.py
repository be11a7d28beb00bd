"""Input no column can hold is a clear error that changes nothing, never a server error."""

from __future__ import annotations

import base64
import json
from typing import Any

from domain.catalog.models import BackorderPolicy
from domain.orders.models import Order
from tests import factories
from tests.support import GraphQLClient

NUL = "\x00"
ADJUST = """mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) {
  stockLevel { onHand } userErrors { field code message } } }"""
SET = """mutation($i: InventorySetInput!) { inventorySet(input: $i) {
  stockLevel { onHand } userErrors { field code message } } }"""
CREATE_ORDER = """mutation($i: OrderCreateInput!) { orderCreate(input: $i) {
  order { number } userErrors { field code message } } }"""
ADDRESS = {"name": "Ann", "line1": "Hauptstr. 5", "city": "Berlin", "postalCode": "10117",
           "country": "DE"}


def _gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


def _invalid(payload: dict[str, Any]) -> list[list[str] | None]:
    assert payload["userErrors"], payload
    assert {e["code"] for e in payload["userErrors"]} == {"INVALID_INPUT"}, payload
    return [e["field"] for e in payload["userErrors"]]


async def _bad_request(api: GraphQLClient, query: str, variables: dict[str, Any]) -> str:
    response = await api.raw(query, variables)
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_REQUEST"], errors
    return str(errors[0]["message"])


async def test_a_nul_character_in_a_mutation_input_names_the_field_and_changes_nothing(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"wh1": 5}})
    order = {"channel": "web", "email": "ann@example.com", "lines": [{"sku": f"SH{NUL}OE",
             "quantity": 1}], "shippingAddress": {**ADDRESS, "name": f"Ann{NUL}"}}
    payload = (await api(CREATE_ORDER, {"i": order}))["orderCreate"]
    assert _invalid(payload) == [["lines", "0", "sku"], ["shippingAddress", "name"]]
    assert payload["userErrors"][0]["message"] == "The NUL character is not allowed"
    assert await Order.all().count() == 0

    payload = (await api(ADJUST, {"i": {"sku": "SHOE", "location": "wh1", "delta": 1,
                                        "reason": f"count{NUL}"}}))["inventoryAdjust"]
    assert _invalid(payload) == [["reason"]] and payload["stockLevel"] is None
    placed = await factories.place({"SHOE": 1})
    gid = (await api("{ orders { edges { node { id } } } }"))["orders"]["edges"][0]["node"]["id"]
    hold = await api("mutation($id: ID!, $r: String!) { orderHold(id: $id, reason: $r) "
                     "{ order { status } userErrors { field code } } }", {"id": gid, "r": NUL})
    assert _invalid(hold["orderHold"]) == [["reason"]]
    await placed.refresh_from_db()  # type: ignore[attr-defined]
    assert placed.status.value == "PENDING"  # type: ignore[attr-defined]


async def test_a_nul_character_in_a_query_argument_is_a_bad_request(api: GraphQLClient) -> None:
    for query, variables in (
        ("query($s: String!) { variant(sku: $s) { sku } }", {"s": f"A{NUL}"}),
        ("query($s: [String!]!) { availability(skus: $s) { sku } }", {"s": ["A", f"B{NUL}"]}),
        ("query($s: String!) { order(number: $s) { id } }", {"s": f"1{NUL}"}),
        ("query($s: String!) { customer(email: $s) { id } }", {"s": f"a{NUL}@example.com"}),
        ("query($s: String!) { shipment(trackingNumber: $s) { id } }", {"s": NUL}),
        ("query($s: String!) { orders(filter: {externalId: $s}) { edges { cursor } } }",
         {"s": NUL}),
        ("query($s: ID!) { node(id: $s) { id } }", {"s": f"T3JkZXI6MQ=={NUL}"}),
    ):
        message = await _bad_request(api, query, variables)
        assert "NUL" in message, message


async def test_lookups_and_keys_longer_than_their_column_are_refused(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"wh1": 5}})
    message = await _bad_request(api, "query($s: String!) { variant(sku: $s) { sku } }",
                                 {"s": "A" * 65})
    assert message == "sku: At most 64 characters are allowed"
    await _bad_request(api, "query($s: String!) { shipment(trackingNumber: $s) { id } }",
                       {"s": "T" * 65})
    await _bad_request(api, "query($s: String!) { order(number: $s) { id } }", {"s": "1" * 33})
    await _bad_request(api, "query($s: String!) { customer(email: $s) { id } }",
                       {"s": "a" * 250 + "@example.com"})
    payload = (await api(SET, {"i": {"sku": "S" * 70_000, "location": "wh1", "onHand": 1}}))
    assert _invalid(payload["inventorySet"]) == [["sku"]]
    payload = (await api(ADJUST, {"i": {"sku": "SHOE", "location": "wh1", "delta": 1,
                                        "reason": "r", "idempotencyKey": "k" * 201}}))
    assert _invalid(payload["inventoryAdjust"]) == [["idempotencyKey"]]
    stock = await api('{ variant(sku: "SHOE") { stock { onHand } } }')
    assert stock["variant"]["stock"] == [{"onHand": 5}]


SALES = """query($from: Date!, $to: Date!, $tz: String!) {
  salesReport(from: $from, to: $to, timeZone: $tz) { totals { orders } } }"""


async def test_report_time_zones_and_days_that_cannot_be_computed_are_refused(
    api: GraphQLClient,
) -> None:
    ok = {"from": "2026-01-01", "to": "2026-01-02", "tz": "Europe/Berlin"}
    assert (await api(SALES, ok))["salesReport"]["totals"] == []
    message = await _bad_request(api, SALES, {**ok, "tz": "Europe/" + "x" * 60_000})
    assert message == "timeZone: At most 64 characters are allowed"
    message = await _bad_request(api, SALES, {**ok, "tz": "Europe/" + "x" * 57})
    assert "is not an IANA time zone" in message
    reports = {name: f"""query($from: Date!, $to: Date!, $tz: String!) {{
        {name}(from: $from, to: $to, timeZone: $tz) {{ __typename }} }}"""
               for name in ("salesReport", "inventoryReport", "fulfillmentReport", "returnsReport")}
    for query in reports.values():
        for days in (("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")):
            message = await _bad_request(api, query, {"from": days[0], "to": days[1],
                                                      "tz": "Pacific/Kiritimati"})
            assert message == "Days are between 1900-01-01 and 9998-12-31", message


async def test_timestamps_near_year_one_or_past_9998_are_refused(api: GraphQLClient) -> None:
    query = """query($t: DateTime!) { orders(filter: {createdAfter: $t}) { edges { cursor } } }"""
    assert (await api(query, {"t": "2026-01-01T00:00:00Z"}))["orders"]["edges"] == []
    for moment in ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
                   "9999-12-31T23:59:59-12:00"):
        message = await _bad_request(api, query, {"t": moment})
        assert "DateTime" in message, message


async def test_global_ids_of_keys_past_the_integer_column_are_not_found(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"wh1": 5}})
    await factories.place({"SHOE": 1})
    assert (await api("{ orders { edges { node { id } } } }"))["orders"]["edges"][0]["node"][
        "id"] == _gid("Order", 1)
    for pk in (2**31, 2**63, 2**64 + 1, 10**40, 0, -1):
        gid = _gid("Order", pk)
        data = await api("query($id: ID!) { node(id: $id) { id } order(id: $id) { id } }",
                         {"id": gid})
        assert data == {"node": None, "order": None}
        confirm = await api("mutation($id: ID!) { orderConfirm(id: $id) "
                            "{ order { id } userErrors { field code } } }", {"id": gid})
        assert confirm["orderConfirm"]["userErrors"] == [{"field": ["id"], "code": "NOT_FOUND"}]
        shipment = await api("mutation($id: ID!) { shipmentCreate(input: {orderId: $id}) "
                             "{ shipment { id } userErrors { code } } }", {"id": gid})
        assert shipment["shipmentCreate"]["userErrors"] == [{"code": "NOT_FOUND"}]


PRODUCT = """mutation($p: Decimal!) { productCreate(input: {name: "P", variants: [
  {sku: "P1", price: $p, currency: "EUR"}]}) { product { id } userErrors { code } } }"""


async def test_decimals_that_are_not_finite_or_past_the_money_columns_are_refused(
    api: GraphQLClient,
) -> None:
    for price in ("NaN", "sNaN", "-Infinity", "Infinity", "1e1000000", "1e14", "-1e20"):
        message = await _bad_request(api, PRODUCT, {"p": price})
        assert "Decimal" in message, message
    refund = """mutation($a: Decimal!) { paymentRefund(input: {paymentId: "UGF5bWVudDox",
      amount: $a}) { userErrors { code } } }"""
    await _bad_request(api, refund, {"a": "NaN"})
    assert (await api(PRODUCT, {"p": "99999999999.99"}))["productCreate"]["userErrors"] == []


async def test_an_order_whose_total_is_past_the_money_columns_is_refused(
    api: GraphQLClient,
) -> None:
    await factories.location("wh1")
    await factories.channel("web", locations=["wh1"])
    await factories.product("GOLD", price="999999999999.99", track_inventory=False,
                            backorder=BackorderPolicy.CONTINUE)
    order = {"channel": "web", "email": "ann@example.com",
             "lines": [{"sku": "GOLD", "quantity": 1_000_000_000}], "shippingAddress": ADDRESS}
    payload = (await api(CREATE_ORDER, {"i": order}))["orderCreate"]
    assert _invalid(payload) == [["lines"]]
    assert payload["userErrors"][0]["message"] == (
        "An order's total must be below 1,000,000,000,000 EUR")
    assert await Order.all().count() == 0


async def test_on_hand_never_passes_what_its_column_holds(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"wh1": 0, "wh2": 10}})
    full = {"sku": "SHOE", "location": "wh1", "delta": 1_000_000_000, "reason": "delivery"}
    assert (await api(ADJUST, {"i": full}))["inventoryAdjust"]["stockLevel"] == {
        "onHand": 1_000_000_000}
    payload = (await api(ADJUST, {"i": {**full, "delta": 2_000_000_000}}))["inventoryAdjust"]
    assert _invalid(payload) == [["delta"]]
    payload = (await api(ADJUST, {"i": {**full, "delta": 1}}))["inventoryAdjust"]
    assert _invalid(payload) == [["delta"]]
    assert payload["userErrors"][0]["message"] == (
        "A location holds at most 1,000,000,000 units of a SKU")
    transfer = await api("""mutation { inventoryTransfer(input: {sku: "SHOE", from: "wh2",
      to: "wh1", quantity: 5}) { from { onHand } userErrors { field code } } }""")
    assert transfer["inventoryTransfer"]["userErrors"] == [
        {"field": ["quantity"], "code": "INVALID_INPUT"}]
    for on_hand in (-1, 1_000_000_001, 2**31 - 1):
        payload = (await api(SET, {"i": {"sku": "SHOE", "location": "wh2", "onHand": on_hand}}))
        assert _invalid(payload["inventorySet"]) == [["onHand"]]
    stock = await api('{ variant(sku: "SHOE") { stock { location { code } onHand } } }')
    assert sorted((s["location"]["code"], s["onHand"]) for s in stock["variant"]["stock"]) == [
        ("wh1", 1_000_000_000), ("wh2", 10)]


async def test_an_idempotency_key_header_longer_than_its_column_is_refused(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"wh1": 5}})
    await factories.place({"SHOE": 1})
    order = (await api("{ orders { edges { node { id } } } }"))["orders"]["edges"][0]["node"]
    created = await api('mutation($o: ID!) { paymentCreate(input: {orderId: $o, provider: '
                        '"manual", method: "bank_transfer"}) { payment { id } } }',
                        {"o": order["id"]})
    payment = created["paymentCreate"]["payment"]["id"]
    long_key = {"Idempotency-Key": "k" * 201}
    capture = await api("mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) "
                        "{ payment { status } userErrors { field code } } }", {"p": payment},
                        headers=long_key)
    assert _invalid(capture["paymentCapture"]) == [["idempotencyKey"]]
    adjust = await api(ADJUST, {"i": {"sku": "SHOE", "location": "wh1", "delta": 1,
                                      "reason": "r"}}, headers=long_key)
    assert _invalid(adjust["inventoryAdjust"]) == [["idempotencyKey"]]
    status = await api("query($id: ID!) { order(id: $id) { payments { status } } }",
                       {"id": order["id"]})
    assert status["order"]["payments"] == [{"status": "PENDING"}]


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


async def test_cursors_this_api_never_made_are_a_bad_request(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"wh1": 5}})
    await factories.place({"SHOE": 1})
    page = await api("{ customers(sortBy: ORDER_COUNT, first: 1) { edges { cursor } } "
                     "products(first: 1) { edges { cursor } } }")
    after = page["customers"]["edges"][0]["cursor"]
    again = await api("query($a: String!) { customers(sortBy: ORDER_COUNT, after: $a) "
                      "{ edges { cursor } } }", {"a": after})
    assert again["customers"]["edges"] == []  # a real cursor still pages
    for query, key in (
        ("query($a: String!) { products(after: $a) { edges { cursor } } }", [2**40]),
        ("query($a: String!) { orders(after: $a) { edges { cursor } } }", [-(2**70)]),
        ("query($a: String!) { customers(sortBy: ORDER_COUNT, after: $a) { edges { cursor } } }",
         ["1", 2**40]),
        ("query($a: String!) { customers(sortBy: ORDER_COUNT, after: $a) { edges { cursor } } }",
         ["a\u0000", 1]),
        ("query($a: String!) { customers(sortBy: ORDER_COUNT, after: $a) { edges { cursor } } }",
         ["99999999999999999999", 1]),
        ('query($a: String!) { customers(currency: "EUR", after: $a) { edges { cursor } } }',
         ["abc", 1]),
        ('query($a: String!) { customers(currency: "EUR", after: $a) { edges { cursor } } }',
         ["1e999999", 1]),
        ("query($a: String!) { customers(sortBy: LAST_ORDER, after: $a) { edges { cursor } } }",
         ["0001-01-01T00:00:00+14:00", 1]),
        ("query($a: String!) { customers(sortBy: LAST_ORDER, after: $a) { edges { cursor } } }",
         ["yesterday", 1]),
    ):
        message = await _bad_request(api, query, {"a": _cursor(key)})
        assert message == "'after' is not a cursor from this list", (key, message)


async def test_csv_exports_refuse_nul_characters_and_overlong_parameters(
    api: GraphQLClient,
) -> None:
    admin = {"Authorization": "Bearer test-admin-token"}
    days = {"from": "2026-01-01", "to": "2026-01-02"}
    for name, value in (("channel", f"web{NUL}"), ("location", "l" * 65),
                        ("timeZone", "Europe/" + "x" * 60_000)):
        response = await api.http.get("/reports/sales.csv", params={**days, name: value},
                                      headers=admin)
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith(f"{name}: "), response.json()
    for days in ({"from": "0001-01-01", "to": "0001-01-02"},
                 {"from": "9999-12-30", "to": "9999-12-31"}):
        response = await api.http.get("/reports/fulfillment.csv", params=days, headers=admin)
        assert response.status_code == 400, response.text


async def test_subscriptions_refuse_nul_characters_and_overlong_lookups(
    api: GraphQLClient, app: Any,
) -> None:
    from tests.api.test_subscriptions import AVAILABILITY, TRACKING, subscriber

    async with subscriber(app) as sub:
        assert (await sub.init())["type"] == "connection_ack"
        for query, variables in ((TRACKING, {"n": f"TRK{NUL}"}), (TRACKING, {"n": "T" * 65}),
                                 (AVAILABILITY, {"skus": [f"A{NUL}"]})):
            await sub.subscribe(query, variables)
            message = await sub.next()
            assert message["type"] == "error", message
            assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_REQUEST"]


async def test_the_token_endpoint_refuses_client_ids_no_client_can_have(
    api: GraphQLClient,
) -> None:
    for client_id in (f"oms_{NUL}", "oms_" + "x" * 100):
        basic = base64.b64encode(f"{client_id}:secret".encode()).decode()
        response = await api.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                       headers={"Authorization": f"Basic {basic}"})
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
        response = await api.http.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": "s"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_client"


async def test_a_request_body_that_is_not_a_json_object_is_a_400(api: GraphQLClient) -> None:
    json_type = {"Content-Type": "application/json"}
    for body in (b'"{ channels { code } }"', b"null", b"5", b"true",
                 b'{"query": "{ channels { code } }\xff"}', b"{"):
        response = await api.http.post("/graphql", content=body, headers=json_type)
        assert response.status_code == 400, (body, response.text)
    assert (await api.http.post("/graphql", content=b'{"query": "{ channels { code } }"}',
                                headers=json_type)).status_code == 200
