"""A fixed-window budget per client, in this process (the embedded default)."""

from __future__ import annotations

import time


class InMemoryRateLimiter:
    def __init__(self, window: int = 60) -> None:
        self.window = window
        self._used: dict[str, tuple[int, int]] = {}

    async def consume(self, key: str, cost: int, limit: int) -> tuple[bool, int]:
        """Charge ``cost`` to the key's current window; False (and no charge) if over."""
        window = int(time.time()) // self.window
        start, used = self._used.get(key, (window, 0))
        if start != window:
            used = 0
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
        window = int(time.time()) // self.window
        start, used = self._used.get(key, (window, 0))
        if start != window:
            used = 0
        used = max(used, min(used + cost, limit))
        self._used[key] = (window, used)
        return max(limit - used, 0)
