"""Failed sign-in counts in Redis, so every worker and host applies the same delays.

One hash per key (``count``, ``last``) that expires ``forget_after`` seconds after its
last failure. Redis being down lets sign-ins through unthrottled (logged): the API and
its customers stay up, and password hashing still bounds the guessing rate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from domain.customers.ports import Failures

log = logging.getLogger(__name__)


class RedisFailureLog:
    def __init__(self, url: str, *, prefix: str = "oms") -> None:
        self._prefix = prefix + ":signin:"
        self._redis = aioredis.from_url(url, decode_responses=True, socket_timeout=1.0,
                                        socket_connect_timeout=1.0)

    async def read(self, keys: Sequence[str], *, now: float) -> list[Failures]:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hmget(self._prefix + key, "count", "last")
                rows = await pipe.execute()
        except RedisError as error:
            log.warning("sign-in throttle unavailable, not throttling: %s", error)
            return [Failures() for _ in keys]
        return [Failures(int(count), float(last)) if count and last else Failures()
                for count, last in rows]

    async def record(self, keys: Sequence[str], *, at: float, forget_after: float) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.hincrby(self._prefix + key, "count", 1)
                    pipe.hset(self._prefix + key, "last", repr(at))
                    pipe.expire(self._prefix + key, math.ceil(forget_after))
                await pipe.execute()
        except RedisError as error:
            log.warning("sign-in failure not counted (Redis: %s)", error)

    async def clear(self, keys: Sequence[str]) -> None:
        try:
            await self._redis.delete(*(self._prefix + key for key in keys))
        except RedisError as error:
            log.warning("sign-in failures not cleared (Redis: %s)", error)

    async def close(self) -> None:
        await self._redis.aclose()
