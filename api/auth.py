"""Who is calling: principals, the permissions they hold, and reading them from a request."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
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
    """An authenticated caller. ``client`` scopes idempotency keys; ``actor`` signs events."""

    client: str
    actor: str
    permissions: frozenset[Permission]

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions


ADMIN = Principal(client="admin", actor="staff:admin", permissions=frozenset(Permission))


class InvalidCredentials(Exception):
    """A token was presented but is not valid: the request is refused, not treated as anonymous."""


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidCredentials("Use 'Authorization: Bearer <token>'")
    return token.strip()


def authenticate(authorization: str | None, *, admin_token: str | None) -> Principal | None:
    """The principal behind an Authorization header; None for anonymous callers."""
    token = bearer_token(authorization)
    if token is None:
        return None
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return ADMIN
    raise InvalidCredentials("Invalid or expired token")
