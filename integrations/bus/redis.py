"""Redis pub/sub event bus: one listener connection per process, fanned out locally."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from integrations.bus.fanout import Fanout, Message, drain

log = logging.getLogger(__name__)
PREFIX = "oms:"


class RedisBus:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._fanout = Fanout()
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, message: Message) -> None:
        await self._redis.publish(PREFIX + topic, json.dumps(message, default=str))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Message]]:
        queue, first = self._fanout.add(topic)
        try:
            if first:
                async with self._lock:
                    await self._pubsub.subscribe(PREFIX + topic)
                    if self._listener is None:
                        self._listener = asyncio.create_task(self._listen(), name="redis-bus")
            yield drain(queue)
        finally:
            if self._fanout.remove(topic, queue):
                async with self._lock:
                    with suppress(RedisError):
                        await self._pubsub.unsubscribe(PREFIX + topic)

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except RedisError:
                log.warning("redis bus listener lost its connection; reconnecting")
                await asyncio.sleep(0.5)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            topic = str(message["channel"]).removeprefix(PREFIX)
            self._fanout.deliver(topic, json.loads(message["data"]))

    async def _resubscribe(self) -> None:
        async with self._lock:
            with suppress(RedisError):
                await self._pubsub.reset()
                topics = [PREFIX + t for t in self._fanout.topics()]
                if topics:
                    await self._pubsub.subscribe(*topics)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        await self._pubsub.aclose()
        await self._redis.aclose()
