"""Outbound webhooks: signed deliveries from committed events, retries, the delivery log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from domain.webhooks.models import DeliveryStatus, WebhookDelivery
from domain.webhooks.service import RetryPolicy
from domain.webhooks.signing import verify
from domain.webhooks.worker import DeliveryWorker
from integrations.webhooks.http import HttpWebhookSender
from tests import factories
from tests.fakes.receiver import Receiver
from tests.support import GraphQLClient, codes, eventually

SUBSCRIBE = """mutation($input: WebhookSubscriptionCreateInput!) {
  webhookSubscriptionCreate(input: $input) { subscription { id active } secret
    userErrors { field code message } } }"""
LOG = """{ webhookSubscriptions { active disabledReason deliveries { edges { node {
  deliveryId event status attempts lastStatus lastError } } } } }"""


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as running:
        yield running


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
        restarted = DeliveryWorker(HttpWebhookSender())  # a new process
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
