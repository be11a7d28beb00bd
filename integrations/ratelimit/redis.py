"""A fixed-window budget per client in Redis, shared by every process.

A rejected request gives its points back, so only served requests count.
Redis being down lets requests through (logged): the API stays up.
"""

from __future__ import annotations

import logging
import time

from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RedisRateLimiter:
    def __init__(self, url: str, window: int = 60, prefix: str = "oms:rate") -> None:
        self.url = url
        self.window = window
        self.prefix = prefix
        self._redis = aioredis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    async def consume(self, key: str, cost: int, limit: int) -> tuple[bool, int]:
        bucket = f"{self.prefix}:{key}:{int(time.time()) // self.window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(bucket, cost)
                pipe.expire(bucket, self.window * 2)
                used, _ = await pipe.execute()
            if used > limit:
                await self._redis.decrby(bucket, cost)
                return False, max(limit - (used - cost), 0)
            return True, limit - used
        except RedisError as error:
            log.warning("rate limiter unavailable, letting the request through: %s", error)
            return True, limit

    async def close(self) -> None:
        await self._redis.aclose()
