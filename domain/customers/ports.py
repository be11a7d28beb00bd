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
    async def read(self, keys: Sequence[str], *, now: float) -> list[Failures]:
        """Each key's failures not yet forgotten at ``now``, in the order asked."""

    async def record(self, keys: Sequence[str], *, at: float, forget_after: float) -> None:
        """Count one failure under each key at ``at``; a key is forgotten ``forget_after``
        seconds after its last failure."""

    async def clear(self, keys: Sequence[str]) -> None:
        """Forget the keys' failures."""
