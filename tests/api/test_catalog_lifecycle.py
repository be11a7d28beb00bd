"""A catalogue that changes after the fact, through the GraphQL API: products renamed and
archived, variants added and repriced, channels' locations and locations' details changed,
and orders that keep what they were placed with."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.events.models import OutboxMessage
from domain.events.ports import catalog_topic
from domain.webhooks.service import event_name
from tests import factories
from tests.api.test_customers_and_guests import _register, bearer
from tests.api.test_partners import _bearer
from tests.api.test_webhooks import _subscribe
from tests.fakes.receiver import Receiver
from tests.support import GraphQLClient, codes

PRODUCT = "id name description archived archivedAt variants { sku name price { amount } }"
VARIANT = ("id sku name price { amount currency } trackInventory backorderPolicy barcode "
           "weightGrams lengthMm widthMm heightMm")
PRODUCT_UPDATE = f"""mutation($input: ProductUpdateInput!) {{ productUpdate(input: $input) {{
  product {{ {PRODUCT} }} userErrors {{ field code message }} }} }}"""
ARCHIVE = f"""mutation($id: ID!) {{ productArchive(id: $id) {{
  product {{ {PRODUCT} }} userErrors {{ field code message }} }} }}"""
UNARCHIVE = f"""mutation($id: ID!) {{ productUnarchive(id: $id) {{
  product {{ {PRODUCT} }} userErrors {{ field code message }} }} }}"""
VARIANT_CREATE = f"""mutation($input: VariantCreateInput!) {{ variantCreate(input: $input) {{
  variant {{ {VARIANT} product {{ name }} }} userErrors {{ field code message }} }} }}"""
VARIANT_UPDATE = f"""mutation($input: VariantUpdateInput!) {{ variantUpdate(input: $input) {{
  variant {{ {VARIANT} }} userErrors {{ field code message }} }} }}"""
CHANNEL_UPDATE = """mutation($input: ChannelUpdateInput!) { channelUpdate(input: $input) {
  channel { code name locations { code } } userErrors { field code message } } }"""
LOCATION_UPDATE = """mutation($input: LocationUpdateInput!) { locationUpdate(input: $input) {
  location { code name priority pickupEnabled active latitude longitude
             address { line1 city region postalCode country } }
  userErrors { field code message } } }"""
PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { number lines { sku quantity unitPrice { amount } allocations { location { code } } }
          subtotal { amount } }
  userErrors { field code message } } }"""
ORDER = """query($n: String!) { order(number: $n) { lines { sku name unitPrice { amount }
  total { amount } variant { name price { amount } } } subtotal { amount } } }"""


async def _product_id(api: GraphQLClient, sku: str) -> str:
    data = await api("query($s: String!) { variant(sku: $s) { product { id } } }", {"s": sku})
    return str(data["variant"]["product"]["id"])


async def _variant(api: GraphQLClient, sku: str) -> dict[str, Any]:
    return (await api(f"query($s: String!) {{ variant(sku: $s) {{ {VARIANT} }} }}",
                      {"s": sku}))["variant"]


async def _place(api: GraphQLClient, lines: dict[str, int], **extra: Any) -> dict[str, Any]:
    data = await api(PLACE, {"input": {
        "channel": "web", "email": "buyer@example.com",
        "shippingAddress": factories.address(),
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines.items()], **extra}})
    return dict(data["orderCreate"])


async def _catalogue_events() -> list[str]:
    rows = await OutboxMessage.filter(topic=catalog_topic()).order_by("id")
    return [event_name(row.payload) for row in rows]


