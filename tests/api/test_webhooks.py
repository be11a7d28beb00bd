"""Outbound webhooks: signed deliveries from committed events, retries, the delivery log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from domain.webhooks.models import DeliveryStatus, WebhookDelivery
from domain.webhooks.service import RetryPolicy
from domain.webhooks.signing import verify
from domain.webhooks.worker import DeliveryWorker
from integrations.webhooks.http import HttpWebhookSender
from tests import factories
from tests.fakes.receiver import Receiver
from tests.fakes.resolver import FakeResolver
from tests.support import GraphQLClient, codes, eventually

SUBSCRIBE = """mutation($input: WebhookSubscriptionCreateInput!) {
  webhookSubscriptionCreate(input: $input) { subscription { id active } secret
    userErrors { field code message } } }"""
LOG = """{ webhookSubscriptions { active disabledReason deliveries { edges { node {
  deliveryId event status attempts lastStatus lastError } } } } }"""


@pytest.fixture
def private_urls(app: Any) -> Any:
    """As OMS_WEBHOOK_ALLOW_PRIVATE_URLS=true does: hooks on this host are allowed."""
    policy = app.state.services.webhook_urls
    original, policy.allow_private = policy.allow_private, True
    yield policy
    policy.allow_private = original


@pytest.fixture
async def receiver(private_urls: Any) -> AsyncIterator[Receiver]:
    """A partner's endpoint, on 127.0.0.1: reachable only while private URLs are allowed."""
    async with Receiver() as running:
        yield running


@pytest.fixture
def resolver(app: Any) -> Any:
    """Host names resolve as the test says (the resolver port), not through DNS."""
    policy = app.state.services.webhook_urls
    original = policy.resolver
    policy.resolver = FakeResolver()
    yield policy.resolver
    policy.resolver = original


@pytest.fixture
def fast_retries(app: Any) -> Any:
    worker = app.state.services.webhooks
    original = worker.policy
    worker.policy = RetryPolicy(base=0.05, cap=0.1)
    yield worker
    worker.policy = original


async def _subscribe(api: GraphQLClient, url: str, events: list[str], **kwargs: Any) -> str:
    data = (await api(SUBSCRIBE, {"input": {"url": url, "events": events}}, **kwargs))
    payload = data["webhookSubscriptionCreate"]
    assert payload["userErrors"] == [], payload
    return payload["secret"]


async def test_a_partner_receives_signed_events_of_its_orders(
    api: GraphQLClient, receiver: Receiver,
) -> None:
    from tests.api.test_partners import _bearer

    await factories.shop({"SHOE": {"a": 5}})
    await factories.channel("b2b", locations=["a"])
    partner = await _bearer(api, ["webhooks:manage", "orders:read"], channels=["web"])
    secret = await _subscribe(api, receiver.url, ["order.placed"], admin=False, headers=partner)
    await factories.place({"SHOE": 1}, channel="b2b")  # another channel: not sent
    order = await factories.place({"SHOE": 1}, channel="web")
    (first,) = await receiver.wait_for(1)
    # The documented recipe: HMAC-SHA256 of "<t>.<raw body>" with the secret, in constant time.
    assert verify(first.body, first.headers["x-oms-signature"], secret) is None
    assert verify(first.body, first.headers["x-oms-signature"], "not-the-secret") is not None
    body = json.loads(first.body)
    assert body["event"] == "order.placed" and body["id"] == first.headers["x-oms-delivery-id"]
    assert body["data"]["order_id"] == order.id  # type: ignore[attr-defined]

    async def logged() -> list[str] | None:
        log = (await api(LOG, admin=False, headers=partner))["webhookSubscriptions"]
        statuses = [e["node"]["status"] for e in log[0]["deliveries"]["edges"]]
        return statuses if statuses == ["SUCCEEDED"] else None

    assert await eventually(logged) == ["SUCCEEDED"]


