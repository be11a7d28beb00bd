"""Deployments on different databases sharing one Redis never meet there: each one's keys
and channels carry its own prefix (by default, from an id its database keeps), while every
process on one database agrees on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis

from api.app import redis_prefix
from api.settings import Settings
from domain.deployment import Deployment
from tests.api.test_across_processes import gql, subscribed
from tests.servers import RedisServer, Server, migrated_sqlite, oms_server

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None,
                                        reason="needs redis-server")

ORDER_EVENTS = """subscription($id: ID!) { orderEvents(orderId: $id, after: 0)
  { sequence type message } }"""
PLACE = """mutation { orderCreate(input: {channel: "web", email: "a@example.com",
  lines: [{sku: "SHOE-TRAIL-42", quantity: 1}], shippingAddress: {name: "Ann",
  line1: "1 Main St", city: "Berlin", postalCode: "10115", country: "DE"}})
  { order { id events { sequence } } } }"""
HOLD = """mutation($id: ID!, $r: String!) { orderHold(id: $id, reason: $r) {
  userErrors { code } } }"""
AVAILABLE = '{ availability(skus: ["BOTTLE-750"], channel: "web") { available } }'


async def test_the_default_prefix_is_the_databases_own_id(db: None) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/0")
    prefix = await redis_prefix(settings)
    assert prefix == f"oms:{(await Deployment.get(id=1)).key}"
    assert await redis_prefix(settings) == prefix  # the next process reads the same
    assert await redis_prefix(settings.with_(redis_prefix="shop-a")) == "shop-a"


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shops(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Server, Server, Path]]:
    """Two shops, each on its own SQLite database, on the same Redis."""
    folder = tmp_path_factory.mktemp("shops")
    with (oms_server(database_url=migrated_sqlite(folder / "a.sqlite3"), redis_url=redis.url) as a,
          oms_server(database_url=migrated_sqlite(folder / "b.sqlite3"), redis_url=redis.url) as b):
        yield a, b, folder


@needs_redis_server
async def test_a_subscriber_never_sees_the_other_shops_events(
    shops: tuple[Server, Server, Path],
) -> None:
    a, b, _ = shops
    ours = (await gql(a, PLACE))["orderCreate"]["order"]
    theirs = (await gql(b, PLACE))["orderCreate"]["order"]
    assert ours["id"] == theirs["id"]  # the same order id in two databases, the same topic
    async with subscribed(a) as sub:
        await sub.subscribe(ORDER_EVENTS, {"id": ours["id"]})
        replayed = await sub.data(len(ours["events"]))
        await gql(b, HOLD, {"id": theirs["id"], "r": "shop B's private reason"})
        await gql(a, HOLD, {"id": ours["id"], "r": "shop A's reason"})
        live = (await sub.data(1))[0]["orderEvents"]
    assert live["sequence"] == replayed[-1]["orderEvents"]["sequence"] + 1
    assert live["type"] == "ORDER_ON_HOLD" and "shop A's reason" in live["message"]


@needs_redis_server
async def test_availability_cached_for_one_shop_is_not_read_by_the_other(
    shops: tuple[Server, Server, Path],
) -> None:
    a, b, _ = shops
    adjust = ('mutation { inventoryAdjust(input: {sku: "BOTTLE-750", location: "berlin-wh", '
              'delta: 5, reason: "delivery"}) { userErrors { code } } }')
    await gql(b, adjust)
    first = (await gql(a, AVAILABLE))["availability"][0]["available"]  # cached for A
    assert (await gql(b, AVAILABLE))["availability"] == [{"available": first + 5}]
    assert (await gql(a, AVAILABLE))["availability"] == [{"available": first}]


async def _prefixes(redis: RedisServer) -> set[str]:
    client: Any = aioredis.from_url(redis.url, decode_responses=True)
    try:
        keys = await client.keys("*")
    finally:
        await client.aclose()
    return {":".join(key.split(":")[:2]) for key in keys}


@needs_redis_server
async def test_every_key_carries_its_deployments_prefix(
    shops: tuple[Server, Server, Path], redis: RedisServer,
) -> None:
    a, b, _ = shops
    for server in (a, b):
        await gql(server, AVAILABLE)
    prefixes = await _prefixes(redis)
    assert len(prefixes) == 2 and all(p.startswith("oms:") and len(p) == 20 for p in prefixes)


@needs_redis_server
async def test_processes_on_one_database_agree_on_the_prefix(
    shops: tuple[Server, Server, Path], redis: RedisServer,
) -> None:
    a, _, folder = shops
    with oms_server(database_url=f"sqlite://{folder / 'a.sqlite3'}", redis_url=redis.url) as c:
        order = (await gql(a, PLACE))["orderCreate"]["order"]
        async with subscribed(c) as sub:
            await sub.subscribe(ORDER_EVENTS, {"id": order["id"]})
            replayed = await sub.data(len(order["events"]))
            await gql(a, HOLD, {"id": order["id"], "r": "seen by every process"})
            live = (await sub.data(1))[0]["orderEvents"]
        before = await _prefixes(redis)
        await gql(c, '{ availability(skus: ["SHOE-TRAIL-42"]) { available } }')
        assert await _prefixes(redis) == before  # C's cache keys have A's prefix
    assert live["sequence"] == replayed[-1]["orderEvents"]["sequence"] + 1
