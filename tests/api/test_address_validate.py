"""Storefronts check an address with ``addressValidate``; orderCreate applies the same rule."""

from __future__ import annotations

from domain.orders.models import Order
from tests import factories
from tests.api.test_catalog import CREATE_LOCATION
from tests.api.test_orders import CREATE
from tests.support import GraphQLClient

VALIDATE = """
query($address: AddressInput!) {
  addressValidate(address: $address) {
    address { name line1 city region postalCode country }
    userErrors { field code message }
  }
}"""


async def test_a_storefront_gets_the_normalised_address(api: GraphQLClient) -> None:
    address = {"name": " Ann ", "line1": " 1 Main St ", "city": "San Francisco",
               "region": "ca", "postalCode": "94105", "country": "us"}
    payload = (await api(VALIDATE, {"address": address}, admin=False))["addressValidate"]
    assert payload["userErrors"] == []
    assert payload["address"] == {"name": "Ann", "line1": "1 Main St", "city": "San Francisco",
                                  "region": "US-CA", "postalCode": "94105", "country": "US"}


async def test_country_xx_is_refused_naming_the_field(api: GraphQLClient) -> None:
    address = {"name": "Ann", "line1": "1 Main St", "city": "City", "country": "XX"}
    payload = (await api(VALIDATE, {"address": address}, admin=False))["addressValidate"]
    assert payload["address"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["address", "country"], "INVALID_ADDRESS")]
    assert "'XX'" in payload["userErrors"][0]["message"]


async def test_order_create_refuses_what_address_validate_refuses(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    bad = {"name": "Ann", "line1": "1 Main St", "city": "City", "country": "XX"}
    checked = (await api(VALIDATE, {"address": bad}, admin=False))["addressValidate"]
    placed = (await api(CREATE, {"input": {
        "channel": "web", "email": "ann@example.com", "lines": [{"sku": "SHOE", "quantity": 1}],
        "shippingAddress": bad}}))["orderCreate"]
    assert placed["order"] is None
    assert [(e["code"], e["message"]) for e in placed["userErrors"]] == [
        (e["code"], e["message"]) for e in checked["userErrors"]]
    assert [e["field"] for e in placed["userErrors"]] == [["shippingAddress", "country"]]
    assert await Order.all().count() == 0


async def test_an_order_stores_the_normalised_address(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    placed = (await api(CREATE, {"input": {
        "channel": "web", "email": "ann@example.com", "lines": [{"sku": "SHOE", "quantity": 1}],
        "shippingAddress": {"name": "Ann", "line1": " 1 High St ", "city": "London",
                            "postalCode": "sw1a 1aa", "country": "gb"}}}))["orderCreate"]
    assert placed["userErrors"] == []
    order = await Order.all().first()
    assert order is not None
    assert order.shipping_address["postalCode"] == "SW1A 1AA"
    assert order.shipping_address["country"] == "GB"
    assert order.shipping_address["line1"] == "1 High St"


async def test_a_location_address_follows_the_same_rule(api: GraphQLClient) -> None:
    refused = (await api(CREATE_LOCATION, {"input": {
        "code": "wh", "name": "Warehouse", "kind": "WAREHOUSE",
        "address": {"name": "WH", "line1": "1 Dock", "city": "Nowhere", "country": "XX"}}}
    ))["locationCreate"]
    assert refused["location"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["address", "country"], "INVALID_ADDRESS")]
    created = (await api(CREATE_LOCATION, {"input": {
        "code": "wh", "name": "Warehouse", "kind": "WAREHOUSE",
        "address": {"name": "WH", "line1": "1 Dock", "city": "Tokyo", "country": "jp",
                    "postalCode": "100-0001"}}}))["locationCreate"]
    assert created["userErrors"] == []
    assert created["location"]["address"] == {"city": "Tokyo", "country": "JP"}
