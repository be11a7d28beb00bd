"""A server on PostgreSQL whose Redis stops and starts again: the API answers from the
database meanwhile, and subscribers get every event, in order, once Redis is back.

In a module of its own: servers left running by another module share the database, and
their relays would publish this server's events to another Redis."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_across_processes import (
    ORDER_EVENTS,
    TRACK,
    _shipped_order,
    gql,
    subscribed,
)
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import RedisServer, oms_server

pytestmark = [
    pytest.mark.skipif(
        DATABASE_URL is None or REDIS_URL is None,
        reason="needs PostgreSQL and Redis: runs in the OMS_TEST_DATABASE_URL leg of .ci/run"),
    pytest.mark.usefixtures("local_relay_stopped"),
]


async def test_everything_keeps_working_across_a_redis_restart(db: None) -> None:
    assert DATABASE_URL is not None
    redis = RedisServer()
    redis.start()
    try:
        with oms_server(database_url=DATABASE_URL, redis_url=redis.url) as server:
            gid, sid = await _shipped_order(server, "X-REDIS")
            query = '{ availability(skus: ["SHOE"]) { available } }'
            async with subscribed(server) as sub:
                await sub.subscribe(ORDER_EVENTS, {"id": gid, "after": 0})
                before = await sub.data(4)  # placed, reserved, confirmed, ... so far
                last = before[-1]["orderEvents"]["sequence"]
                redis.stop()
                # Redis is down: the API answers from the database, writes still commit.
                assert (await gql(server, query))["availability"] == [{"available": 18}]
                await gql(server, TRACK, {"s": sid, "status": "OUT_FOR_DELIVERY"})
                async with httpx.AsyncClient() as http:
                    ready = await http.get(f"{server.url}/readyz")
                assert ready.status_code == 503
                redis.start()
                # The event committed while Redis was down still arrives, then live ones.
                await gql(server, TRACK, {"s": sid, "status": "DELIVERED"})
                received = []
                while not any(d["orderEvents"]["type"] == "ORDER_COMPLETED" for d in received):
                    received += await sub.data(1, seconds=30)
                types = [d["orderEvents"]["type"] for d in received]
                sequences = [d["orderEvents"]["sequence"] for d in received]
                assert sequences == list(range(last + 1, last + 1 + len(received)))
                assert "SHIPMENT_OUT_FOR_DELIVERY" in types and "SHIPMENT_DELIVERED" in types
            await gql(server, 'mutation { inventoryAdjust(input: {sku: "SHOE", location: "a", '
                              'delta: 1, reason: "count"}) { userErrors { code } } }')
            assert (await gql(server, query))["availability"] == [{"available": 19}]
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"{server.url}/readyz")).status_code == 200
    finally:
        redis.stop()