async def test_a_product_is_renamed_and_bad_input_changes_nothing(api: GraphQLClient) -> None:
    await factories.shop({"A": {"east": 5}})
    pid = await _product_id(api, "A")
    renamed = (await api(PRODUCT_UPDATE, {"input": {"id": pid, "name": " Runner ",
                                                    "description": "Light"}}))["productUpdate"]
    assert renamed["userErrors"] == []
    assert (renamed["product"]["name"], renamed["product"]["description"]) == ("Runner", "Light")

    cleared = (await api(PRODUCT_UPDATE, {"input": {"id": pid, "description": None}}))
    assert cleared["productUpdate"]["product"]["description"] is None
    assert cleared["productUpdate"]["product"]["name"] == "Runner"  # left out: unchanged

    refused = (await api(PRODUCT_UPDATE, {"input": {"id": pid, "name": "  ",
                                                    "description": "changed?"}}))
    assert codes(refused["productUpdate"]) == ["INVALID_INPUT"]
    assert refused["productUpdate"]["userErrors"][0]["field"] == ["name"]
    after = (await api("query($id: ID!) { node(id: $id) { ... on Product { name description } } }",
                       {"id": pid}))["node"]
    assert after == {"name": "Runner", "description": None}

    missing = await api(PRODUCT_UPDATE, {"input": {"id": "UHJvZHVjdDo5OTk=", "name": "X"}})
    assert codes(missing["productUpdate"]) == ["NOT_FOUND"]
    assert await _catalogue_events() == ["catalog.location_created", "catalog.channel_created",
                                         "catalog.product_created", "catalog.product_updated",
                                         "catalog.product_updated"]


async def test_a_variant_is_added_to_a_product(api: GraphQLClient) -> None:
    await factories.shop({"A": {"east": 5}})
    pid = await _product_id(api, "A")
    added = (await api(VARIANT_CREATE, {"input": {
        "productId": pid, "sku": "A-XL", "price": "12.50", "currency": "EUR",
        "barcode": "4006381333931", "weightGrams": 450, "lengthMm": 300, "widthMm": 200,
        "heightMm": 100, "backorderPolicy": "CONTINUE"}}))["variantCreate"]
    assert added["userErrors"] == []
    variant = added["variant"]
    assert (variant["sku"], variant["name"], variant["price"], variant["barcode"],
            variant["weightGrams"], variant["backorderPolicy"]) == (
        "A-XL", "Product A", {"amount": "12.50", "currency": "EUR"}, "4006381333931", 450,
        "CONTINUE")
    # Backorderable: orderable before any stock arrives.
    placed = await _place(api, {"A-XL": 2})
    assert placed["userErrors"] == [] and placed["order"]["subtotal"] == {"amount": "25.00"}

    taken = (await api(VARIANT_CREATE, {"input": {"productId": pid, "sku": "A", "price": "1",
                                                  "currency": "EUR"}}))["variantCreate"]
    assert codes(taken) == ["DUPLICATE"]
    bad = (await api(VARIANT_CREATE, {"input": {"productId": pid, "sku": "A-S", "price": "-1",
                                                "currency": "EUR", "weightGrams": 0,
                                                "barcode": "12 34"}}))["variantCreate"]
    assert sorted(e["field"][-1] for e in bad["userErrors"]) == ["barcode", "price",
                                                                 "weightGrams"]
    assert (await api('{ variant(sku: "A-S") { sku } }'))["variant"] is None
    assert await _catalogue_events() == ["catalog.location_created", "catalog.channel_created",
                                         "catalog.product_created", "catalog.variant_created"]


