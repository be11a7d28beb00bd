"""Local fan-out of one process's messages to its own subscribers, shared by every bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

Message = dict[str, Any]


class Fanout:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Message]]] = {}

    def topics(self) -> list[str]:
        return list(self._queues)

    def add(self, topic: str) -> tuple[asyncio.Queue[Message], bool]:
        """Register a subscriber queue; the flag says whether the topic is new here."""
        queue: asyncio.Queue[Message] = asyncio.Queue()
        queues = self._queues.setdefault(topic, set())
        queues.add(queue)
        return queue, len(queues) == 1

    def remove(self, topic: str, queue: asyncio.Queue[Message]) -> bool:
        """Drop a subscriber queue; the flag says whether the topic has no subscriber left."""
        queues = self._queues.get(topic)
        if queues is None:
            return False
        queues.discard(queue)
        if not queues:
            del self._queues[topic]
            return True
        return False

    def deliver(self, topic: str, message: Message) -> None:
        for queue in self._queues.get(topic, ()):
            queue.put_nowait(message)


async def drain(queue: asyncio.Queue[Message]) -> AsyncIterator[Message]:
    while True:
        yield await queue.get()
