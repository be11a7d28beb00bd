"""A fixed-window budget per client, in this process (the embedded default)."""

from __future__ import annotations

import time

from integrations.ratelimit.spent import BURST_WINDOW, until_next


class InMemoryRateLimiter:
    def __init__(self, window: int = 60, burst_window: int = BURST_WINDOW) -> None:
        self.window = window
        self.burst_window = burst_window
        self._used: dict[str, tuple[int, int]] = {}
        self._bursts: dict[str, tuple[int, int]] = {}

    async def consume_within(self, key: str, cost: int, limit: int,
                             burst: tuple[int, int] | None) -> tuple[bool, int, float | None]:
        """As ``consume``, and ``burst`` (points, limit) charged to the key's burst window
        (``burst_window`` seconds) too: refused, with nothing charged, if either is over.
        The third value: seconds until the burst window ends when it is what refused."""
        _, used = self._now(key)
        if used + cost > limit:
            return False, limit - used, None
        if burst is not None and burst[0] > 0:
            points, burst_limit = burst
            current = int(time.time()) // self.burst_window
            began, spent = self._bursts.get(key, (current, 0))
            spent = spent if began == current else 0
            if spent + points > burst_limit:
                return False, limit - used, until_next(self.burst_window)
            self._bursts[key] = (current, spent + points)
            if len(self._bursts) > 100_000:  # forget ended windows
                self._bursts = {k: v for k, v in self._bursts.items() if v[0] == current}
        allowed, left = await self.consume(key, cost, limit)
        return allowed, left, None

    def _now(self, key: str) -> tuple[int, int]:
        """The current window, and what the key used of it."""
        window = int(time.time()) // self.window
        start, used = self._used.get(key, (window, 0))
        return window, used if start == window else 0

    async def consume(self, key: str, cost: int, limit: int) -> tuple[bool, int]:
        """Charge ``cost`` to the key's current window; False (and no charge) if over."""
        window, used = self._now(key)
        if used + cost > limit:
            self._used[key] = (window, used)
            return False, limit - used
        self._used[key] = (window, used + cost)
        if len(self._used) > 100_000:  # forget stale windows
            self._used = {k: v for k, v in self._used.items() if v[0] == window}
        return True, limit - used - cost

    def spent(self, key: str, limit: int) -> float | None:
        """Seconds until the key's budget comes back if it is spent in this window; else None."""
        now = time.time()
        window = int(now) // self.window
        start, used = self._used.get(key, (window, 0))
        if start != window or used < limit:
            return None
        return (window + 1) * self.window - now

    async def charge(self, key: str, cost: int, limit: int) -> int:
        """Charge ``cost``, or all that is left of the budget if less; the points left."""
        window, used = self._now(key)
        used = max(used, min(used + cost, limit))
        self._used[key] = (window, used)
        return max(limit - used, 0)