async def test_a_variant_is_changed_by_sku_or_id_and_bad_input_changes_nothing(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 5}})
    before = await _variant(api, "A")
    changed = (await api(VARIANT_UPDATE, {"input": {
        "sku": "A", "name": "Runner 42", "price": "11.00", "trackInventory": False,
        "backorderPolicy": "CONTINUE", "barcode": "ABC-1", "weightGrams": 900,
        "lengthMm": 310, "widthMm": 120, "heightMm": 110}}))["variantUpdate"]
    assert changed["userErrors"] == []
    assert changed["variant"] == {**before, "name": "Runner 42",
                                  "price": {"amount": "11.00", "currency": "EUR"},
                                  "trackInventory": False, "backorderPolicy": "CONTINUE",
                                  "barcode": "ABC-1", "weightGrams": 900, "lengthMm": 310,
                                  "widthMm": 120, "heightMm": 110}
    cleared = (await api(VARIANT_UPDATE, {"input": {"id": before["id"], "barcode": None,
                                                    "weightGrams": None}}))["variantUpdate"]
    assert (cleared["variant"]["barcode"], cleared["variant"]["weightGrams"],
            cleared["variant"]["name"]) == (None, None, "Runner 42")
    kept = await _variant(api, "A")

    for bad, field in (({"price": "-3"}, "price"), ({"price": "1.234"}, "price"),
                       ({"currency": "XYZ"}, "currency"), ({"name": ""}, "name"),
                       ({"barcode": "<script>"}, "barcode"), ({"heightMm": -5}, "heightMm"),
                       ({"trackInventory": None}, "trackInventory")):
        refused = (await api(VARIANT_UPDATE, {"input": {"sku": "A", "weightGrams": 5, **bad}}))
        errors = refused["variantUpdate"]["userErrors"]
        assert [e["field"] for e in errors] == [[field]], (bad, errors)
        assert await _variant(api, "A") == kept, bad  # not even the valid weight changed
    neither = (await api(VARIANT_UPDATE, {"input": {"name": "X"}}))["variantUpdate"]
    assert codes(neither) == ["INVALID_INPUT"]
    unknown = (await api(VARIANT_UPDATE, {"input": {"sku": "NOPE", "name": "X"}}))
    assert codes(unknown["variantUpdate"]) == ["UNKNOWN_SKU"]


async def test_orders_keep_the_price_and_name_they_were_placed_with(api: GraphQLClient) -> None:
    await factories.shop({"A": {"east": 10}})
    first = await _place(api, {"A": 2})
    assert first["order"]["lines"][0]["unitPrice"] == {"amount": "10.00"}
    changed = await api(VARIANT_UPDATE, {"input": {"sku": "A", "price": "14.00",
                                                   "name": "Renamed"}})
    assert changed["variantUpdate"]["userErrors"] == []
    # The very next order, in this process, is priced from the change.
    second = await _place(api, {"A": 1})
    assert second["order"]["lines"][0]["unitPrice"] == {"amount": "14.00"}

    old = (await api(ORDER, {"n": first["order"]["number"]}))["order"]
    assert old["lines"] == [{"sku": "A", "name": "Product A", "unitPrice": {"amount": "10.00"},
                             "total": {"amount": "20.00"},
                             "variant": {"name": "Renamed", "price": {"amount": "14.00"}}}]
    assert old["subtotal"] == {"amount": "20.00"}
    new = (await api(ORDER, {"n": second["order"]["number"]}))["order"]
    assert (new["lines"][0]["name"], new["subtotal"]) == ("Renamed", {"amount": "14.00"})


async def test_archived_variants_cannot_be_ordered_and_past_orders_keep_their_lines(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 10}, "B": {"east": 10}})
    placed = await _place(api, {"A": 1, "B": 1})
    pid = await _product_id(api, "A")
    archived = (await api(ARCHIVE, {"id": pid}))["productArchive"]
    assert archived["userErrors"] == [] and archived["product"]["archived"] is True
    assert archived["product"]["archivedAt"] is not None

    refused = await _place(api, {"B": 1, "A": 1})
    assert refused["order"] is None
    assert refused["userErrors"] == [{
        "field": ["lines", "1", "sku"], "code": "VARIANT_ARCHIVED",
        "message": "SKU 'A' belongs to an archived product and cannot be ordered"}]
    stock = await api('{ variant(sku: "B") { stock { onHand reserved } } }')
    assert stock["variant"]["stock"] == [{"onHand": 10, "reserved": 1}]  # nothing reserved

    old = (await api(ORDER, {"n": placed["order"]["number"]}))["order"]
    assert [(ln["sku"], ln["name"], ln["unitPrice"]["amount"]) for ln in old["lines"]] == [
        ("A", "Product A", "10.00"), ("B", "Product B", "10.00")]
    listed = await api("{ products { edges { node { name } } } }", admin=False)
    assert [e["node"]["name"] for e in listed["products"]["edges"]] == ["Product B"]
    both = await api("{ products(archived: null) { edges { node { name archived } } } }")
    assert [e["node"] for e in both["products"]["edges"]] == [
        {"name": "Product A", "archived": True}, {"name": "Product B", "archived": False}]

    again = (await api(ARCHIVE, {"id": pid}))["productArchive"]
    assert codes(again) == ["INVALID_TRANSITION"]
    back = (await api(UNARCHIVE, {"id": pid}))["productUnarchive"]
    assert back["userErrors"] == [] and back["product"]["archived"] is False
    assert (await _place(api, {"A": 1}))["userErrors"] == []
    assert codes((await api(UNARCHIVE, {"id": pid}))["productUnarchive"]) == [
        "INVALID_TRANSITION"]
    assert (await _catalogue_events())[-2:] == ["catalog.product_archived",
                                                "catalog.product_unarchived"]


