"""Relay pagination: the same list read forwards (first/after) and backwards (last/before)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from domain.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests import factories
from tests.support import GraphQLClient

ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
Dig = Callable[[dict[str, Any]], dict[str, Any]]


async def _read_both_ways(api: GraphQLClient, document: str, dig: Dig,
                          variables: dict[str, Any] | None = None, size: int = 2,
                          ) -> list[Any]:
    """Walk the whole list forwards then backwards; both walks must agree. Returns the list."""
    async def page(**window: Any) -> dict[str, Any]:
        found = dig(await api(document, {**(variables or {}), **window}))
        info, edges = found["pageInfo"], found["edges"]
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        return found

    forwards: list[Any] = []
    pages: list[list[Any]] = []
    after = None
    while True:
        found = await page(first=size, after=after)
        assert found["pageInfo"]["hasPreviousPage"] is (after is not None)
        pages.append([e["node"] for e in found["edges"]])
        forwards += pages[-1]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]

    backwards: list[Any] = []
    before = None
    while True:
        found = await page(last=size, before=before)
        assert found["pageInfo"]["hasNextPage"] is (before is not None)
        backwards = [e["node"] for e in found["edges"]] + backwards
        if not found["pageInfo"]["hasPreviousPage"]:
            break
        before = found["pageInfo"]["startCursor"]

    assert backwards == forwards
    if len(pages) > 2:  # the page before the third, asked backwards, is the second
        opening = await page(first=size, after=None)
        second = await page(first=size, after=opening["pageInfo"]["endCursor"])
        third = await page(first=size, after=second["pageInfo"]["endCursor"])
        back = await page(last=size, before=third["pageInfo"]["startCursor"])
        assert back["edges"] == second["edges"] and back["pageInfo"]["hasPreviousPage"] is True
    return forwards


async def test_products_read_backwards_as_forwards(api: GraphQLClient) -> None:
    for i in range(7):
        await factories.product(f"SKU-{i}")
    names = await _read_both_ways(
        api, f"query({VARS}) {{ products({ARGS}) {{ edges {{ cursor node {{ name }} }} "
             f"{PAGE_INFO} }} }}", lambda d: d["products"])
    assert [n["name"] for n in names] == [f"Product SKU-{i}" for i in range(7)]


async def test_orders_and_a_customers_orders_read_backwards_as_forwards(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 50}})
    for i in range(6):
        await factories.place({"SHOE": 1}, email=f"c{i % 2}@example.com")
    edges = f"edges {{ cursor node {{ number }} }} {PAGE_INFO}"
    numbers = await _read_both_ways(
        api, f"query({VARS}, $f: OrderFilter) {{ orders({ARGS}, filter: $f) {{ {edges} }} }}",
        lambda d: d["orders"], {"f": {"email": "c0@example.com"}}, size=1)
    assert [n["number"] for n in numbers] == ["1005", "1003", "1001"]
    numbers = await _read_both_ways(
        api, f"query({VARS}) {{ customer(email: \"c1@example.com\") {{ orders({ARGS}) "
             f"{{ {edges} }} }} }}", lambda d: d["customer"]["orders"])
    assert [n["number"] for n in numbers] == ["1006", "1004", "1002"]


async def test_customers_read_backwards_as_forwards_in_every_order(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 50}})
    for email, orders in (("a@example.com", 2), ("b@example.com", 1), ("c@example.com", 1),
                          ("d@example.com", 3), ("e@example.com", 1)):
        for _ in range(orders):
            await factories.place({"SHOE": 1}, email=email)
    document = (f"query({VARS}, $by: CustomerSort!, $cur: String) {{ customers({ARGS}, "
                f"sortBy: $by, currency: $cur) {{ edges {{ cursor node {{ email }} }} "
                f"{PAGE_INFO} }} }}")
    # Three customers tie on one order each: the keyset's id breaks the tie both ways.
    for by, top in (("LIFETIME_VALUE", "d"), ("ORDER_COUNT", "d"), ("LAST_ORDER", "e")):
        emails = await _read_both_ways(api, document, lambda d: d["customers"],
                                       {"by": by, "cur": "EUR"})
        assert len(emails) == 5 and emails[0]["email"] == f"{top}@example.com", (by, emails)


async def test_webhook_deliveries_read_backwards_as_forwards(api: GraphQLClient) -> None:
    created = await api("""mutation($input: WebhookSubscriptionCreateInput!) {
      webhookSubscriptionCreate(input: $input) { subscription { id } } }""",
                        {"input": {"url": "https://hooks.example/in", "events": ["order.placed"]}})
    assert created["webhookSubscriptionCreate"]["subscription"]
    subscription = await WebhookSubscription.first()
    for i in range(5):
        await WebhookDelivery.create(subscription=subscription, delivery_id=f"d-{i}",
                                     event="order.placed", payload={}, attempts=1,
                                     status=DeliveryStatus.SUCCEEDED,
                                     next_attempt_at=datetime.now(UTC))
    ids = await _read_both_ways(
        api, f"query({VARS}) {{ webhookSubscriptions {{ deliveries({ARGS}) "
             f"{{ edges {{ cursor node {{ deliveryId }} }} {PAGE_INFO} }} }} }}",
        lambda d: d["webhookSubscriptions"][0]["deliveries"])
    assert [n["deliveryId"] for n in ids] == [f"d-{i}" for i in reversed(range(5))]


async def test_pages_refuse_mixed_directions_and_bad_sizes(api: GraphQLClient) -> None:
    for document in ("{ products(first: 2, last: 2) { edges { cursor } } }",
                     '{ products(after: "x", before: "y") { edges { cursor } } }',
                     "{ products(last: 0) { edges { cursor } } }",
                     "{ products(last: 101) { edges { cursor } } }",
                     '{ products(before: "garbage") { edges { cursor } } }'):
        errors = await api.errors(document, admin=False)
        assert errors[0]["extensions"]["code"] == "BAD_REQUEST", (document, errors)


async def test_last_costs_as_much_as_first(api: GraphQLClient) -> None:
    async def cost(argument: str) -> int:
        response = await api.raw(f"{{ products({argument}: 50) {{ edges {{ node {{ name }} }} }} }}")
        return int(response.json()["extensions"]["cost"]["requested"])

    assert await cost("last") == await cost("first") > 100
