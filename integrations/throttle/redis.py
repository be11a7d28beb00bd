"""Failed sign-in counts in Redis, so every worker and host applies the same delays.

One hash per key (``count``, ``last``) that expires ``forget_after`` seconds after its
last attempt. Claiming and releasing are Lua scripts, atomic in Redis, so concurrent
attempts on any process each see the ones before them. Redis being down lets sign-ins
through unthrottled (logged): the API and its customers stay up, and password hashing
still bounds the guessing rate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from redis.exceptions import RedisError

from domain.customers.ports import Failures
from integrations.redis_client import redis_client

log = logging.getLogger(__name__)

# KEYS: the keys; ARGV: at, ttl. Returns count and last (0 when none) per key, before.
CLAIM = """
local out = {}
for _, key in ipairs(KEYS) do
  local found = redis.call('HMGET', key, 'count', 'last')
  table.insert(out, found[1] or '0')
  table.insert(out, found[2] or '0')
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HSET', key, 'last', ARGV[1])
  redis.call('EXPIRE', key, ARGV[2])
end
return out
"""
# KEYS: the keys; ARGV: at, ttl, then count and last before, per key.
RELEASE = """
for i, key in ipairs(KEYS) do
  local count, last = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  if redis.call('HGET', key, 'last') ~= ARGV[1] then
    if redis.call('EXISTS', key) == 1 then redis.call('HINCRBY', key, 'count', -1) end
  elseif count == '0' then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'count', count, 'last', last)
  end
end
return 0
"""

# KEYS: the keys; ARGV: at. Only keys that still exist (a success may have cleared them).
TOUCH = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'last', ARGV[1]) end
end
return 0
"""


class RedisFailureLog:
    def __init__(self, url: str, *, prefix: str = "oms") -> None:
        self._prefix = prefix + ":signin:"
        self._redis = redis_client(url, decode_responses=True)
        self._claim = self._redis.register_script(CLAIM)
        self._release = self._redis.register_script(RELEASE)
        self._touch = self._redis.register_script(TOUCH)

    def _names(self, keys: Sequence[str]) -> list[str]:
        return [self._prefix + key for key in keys]

    async def claim(self, keys: Sequence[str], *, at: float,
                    forget_after: float) -> list[Failures]:
        try:
            raw = await self._claim(keys=self._names(keys),
                                    args=[repr(at), math.ceil(forget_after)])
        except RedisError as error:
            log.warning("sign-in throttle unavailable, not throttling: %s", error)
            return [Failures() for _ in keys]
        return [Failures(int(raw[i]), float(raw[i + 1])) for i in range(0, len(raw), 2)]

    async def release(self, keys: Sequence[str], *, at: float, before: Sequence[Failures],
                      forget_after: float) -> None:
        args: list[str | int] = [repr(at), math.ceil(forget_after)]
        for failures in before:
            args += [str(failures.count), repr(failures.last)]
        try:
            await self._release(keys=self._names(keys), args=args)
        except RedisError as error:
            log.warning("refused sign-in not taken back (Redis: %s)", error)

    async def touch(self, keys: Sequence[str], *, at: float) -> None:
        try:
            await self._touch(keys=self._names(keys), args=[repr(at)])
        except RedisError as error:
            log.warning("sign-in failure time not updated (Redis: %s)", error)

    async def clear(self, keys: Sequence[str]) -> None:
        try:
            await self._redis.delete(*self._names(keys))
        except RedisError as error:
            log.warning("sign-in failures not cleared (Redis: %s)", error)

    async def close(self) -> None:
        await self._redis.aclose()
