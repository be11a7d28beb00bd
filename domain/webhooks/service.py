"""Subscriptions, fanning committed events out to deliveries, and each delivery's fate.

Deliveries are rows, created from outbox messages in the transaction that marks
them published (one per subscription and message);
a worker claims due rows (a lease, so processes share them), sends them
outside any transaction, and records the answer. Failures are retried with
exponential backoff and jitter until ``max_age``; then the delivery fails and
its subscription is disabled with the reason.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import metrics
from domain import validation as v
from domain.catalog.models import Channel
from domain.db import Writes
from domain.errors import InvalidInput, NotFound, UnknownChannel, raise_all
from domain.events.catalogue import WebhookDisabledPayload, topic_of
from domain.events.models import OutboxMessage
from domain.orders.models import Order
from domain.uow import unit_of_work
from domain.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from domain.webhooks.ports import SendResult, WebhookSender
from domain.webhooks.signing import signature_header
from domain.webhooks.targets import UrlPolicy

log = logging.getLogger(__name__)

# What the delivery log says of any attempt that got no HTTP answer: refused, timed out,
# not resolved or not allowed read the same, so the log tells a partner nothing about
# the network behind us. The detail goes to the server log.
NO_ANSWER = "could not connect"
CATEGORIES = ("order", "shipment", "payment", "return", "inventory", "webhook", "catalog")
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 30.0  # seconds before the first retry
    cap: float = 6 * 3600.0
    max_age: timedelta = timedelta(hours=26)

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter."""
        return timedelta(seconds=random.uniform(0, min(self.cap, self.base * 2 ** attempts)))


def event_name(payload: dict[str, Any]) -> str:
    """order.placed, shipment.in_transit, payment.captured, inventory.changed, ...: the
    topic the event catalogue gives the message's event type."""
    return topic_of(payload)


def wants(subscription: WebhookSubscription, name: str) -> bool:
    return any(name == e or name.startswith(f"{e}.") for e in subscription.events)


