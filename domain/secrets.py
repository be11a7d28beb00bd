"""Hashing secrets and passwords (argon2), and hashing opaque tokens for lookup (SHA-256).

argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB a hash): requests
hash through a ``SecretHasher``, which runs it in a worker thread (argon2 leaves
Python's lock while it works) and at most ``concurrency`` at a time, so the event
loop keeps serving everyone else while sign-ins queue.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def secret_matches(secret: str, hashed: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Long random tokens need no slow hash: SHA-256 lets them be looked up by digest."""
    return hashlib.sha256(token.encode()).hexdigest()


class SecretHasher:
    """argon2 (or other CPU-heavy work) off the event loop, ``concurrency`` at a time."""

    def __init__(self, concurrency: int = 2) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None

    async def run(self, work: Callable[[], T]) -> T:
        if self._slots is None:  # made here, in the loop that uses it
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            return await asyncio.to_thread(work)

    async def hash(self, secret: str) -> str:
        return await self.run(lambda: hash_secret(secret))

    async def matches(self, secret: str, hashed: str) -> bool:
        return await self.run(lambda: secret_matches(secret, hashed))
