"""The Redis availability cache: one hash per SKU (field = channel scope), with a TTL.

Every failure is logged and treated as a miss, so the API keeps answering from
the database while Redis is down.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
PREFIX = "oms:avail:"


class RedisAvailabilityCache:
    def __init__(self, url: str, ttl: int = 30) -> None:
        self.ttl = ttl
        self._redis = aioredis.from_url(url, decode_responses=True, socket_timeout=1.0,
                                        socket_connect_timeout=1.0)

    async def get_many(self, skus: Iterable[str], scope: str) -> dict[str, dict[str, Any]]:
        wanted = list(skus)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sku in wanted:
                    pipe.hget(PREFIX + sku, scope)
                values = await pipe.execute()
        except RedisError as error:
            log.warning("availability cache unavailable, reading the database: %s", error)
            return {}
        return {sku: json.loads(raw) for sku, raw in zip(wanted, values, strict=True) if raw}

    async def set_many(self, values: dict[str, dict[str, Any]], scope: str) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sku, value in values.items():
                    pipe.hset(PREFIX + sku, scope, json.dumps(value))
                    pipe.expire(PREFIX + sku, self.ttl)
                await pipe.execute()
        except RedisError as error:
            log.warning("availability cache not updated: %s", error)

    async def invalidate(self, skus: Iterable[str]) -> None:
        keys = [PREFIX + sku for sku in skus]
        if not keys:
            return
        try:
            await self._redis.delete(*keys)
        except RedisError as error:
            log.warning("availability cache not invalidated (the TTL bounds staleness): %s", error)

    async def close(self) -> None:
        await self._redis.aclose()