async def create_subscription(
    *, owner: str, url: str, events: Sequence[str], secret: str | None,
    channels: Sequence[str] | None, urls: UrlPolicy,
) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL to events; returns it with its signing secret.

    A URL that is not http(s), carries credentials, or points at this host, a
    private network or a metadata service is refused (``InvalidInput`` on ``url``).
    """
    url = v.required_text(url, field=("url",), max_length=2000)
    problems = []
    url_problem = await urls.check(url)
    if url_problem is not None:
        problems.append(InvalidInput(url_problem, field=("url",)))
    unknown = [e for e in events if e.split(".")[0] not in CATEGORIES]
    if not events or unknown:
        problems.append(InvalidInput(f"Events are {', '.join(CATEGORIES)} or one of their "
                                     "events (e.g. order.placed)", field=("events",)))
    if secret is not None and not 16 <= len(secret) <= 200:
        problems.append(InvalidInput("A secret has 16 to 200 characters", field=("secret",)))
    raise_all(problems)
    channel_ids = None
    if channels is not None:
        found = {c.code: c.id for c in await Channel.filter(code__in=list(channels))}
        raise_all([UnknownChannel(c) for c in channels if c not in found])
        channel_ids = sorted(found.values())
    secret = secret or "whsec_" + secrets.token_urlsafe(24)
    subscription = await WebhookSubscription.create(
        owner=owner, url=url, events=sorted(set(events)), secret=secret, channel_ids=channel_ids)
    return subscription, secret


async def fan_out(conn: BaseDBAsyncClient, published: Sequence[OutboxMessage],
                  writes: Writes) -> int:
    """Create the deliveries that outbox messages owe active subscriptions: added to
    ``writes``, which the relay sends in ``conn`` with its other writes.

    The relay calls it in the transaction that marks the messages published, so a
    crash leaves both or neither; each (subscription, message) pair is unique.
    Subscriptions and the orders' channels are read once per batch.
    """
    if not published:
        return 0
    subscriptions = await WebhookSubscription.filter(active=True).using_db(conn)
    if not subscriptions:
        return 0
    order_ids = {m.payload.get("order_id") for m in published} - {None}
    channel_of = dict(await Order.filter(id__in=list(order_ids)).using_db(conn)
                      .values_list("id", "channel_id"))
    now = datetime.now(UTC)
    deliveries = []
    for message in published:
        name = event_name(message.payload)
        channel_id = channel_of.get(message.payload.get("order_id"))
        for subscription in subscriptions:
            limited = subscription.channel_ids is not None
            if not wants(subscription, name) or (
                    limited and (channel_id is None or channel_id not in subscription.channel_ids)
                    and not name.startswith(("inventory.", "catalog."))):
                continue
            deliveries.append(WebhookDelivery(
                subscription_id=subscription.id, outbox_id=message.id,
                delivery_id=f"dlv_{secrets.token_hex(12)}", event=name,
                payload=message.payload, next_attempt_at=now))
    writes.insert(conn, deliveries)
    return len(deliveries)


async def claim_due(limit: int = 50) -> list[WebhookDelivery]:
    """Take due deliveries for a while (a lease), so other processes skip them."""
    now = datetime.now(UTC)
    async with unit_of_work() as conn:
        due = await (WebhookDelivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                     .order_by("next_attempt_at", "id").limit(limit)
                     .select_for_update(skip_locked=True).using_db(conn))
        if due:
            await WebhookDelivery.filter(id__in=[d.id for d in due]).using_db(conn).update(
                next_attempt_at=now + LEASE)
    return list(due)


async def put_back(deliveries: list[WebhookDelivery], due: datetime) -> None:
    """Claimed deliveries not attempted this pass: due again at ``due``."""
    if deliveries:
        await WebhookDelivery.filter(id__in=[d.id for d in deliveries],
                                     status=DeliveryStatus.PENDING).update(next_attempt_at=due)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps({"id": delivery.delivery_id, "event": delivery.event,
                       "created_at": delivery.created_at.isoformat(),
                       "data": delivery.payload}, separators=(",", ":")).encode()


async def send(delivery: WebhookDelivery, sender: WebhookSender, policy: RetryPolicy) -> bool:
    """One attempt: sign, send, and record the answer."""
    subscription = await WebhookSubscription.get(id=delivery.subscription_id)
    body = body_of(delivery)
    result = await sender.send(subscription.url, body, {
        "Content-Type": "application/json", "X-OMS-Delivery-Id": delivery.delivery_id,
        "X-OMS-Event": delivery.event,
        "X-OMS-Signature": signature_header(body, subscription.secret)})
    await record(delivery, subscription, result, policy)
    return result.ok


async def record(delivery: WebhookDelivery, subscription: WebhookSubscription,
                 result: SendResult, policy: RetryPolicy) -> None:
    now = datetime.now(UTC)
    delivery.attempts += 1
    delivery.last_status = result.status
    if result.status is None:
        delivery.last_error = NO_ANSWER
        log.warning("webhook delivery %s to subscription %s got no answer: %s",
                    delivery.delivery_id, subscription.id, result.error)
    else:
        delivery.last_error = None if result.ok else f"HTTP {result.status}"
    if result.ok:
        outcome = "delivered"
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
    elif now - delivery.created_at >= policy.max_age:
        outcome = "failed"
        delivery.status = DeliveryStatus.FAILED
        subscription.active = False
        subscription.disabled_reason = (
            f"Disabled {now.isoformat(timespec='seconds')}: delivery {delivery.delivery_id} "
            f"failed for {policy.max_age} ({delivery.last_error})")
        async with unit_of_work() as conn:  # the staff hear of it: an event with the change
            await subscription.save(update_fields=["active", "disabled_reason"], using_db=conn)
            await OutboxMessage.create(
                topic=f"webhook.{subscription.id}", using_db=conn,
                payload=WebhookDisabledPayload(
                    subscription_id=subscription.id, url=subscription.url,
                    reason=subscription.disabled_reason).to_json())
    else:
        outcome = "retrying" if result.status is None else f"retrying_http_{result.status // 100}xx"
        delivery.next_attempt_at = now + policy.delay(delivery.attempts)
    await delivery.save()
    metrics.count("webhook_deliveries", outcome=outcome)


async def retry_delivery(*, delivery_id: str, owner: str | None) -> WebhookDelivery:
    """Send a delivery again now (and re-enable its subscription)."""
    delivery = await WebhookDelivery.get_or_none(delivery_id=delivery_id).prefetch_related(
        "subscription")
    if delivery is None or (owner is not None and delivery.subscription.owner != owner):
        raise NotFound("Webhook delivery", delivery_id, field=("deliveryId",))
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = datetime.now(UTC)
    await delivery.save(update_fields=["status", "next_attempt_at"])
    subscription = delivery.subscription
    if not subscription.active:
        subscription.active = True
        subscription.disabled_reason = None
        await subscription.save(update_fields=["active", "disabled_reason"])
    return delivery
