"""The in-process availability cache of the embedded default, with a TTL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

# Told which SKUs were dropped (None: every one), as they are dropped.
Watcher = Callable[[list[str] | None], None]


class InMemoryAvailabilityCache:
    def __init__(self, ttl: float = 30.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {}
        self._size = 0
        # Counts every drop: a value read elsewhere while it changed is not stored.
        self.generation = 0
        self._watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Tell ``watcher`` of every drop, so that what was worked out from these entries
        (remembered answers) is dropped with them; returns what stops it."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher)

    async def get_many(self, skus: Iterable[str], scope: str) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        found = {}
        for sku in skus:
            entry = self._entries.get(sku, {}).get(scope)
            if entry is not None and entry[0] > now:
                found[sku] = entry[1]
        return found

    async def set_many(self, values: dict[str, dict[str, Any]], scope: str) -> None:
        if self._size + len(values) > self.max_entries:
            self.clear()  # crude, bounded: a full cache starts over
        expires = time.monotonic() + self.ttl
        for sku, value in values.items():
            scopes = self._entries.setdefault(sku, {})
            self._size += scope not in scopes
            scopes[scope] = (expires, value)

    async def invalidate(self, skus: Iterable[str]) -> None:
        dropped = list(skus)
        if not dropped:
            return
        self.generation += 1
        for sku in dropped:
            self._size -= len(self._entries.pop(sku, {}))
        for watcher in self._watchers:
            watcher(dropped)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._size = 0
        for watcher in self._watchers:
            watcher(None)
