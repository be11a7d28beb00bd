"""The port sign-in throttling keeps its counts behind: in process, or shared through Redis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Failures:
    """Recent failed sign-ins under one key: how many, and when the last was (epoch seconds)."""

    count: int = 0
    last: float = 0.0


class FailureLog(Protocol):
    """Attempts are counted as failures from the moment they start, in one atomic step per
    attempt, so that concurrent attempts each see the ones before them."""

    async def claim(self, keys: Sequence[str], *, at: float,
                    forget_after: float) -> list[Failures]:
        """Count an attempt at ``at`` under each key; return each key's failures before it.
        A key is forgotten ``forget_after`` seconds after its last attempt."""

    async def release(self, keys: Sequence[str], *, at: float, before: Sequence[Failures],
                      forget_after: float) -> None:
        """Take back the attempt claimed at ``at`` (it was refused: it counts nothing)."""

    async def touch(self, keys: Sequence[str], *, at: float) -> None:
        """Move the keys' last failure to ``at`` (an attempt just failed: delays run from
        its end, however long checking the password took)."""

    async def clear(self, keys: Sequence[str]) -> None:
        """Forget the keys' failures."""
