"""The catalogue cache of every process follows changes made in another, through the event
bus: the next order there is priced and refused by the change (PostgreSQL and Redis)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.api.test_across_processes import gql
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import Server, oms_server, until_catalogue_heard
from tests.support import GraphQLClient, codes, eventually

pytestmark = [
    pytest.mark.skipif(
        DATABASE_URL is None or REDIS_URL is None,
        reason="needs PostgreSQL and Redis: runs in the OMS_TEST_DATABASE_URL leg of .ci/run"),
    pytest.mark.usefixtures("local_relay_stopped"),
]

PLACE = """mutation($i: OrderCreateInput!) { orderCreate(input: $i) {
  order { lines { name unitPrice { amount } } } userErrors { code } } }"""


async def _place(server: Server) -> dict[str, Any]:
    data = await gql(server, PLACE, {"i": {"channel": "web", "email": "x@example.com",
                                           "shippingAddress": factories.address(),
                                           "lines": [{"sku": "SHOE", "quantity": 1}]}})
    return dict(data["orderCreate"])


async def _heard(server: Server, metric: str = "catalog_cache_invalidations") -> float:
    """How many changes of a cache's kind the server has heard of (its metric)."""
    return await server.counted(metric)


async def _until_heard_once(server: Server, metric: str) -> None:
    """Until the server has heard of one change of the settings cache counted by ``metric``."""
    async def heard() -> bool:
        return await _heard(server, metric) == 1.0

    await eventually(heard, seconds=20)


async def test_a_change_on_one_process_reaches_the_next_order_of_another(
    api: GraphQLClient,
) -> None:
    assert DATABASE_URL is not None
    with oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as other:
        await factories.shop({"SHOE": {"a": 20}})
        await until_catalogue_heard(other)
        first = await _place(other)  # the other process caches the channel and the SKU
        assert first["order"]["lines"] == [{"name": "Product SHOE",
                                            "unitPrice": {"amount": "10.00"}}]

        changed = await api('mutation { variantUpdate(input: {sku: "SHOE", price: "12.50", '
                            'name: "Shoe"}) { userErrors { code } } }')
        assert changed["variantUpdate"]["userErrors"] == []
        await until_catalogue_heard(other)
        second = await _place(other)
        assert second["order"]["lines"] == [{"name": "Shoe", "unitPrice": {"amount": "12.50"}}]

        product = (await api('{ variant(sku: "SHOE") { product { id } } }'))["variant"]
        await api("mutation($id: ID!) { productArchive(id: $id) { userErrors { code } } }",
                  {"id": product["product"]["id"]})
        await until_catalogue_heard(other)
        assert codes(await _place(other)) == ["VARIANT_ARCHIVED"]

        await api('mutation { locationUpdate(input: {code: "a", active: false}) '
                  '{ userErrors { code } } }')
        await api("mutation($id: ID!) { productUnarchive(id: $id) { userErrors { code } } }",
                  {"id": product["product"]["id"]})
        await until_catalogue_heard(other)
        assert codes(await _place(other)) == ["INSUFFICIENT_STOCK"]  # "a" serves no one now


async def test_risk_settings_changed_on_one_process_screen_the_next_order_of_another(
    api: GraphQLClient,
) -> None:
    """Each process keeps the merchant's risk settings (domain/risk/cache.py); a change
    made on one reaches the others through the event bus."""
    assert DATABASE_URL is not None
    with oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as other:
        await factories.shop({"SHOE": {"a": 20}})
        await until_catalogue_heard(other)
        place = """mutation($i: OrderCreateInput!) { orderCreate(input: $i) {
          order { status holdKind } userErrors { code } } }"""
        order = {"i": {"channel": "web", "email": "eve@fraud.example",
                       "shippingAddress": factories.address(),
                       "lines": [{"sku": "SHOE", "quantity": 1}]}}
        first = (await gql(other, place, order))["orderCreate"]
        assert first["order"]["status"] == "PENDING"  # the other process now keeps the row

        changed = await api('mutation { riskSettingsUpdate(input: {blockedEmails: '
                            '["@fraud.example"]}) { userErrors { code } } }')
        assert changed["riskSettingsUpdate"]["userErrors"] == []

        await _until_heard_once(other, "risk_settings_cache_invalidations")
        second = (await gql(other, place, order))["orderCreate"]
        assert second["order"] == {"status": "ON_HOLD", "holdKind": "RISK"}


