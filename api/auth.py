"""Who is calling: principals, the permissions they hold, and reading them from a request."""

from __future__ import annotations

import hmac
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.tokens import InvalidToken, TokenService
from domain.access import ADMIN, Kind, Permission, Principal
from domain.staff.sessions import looks_like_staff_token, principal_for_token

__all__ = ["ADMIN", "InvalidCredentials", "Kind", "Permission", "Principal", "authenticate"]


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


async def authenticate(
    authorization: str | None, *, admin_token: str | None, tokens: TokenService | None = None,
) -> Principal | None:
    """The principal behind an Authorization header; None for anonymous callers."""
    token = bearer_token(authorization)
    if token is None:
        return None
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return ADMIN
    if looks_like_staff_token(token):  # looked up each time: a revoked session ends at once
        staff = await principal_for_token(token)
        if staff is None:
            raise InvalidCredentials("Invalid, expired or revoked staff session")
        return staff
    if tokens is not None and token.count(".") == 2:
        try:
            claims = await tokens.verify(token)
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


def customer_principal(customer_id: int) -> Principal:
    """A signed-in customer."""
    sub = f"customer:{customer_id}"
    return Principal(client=sub, actor=sub, permissions=CUSTOMER_PERMISSIONS,
                     kind=Kind.CUSTOMER, customer_id=customer_id)


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
                         permissions=frozenset(permissions), kind=Kind.PARTNER,
                         partner_id=sub,
                         channels=frozenset(channels) if isinstance(channels, list) else None)
    if kind == "customer":
        return customer_principal(int(sub.removeprefix("customer:")))
    if kind == "storefront":  # a publishable channel key: catalogue, availability, orderCreate
        code = sub.removeprefix("channel:")
        return Principal(client=f"storefront:{code}", actor=f"storefront:{code}",
                         permissions=frozenset({Permission.ORDER_PLACE}),
                         kind=Kind.STOREFRONT, channels=frozenset({code}))
    if kind == "order":
        order_id = int(sub.removeprefix("order:"))
        return Principal(client=sub, actor=f"guest:{order_id}",
                         permissions=frozenset({Permission.ORDERS_READ}),
                         kind=Kind.GUEST, order_id=order_id)
    return None


async def http_caller(request: Request, permission: Permission | None
                      ) -> Principal | JSONResponse:
    """The caller of a plain HTTP route (CSV reports, catalogue files): its principal, or
    the answer refusing it (401 without valid credentials, 403 without ``permission``)."""
    settings = request.app.state.settings
    try:
        principal = await authenticate(request.headers.get("authorization"),
                                       admin_token=settings.admin_token,
                                       tokens=request.app.state.tokens)
    except InvalidCredentials as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    if principal is None:
        return JSONResponse({"error": "Authentication required"}, status_code=401)
    if permission is not None and not principal.allows(permission):
        return JSONResponse({"error": f"Missing permission {permission.value}"},
                            status_code=403)
    return principal
