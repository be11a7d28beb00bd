"""Channels, locations and products through the GraphQL API."""

from __future__ import annotations

from tests.support import GraphQLClient, codes

CREATE_LOCATION = """
mutation($input: LocationCreateInput!) {
  locationCreate(input: $input) {
    location { id code name kind priority pickupEnabled address { city country } }
    userErrors { field code message }
  }
}"""
CREATE_CHANNEL = """
mutation($input: ChannelCreateInput!) {
  channelCreate(input: $input) {
    channel { id code kind currency locations { code } }
    userErrors { field code message }
  }
}"""
CREATE_PRODUCT = """
mutation($input: ProductCreateInput!) {
  productCreate(input: $input) {
    product { id name variants { id sku name price { amount currency } trackInventory
              backorderPolicy } }
    userErrors { field code message }
  }
}"""


async def _location(api: GraphQLClient, code: str, **extra: object) -> dict:
    data = await api(CREATE_LOCATION, {"input": {"code": code, "name": code, "kind": "WAREHOUSE",
                                                 **extra}})
    return data["locationCreate"]


async def test_create_a_channel_served_by_locations(api: GraphQLClient) -> None:
    created = await _location(api, "berlin", priority=1,
                              address={"name": "WH", "line1": "Str 1", "city": "Berlin",
                                       "postalCode": "10115", "country": "de"})
    assert created["userErrors"] == []
    assert created["location"]["address"] == {"city": "Berlin", "country": "DE"}

    data = await api(CREATE_CHANNEL, {"input": {"code": "web", "name": "Web", "kind": "WEB",
                                                "currency": "EUR", "locations": ["berlin"]}})
    channel = data["channelCreate"]["channel"]
    assert channel["locations"] == [{"code": "berlin"}]
    assert (await api("{ channels { code currency } }", admin=False))["channels"] == [
        {"code": "web", "currency": "EUR"}
    ]


async def test_create_a_product_with_variants_and_read_it_back(api: GraphQLClient) -> None:
    data = await api(CREATE_PRODUCT, {"input": {"name": "Shoe", "variants": [
        {"sku": "SHOE-42", "price": "129.90", "currency": "EUR"},
        {"sku": "SHOE-43", "price": "129.9", "currency": "eur", "trackInventory": False,
         "backorderPolicy": "CONTINUE", "name": "EU 43"},
    ]}})
    product = data["productCreate"]["product"]
    assert [v["price"] for v in product["variants"]] == [
        {"amount": "129.90", "currency": "EUR"}, {"amount": "129.90", "currency": "EUR"}
    ]
    assert product["variants"][1]["backorderPolicy"] == "CONTINUE"

    anonymous = await api('{ variant(sku: "SHOE-43") { name product { name } } }', admin=False)
    assert anonymous["variant"] == {"name": "EU 43", "product": {"name": "Shoe"}}
    node = await api("query($id: ID!) { node(id: $id) { id ... on Product { name } } }",
                     {"id": product["id"]}, admin=False)
    assert node["node"] == {"id": product["id"], "name": "Shoe"}


async def test_products_page_with_keyset_cursors(api: GraphQLClient) -> None:
    for i in range(5):
        await api(CREATE_PRODUCT, {"input": {"name": f"P{i}", "variants": [
            {"sku": f"SKU-{i}", "price": "1.00", "currency": "EUR"}]}})
    query = """query($after: String) { products(first: 2, after: $after) {
        edges { node { name } } pageInfo { hasNextPage endCursor } } }"""
    names, after = [], None
    while True:
        page = (await api(query, {"after": after}, admin=False))["products"]
        names += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == ["P0", "P1", "P2", "P3", "P4"]


async def test_duplicate_codes_and_skus_are_refused(api: GraphQLClient) -> None:
    await _location(api, "wh")
    assert codes(await _location(api, "wh")) == ["DUPLICATE"]
    first = await api(CREATE_PRODUCT, {"input": {"name": "A", "variants": [
        {"sku": "DUP", "price": "1.00", "currency": "EUR"}]}})
    assert first["productCreate"]["userErrors"] == []
    again = await api(CREATE_PRODUCT, {"input": {"name": "B", "variants": [
        {"sku": "DUP", "price": "1.00", "currency": "EUR"}]}})
    assert codes(again["productCreate"]) == ["DUPLICATE"]
    twice = await api(CREATE_PRODUCT, {"input": {"name": "C", "variants": [
        {"sku": "X", "price": "1.00", "currency": "EUR"},
        {"sku": "X", "price": "1.00", "currency": "EUR"}]}})
    assert codes(twice["productCreate"]) == ["DUPLICATE"]
    total = await api("{ products { edges { node { name } } } }")
    assert [e["node"]["name"] for e in total["products"]["edges"]] == ["A"]


async def test_bad_catalogue_input_gets_clear_errors_and_changes_nothing(
    api: GraphQLClient,
) -> None:
    bad_currency = await api(CREATE_PRODUCT, {"input": {"name": "A", "variants": [
        {"sku": "A-1", "price": "1.00", "currency": "EURO"},
        {"sku": "A-2", "price": "1.001", "currency": "EUR"},
        {"sku": "A-3", "price": "-1", "currency": "EUR"},
        {"sku": "bad sku", "price": "1", "currency": "JPY"}]}})
    errors = bad_currency["productCreate"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        (["variants", "0", "currency"], "INVALID_INPUT"),
        (["variants", "1", "price"], "INVALID_INPUT"),
        (["variants", "2", "price"], "INVALID_INPUT"),
        (["variants", "3", "sku"], "INVALID_INPUT"),
    ]
    no_variants = await api(CREATE_PRODUCT, {"input": {"name": "A", "variants": []}})
    assert codes(no_variants["productCreate"]) == ["INVALID_INPUT"]
    too_long = await api(CREATE_PRODUCT, {"input": {"name": "x" * 201, "variants": [
        {"sku": "L-1", "price": "1.00", "currency": "EUR"}]}})
    assert codes(too_long["productCreate"]) == ["INVALID_INPUT"]
    unknown_location = await api(CREATE_CHANNEL, {"input": {
        "code": "web", "name": "Web", "kind": "WEB", "currency": "EUR", "locations": ["nope"]}})
    assert codes(unknown_location["channelCreate"]) == ["UNKNOWN_LOCATION"]
    bad_channel_currency = await api(CREATE_CHANNEL, {"input": {
        "code": "web", "name": "Web", "kind": "WEB", "currency": "XYZ"}})
    assert codes(bad_channel_currency["channelCreate"]) == ["INVALID_INPUT"]
    unknown_channel = await _location(api, "wh", channels=["nope"])
    assert codes(unknown_channel) == ["UNKNOWN_CHANNEL"]
    bad_address = await _location(api, "wh", address={"name": "x", "line1": "y", "city": "z",
                                                      "country": "DE", "postalCode": "ABC"})
    assert [e["field"] for e in bad_address["userErrors"]] == [["address", "postalCode"]]

    state = await api("{ channels { code } locations { code } products { edges { cursor } } }")
    assert state == {"channels": [], "locations": [], "products": {"edges": []}}
