"""Redis pub/sub event bus: one listener connection per process, fanned out locally.

The listener reconnects by itself and subscribes again to every topic its
local subscribers want. Messages published while it was away are not
replayed by Redis, so after reconnecting it tells every local subscriber to
resynchronise (``RESYNC``): subscribers that follow sequences read what they
missed from the database.

Publishing and listening use clients (and pools) of their own: a PUBLISH waits at most
``PUBLISH_TIMEOUT`` seconds for a Redis that stopped answering, so hung publishes cannot
hold every connection, and the listener, which waits without a timeout for messages,
reconnects from a pool that publishers never exhaust.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from redis.exceptions import RedisError

from domain.events.ports import RESYNC
from integrations.bus.fanout import Fanout, Message, Queue, drain
from integrations.redis_client import redis_client

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT = 2.0  # seconds; the relay publishes again what was not (the outbox keeps it)


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "oms") -> None:
        """``prefix`` starts every channel name: deployments sharing a Redis do not meet."""
        self.url = url
        self._prefix = prefix + ":"
        self._redis = redis_client(url, decode_responses=True, socket_timeout=PUBLISH_TIMEOUT,
                                   socket_connect_timeout=2.0)
        self._listening = redis_client(url, decode_responses=True, socket_timeout=None,
                                       socket_connect_timeout=2.0)
        self._pubsub = self._listening.pubsub(ignore_subscribe_messages=True)
        self._fanout = Fanout()
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.reconnects = 0

    def encoded(self, topic: str, message: Message) -> tuple[str, str]:
        """The channel and text a PUBLISH of the message sends (for another client of the same
        Redis that sends it in its own round trip)."""
        return self._prefix + topic, json.dumps(message, default=str)

    async def publish(self, topic: str, message: Message) -> None:
        await self._redis.publish(*self.encoded(topic, message))

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        """Every PUBLISH of a batch in one pipeline: one round trip, sent in order."""
        if not messages:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for topic, message in messages:
                pipe.publish(*self.encoded(topic, message))
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[Message]]:
        queue: Queue = asyncio.Queue()
        new = self._fanout.add(topics, queue)
        try:
            if new:
                async with self._lock:
                    try:
                        await self._pubsub.subscribe(*(self._prefix + t for t in new))
                    except RedisError as error:
                        # The listener subscribes again once Redis is back.
                        log.warning("redis bus: subscribe failed, will retry: %s", error)
                    if self._listener is None:
                        self._listener = asyncio.create_task(self._listen(), name="redis-bus")
            yield drain(queue)
        finally:
            gone = self._fanout.remove(topics, queue)
            if gone:
                async with self._lock:
                    with suppress(RedisError):
                        await self._pubsub.unsubscribe(*(self._prefix + t for t in gone))

    async def _listen(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    if self._fanout.topics():  # an earlier subscribe failed: do it now
                        await self._reconnect()
                    else:
                        await asyncio.sleep(0.1)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as error:
                log.warning("redis bus: listener lost its connection (%s); reconnecting", error)
                await self._reconnect()
                continue
            if message is None or message.get("type") != "message":
                continue
            topic = str(message["channel"]).removeprefix(self._prefix)
            self._fanout.deliver(topic, json.loads(message["data"]))

    async def _reconnect(self) -> None:
        delay = 0.1
        while True:
            async with self._lock:
                try:
                    await self._pubsub.aclose()
                    self._pubsub = self._listening.pubsub(ignore_subscribe_messages=True)
                    topics = [self._prefix + t for t in self._fanout.topics()]
                    if topics:
                        await self._pubsub.subscribe(*topics)
                    self.reconnects += 1
                    self._fanout.broadcast(RESYNC)
                    return
                except (RedisError, OSError):
                    pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        with suppress(RedisError):
            await self._pubsub.aclose()
        await self._listening.aclose()
        await self._redis.aclose()
