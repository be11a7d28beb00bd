"""Several server processes on PostgreSQL and Redis: live events cross processes, and
subscriptions, availability and the API survive a Redis restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from tests import factories
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import Server, oms_server
from tests.support import ADMIN, Subscriber, eventually

pytestmark = [
    pytest.mark.skipif(
        DATABASE_URL is None or REDIS_URL is None,
        reason="needs PostgreSQL and Redis: runs in the OMS_TEST_DATABASE_URL leg of .ci/run"),
    pytest.mark.usefixtures("local_relay_stopped"),
]

ORDER_EVENTS = """subscription($id: ID!, $after: Int) { orderEvents(orderId: $id, after: $after)
  { sequence type } }"""
TRACKING = """subscription($n: String) { shipmentTracking(trackingNumber: $n)
  { sequence status location } }"""


async def gql(server: Server, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.post(f"{server.url}/graphql", headers=ADMIN,
                                   json={"query": query, "variables": variables or {}})
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


@asynccontextmanager
async def subscribed(server: Server) -> AsyncIterator[Subscriber]:
    async with (
        httpx.AsyncClient(timeout=20) as http,
        aconnect_ws(f"{server.url}/graphql", http, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        sub = Subscriber(ws)
        assert (await sub.init())["type"] == "connection_ack"
        yield sub


@pytest.fixture(scope="module")
def two_servers() -> Iterator[tuple[Server, Server]]:
    assert DATABASE_URL is not None
    with (oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as a,
          oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL) as b):
        yield a, b


async def _shipped_order(server: Server, tracking: str) -> tuple[str, str]:
    await factories.shop({"SHOE": {"a": 20}})
    order = await factories.place({"SHOE": 2})
    gid = (await gql(server, 'query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    await gql(server, "mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
              {"id": gid})
    sid = (await gql(server, "mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                     "{ shipment { id } } }", {"o": gid}))["shipmentCreate"]["shipment"]["id"]
    await gql(server, "mutation($s: ID!, $t: String) { shipmentShip(input: {shipmentId: $s, "
              "trackingNumber: $t}) { userErrors { code } } }", {"s": sid, "t": tracking})
    return gid, sid


TRACK = """mutation($s: ID!, $status: ShipmentStatus!, $where: String) {
  shipmentTrackingEventAdd(input: {shipmentId: $s, status: $status, location: $where}) {
    userErrors { code message } } }"""


async def test_a_subscriber_on_one_process_sees_events_made_on_another(
    db: None, two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    _, sid = await _shipped_order(b, "X-PROC")
    async with subscribed(a) as sub:
        await sub.subscribe(TRACKING, {"n": "X-PROC"})
        assert (await sub.data(1))[0]["shipmentTracking"]["status"] == "IN_TRANSIT"
        for status, where in (("OUT_FOR_DELIVERY", "Hamburg"), ("DELIVERED", "Hamburg")):
            await gql(b, TRACK, {"s": sid, "status": status, "where": where})
        live = [d["shipmentTracking"] for d in await sub.data(2, seconds=20)]
        assert live == [
            {"sequence": 2, "status": "OUT_FOR_DELIVERY", "location": "Hamburg"},
            {"sequence": 3, "status": "DELIVERED", "location": "Hamburg"},
        ]


async def test_a_stock_change_on_one_process_is_read_on_the_next_request_of_another(
    db: None, two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    await factories.shop({"SHOE": {"a": 7}})
    query = '{ availability(skus: ["SHOE"], channel: "web") { available } }'
    assert (await gql(a, query))["availability"] == [{"available": 7}]  # now cached
    await gql(b, 'mutation { inventoryAdjust(input: {sku: "SHOE", location: "a", delta: 5, '
                 'reason: "delivery"}) { userErrors { code } } }')
    assert (await gql(a, query))["availability"] == [{"available": 12}]
    await gql(b, 'mutation($i: OrderCreateInput!) { orderCreate(input: $i) { userErrors '
                 '{ code } } }', {"i": {"channel": "web", "email": "x@example.com",
                                        "shippingAddress": factories.address(),
                                        "lines": [{"sku": "SHOE", "quantity": 4}]}})
    assert (await gql(a, query))["availability"] == [{"available": 8}]


async def _remembered(server: Server) -> float:
    """Availability documents the server answered from the answers it kept (its metric)."""
    return await server.counted("graphql_remembered_answers")


async def test_an_answer_kept_by_one_process_is_dropped_by_a_change_on_another(
    db: None, two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    await factories.shop({"SHOE": {"a": 7}, "BOOT": {"a": 3}})
    query = ('query($s: [String!]!) { availability(skus: $s, channel: "web") '
             "{ sku available } }")
    both = {"s": ["SHOE", "BOOT"]}

    async def answered_from_memory() -> bool:
        before = await _remembered(a)
        assert (await gql(a, query, both))["availability"] == [
            {"sku": "SHOE", "available": 7}, {"sku": "BOOT", "available": 3}]
        return await _remembered(a) > before

    # Kept from the document's second run on, and dropped with each catalogue change of the
    # shop's set-up, however late the process hears of them: until a read is answered so.
    await eventually(answered_from_memory, seconds=20)
    await gql(b, 'mutation { inventoryAdjust(input: {sku: "SHOE", location: "a", delta: 5, '
                 'reason: "delivery"}) { userErrors { code } } }')
    assert (await gql(a, query, both))["availability"] == [
        {"sku": "SHOE", "available": 12}, {"sku": "BOOT", "available": 3}]


__all__ = ["asyncio"]
