"""A fixed-window budget per client in Redis, shared by every process.

Each charge is one Lua script, so that concurrent requests of one client (in any
process) see each other's points: a request over the budget changes nothing, and a
charge that must be paid (``charge``: a refused document's) takes what is left.
Redis being down lets requests through (logged): the API stays up.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from integrations.ratelimit.spent import BURST_WINDOW, SpentBudgets, until_next
from integrations.redis_client import redis_client

log = logging.getLogger(__name__)

# KEYS[1] the window's bucket, KEYS[2] (optional) the burst window's; ARGV: cost, limit,
# seconds to keep, partial (1: take what is left when the cost is more), then for the burst
# its points, limit and seconds to keep. Returns {taken, points left after, burst refused}.
_CHARGE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local left = math.max(limit - used, 0)
if cost > left then
  if ARGV[4] ~= '1' then return {0, left, 0} end
  cost = left
end
if KEYS[2] then
  local points = tonumber(ARGV[5])
  if points > 0 then
    if tonumber(redis.call('GET', KEYS[2]) or '0') + points > tonumber(ARGV[6]) then
      return {0, left, 1}
    end
    redis.call('INCRBY', KEYS[2], points)
    redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
  end
end
if cost > 0 then
  redis.call('INCRBY', KEYS[1], cost)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {cost, left - cost, 0}
"""


class RedisRateLimiter:
    def __init__(self, url: str, window: int = 60, prefix: str = "oms:rate",
                 burst_window: int = BURST_WINDOW) -> None:
        self.url = url
        self.window = window
        self.burst_window = burst_window
        self.prefix = prefix
        self._redis = redis_client(url)
        self._script = self._redis.register_script(_CHARGE)
        self._spent = SpentBudgets(window)

    def spent(self, key: str, limit: int) -> float | None:
        """Seconds until the key's budget comes back, if this process saw it spent in the
        current window (it stays spent until the window ends); else None. No round trip."""
        return self._spent.until_back(key, limit)

    async def _run(self, key: str, cost: int, limit: int, partial: bool,
                   burst: tuple[int, int] | None = None) -> tuple[int, int, bool]:
        now = time.time()
        window = int(now) // self.window
        keys, args = [f"{self.prefix}:{key}:{window}"], [cost, limit, self.window * 2,
                                                          1 if partial else 0]
        if burst is not None:
            keys.append(f"{self.prefix}:{key}:burst:{int(now) // self.burst_window}")
            args += [*burst, self.burst_window * 2]
        taken, left, burst_refused = await self._script(keys=keys, args=args)
        if int(left) <= 0:
            self._spent.note(key, limit, window)
        return int(taken), int(left), bool(burst_refused)

    async def consume(self, key: str, cost: int, limit: int) -> tuple[bool, int]:
        """Charge ``cost`` to the key's current window; False (and no charge) if over."""
        allowed, left, _ = await self.consume_within(key, cost, limit, None)
        return allowed, left

    async def consume_within(self, key: str, cost: int, limit: int,
                             burst: tuple[int, int] | None) -> tuple[bool, int, float | None]:
        """As ``consume``, and ``burst`` (points, limit) charged to the key's burst window
        (``burst_window`` seconds) too: refused, with nothing charged, if either is over.
        The third value: seconds until the burst window ends when it is what refused."""
        try:
            taken, left, burst_refused = await self._run(key, cost, limit, False, burst)
        except RedisError as error:
            log.warning("rate limiter unavailable, letting the request through: %s", error)
            return True, limit, None
        if burst_refused:
            return False, left, until_next(self.burst_window)
        return taken == cost, left, None

    async def charge(self, key: str, cost: int, limit: int) -> int:
        """Charge ``cost``, or all that is left of the budget if less; the points left."""
        try:
            return (await self._run(key, cost, limit, partial=True))[1]
        except RedisError as error:
            log.warning("rate limiter unavailable, charge not recorded: %s", error)
            return limit

    async def close(self) -> None:
        await self._redis.aclose()
