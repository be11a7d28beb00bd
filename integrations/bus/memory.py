"""The in-process event bus of the embedded default: one process, no network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from integrations.bus.fanout import Fanout, Message, drain


class InMemoryBus:
    def __init__(self) -> None:
        self._fanout = Fanout()

    async def publish(self, topic: str, message: Message) -> None:
        self._fanout.deliver(topic, message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Message]]:
        queue, _ = self._fanout.add(topic)
        try:
            yield drain(queue)
        finally:
            self._fanout.remove(topic, queue)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
