"""Failed sign-in counts in this process (the embedded default)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.customers.ports import Failures


class InMemoryFailureLog:
    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._failures: dict[str, tuple[Failures, float]] = {}  # key -> (failures, forget at)

    async def read(self, keys: Sequence[str], *, now: float) -> list[Failures]:
        out = []
        for key in keys:
            found = self._failures.get(key)
            out.append(found[0] if found is not None and found[1] > now else Failures())
        return out

    async def record(self, keys: Sequence[str], *, at: float, forget_after: float) -> None:
        if len(self._failures) > self.max_keys:  # bounded: forget what is past its time
            self._failures = {k: v for k, v in self._failures.items() if v[1] > at}
        for key in keys:
            found = self._failures.get(key)
            count = found[0].count if found is not None and found[1] > at else 0
            self._failures[key] = (Failures(count + 1, at), at + forget_after)

    async def clear(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
