"""The event bus port: publish facts after commit, and let subscribers listen by topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Message = dict[str, Any]
# Sent by a bus to its subscribers when messages may have been lost (e.g. after a reconnect).
RESYNC: Message = {"kind": "resync"}


class EventBus(Protocol):
    async def publish(self, topic: str, message: Message) -> None:
        """Deliver a message to every current subscriber of the topic, in any process."""

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        """Publish ``(topic, message)`` pairs in order, in as few round trips as the bus allows."""

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """Listen to topics; messages published after entering are yielded as they come.

        A ``RESYNC`` message means some may have been lost: read the current state again.
        """

    async def ping(self) -> None:
        """Raise if the bus cannot deliver right now."""

    async def close(self) -> None: ...


def order_topic(order_id: int) -> str:
    return f"order.{order_id}"


def stock_topic(sku: str) -> str:
    return f"stock.{sku}"


def shipment_topic(shipment_id: int) -> str:
    return f"shipment.{shipment_id}"


def settings_topic() -> str:
    """Changes to the merchant's settings the order path reads (risk screening's)."""
    return "settings"


def catalog_topic() -> str:
    """Every catalogue change: each process's catalogue cache listens here."""
    return "catalog"