async def test_tax_rates_set_on_one_process_tax_the_next_order_of_another(
    api: GraphQLClient,
) -> None:
    """Each process keeps the tax rates (domain/taxes/table.py); a change made on one
    reaches the others through the event bus."""
    assert DATABASE_URL is not None
    with oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as other:
        await factories.shop({"SHOE": {"a": 20}})
        await until_catalogue_heard(other)
        place = """mutation($i: OrderCreateInput!) { orderCreate(input: $i) {
          order { total { amount } taxTotal { amount } } userErrors { code } } }"""
        order = {"i": {"channel": "web", "email": "ann@example.com",
                       "shippingAddress": factories.address(),
                       "lines": [{"sku": "SHOE", "quantity": 1}]}}
        first = (await gql(other, place, order))["orderCreate"]
        assert first["order"] == {"total": {"amount": "10.00"}, "taxTotal": {"amount": "0.00"}}

        changed = await api('mutation { taxRatesSet(rates: [{country: "DE", '
                            'taxClass: STANDARD, rate: "19"}]) { userErrors { code } } }')
        assert changed["taxRatesSet"]["userErrors"] == []

        await _until_heard_once(other, "tax_rates_cache_invalidations")
        second = (await gql(other, place, order))["orderCreate"]
        assert second["order"] == {"total": {"amount": "11.90"},
                                   "taxTotal": {"amount": "1.90"}}
async def test_a_promotion_created_on_one_process_discounts_the_next_order_of_another(
    api: GraphQLClient,
) -> None:
    """Each process keeps the automatic promotions (domain/discounts/offers.py); a new one
    reaches the others through the event bus."""
    assert DATABASE_URL is not None
    with oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as other:
        await factories.shop({"SHOE": {"a": 20}})
        await until_catalogue_heard(other)
        place = """mutation($i: OrderCreateInput!) { orderCreate(input: $i) {
          order { total { amount } discountTotal { amount } } userErrors { code } } }"""
        order = {"i": {"channel": "web", "email": "ann@example.com",
                       "shippingAddress": factories.address(),
                       "lines": [{"sku": "SHOE", "quantity": 1}]}}
        first = (await gql(other, place, order))["orderCreate"]
        assert first["order"] == {"total": {"amount": "10.00"},
                                  "discountTotal": {"amount": "0.00"}}

        created = await api('mutation { promotionCreate(input: {name: "10% off", '
                            'kind: PERCENTAGE, target: LINES, value: "10"}) '
                            "{ userErrors { code } } }")
        assert created["promotionCreate"]["userErrors"] == []

        await _until_heard_once(other, "promotions_cache_invalidations")
        second = (await gql(other, place, order))["orderCreate"]
        assert second["order"] == {"total": {"amount": "9.00"},
                                   "discountTotal": {"amount": "1.00"}}


async def test_a_price_list_changed_on_one_process_prices_the_next_order_of_another(
    api: GraphQLClient,
) -> None:
    """Price lists are cached with the catalogue (domain/catalog/cache.py): their entries
    with the variants, their settings with the channel; both follow a change elsewhere."""
    assert DATABASE_URL is not None
    with oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as other:
        await factories.shop({"SHOE": {"a": 20}}, channel_code="us", currency="USD")
        created = await api('mutation { priceListCreate(input: {code: "us-retail", '
                            'name: "Retail", channel: "us", currency: "USD"}) '
                            "{ priceList { id } userErrors { code } } }")
        list_id = created["priceListCreate"]["priceList"]["id"]
        entries = """mutation($id: ID!, $amount: Decimal!) { priceListEntriesSet(input: {
          priceListId: $id, entries: [{sku: "SHOE", amount: $amount}]}) { userErrors { code } } }"""
        await api(entries, {"id": list_id, "amount": "12.00"})
        await until_catalogue_heard(other)
        place = {"i": {"channel": "us", "email": "x@example.com",
                       "shippingAddress": factories.address(),
                       "lines": [{"sku": "SHOE", "quantity": 1}]}}
        first = (await gql(other, PLACE, place))["orderCreate"]
        assert first["order"]["lines"][0]["unitPrice"] == {"amount": "12.00"}

        await api(entries, {"id": list_id, "amount": "11.00"})
        await until_catalogue_heard(other)
        second = (await gql(other, PLACE, place))["orderCreate"]
        assert second["order"]["lines"][0]["unitPrice"] == {"amount": "11.00"}

        await api("mutation($id: ID!) { priceListUpdate(input: {id: $id, active: false}) "
                  "{ userErrors { code } } }", {"id": list_id})
        await until_catalogue_heard(other)
        third = (await gql(other, PLACE, place))["orderCreate"]
        assert third["order"]["lines"][0]["unitPrice"] == {"amount": "10.00"}  # its own, USD
