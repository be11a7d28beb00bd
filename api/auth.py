"""Who is calling: principals, the permissions they hold, and reading them from a request."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from enum import StrEnum

from api.tokens import InvalidToken, TokenService


class Permission(StrEnum):
    ADMIN = "admin"  # operations only the admin token may do; never granted to a partner
    CATALOG_WRITE = "catalog:write"
    ORDER_PLACE = "orders:place"  # placing an order (customers, storefronts, partners)
    RETURN_REQUEST = "returns:request"  # asking to return (customers, and returns:write)
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

    ``channels`` limits the caller to the orders of those channels; ``customer_id`` to a
    customer's own orders (placed while signed in); ``order_id`` to one order (a guest).
    """

    client: str
    actor: str
    permissions: frozenset[Permission]
    channels: frozenset[str] | None = None
    customer_id: int | None = None
    order_id: int | None = None
    partner_id: str | None = None  # the OAuth client, for partners
    # From the token (epoch seconds); None for the static admin token.
    issued_at: int | None = None
    expires_at: int | None = None

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def scoped(self) -> bool:
        return (self.channels is not None or self.customer_id is not None
                or self.order_id is not None)


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
        principal = _from_claims(claims)
        if principal is not None:
            return principal
    raise InvalidCredentials("Invalid or expired token")


CUSTOMER_PERMISSIONS = frozenset({Permission.ORDERS_READ, Permission.ORDER_PLACE,
                                  Permission.RETURN_REQUEST})
IMPLIED = {Permission.ORDERS_WRITE: Permission.ORDER_PLACE,
           Permission.RETURNS_WRITE: Permission.RETURN_REQUEST}


def _from_claims(claims: dict[str, object]) -> Principal | None:
    principal = _principal(claims)
    if principal is None:
        return None
    return replace(principal, issued_at=_epoch(claims.get("iat")),
                   expires_at=_epoch(claims.get("exp")))


def _epoch(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _principal(claims: dict[str, object]) -> Principal | None:
    kind, sub = claims.get("kind"), str(claims.get("sub"))
    if kind == "partner":
        channels = claims.get("channels")
        scopes = str(claims.get("scope", "")).split()
        permissions = {_BY_SCOPE[s] for s in scopes if s in _BY_SCOPE}
        permissions |= {IMPLIED[p] for p in permissions if p in IMPLIED}
        return Principal(client=f"partner:{sub}", actor=f"partner:{claims.get('name', '')}",
                         permissions=frozenset(permissions), partner_id=sub,
                         channels=frozenset(channels) if isinstance(channels, list) else None)
    if kind == "customer":
        customer_id = int(sub.removeprefix("customer:"))
        return Principal(client=sub, actor=sub, permissions=CUSTOMER_PERMISSIONS,
                         customer_id=customer_id)
    if kind == "storefront":  # a publishable channel key: catalogue, availability, orderCreate
        code = sub.removeprefix("channel:")
        return Principal(client=f"storefront:{code}", actor=f"storefront:{code}",
                         permissions=frozenset({Permission.ORDER_PLACE}),
                         channels=frozenset({code}))
    if kind == "order":
        order_id = int(sub.removeprefix("order:"))
        return Principal(client=sub, actor=f"guest:{order_id}",
                         permissions=frozenset({Permission.ORDERS_READ}), order_id=order_id)
    return None
