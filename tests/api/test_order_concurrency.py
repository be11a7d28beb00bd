"""Many buyers racing for the last units: on PostgreSQL these are real parallel transactions."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from domain.inventory.models import StockLevel
from domain.orders.models import Order, OrderStatus
from tests import factories
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id lines { sku quantity } } userErrors { code message } } }"""
CANCEL = """mutation($id: ID!) { orderCancel(id: $id) { order { status } userErrors { code } } }"""


def _order(lines: list[tuple[str, int]], n: int) -> dict[str, Any]:
    return {"input": {"channel": "web", "email": f"buyer{n}@example.com",
                      "shippingAddress": factories.address(),
                      "lines": [{"sku": s, "quantity": q} for s, q in lines]}}


async def _reserved_by_sku() -> dict[str, int]:
    totals: dict[str, int] = {}
    for level in await StockLevel.all().prefetch_related("variant"):
        totals[level.variant.sku] = totals.get(level.variant.sku, 0) + level.reserved
    return totals


async def test_sixty_buyers_for_ten_units_make_exactly_ten_orders(
    api: GraphQLClient,
) -> None:
    await factories.shop({"HOT": {"a": 6, "b": 4}})
    results = await asyncio.gather(*(api(CREATE, _order([("HOT", 1)], n)) for n in range(60)))
    payloads = [r["orderCreate"] for r in results]
    succeeded = [p for p in payloads if p["order"]]
    refused = [p for p in payloads if not p["order"]]
    assert len(succeeded) == 10
    assert len(refused) == 50
    assert all([e["code"] for e in p["userErrors"]] == ["INSUFFICIENT_STOCK"] for p in refused)
    assert await _reserved_by_sku() == {"HOT": 10}
    numbers = sorted(int(o.number) for o in await Order.all())
    assert numbers == list(range(1001, 1011))  # unique and without gaps
    await assert_ledger_matches()


async def test_multi_line_orders_sharing_skus_never_oversell(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"x": 7, "y": 5}, "B": {"x": 4, "y": 6}})
    stock = {"A": 12, "B": 10}
    rng = random.Random(7)
    shapes = [
        [("A", 1), ("A", 1)], [("A", 2), ("B", 1)], [("B", 1), ("A", 1), ("B", 2)],
        [("A", 3)], [("B", 2), ("B", 1)],
    ]
    requests = [rng.choice(shapes) for _ in range(50)]
    results = await asyncio.gather(*(api(CREATE, _order(lines, n))
                                     for n, lines in enumerate(requests)))
    demanded: dict[str, int] = {"A": 0, "B": 0}
    for payload in (r["orderCreate"] for r in results):
        if payload["order"]:
            for line in payload["order"]["lines"]:
                demanded[line["sku"]] += line["quantity"]
        else:
            assert {e["code"] for e in payload["userErrors"]} == {"INSUFFICIENT_STOCK"}
    reserved = await _reserved_by_sku()
    assert reserved == demanded
    assert all(reserved[sku] <= stock[sku] for sku in stock)
    assert all(level.available >= 0 for level in await StockLevel.all())
    await assert_ledger_matches()


async def test_cancelling_while_others_order_keeps_the_ledger_right(
    api: GraphQLClient,
) -> None:
    await factories.shop({"HOT": {"a": 15, "b": 5}})
    first = await asyncio.gather(*(api(CREATE, _order([("HOT", 1)], n)) for n in range(20)))
    ids = [r["orderCreate"]["order"]["id"] for r in first]
    cancels = [api(CANCEL, {"id": gid}) for gid in ids[::2]]
    buyers = [api(CREATE, _order([("HOT", 1)], 100 + n)) for n in range(20)]
    mixed = await asyncio.gather(*cancels, *buyers)
    assert all(r["orderCancel"]["order"]["status"] == "CANCELLED" for r in mixed[:10])
    new_orders = sum(1 for r in mixed[10:] if r["orderCreate"]["order"])
    assert 0 <= new_orders <= 10
    live = await Order.exclude(status=OrderStatus.CANCELLED).count()
    assert live == 10 + new_orders
    assert await _reserved_by_sku() == {"HOT": live}
    await assert_ledger_matches()


async def test_one_idempotency_key_sent_by_many_at_once_places_one_order(
    api: GraphQLClient,
) -> None:
    await factories.shop({"HOT": {"a": 100}})
    retry = _order([("HOT", 2)], 1)
    retry["input"]["idempotencyKey"] = "checkout-7"
    results = await asyncio.gather(*(api(CREATE, retry) for _ in range(12)))
    orders = {r["orderCreate"]["order"]["id"] for r in results}
    assert len(orders) == 1 and all(not r["orderCreate"]["userErrors"] for r in results)
    assert await Order.all().count() == 1
    assert await _reserved_by_sku() == {"HOT": 2}
    # and a different request under the key, sent at once by many, is refused by each
    other = _order([("HOT", 3)], 1)
    other["input"]["idempotencyKey"] = "checkout-7"
    refused = await asyncio.gather(*(api(CREATE, other) for _ in range(6)))
    assert {e["code"] for r in refused for e in r["orderCreate"]["userErrors"]} == {
        "IDEMPOTENCY_KEY_REUSED"}
    await assert_ledger_matches()
