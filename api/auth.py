"""Who is calling: principals, the permissions they hold, and reading them from a request."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from api.tokens import InvalidToken, TokenService


class Permission(StrEnum):
    ADMIN = "admin"  # operations only the admin token may do; never granted to a partner
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    FULFILLMENT_WRITE = "fulfillment:write"
    RETURNS_WRITE = "returns:write"
    PAYMENTS_WRITE = "payments:write"
    WEBHOOKS_MANAGE = "webhooks:manage"
    REPORTS_READ = "reports:read"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``client`` scopes idempotency keys; ``actor`` signs events.

    ``channels``, when set, limits the caller to the orders of those channels.
    """

    client: str
    actor: str
    permissions: frozenset[Permission]
    channels: frozenset[str] | None = None

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    def sees_channel(self, code: str) -> bool:
        return self.channels is None or code in self.channels


ADMIN = Principal(client="admin", actor="staff:admin", permissions=frozenset(Permission))
_BY_SCOPE = {p.value: p for p in Permission}


class InvalidCredentials(Exception):
    """A token was presented but is not valid: the request is refused, not treated as anonymous."""


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidCredentials("Use 'Authorization: Bearer <token>'")
    return token.strip()


def authenticate(
    authorization: str | None, *, admin_token: str | None, tokens: TokenService | None = None,
) -> Principal | None:
    """The principal behind an Authorization header; None for anonymous callers."""
    token = bearer_token(authorization)
    if token is None:
        return None
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return ADMIN
    if tokens is not None and token.count(".") == 2:
        try:
            claims = tokens.verify(token)
        except InvalidToken:
            raise InvalidCredentials("Invalid or expired token") from None
        if claims.get("kind") == "partner":
            channels = claims.get("channels")
            return Principal(
                client=f"partner:{claims['sub']}", actor=f"partner:{claims.get('name', '')}",
                permissions=frozenset(_BY_SCOPE[s] for s in str(claims.get("scope", "")).split()
                                      if s in _BY_SCOPE),
                channels=frozenset(channels) if channels is not None else None)
    raise InvalidCredentials("Invalid or expired token")
