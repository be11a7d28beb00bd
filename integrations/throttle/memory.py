"""Failed sign-in counts in this process (the embedded default)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.customers.ports import Failures


class InMemoryFailureLog:
    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._failures: dict[str, tuple[Failures, float]] = {}  # key -> (failures, forget at)

    def _current(self, key: str, now: float) -> Failures:
        found = self._failures.get(key)
        return found[0] if found is not None and found[1] > now else Failures()

    # Nothing below awaits, so each call is atomic among this process's requests.
    async def claim(self, keys: Sequence[str], *, at: float,
                    forget_after: float) -> list[Failures]:
        if len(self._failures) > self.max_keys:  # bounded: forget what is past its time
            self._failures = {k: v for k, v in self._failures.items() if v[1] > at}
        before = [self._current(key, at) for key in keys]
        for key, failures in zip(keys, before, strict=True):
            self._failures[key] = (Failures(failures.count + 1, at), at + forget_after)
        return before

    async def release(self, keys: Sequence[str], *, at: float, before: Sequence[Failures],
                      forget_after: float) -> None:
        for key, previous in zip(keys, before, strict=True):
            current = self._failures.get(key)
            if current is None:
                continue
            if current[0].last != at:  # attempts came after this one: keep their time
                self._failures[key] = (Failures(current[0].count - 1, current[0].last),
                                       current[1])
            elif previous.count == 0:
                del self._failures[key]
            else:
                self._failures[key] = (previous, previous.last + forget_after)

    async def touch(self, keys: Sequence[str], *, at: float) -> None:
        for key in keys:
            found = self._failures.get(key)
            if found is not None:
                self._failures[key] = (Failures(found[0].count, at), found[1] - found[0].last + at)

    async def clear(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
