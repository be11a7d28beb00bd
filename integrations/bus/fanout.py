"""Local fan-out of one process's messages to its own subscribers, shared by every bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

Message = dict[str, Any]
Queue = asyncio.Queue[Message]


class Fanout:
    def __init__(self) -> None:
        self._queues: dict[str, set[Queue]] = {}

    def topics(self) -> list[str]:
        return list(self._queues)

    def add(self, topics: Iterable[str], queue: Queue) -> list[str]:
        """Register a subscriber queue on topics; return the topics new to this process."""
        new = []
        for topic in topics:
            queues = self._queues.setdefault(topic, set())
            if not queues:
                new.append(topic)
            queues.add(queue)
        return new

    def remove(self, topics: Iterable[str], queue: Queue) -> list[str]:
        """Drop a subscriber queue; return the topics no subscriber here wants any more."""
        gone = []
        for topic in topics:
            queues = self._queues.get(topic)
            if queues is None:
                continue
            queues.discard(queue)
            if not queues:
                del self._queues[topic]
                gone.append(topic)
        return gone

    def deliver(self, topic: str, message: Message) -> None:
        for queue in self._queues.get(topic, ()):
            queue.put_nowait(message)

    def broadcast(self, message: Message) -> None:
        """Tell every local subscriber once, whatever its topics."""
        for queue in {q for queues in self._queues.values() for q in queues}:
            queue.put_nowait(message)


async def drain(queue: Queue) -> AsyncIterator[Message]:
    while True:
        yield await queue.get()
