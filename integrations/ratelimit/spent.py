"""Budgets seen spent: within a fixed window a budget only goes down, so a client found with
no point left stays refused until the window ends, and its next requests can be refused
without asking the store again (nor reading them)."""

from __future__ import annotations

import time

MAX_REMEMBERED = 100_000

# Seconds of a public caller's burst window: what it may spend in so few seconds is a part
# of its minute (``api.graphql.cost.Limits.burst_of``), so that a minute's points are not
# all spent in one second, stalling everyone else for it.
BURST_WINDOW = 10


def until_next(window: int) -> float:
    """Seconds until the current fixed window of ``window`` seconds ends."""
    now = time.time()
    return (int(now) // window + 1) * window - now


class SpentBudgets:
    def __init__(self, window: int) -> None:
        self.window = window
        self._spent: dict[str, tuple[int, int]] = {}  # key: (window, limit) it was spent in

    def note(self, key: str, limit: int, window: int) -> None:
        if len(self._spent) >= MAX_REMEMBERED:
            current = int(time.time()) // self.window
            self._spent = {k: v for k, v in self._spent.items() if v[0] == current}
            if len(self._spent) >= MAX_REMEMBERED:
                self._spent.clear()
        self._spent[key] = (window, limit)

    def until_back(self, key: str, limit: int) -> float | None:
        seen = self._spent.get(key)
        if seen is None:
            return None
        now = time.time()
        window, spent_limit = seen
        # a budget raised since (settings changed while running) is asked again
        if window != int(now) // self.window or limit > spent_limit:
            del self._spent[key]
            return None
        return (window + 1) * self.window - now