async def test_failed_deliveries_are_retried_with_backoff(
    api: GraphQLClient, receiver: Receiver, fast_retries: Any,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    receiver.failures_per_delivery = 2  # each delivery fails twice, then is taken
    await _subscribe(api, receiver.url, ["inventory"])
    await factories.stock("SHOE", {"a": 6})
    (arrival,) = await receiver.wait_for(1)
    first = arrival.headers["x-oms-delivery-id"]
    await receiver.wait_for_attempts(first, 3)

    async def settled() -> WebhookDelivery | None:
        delivery = await WebhookDelivery.get(delivery_id=first)
        return delivery if delivery.status is DeliveryStatus.SUCCEEDED else None

    delivery = await eventually(settled)
    assert (delivery.attempts, delivery.last_status) == (3, 200)


async def test_a_delivery_pending_when_the_server_stops_is_sent_after_restart(
    api: GraphQLClient, receiver: Receiver, app: Any,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await _subscribe(api, receiver.url, ["order"])
    running = app.state.services.webhooks
    await running.stop()  # the process goes away before sending anything
    try:
        await factories.place({"SHOE": 1})  # commits placed and reserved events
        restarted = DeliveryWorker(  # a new process
            HttpWebhookSender(app.state.services.webhook_urls))
        sent = 0
        for _ in range(100):  # until the relay has turned both events into deliveries
            await app.state.services.relay.drain()
            sent += await restarted.run_once()
            if sent >= 2:
                break
        arrivals = await receiver.wait_for(2)
        assert {json.loads(a.body)["event"] for a in arrivals} == {"order.placed",
                                                                    "order.stock_reserved"}
    finally:
        running.start()


@asynccontextmanager
async def _one_worker_by_hand(app: Any, receiver: Receiver,
                              api: GraphQLClient) -> AsyncIterator[DeliveryWorker]:
    """A subscription to ``order.placed``, with the app's relay and delivery worker stopped
    (the test runs their passes), and a worker of its own."""
    await factories.shop({"SHOE": {"a": 50}})
    await _subscribe(api, receiver.url, ["order.placed"])
    services = app.state.services
    await services.relay.stop()  # so the orders' events wait, and go in one pass
    await services.webhooks.stop()
    try:
        yield DeliveryWorker(HttpWebhookSender(services.webhook_urls))
    finally:
        services.relay.start()
        services.webhooks.start()


async def test_one_subscriptions_deliveries_of_one_pass_arrive_in_order(
    api: GraphQLClient, receiver: Receiver, app: Any,
) -> None:
    """Events published in one relay pass reach each subscription one after another, in
    the order they were published (different subscriptions are sent side by side)."""
    async with _one_worker_by_hand(app, receiver, api) as worker:
        placed = [await factories.place({"SHOE": 1}) for _ in range(8)]
        assert await app.state.services.relay.run_once() >= 16  # placed and reserved
        assert await worker.run_once() == 8
        arrivals = await receiver.wait_for(8)
        assert [json.loads(a.body)["data"]["order_id"] for a in arrivals] == [
            order.id for order in placed]  # type: ignore[attr-defined]


async def test_a_failing_endpoint_gets_one_request_a_pass_and_its_deliveries_keep_order(
    api: GraphQLClient, receiver: Receiver, app: Any,
) -> None:
    async with _one_worker_by_hand(app, receiver, api) as worker:
        placed = [await factories.place({"SHOE": 1}) for _ in range(3)]
        await app.state.services.relay.run_once()
        receiver.answers = [500]
        assert await worker.run_once() == 3
        assert len(await receiver.wait_for(1)) == 1  # one request, refused
        deliveries = await WebhookDelivery.all().order_by("id")
        assert [d.attempts for d in deliveries] == [1, 0, 0]
        assert len({d.next_attempt_at for d in deliveries}) == 1  # the others follow its retry
        await WebhookDelivery.all().update(next_attempt_at=datetime.now(UTC))  # retry time
        receiver.answers = []
        assert await worker.run_once() == 3
        arrivals = await receiver.wait_for(4)
        assert [json.loads(a.body)["data"]["order_id"] for a in arrivals] == [
            placed[0].id, placed[0].id, placed[1].id, placed[2].id]  # type: ignore[attr-defined]


async def test_a_subscription_failing_for_long_is_disabled_and_can_be_replayed(
    api: GraphQLClient, receiver: Receiver, app: Any,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await app.state.services.relay.drain()
    receiver.answers = [500]
    await _subscribe(api, receiver.url, ["inventory.changed"])
    worker = app.state.services.webhooks
    original = worker.policy
    worker.policy = RetryPolicy(base=0.05, cap=0.1, max_age=timedelta(0))
    try:
        await factories.stock("SHOE", {"a": 9})
        (arrival,) = await receiver.wait_for(1)
        first = arrival.headers["x-oms-delivery-id"]

        async def failed() -> bool:
            delivery = await WebhookDelivery.get(delivery_id=first)
            return delivery.status is DeliveryStatus.FAILED

        await eventually(failed)
    finally:
        worker.policy = original
    log = (await api(LOG))["webhookSubscriptions"][0]
    assert log["active"] is False and "failed" in log["disabledReason"]
    node = next(e["node"] for e in log["deliveries"]["edges"]
                if e["node"]["deliveryId"] == first)
    assert (node["status"], node["lastStatus"]) == ("FAILED", 500)
    retried = await api("mutation($d: String!) { webhookDeliveryRetry(deliveryId: $d) "
                        "{ delivery { status } userErrors { code } } }",
                        {"d": node["deliveryId"]})
    assert retried["webhookDeliveryRetry"]["delivery"]["status"] == "PENDING"
    await receiver.wait_for(2)
    assert (await api(LOG))["webhookSubscriptions"][0]["active"] is True


async def test_bad_subscriptions_are_refused(api: GraphQLClient) -> None:
    for variables, field in (
        ({"url": "ftp://example.com/hook", "events": ["order"]}, ["url"]),
        ({"url": "https://example.com/hook", "events": ["everything"]}, ["events"]),
        ({"url": "https://example.com/hook", "events": ["order"], "secret": "short"},
         ["secret"]),
    ):
        payload = (await api(SUBSCRIBE, {"input": variables}))["webhookSubscriptionCreate"]
        assert codes(payload) == ["INVALID_INPUT"] and payload["userErrors"][0]["field"] == field


async def test_a_partner_cannot_subscribe_to_internal_addresses(
    api: GraphQLClient, resolver: FakeResolver,
) -> None:
    from tests.api.test_partners import _bearer

    resolver.names["intranet.partner.test"] = ["93.184.216.34", "10.1.2.3"]
    partner = await _bearer(api, ["webhooks:manage"])
    for url in ("http://127.0.0.1:8000/hook", "http://10.0.0.1/", "http://[::1]/",
                "http://169.254.169.254/latest/meta-data/", "http://localhost/",
                "http://localhost.:9200/", "http://2130706433/", "http://0x7f.1/",
                "http://0177.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://[fd00:ec2::254]/",
                "http://192.168.0.1/", "http://[fe80::1]/", "http://0.0.0.0:6379/",
                "http://intranet.partner.test/hook"):
        payload = (await api(SUBSCRIBE, {"input": {"url": url, "events": ["order"]}},
                             admin=False, headers=partner))["webhookSubscriptionCreate"]
        assert codes(payload) == ["INVALID_INPUT"], url
        assert payload["userErrors"][0]["field"] == ["url"], url
        assert payload["subscription"] is None
    for url, message in (("http://user:pass@hooks.partner.test/", "no user name or password"),
                         ("gopher://hooks.partner.test/", "http(s)")):
        payload = (await api(SUBSCRIBE, {"input": {"url": url, "events": ["order"]}},
                             admin=False, headers=partner))["webhookSubscriptionCreate"]
        assert codes(payload) == ["INVALID_INPUT"] and message in payload["userErrors"][0][
            "message"]
    assert (await api(LOG, admin=False, headers=partner))["webhookSubscriptions"] == []
    resolver.names["hooks.partner.test"] = ["93.184.216.34"]  # a public address is fine
    await _subscribe(api, "https://hooks.partner.test/in", ["order"], admin=False,
                     headers=partner)


async def test_a_host_that_resolves_to_this_machine_at_delivery_is_not_reached(
    api: GraphQLClient, resolver: FakeResolver, caplog: pytest.LogCaptureFixture, app: Any,
) -> None:
    async with Receiver() as receiver:  # on 127.0.0.1, where the name will point
        await factories.shop({"SHOE": {"a": 5}})
        await app.state.services.relay.drain()
        resolver.names["hooks.partner.test"] = ["93.184.216.34"]  # public when subscribing
        port = urlsplit(receiver.url).port
        url = f"http://hooks.partner.test:{port}/hook"
        await _subscribe(api, url, ["inventory.changed"])
        resolver.names["hooks.partner.test"] = ["127.0.0.1"]  # ... and rebound to loopback
        await factories.stock("SHOE", {"a": 9})

        async def attempted() -> dict[str, Any] | None:
            edges = (await api(LOG))["webhookSubscriptions"][0]["deliveries"]["edges"]
            return edges[0]["node"] if edges and edges[0]["node"]["attempts"] else None

        node = await eventually(attempted)
        assert (node["status"], node["lastStatus"], node["lastError"]) == (
            "PENDING", None, "could not connect")
        assert receiver.received == []
        assert any("refused by policy" in r.getMessage() and "127.0.0.1" in r.getMessage()
                   for r in caplog.records)  # the reason is told to the server log only
        # Allowed (development), the same name reaches the receiver, as itself in Host.
        app.state.services.webhook_urls.allow_private = True
        try:
            await api("mutation($d: String!) { webhookDeliveryRetry(deliveryId: $d) "
                      "{ userErrors { code } } }", {"d": node["deliveryId"]})
            (arrival,) = await receiver.wait_for(1)
        finally:
            app.state.services.webhook_urls.allow_private = False
        assert arrival.headers["host"] == f"hooks.partner.test:{port}"


async def test_every_network_failure_reads_the_same_in_the_delivery_log(
    api: GraphQLClient, resolver: FakeResolver, private_urls: Any, app: Any,
) -> None:
    from tests.servers import free_port

    await factories.shop({"SHOE": {"a": 5}})
    await app.state.services.relay.drain()
    await _subscribe(api, f"http://127.0.0.1:{free_port()}/closed", ["inventory.changed"])
    await _subscribe(api, "http://nowhere.partner.test/hook", ["inventory.changed"])  # no DNS
    await factories.stock("SHOE", {"a": 9})

    async def attempted() -> list[tuple[Any, ...]] | None:
        logs = (await api(LOG))["webhookSubscriptions"]
        nodes = [e["node"] for s in logs for e in s["deliveries"]["edges"]]
        if len(nodes) < 2 or not all(n["attempts"] for n in nodes):
            return None
        return [(n["lastStatus"], n["lastError"]) for n in nodes]

    assert await eventually(attempted) == [(None, "could not connect")] * 2
    assert resolver.asked and set(resolver.asked) == {"nowhere.partner.test"}
