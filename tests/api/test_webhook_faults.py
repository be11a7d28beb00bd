"""No webhook delivery is lost, and none is made twice, when server processes are killed
(kill -9) and database backends terminated while orders pour in (PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from domain.db import connection, fetch
from domain.events.models import OrderEvent, OutboxMessage
from domain.webhooks.models import DeliveryStatus, WebhookDelivery
from tests import factories
from tests.api.test_across_processes import gql
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.fakes.receiver import Receiver
from tests.servers import Server, oms_server
from tests.support import ADMIN, eventually

pytestmark = pytest.mark.skipif(
    DATABASE_URL is None or REDIS_URL is None,
    reason="needs PostgreSQL and Redis: runs in the OMS_TEST_DATABASE_URL leg of .ci/run",
)


PLACE = """mutation($i: OrderCreateInput!) { orderCreate(input: $i) { order { id }
  userErrors { code } } }"""
# Backends inside the relay's transaction (or the webhook worker's): the window in which a
# dead connection used to lose the deliveries of rows already marked published.
TERMINATE = """SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
  AND (query LIKE '%FROM "outbox_message"%' OR query LIKE 'UPDATE outbox_message %'
       OR query LIKE '%FROM "webhook_subscription"%' OR query LIKE '%"webhook_delivery"%')"""
WEBHOOK_SERVER_ENV = {"OMS_WEBHOOK_ALLOW_PRIVATE_URLS": "true", "OMS_WEBHOOK_RETRY_BASE": "1"}


async def _partner_subscription(server: Server, url: str) -> None:
    created = (await gql(server, """mutation($i: OAuthClientCreateInput!) {
      oauthClientCreate(input: $i) { client { clientId } clientSecret } }""",
                         {"i": {"name": "ERP", "scopes": ["webhooks:manage"],
                                "channels": ["web"]}}))["oauthClientCreate"]
    basic = base64.b64encode(
        f"{created['client']['clientId']}:{created['clientSecret']}".encode()).decode()
    async with httpx.AsyncClient(timeout=20) as http:
        token = (await http.post(f"{server.url}/oauth/token",
                                 data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})).json()
        response = await http.post(
            f"{server.url}/graphql", headers={"Authorization": f"Bearer {token['access_token']}"},
            json={"query": """mutation($i: WebhookSubscriptionCreateInput!) {
              webhookSubscriptionCreate(input: $i) { userErrors { code } } }""",
                  "variables": {"i": {"url": url, "events": ["order.placed"]}}})
    assert response.json()["data"]["webhookSubscriptionCreate"]["userErrors"] == []


async def _terminate_backends(stop: asyncio.Event, seconds: float = 180) -> int:
    """Terminate backends in the relay's window until told to stop; return how many."""
    conn, gone, deadline = connection(), 0, time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        gone += sum(1 for row in await fetch(conn, TERMINATE) if row["gone"])
        await asyncio.sleep(0.1)  # the pace of the fault, not a wait for an event
    return gone


async def test_no_webhook_delivery_is_lost_when_processes_and_backends_die(
    db: None, app: Any,
) -> None:
    """kill -9 of a server twice and terminated database backends, while orders pour in:
    every order.placed event owes the partner exactly one delivery, and each arrives."""
    assert DATABASE_URL is not None
    services = app.state.services
    await services.relay.stop()  # only the servers under test relay and deliver
    await services.webhooks.stop()
    orders, workers = 150, 6
    placed = 0
    progress = asyncio.Condition()

    def start() -> Server:
        return stack.enter_context(oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL,
                                              env=WEBHOOK_SERVER_ENV))

    async def place(http: httpx.AsyncClient, targets: list[Server], numbers: Iterator[int]
                    ) -> None:
        nonlocal placed
        for n in numbers:
            server = targets[n % len(targets)]
            try:
                response = await http.post(f"{server.url}/graphql", headers=ADMIN, json={
                    "query": PLACE, "variables": {"i": {
                        "channel": "web", "email": f"c{n}@example.com",
                        "shippingAddress": factories.address(),
                        "lines": [{"sku": "SHOE", "quantity": 1}]}}})
                ok = response.status_code == 200 and not response.json().get("errors")
            except (httpx.HTTPError, ValueError):
                ok = False  # a killed server or a terminated backend: the order may be gone
            async with progress:
                placed += ok
                progress.notify_all()

    try:
        with ExitStack() as stack:
            async with Receiver() as receiver:
                await factories.shop({"SHOE": {"a": 10_000}})
                targets = [await asyncio.to_thread(start), await asyncio.to_thread(start)]
                await _partner_subscription(targets[0], receiver.url)
                stop = asyncio.Event()
                terminator = asyncio.create_task(_terminate_backends(stop))
                numbers = iter(range(orders))
                async with httpx.AsyncClient(timeout=20) as http:
                    placing = asyncio.gather(*(place(http, targets, numbers)
                                               for _ in range(workers)))
                    for share in (3, 2):  # kill -9 the second server after a third, two thirds
                        async with progress:
                            await asyncio.wait_for(
                                progress.wait_for(lambda s=share: placed >= orders // s), 120)
                        targets[1].proc.kill()
                        await asyncio.to_thread(targets[1].proc.wait)
                        targets[1] = await asyncio.to_thread(start)
                    await asyncio.wait_for(placing, 180)
                stop.set()
                terminated = await terminator

                async def all_published() -> bool:
                    return await OutboxMessage.filter(published_at=None).count() == 0

                await eventually(all_published, seconds=60)
                events = await OrderEvent.filter(type="ORDER_PLACED").count()
                rows = [m.id for m in await OutboxMessage.all()
                        if m.payload.get("type") == "ORDER_PLACED"]
                owed = Counter(await WebhookDelivery.filter(event="order.placed")
                               .values_list("outbox_id", flat=True))
                assert terminated > 0 and placed > orders // 2
                assert len(rows) == events >= placed  # a reply lost to a kill may have committed
                lost = [r for r in rows if r not in owed]
                doubled = [r for r, n in owed.items() if n != 1]
                assert (lost, doubled, set(owed) - set(rows)) == ([], [], set())

                async def all_delivered() -> bool:
                    return await WebhookDelivery.exclude(
                        status=DeliveryStatus.SUCCEEDED).count() == 0

                await eventually(all_delivered, seconds=150)  # a killed server's lease: 60 s
                arrived = {r.headers["x-oms-delivery-id"] for r in receiver.received}
                assert arrived == set(await WebhookDelivery.all().values_list(
                    "delivery_id", flat=True))
    finally:
        services.relay.start()
        services.webhooks.start()
