"""Signing and verifying access tokens: RFC 9068 JWTs, with keys that rotate.

The first key of the set signs; every key in the set verifies, so a rotated
key keeps the tokens it signed valid until they expire. Keys come from
``OMS_JWT_KEYS`` (a JWK set with private keys), or else from the database, shared
by every process and host on it (``api/signing_keys.py``).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from api.settings import ConfigurationError, Settings
from api.signing_keys import KeySource, Rotation, SharedKeys, key_source

ALGORITHMS = ["RS256", "ES256"]
ORDER_TOKEN_TTL = 90 * 24 * 3600
STOREFRONT_KEY_TTL = 5 * 365 * 24 * 3600
RETIREMENT_MARGIN = timedelta(days=1)


class InvalidToken(Exception):
    pass


def _named_kid(token: str) -> str | None:
    """The kid a token's header names, before anything about it is trusted."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) and 0 < len(kid) <= 64 else None


@dataclass
class TokenService:
    source: KeySource
    issuer: str
    ttl: int
    audience: str = "oms"  # the aud of every token issued, and the one a token must carry

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        return cls(key_source(settings), settings.token_issuer, settings.access_token_ttl,
                   settings.token_audience)

    @property
    def longest_lifetime(self) -> timedelta:
        return timedelta(seconds=max(self.ttl, ORDER_TOKEN_TTL, STOREFRONT_KEY_TTL))

    async def load(self) -> None:
        """Read the keys (creating the first shared one); again now and then while running."""
        await self.source.load()

    async def rotate(self) -> Rotation:
        """A new shared key signs from now on; the old ones verify until their tokens expire,
        and those whose tokens have all expired are dropped."""
        if not isinstance(self.source, SharedKeys):
            raise ConfigurationError("OMS_JWT_KEYS is set: rotate by putting a new key first "
                                     "in it, keeping the old ones after it")
        return await self.source.rotate(keep_for=self.longest_lifetime + RETIREMENT_MARGIN)

    def issue(self, *, subject: str, claims: dict[str, Any], ttl: int | None = None,
              audience: str | None = None) -> str:
        keys = self.source.keys
        signer = keys.keys[0]
        now = int(time.time())
        header = {"alg": signer.alg or "RS256", "kid": signer.kid, "typ": "at+jwt"}
        payload = {"iss": self.issuer, "sub": subject, "aud": audience or self.audience,
                   "iat": now,
                   "exp": now + (ttl or self.ttl), "jti": secrets.token_urlsafe(12), **claims}
        return jwt.encode(header, payload, keys)

    def customer_token(self, customer_id: int) -> str:
        return self.issue(subject=f"customer:{customer_id}", claims={"kind": "customer"})

    def order_token(self, order_id: int) -> str:
        """Reads and follows one order, for as long as a guest may want to track it."""
        return self.issue(subject=f"order:{order_id}", claims={"kind": "order"},
                          ttl=ORDER_TOKEN_TTL)

    def storefront_key(self, channel: str) -> str:
        """A publishable key: safe in a web page, it only places orders on its channel."""
        return self.issue(subject=f"channel:{channel}", claims={"kind": "storefront"},
                          ttl=STOREFRONT_KEY_TTL)

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token we issued for our audience and that has not expired;
        InvalidToken otherwise. A token naming a key this process does not know yet makes
        it re-read the keys."""
        kid = _named_kid(token)
        if kid is not None and not await self.source.knows(kid):
            raise InvalidToken(f"unknown key {kid!r}")
        try:
            decoded = jwt.decode(token, self.source.keys, algorithms=ALGORITHMS)
            if decoded.header.get("typ") != "at+jwt":
                raise InvalidToken("not an access token")
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True}, sub={"essential": True}, iat={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise InvalidToken(str(error) or type(error).__name__) from None
        return dict(decoded.claims)

    def jwks(self) -> dict[str, Any]:
        """The public halves of every current key, the one that signs first."""
        return {"keys": [key.as_dict(private=False) | {"use": "sig", "alg": key.alg or "RS256"}
                         for key in self.source.keys.keys]}
