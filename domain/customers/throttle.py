"""Slowing down password guessing without locking anyone out.

Failures are counted per account and per address. After ``free`` failures under a key,
each further attempt must wait a delay that doubles with every failure (capped) counted
from the last one. An address's delay stops that address. An account's delay stops only
addresses that have been failing themselves: the real owner, signing in from an address
that has not been guessing, still gets in, so nobody can lock another person out.
Attempts refused while a delay runs check no password and count nothing. An attempt
counts as a failure from the moment it starts until it succeeds, so that many sent at
once cannot all slip in before the first failure is written down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from domain.customers.ports import FailureLog, Failures
from domain.errors import DomainError


class SignInThrottled(DomainError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {math.ceil(retry_after)}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Backoff:
    free: int = 5  # failures before any delay
    base: float = 1.0  # seconds after the first failure past ``free``, doubling after
    cap: float = 300.0
    forget_after: float = 900.0  # a key's failures are forgotten this long after its last

    def wait(self, failures: Failures, now: float) -> float:
        """Seconds still to wait before the next attempt under this key (0: none)."""
        if failures.count < self.free:
            return 0.0
        delay = min(self.base * 2 ** (failures.count - self.free), self.cap)
        return max(failures.last + delay - now, 0.0)


class SignInThrottle:
    def __init__(self, log: FailureLog, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.log = log
        self.backoff = backoff or Backoff()
        self.clock = clock

    @staticmethod
    def _keys(account: str, address: str) -> list[str]:
        return [f"account:{account.strip().lower()}", f"address:{address}"]

    async def begin(self, *, account: str, address: str) -> None:
        """Count an attempt, or raise ``SignInThrottled`` (with the seconds to wait, and
        nothing counted) while a delay applies. Until ``succeeded``, it is a failure;
        ``failed`` says when it ended."""
        keys, now, forget = self._keys(account, address), self.clock(), self.backoff.forget_after
        before = await self.log.claim(keys, at=now, forget_after=forget)
        by_account, by_address = before
        wait = self.backoff.wait(by_address, now)
        if by_address.count > 0:  # a failing address also waits out the account's delay
            wait = max(wait, self.backoff.wait(by_account, now))
        if wait > 0:
            await self.log.release(keys, at=now, before=before, forget_after=forget)
            raise SignInThrottled(wait)

    async def failed(self, *, account: str, address: str) -> None:
        """The attempt failed (it is counted already): its delay runs from now."""
        await self.log.touch(self._keys(account, address), at=self.clock())

    async def succeeded(self, *, account: str, address: str) -> None:
        await self.log.clear(self._keys(account, address))
