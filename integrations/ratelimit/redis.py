"""A fixed-window budget per client in Redis, shared by every process.

Each charge is one Lua script, so that concurrent requests of one client (in any
process) see each other's points: a request over the budget changes nothing, and a
charge that must be paid (``charge``: a refused document's) takes what is left.
Redis being down lets requests through (logged): the API stays up.
"""

from __future__ import annotations

import logging
import time

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from integrations.ratelimit.spent import SpentBudgets

log = logging.getLogger(__name__)

# KEYS[1] the window's bucket; ARGV: cost, limit, seconds to keep, partial (1: take what is
# left when the cost is more). Returns {taken, points left after}.
_CHARGE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local left = math.max(limit - used, 0)
if cost > left then
  if ARGV[4] ~= '1' then return {0, left} end
  cost = left
end
if cost > 0 then
  redis.call('INCRBY', KEYS[1], cost)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {cost, left - cost}
"""


class RedisRateLimiter:
    def __init__(self, url: str, window: int = 60, prefix: str = "oms:rate") -> None:
        self.url = url
        self.window = window
        self.prefix = prefix
        self._redis = aioredis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_CHARGE)
        self._spent = SpentBudgets(window)

    def spent(self, key: str, limit: int) -> float | None:
        """Seconds until the key's budget comes back, if this process saw it spent in the
        current window (it stays spent until the window ends); else None. No round trip."""
        return self._spent.until_back(key, limit)

    async def _run(self, key: str, cost: int, limit: int, partial: bool) -> tuple[int, int]:
        window = int(time.time()) // self.window
        bucket = f"{self.prefix}:{key}:{window}"
        taken, left = await self._script(
            keys=[bucket], args=[cost, limit, self.window * 2, 1 if partial else 0])
        if int(left) <= 0:
            self._spent.note(key, limit, window)
        return int(taken), int(left)

    async def consume(self, key: str, cost: int, limit: int) -> tuple[bool, int]:
        """Charge ``cost`` to the key's current window; False (and no charge) if over."""
        try:
            taken, left = await self._run(key, cost, limit, partial=False)
        except RedisError as error:
            log.warning("rate limiter unavailable, letting the request through: %s", error)
            return True, limit
        return taken == cost, left

    async def charge(self, key: str, cost: int, limit: int) -> int:
        """Charge ``cost``, or all that is left of the budget if less; the points left."""
        try:
            return (await self._run(key, cost, limit, partial=True))[1]
        except RedisError as error:
            log.warning("rate limiter unavailable, charge not recorded: %s", error)
            return limit

    async def close(self) -> None:
        await self._redis.aclose()
