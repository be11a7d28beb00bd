"""Merchant settings kept in each process across orders: the risk settings, the tax rates.

Every order reads them and they change rarely, so each process keeps what it loaded in
memory, the way the catalogue cache keeps channels and variants (domain/catalog/cache.py):
the change drops it in its own process after its commit and, through its outbox row on
``settings_topic()`` (payload ``{"kind": <the cache's kind>}``), in every other one; a bus
that may have lost messages (``RESYNC``, a Redis reconnect) drops every one of them, and a
TTL bounds whatever else could go wrong. A read racing a change never keeps the old value
(a generation counter).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import metrics
from domain.events.ports import RESYNC, EventBus, settings_topic
from domain.events.stream import follow as follow_topic

T = TypeVar("T")


class SettingsCache(Generic[T]):
    def __init__(self, kind: str, load: Callable[[BaseDBAsyncClient], Awaitable[T]], *,
                 metric: str, ttl: float = 60.0) -> None:
        self.kind = kind  # the outbox payload kind of a change
        self.metric = metric
        self.ttl = ttl
        self._load = load
        self._generation = 0
        self._stored: tuple[float, T] | None = None
        CACHES.append(self)

    def configure(self, *, ttl: float) -> None:
        """``ttl`` seconds a value is kept at most; 0 loads it for every order."""
        self.ttl = ttl
        self.clear()

    def clear(self) -> None:
        self._generation += 1
        self._stored = None

    def apply(self, message: Mapping[str, Any]) -> None:
        if message.get("kind") == RESYNC["kind"]:
            self.clear()
        elif message.get("kind") == self.kind:
            self.clear()
            metrics.count(self.metric)

    def changed(self) -> dict[str, str]:
        """The payload of the outbox row that tells every process of a change."""
        return {"kind": self.kind}

    async def get(self, conn: BaseDBAsyncClient) -> T:
        hit = self._stored
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        generation = self._generation
        value = await self._load(conn)
        if self.ttl > 0 and generation == self._generation:
            self._stored = (time.monotonic(), value)
        return value


CACHES: list[SettingsCache[Any]] = []


class _Every:
    def clear(self) -> None:
        clear_all()

    def apply(self, message: Mapping[str, Any]) -> None:
        for cache in CACHES:
            cache.apply(message)


def configure_all(*, ttl: float) -> None:
    for cache in CACHES:
        cache.configure(ttl=ttl)


def clear_all() -> None:
    for cache in CACHES:
        cache.clear()


async def follow(bus: EventBus, *, ready: asyncio.Event | None = None) -> None:
    """Drop a setting when another process changes it; run until cancelled."""
    await follow_topic(bus, settings_topic(), _Every(), ready=ready)
