"""Hashing secrets and passwords (argon2), and hashing opaque tokens for lookup (SHA-256)."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
