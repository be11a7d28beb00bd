"""Hashing secrets and passwords (argon2), and hashing opaque tokens for lookup (SHA-256).

argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB a hash): requests
hash through a ``SecretHasher``, which runs it in a worker thread (argon2 leaves
Python's lock while it works) and at most ``concurrency`` at a time, so the event
loop keeps serving everyone else while sign-ins queue. How much work one hash is comes from
the deployment's settings (``configure``); each hash records its own cost, so hashes made
at an earlier cost keep verifying.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.cpu import CpuLimit


@dataclass(frozen=True)
class HashCost:
    """argon2id's work for one hash: ``memory_kib`` KiB, ``time_cost`` passes over it,
    ``parallelism`` lanes; by default argon2-cffi's (RFC 9106's low-memory choice)."""

    memory_kib: int = 65536
    time_cost: int = 3
    parallelism: int = 4

    def __str__(self) -> str:  # as argon2 writes it in each hash
        return f"m={self.memory_kib},t={self.time_cost},p={self.parallelism}"


_hasher = PasswordHasher()
_dummy: str | None = None


def configure(cost: HashCost) -> None:
    """The cost of the hashes this process makes from now on (at start-up: the hash that
    stands in for unknown accounts is made here, not on the first sign-in)."""
    global _hasher, _dummy
    _hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                             parallelism=cost.parallelism)
    _dummy = None
    _dummy_hash()


def _dummy_hash() -> str:
    """A hash of a secret nobody knows, at the configured cost."""
    global _dummy
    if _dummy is None:
        _dummy = hash_secret(secrets.token_urlsafe(16))
    return _dummy


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

    async def matches_nothing(self, secret: str) -> None:
        """The work of checking a password, for an account that does not exist: a sign-in
        takes as long whether or not the account exists."""
        await self.run(lambda: secret_matches(secret, _dummy_hash()))
