"""Where the token keys come from: ``OMS_JWT_KEYS``, or the database that every process on
it shares.

Shared keys are created once (under a lock, however many processes start together), read
at start, re-read every ``OMS_KEY_REFRESH_INTERVAL`` seconds, and re-read at once when a
token names a key this process does not know yet: a rotation on one host is then accepted
by every other host without a restart. Such re-reads are bounded (one per
``REREAD_INTERVAL`` seconds), so tokens naming made-up keys cannot hammer the database.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from api import database
from api.settings import ConfigurationError, Settings
from domain.signing import store

KEYS_LOCK = 0x6F6D735F6B6579  # "oms_key": one process creates or rotates keys at a time
REREAD_INTERVAL = 5.0
LEGACY_FILE = "jwt-keys.json"  # where the embedded default kept its key before


class KeySource(Protocol):
    keys: KeySet

    async def load(self) -> None: ...

    async def knows(self, kid: str) -> bool: ...


def import_key_set(raw: Any, name: str) -> KeySet:
    try:
        keys = KeySet.import_key_set(raw)
    except (ValueError, JoseError, KeyError, TypeError) as error:
        raise ConfigurationError(f"{name} is not a JWK set with private keys: {error}") from None
    if not keys.keys or any(k.kid is None for k in keys.keys):
        raise ConfigurationError(f"{name} needs at least one key, each with a kid")
    return keys


def new_key() -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "alg": "RS256"})
    return key.as_dict(private=True)


def _has(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


@dataclass
class FixedKeys:
    """``OMS_JWT_KEYS``: the operator's set, the first key signing."""

    keys: KeySet

    async def load(self) -> None:
        return None

    async def knows(self, kid: str) -> bool:
        return _has(self.keys, kid)


@dataclass(frozen=True)
class Rotation:
    kid: str
    retired: list[str]


class SharedKeys:
    """The keys stored in the database, newest (the signer) first."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeySet([])
        self.rereads = 0  # re-reads caused by unknown kids, for the log and the tests
        self._last_reread = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        found = await store.stored()
        if not found:
            async with self._exclusive():
                found = await store.stored()
                if not found:
                    await store.add(list(reversed(self._first_keys())))
                    found = await store.stored()
        self.keys = import_key_set({"keys": [key.jwk for key in found]}, "the signing_key table")

    async def knows(self, kid: str) -> bool:
        """Whether ``kid`` is one of ours, re-reading the database when it is not known yet
        (at most once per REREAD_INTERVAL: requests meanwhile are answered from memory)."""
        if _has(self.keys, kid):
            return True
        async with self._lock:
            if _has(self.keys, kid):  # another request re-read while this one waited
                return True
            now = time.monotonic()
            if now - self._last_reread < REREAD_INTERVAL:
                return False
            self._last_reread = now
            self.rereads += 1
            await self.load()
        return _has(self.keys, kid)

    async def rotate(self, *, keep_for: timedelta) -> Rotation:
        """Add a key that signs from now on, and drop the keys that stopped signing more than
        ``keep_for`` ago (the longest token lifetime and a margin: their tokens expired)."""
        async with self._exclusive():
            key = new_key()
            await store.add([key])
            retired = await store.retire(stopped_signing_before=datetime.now(UTC) - keep_for)
        await self.load()
        return Rotation(kid=str(key["kid"]), retired=retired)

    def _first_keys(self) -> list[dict[str, Any]]:
        """The first key; a key the embedded default kept in its var folder carries over, so
        the tokens it signed (guests' order links, storefront keys) keep working."""
        legacy = self.settings.var_dir / LEGACY_FILE
        try:
            keys = import_key_set(json.loads(legacy.read_text()), str(legacy))
        except (OSError, ValueError, ConfigurationError):
            return [new_key()]
        return [key.as_dict(private=True) for key in keys.keys]

    def _exclusive(self) -> AbstractAsyncContextManager[None]:
        lock_file = database.lock_file_beside_database(self.settings, "signing-keys.lock")
        return database.exclusive(self.settings, KEYS_LOCK, lock_file)


def key_source(settings: Settings) -> KeySource:
    if settings.jwt_keys is not None:
        try:
            raw = json.loads(settings.jwt_keys)
        except ValueError as error:
            raise ConfigurationError(f"OMS_JWT_KEYS is not JSON: {error}") from None
        return FixedKeys(import_key_set(raw, "OMS_JWT_KEYS"))
    return SharedKeys(settings)
