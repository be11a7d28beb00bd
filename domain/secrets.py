"""Hashing secrets and passwords (argon2), and hashing opaque tokens for lookup (SHA-256).

argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB a hash): requests
hash through a ``SecretHasher``, which runs it in a worker thread (argon2 leaves
Python's lock while it works) and at most ``concurrency`` at a time, so the event
loop keeps serving everyone else while sign-ins queue.
"""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.cpu import CpuLimit

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


class SecretHasher(CpuLimit):
    """argon2 off the event loop, ``concurrency`` at a time, at a lower priority."""

    def __init__(self, concurrency: int = 2, name: str = "hash") -> None:
        super().__init__(concurrency, name, releases_the_gil=True)

    async def hash(self, secret: str) -> str:
        return await self.run(lambda: hash_secret(secret))

    async def matches(self, secret: str, hashed: str) -> bool:
        return await self.run(lambda: secret_matches(secret, hashed))
