"""The merchant's stored risk settings, kept in each process across orders.

Every order is screened with them and they change rarely, so each process keeps the
stored row in memory, the way the catalogue cache keeps channels and variants
(domain/catalog/cache.py): ``riskSettingsUpdate`` drops it in its own process after its
commit and, through its outbox row on ``settings_topic()``, in every other one; a bus that
may have lost messages (``RESYNC``, a Redis reconnect) drops it too, and a TTL bounds
whatever else could go wrong. A read racing a change never keeps the old row (a
generation counter).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import metrics
from domain.db import fetch
from domain.events.ports import RESYNC, EventBus, settings_topic
from domain.events.stream import follow as follow_topic

CHANGED = "risk_settings_changed"  # the outbox payload kind of a change


class StoredSettingsCache:
    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._generation = 0
        self._stored: tuple[float, Any] | None = None

    def configure(self, *, ttl: float) -> None:
        """``ttl`` seconds the row is kept at most; 0 reads it for every order."""
        self.ttl = ttl
        self.clear()

    def clear(self) -> None:
        self._generation += 1
        self._stored = None

    def apply(self, message: Mapping[str, Any]) -> None:
        if message.get("kind") == RESYNC["kind"]:
            self.clear()
        elif message.get("kind") == CHANGED:
            self.clear()
            metrics.count("risk_settings_cache_invalidations")

    async def config(self, conn: BaseDBAsyncClient) -> Any:
        """The merchant's stored changes (None: none stored)."""
        hit = self._stored
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        generation = self._generation
        rows = await fetch(conn, "SELECT config FROM risk_settings WHERE id = 1")
        config: Any = rows[0]["config"] if rows else None
        if isinstance(config, str | bytes):  # SQLite hands JSON back as text
            config = json.loads(config)
        if self.ttl > 0 and generation == self._generation:
            self._stored = (time.monotonic(), config)
        return config


stored_settings_cache = StoredSettingsCache()


async def follow(bus: EventBus, cache: StoredSettingsCache = stored_settings_cache, *,
                 ready: asyncio.Event | None = None) -> None:
    """Drop the row when another process changes it; run until cancelled."""
    await follow_topic(bus, settings_topic(), cache, ready=ready)
