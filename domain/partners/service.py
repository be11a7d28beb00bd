"""Creating, revoking and authenticating partner clients."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from domain import validation as v
from domain.catalog.models import Channel
from domain.errors import InvalidInput, NotFound, UnknownChannel, raise_all
from domain.partners.models import OAuthClient
from domain.secrets import hash_secret, secret_matches
from domain.uow import unit_of_work

# What a partner can be allowed to do; each scope guards the operations that need it.
SCOPES = (
    "orders:read", "orders:write", "inventory:read", "inventory:write", "fulfillment:write",
    "returns:write", "payments:write", "webhooks:manage", "reports:read", "catalog:write",
    "risk:read", "taxes:manage", "customers:write", "discounts:manage", "companies:manage",
)
__all__ = ["SCOPES", "active_client", "create_client", "revoke_client", "secret_matches"]


async def create_client(
    *, name: str, scopes: Sequence[str], channels: Sequence[str] | None = None
) -> tuple[OAuthClient, str]:
    """Create a client; returns it with its secret, which is shown once and stored hashed."""
    name = v.required_text(name, field=("name",))
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"Unknown scopes {unknown}; choose from {', '.join(SCOPES)}"
                           if unknown else "Give the client at least one scope",
                           field=("scopes",))
    if channels is not None and not channels:
        raise InvalidInput("Name at least one channel, or none at all for every channel",
                           field=("channels",))
    if channels is not None:
        found = set(await Channel.filter(code__in=list(channels)).values_list("code", flat=True))
        raise_all([UnknownChannel(c, field=("channels", str(i)))
                   for i, c in enumerate(channels) if c not in found])
    secret = secrets.token_urlsafe(32)
    async with unit_of_work() as conn:
        client = await OAuthClient.create(
            client_id=f"oms_{secrets.token_hex(12)}", name=name, secret_hash=hash_secret(secret),
            scopes=sorted(set(scopes)), channels=sorted(set(channels)) if channels is not None else None,
            using_db=conn)
    return client, secret


async def revoke_client(*, client_id: str) -> OAuthClient:
    """Revoke a client: it gets no new tokens (tokens already issued expire on their own)."""
    client = await OAuthClient.get_or_none(client_id=client_id)
    if client is None:
        raise NotFound("OAuth client", client_id, field=("clientId",))
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
        await client.save(update_fields=["revoked_at"])
    return client


async def active_client(client_id: str) -> OAuthClient | None:
    """The client unless revoked; an id no client can have (past its column, NUL) is none."""
    if len(client_id) > v.MAX_CODE or "\x00" in client_id:
        return None
    return await OAuthClient.get_or_none(client_id=client_id, revoked_at=None)


async def active_clients(client_ids: Iterable[str]) -> set[str]:
    """Which of these clients are not revoked: one query for all of them."""
    wanted = sorted({c for c in client_ids if len(c) <= v.MAX_CODE and "\x00" not in c})
    if not wanted:
        return set()
    return {str(row[0]) for row in await OAuthClient.filter(
        client_id__in=wanted, revoked_at=None).values_list("client_id")}
