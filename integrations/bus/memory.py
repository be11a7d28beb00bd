"""The in-process event bus of the embedded default: one process, no network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from integrations.bus.fanout import Fanout, Message, Queue, drain


class InMemoryBus:
    def __init__(self) -> None:
        self._fanout = Fanout()

    async def publish(self, topic: str, message: Message) -> None:
        self._fanout.deliver(topic, message)

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        for topic, message in messages:
            self._fanout.deliver(topic, message)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[Message]]:
        queue: Queue = asyncio.Queue()
        self._fanout.add(topics, queue)
        try:
            yield drain(queue)
        finally:
            self._fanout.remove(topics, queue)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
