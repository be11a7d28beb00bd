"""Every handler of published events, registered at start-up in this one place.

A new handler (a customer notification, a risk check) is one ``register`` call here,
against the event types of domain/events/catalogue.py; no flow changes. Handlers that
must happen exactly once with the publish run ``in_transaction`` (webhook deliveries);
the rest run after the relay's commit, in the order registered.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import Writes
from domain.events.catalogue import CATALOGUE, EventType, OrderEventPayload
from domain.events.handlers import Batch, HandlerRegistry
from domain.events.models import OutboxMessage
from domain.marketplaces.sync import dirty_marks, mark_fulfillments
from domain.notifications.kinds import EVENT_TYPES as NOTIFYING
from domain.notifications.service import Notifier
from domain.webhooks.service import fan_out
from domain.webhooks.worker import DeliveryWorker

ORDER_EVENTS = tuple(e for e, spec in CATALOGUE.items() if spec.payload is OrderEventPayload)


class WebhookFanOut:
    """Deliveries created with the publish; the worker woken once they are committed."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.owed = False

    async def record(self, conn: BaseDBAsyncClient, published: list[OutboxMessage],
                     writes: Writes) -> None:
        self.owed = bool(await fan_out(conn, published, writes)) or self.owed

    async def wake(self, _published: Batch) -> None:
        if self.owed:
            self.owed = False
            self.worker.wake()


def build_handlers(*, webhooks: DeliveryWorker,
                   notifier: Notifier | None = None) -> HandlerRegistry:
    registry = HandlerRegistry()
    fan = WebhookFanOut(webhooks)
    registry.register_in_transaction("webhooks.fan_out", fan.record)
    registry.register("webhooks.wake", fan.wake)

    def skus(published: Batch) -> list[str]:
        return [m.payload["sku"] for m in published]

    # The availability cache is not among them: the process that commits a change drops
    # its SKUs (in every process, through the bus) before it answers: once per change.

    async def stock_dirty(conn: BaseDBAsyncClient, published: Batch, writes: Writes) -> None:
        if (marks := dirty_marks(skus(published))) is not None:
            writes.add(*marks)  # pushed at the next window: bursts coalesce

    registry.register_in_transaction("marketplaces.stock_dirty", stock_dirty,
                                     [EventType.STOCK_CHANGED])
    registry.register("marketplaces.fulfillments", mark_fulfillments, ORDER_EVENTS)
    if notifier is not None:
        # Customer notifications and staff alerts: owed with the publish (once per event,
        # channel and kind), sent by the notifier's own loop once that is committed.
        registry.register_in_transaction("notifications.owed", notifier.record, NOTIFYING)
        registry.register("notifications.wake", notifier.wake, NOTIFYING)
    return registry