async def test_a_channel_is_renamed_and_its_locations_set_in_order(api: GraphQLClient) -> None:
    # Two warehouses of equal priority: the channel's order decides between them.
    await factories.location("east", priority=1)
    await factories.location("west", priority=1)
    await factories.location("north", priority=1)
    await factories.channel("web", locations=["east"])
    await factories.product("A")
    await factories.stock("A", {"east": 5, "west": 5})

    changed = (await api(CHANNEL_UPDATE, {"input": {"code": "web", "name": "Web shop",
                                                    "locations": ["west", "east"]}}))
    assert changed["channelUpdate"] == {"channel": {
        "code": "web", "name": "Web shop", "locations": [{"code": "west"}, {"code": "east"}]},
        "userErrors": []}
    placed = await _place(api, {"A": 1})
    assert placed["order"]["lines"][0]["allocations"] == [{"location": {"code": "west"}}]

    await api(CHANNEL_UPDATE, {"input": {"code": "web", "locations": ["east", "west"]}})
    placed = await _place(api, {"A": 1})
    assert placed["order"]["lines"][0]["allocations"] == [{"location": {"code": "east"}}]

    for bad, code in (({"locations": ["east", "nowhere"]}, "UNKNOWN_LOCATION"),
                      ({"locations": ["east", "east"]}, "INVALID_INPUT"),
                      ({"name": ""}, "INVALID_INPUT")):
        refused = await api(CHANNEL_UPDATE, {"input": {"code": "web", **bad}})
        assert codes(refused["channelUpdate"]) == [code], bad
    read = await api('{ channels { code name locations { code } } }')
    assert read["channels"] == [{"code": "web", "name": "Web shop",
                                 "locations": [{"code": "east"}, {"code": "west"}]}]
    unknown = await api(CHANNEL_UPDATE, {"input": {"code": "nope", "name": "X"}})
    assert codes(unknown["channelUpdate"]) == ["UNKNOWN_CHANNEL"]


