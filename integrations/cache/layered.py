"""An in-process layer in front of the shared (Redis) availability cache.

A read the layer holds costs no round trip. A change drops its SKUs in the shared cache
and here, then tells every process over the bus (one message per change; with the cache
and the bus on one Redis, sent with the drop in one round trip), and each
other process drops them from its own layer: once per change in every process. A
process that lost its bus connection hears ``RESYNC`` and forgets its whole layer; its
entries live a few seconds at most anyway, so a message that never arrives costs no
more than that.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

from domain.events.ports import RESYNC, EventBus
from domain.inventory.ports import AvailabilityCache
from integrations.bus.redis import RedisBus
from integrations.cache.memory import InMemoryAvailabilityCache, Watcher
from integrations.cache.redis import RedisAvailabilityCache

log = logging.getLogger(__name__)
TOPIC = "cache.availability"
KIND = "availability_invalidated"


class LocalFirstAvailabilityCache:
    def __init__(self, shared: AvailabilityCache, bus: EventBus, *, ttl: float) -> None:
        self.shared = shared
        self.bus = bus
        self.local = InMemoryAvailabilityCache(ttl=ttl)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._me = uuid.uuid4().hex  # names this process's announcements
        # one Redis behind both: a change's drop and its announcement go in one round trip
        self._one_redis = (isinstance(shared, RedisAvailabilityCache)
                           and isinstance(bus, RedisBus) and shared.url == bus.url)

    async def start(self) -> None:
        """Listen for other processes' changes; return once listening."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="availability-cache")
        await self._listening.wait()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.bus.subscribe(TOPIC) as messages:
                    self._listening.set()
                    async for message in messages:
                        if message.get("kind") == RESYNC["kind"]:
                            self.local.clear()
                        elif message.get("kind") == KIND and message.get("by") != self._me:
                            # (this process's own changes were dropped as they committed)
                            await self.local.invalidate(message.get("skus") or [])
            except asyncio.CancelledError:
                raise
            except Exception:  # the bus reconnects by itself; start over, empty
                log.exception("availability cache: listener failed; starting again")
                self.local.clear()
                self._listening.set()
                await asyncio.sleep(1.0)

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Tell ``watcher`` of every drop from this process's layer."""
        return self.local.watch(watcher)

    async def get_many(self, skus: Iterable[str], scope: str) -> dict[str, dict[str, Any]]:
        wanted = list(skus)
        found = await self.local.get_many(wanted, scope)
        missing = [sku for sku in wanted if sku not in found]
        if missing:
            generation = self.local.generation
            shared = await self.shared.get_many(missing, scope)
            if shared:
                # Read before a change was dropped here: answered, not kept.
                if self.local.generation == generation:
                    await self.local.set_many(shared, scope)
                found.update(shared)
        return found

    async def set_many(self, values: dict[str, dict[str, Any]], scope: str) -> None:
        await self.local.set_many(values, scope)
        await self.shared.set_many(values, scope)

    async def invalidate(self, skus: Iterable[str]) -> None:
        changed = sorted(set(skus))
        if not changed:
            return
        # Shared first: once dropped here, a read of this process finds the change in
        # Redis or the database, not the value it replaces. Then the others hear.
        message = {"kind": KIND, "skus": changed, "by": self._me}
        if self._one_redis:
            # the drop and the announcement in one round trip, in that order
            assert isinstance(self.shared, RedisAvailabilityCache)
            assert isinstance(self.bus, RedisBus)
            if not await self.shared.invalidate_then_publish(
                    changed, self.bus.encoded(TOPIC, message)):
                log.warning("availability cache: change not announced (Redis did not answer)")
            await self.local.invalidate(changed)
            return
        await self.shared.invalidate(changed)
        await self.local.invalidate(changed)
        try:
            await self.bus.publish(TOPIC, message)
        except Exception as error:  # the others' layers expire within their TTL
            log.warning("availability cache: change not announced (%s)", error)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        close = getattr(self.shared, "close", None)
        if close is not None:
            await close()
