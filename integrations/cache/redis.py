"""The Redis availability cache: one hash per SKU (field = channel scope), with a TTL.

Every failure is logged and treated as a miss, so the API keeps answering from
the database while Redis is down; after a failure the cache is skipped for a
few seconds so that requests do not each wait for a connection timeout.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError

from integrations.redis_client import redis_client

log = logging.getLogger(__name__)
BACKOFF_SECONDS = 5.0


class RedisAvailabilityCache:
    def __init__(self, url: str, ttl: int = 30, *, prefix: str = "oms") -> None:
        """``prefix`` starts every key: deployments sharing a Redis keep their own entries."""
        self.url = url
        self.ttl = ttl
        self._prefix = prefix + ":avail:"
        self._redis = redis_client(url, decode_responses=True)
        self._skip_until = 0.0

    def _available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _failed(self, what: str, error: RedisError) -> None:
        self._skip_until = time.monotonic() + BACKOFF_SECONDS
        log.warning("availability cache %s (Redis: %s); skipping it for %.0fs", what, error,
                    BACKOFF_SECONDS)

    async def get_many(self, skus: Iterable[str], scope: str) -> dict[str, dict[str, Any]]:
        wanted = list(skus)
        if not self._available():
            return {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sku in wanted:
                    pipe.hget(self._prefix + sku, scope)
                values = await pipe.execute()
        except RedisError as error:
            self._failed("unavailable, reading the database", error)
            return {}
        return {sku: json.loads(raw) for sku, raw in zip(wanted, values, strict=True) if raw}

    async def set_many(self, values: dict[str, dict[str, Any]], scope: str) -> None:
        if not self._available():
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sku, value in values.items():
                    pipe.hset(self._prefix + sku, scope, json.dumps(value))
                    pipe.expire(self._prefix + sku, self.ttl)
                await pipe.execute()
        except RedisError as error:
            self._failed("not updated", error)

    async def invalidate(self, skus: Iterable[str]) -> None:
        await self.invalidate_then_publish(skus, None)

    async def invalidate_then_publish(self, skus: Iterable[str],
                                      message: tuple[str, str] | None) -> bool:
        """Drop the SKUs' entries and then PUBLISH ``message`` (a channel and its text), in
        one round trip. False when Redis did not answer."""
        keys = [self._prefix + sku for sku in skus]
        if not keys:
            return True
        try:
            if message is None:
                await self._redis.delete(*keys)
            else:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.delete(*keys)
                    pipe.publish(*message)
                    await pipe.execute()
        except RedisError as error:
            self._failed("not invalidated (the TTL bounds staleness)", error)
            return False
        return True

    async def close(self) -> None:
        await self._redis.aclose()