async def test_a_location_is_changed_and_an_inactive_one_serves_no_order(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 5, "west": 5}})  # east is preferred (priority 0)
    await factories.stock("A", {"west": 5})
    changed = (await api(LOCATION_UPDATE, {"input": {
        "code": "east", "name": "East hub", "priority": 7, "latitude": 52.5, "longitude": 13.4,
        "address": {"name": "Hub", "line1": "Str 1", "city": "Berlin", "postalCode": "10115",
                    "country": "de"}}}))["locationUpdate"]
    assert changed["userErrors"] == []
    assert changed["location"] == {
        "code": "east", "name": "East hub", "priority": 7, "pickupEnabled": False,
        "active": True, "latitude": 52.5, "longitude": 13.4,
        "address": {"line1": "Str 1", "city": "Berlin", "region": None, "postalCode": "10115",
                    "country": "DE"}}
    kept = changed["location"]
    for bad, field, code in (
        ({"address": {"name": "Hub", "line1": "x", "city": "Berlin", "postalCode": "ABCDE",
                      "country": "DE"}}, "address", "INVALID_ADDRESS"),
        ({"latitude": 91}, "latitude", "INVALID_INPUT"),
        ({"pickupEnabled": True}, "pickupEnabled", "INVALID_INPUT"),  # a warehouse
        ({"priority": 10**7}, "priority", "INVALID_INPUT"),
        ({"active": None}, "active", "INVALID_INPUT"),
    ):
        refused = (await api(LOCATION_UPDATE, {"input": {"code": "east", "name": "Changed?",
                                                         **bad}}))["locationUpdate"]
        assert codes(refused) == [code], bad
        assert refused["userErrors"][0]["field"][0] == field
        now = (await api('{ locations { code name priority pickupEnabled active latitude '
                         'longitude address { line1 city region postalCode country } } }'))
        assert next(loc for loc in now["locations"] if loc["code"] == "east") == kept

    # West is preferred now (priority 1 < 7); once it is inactive, orders go east again.
    assert (await _place(api, {"A": 1}))["order"]["lines"][0]["allocations"] == [
        {"location": {"code": "west"}}]
    off = (await api(LOCATION_UPDATE, {"input": {"code": "west", "active": False}}))
    assert off["locationUpdate"]["location"]["active"] is False
    assert (await _place(api, {"A": 1}))["order"]["lines"][0]["allocations"] == [
        {"location": {"code": "east"}}]
    short = await _place(api, {"A": 6})  # east has 4 left; west's 9 are out of reach
    assert codes(short) == ["INSUFFICIENT_STOCK"]
    assert (await _catalogue_events())[-2:] == ["catalog.location_updated",
                                                "catalog.location_updated"]


async def test_a_store_that_stops_pickup_or_closes_is_not_offered_for_collection(
    api: GraphQLClient,
) -> None:
    await factories.location("store", kind=factories.LocationKind.STORE, pickup=True)
    await factories.channel("web", locations=["store"])
    await factories.product("A")
    await factories.stock("A", {"store": 5})
    collect = {"input": {"channel": "web", "email": "b@example.com", "pickupLocation": "store",
                         "lines": [{"sku": "A", "quantity": 1}]}}
    assert (await api(PLACE, collect))["orderCreate"]["userErrors"] == []
    await api(LOCATION_UPDATE, {"input": {"code": "store", "pickupEnabled": False}})
    assert codes((await api(PLACE, collect))["orderCreate"]) == ["INVALID_INPUT"]
    await api(LOCATION_UPDATE, {"input": {"code": "store", "pickupEnabled": True,
                                          "active": False}})
    assert codes((await api(PLACE, collect))["orderCreate"]) == ["UNKNOWN_LOCATION"]


MUTATIONS = {
    "productUpdate": ('mutation($id: ID!) { productUpdate(input: {id: $id, name: "X"}) '
                      '{ userErrors { code } } }'),
    "productArchive": "mutation($id: ID!) { productArchive(id: $id) { userErrors { code } } }",
    "productUnarchive": ("mutation($id: ID!) { productUnarchive(id: $id) "
                         "{ userErrors { code } } }"),
    "variantCreate": ('mutation($id: ID!) { variantCreate(input: {productId: $id, sku: "N", '
                      'price: "1", currency: "EUR"}) { userErrors { code } } }'),
    "variantUpdate": ('mutation { variantUpdate(input: {sku: "A", price: "2"}) '
                      '{ userErrors { code } } }'),
    "channelUpdate": ('mutation { channelUpdate(input: {code: "web", name: "W"}) '
                      '{ userErrors { code } } }'),
    "locationUpdate": ('mutation { locationUpdate(input: {code: "east", '
                       'priority: 3}) { userErrors { code } } }'),
}


