"""Reading, adding and retiring the stored signing keys.

The newest key signs; every stored key verifies. A key stops signing when a newer one is
added, and may be retired once every token it signed has expired. Creating the first key
once, however many processes start together, is the caller's lock (``api/signing_keys.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from domain.db import atomic
from domain.signing.models import SigningKey


@dataclass(frozen=True)
class StoredKey:
    kid: str
    jwk: dict[str, Any]
    created_at: datetime


async def stored() -> list[StoredKey]:
    """Every stored key, newest (the one that signs) first."""
    rows = await SigningKey.all().order_by("-id")
    return [StoredKey(kid=row.kid, jwk=dict(row.jwk), created_at=row.created_at)
            for row in rows]


async def add(jwks: Sequence[dict[str, Any]]) -> None:
    """Store keys, the last one given newest (it signs from now on)."""
    async with atomic():
        for jwk in jwks:
            await SigningKey.create(kid=str(jwk["kid"]), jwk=jwk)


async def retire(*, stopped_signing_before: datetime) -> list[str]:
    """Drop the keys that stopped signing (a newer key was added) before the given time: the
    tokens they signed have all expired. The newest key is never dropped. Returns their kids."""
    async with atomic():
        keys = await SigningKey.all().order_by("id").select_for_update()
        retired = [key for key, successor in pairwise(keys)
                   if successor.created_at < stopped_signing_before]
        if retired:
            await SigningKey.filter(id__in=[key.id for key in retired]).delete()
    return [key.kid for key in retired]
