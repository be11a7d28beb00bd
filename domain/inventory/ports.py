"""The availability cache port. The cache is never asked whether stock exists for an order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class AvailabilityCache(Protocol):
    async def get_many(self, skus: Iterable[str], scope: str) -> dict[str, dict[str, Any]]:
        """Cached availability for these SKUs in a scope (a channel code, or '*'); misses left out.

        A cache that cannot answer returns nothing, so reads fall back to the database.
        """

    async def set_many(self, values: dict[str, dict[str, Any]], scope: str) -> None: ...

    async def invalidate(self, skus: Iterable[str]) -> None:
        """Forget every scope of these SKUs."""
