"""Fair turns for public callers: at most a few requests of one caller run at once in a
process, and the next wait their turn, so a burst from one address spends its own time
rather than everyone's. Past a short queue, the caller is told to slow down.

A public caller is anonymous, a storefront key (shared by every shopper: counted per
address), a customer or a guest; the admin and partners are budgeted by their points
alone, so that their bulk work is not serialised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from domain.access import Kind, Principal


class Busy(Exception):
    """Too many of this caller's requests are already waiting."""


def is_public(principal: Principal | None) -> bool:
    """Anonymous, a storefront key, a customer or a guest: not the admin or a partner."""
    return principal is None or principal.kind in (Kind.STOREFRONT, Kind.CUSTOMER, Kind.GUEST)


def turn_key(principal: Principal | None, address: str) -> str | None:
    """Whose turn a request waits for; None for callers that do not wait."""
    if principal is None or principal.kind is Kind.STOREFRONT:
        return f"address:{address}"
    if principal.kind in (Kind.CUSTOMER, Kind.GUEST):
        return principal.client
    return None


@dataclass
class _Line:
    slots: asyncio.Semaphore
    users: int = 0


@dataclass
class FairTurns:
    per_caller: int = 2
    queue: int = 16
    _lines: dict[str, _Line] = field(default_factory=dict)

    @asynccontextmanager
    async def turn(self, key: str | None) -> AsyncIterator[None]:
        if key is None or self.per_caller <= 0:
            yield
            return
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line(asyncio.Semaphore(self.per_caller))
        if line.users >= self.per_caller + self.queue:
            raise Busy(key)
        line.users += 1
        try:
            async with line.slots:
                yield
        finally:
            line.users -= 1
            if line.users == 0:
                del self._lines[key]