async def test_only_callers_with_catalogue_write_change_the_catalogue(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 5}})
    await factories.channel("other", locations=["east"])
    pid = await _product_id(api, "A")
    storefront = bearer((await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))
                        ["storefrontKeyCreate"]["key"])
    customer = bearer((await _register(api, "cat@example.com"))["accessToken"])
    partner = await _bearer(api, ["orders:write", "inventory:write", "reports:read"])
    everything = (f"{{ products {{ edges {{ node {{ {PRODUCT} }} }} }} channels {{ name }} "
                  "locations { priority } }")
    before = await api(everything)
    for who, headers in (("anonymous", {}), ("storefront", storefront),
                         ("customer", customer), ("partner", partner)):
        for name, document in MUTATIONS.items():
            errors = await api.errors(document, {"id": pid}, admin=False, headers=headers)
            expected = "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
            assert [e["extensions"]["code"] for e in errors] == [expected], (who, name)
    assert await api(everything) == before

    writer = await _bearer(api, ["catalog:write"])
    for name, document in MUTATIONS.items():
        data = await api(document, {"id": pid}, admin=False, headers=writer)
        assert data[name]["userErrors"] == [], name
    # A partner limited to a channel changes that channel only.
    limited = await _bearer(api, ["catalog:write"], channels=["other"])
    theirs = await api('mutation { channelUpdate(input: {code: "other", name: "O"}) '
                       '{ channel { name } userErrors { code } } }', admin=False, headers=limited)
    assert theirs["channelUpdate"] == {"channel": {"name": "O"}, "userErrors": []}
    not_theirs = await api('mutation { channelUpdate(input: {code: "web", name: "Mine"}) '
                           '{ userErrors { code } } }', admin=False, headers=limited)
    assert codes(not_theirs["channelUpdate"]) == ["UNKNOWN_CHANNEL"]
    assert (await api('{ channels { code name } }'))["channels"] == [
        {"code": "other", "name": "O"}, {"code": "web", "name": "W"}]


@pytest.fixture
async def partner_endpoint(app: Any) -> AsyncIterator[Receiver]:
    """A partner's endpoint on 127.0.0.1, with private webhook URLs allowed meanwhile."""
    policy = app.state.services.webhook_urls
    original, policy.allow_private = policy.allow_private, True
    try:
        async with Receiver() as running:
            yield running
    finally:
        policy.allow_private = original


async def test_a_partner_hears_of_catalogue_changes_by_webhook(
    api: GraphQLClient, partner_endpoint: Receiver,
) -> None:
    receiver = partner_endpoint
    await factories.shop({"A": {"east": 5}})
    partner = await _bearer(api, ["webhooks:manage"], channels=["web"])
    await _subscribe(api, receiver.url, ["catalog.variant_updated", "catalog.product_archived"],
                     admin=False, headers=partner)
    await api(VARIANT_UPDATE, {"input": {"sku": "A", "price": "12.00"}})
    await api(ARCHIVE, {"id": await _product_id(api, "A")})
    first, second = await receiver.wait_for(2)
    bodies = [json.loads(d.body) for d in (first, second)]
    assert [(b["event"], b["data"]["skus"]) for b in bodies] == [
        ("catalog.variant_updated", ["A"]), ("catalog.product_archived", ["A"])]
    assert bodies[0]["data"]["actor"] == "staff:admin"


async def test_a_new_location_joins_the_end_of_its_channels_and_serves_the_next_order(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 0}})
    await factories.channel("b2b", locations=["east"])
    assert codes(await _place(api, {"A": 1})) == ["INSUFFICIENT_STOCK"]  # the route is cached
    created = await api("""mutation { locationCreate(input: {code: "depot", name: "Depot",
      kind: WAREHOUSE, channels: ["web", "b2b"]}) { userErrors { code } } }""")
    assert created["locationCreate"]["userErrors"] == []
    await factories.stock("A", {"depot": 3})
    read = await api("{ channels { code locations { code } } }")
    assert read["channels"] == [
        {"code": "b2b", "locations": [{"code": "east"}, {"code": "depot"}]},
        {"code": "web", "locations": [{"code": "east"}, {"code": "depot"}]}]
    placed = await _place(api, {"A": 1})
    assert placed["order"]["lines"][0]["allocations"] == [{"location": {"code": "depot"}}]
