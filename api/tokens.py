"""Signing and verifying access tokens: RFC 9068 JWTs, with keys that rotate.

The first key of the set signs; every key in the set verifies, so a rotated
key keeps the tokens it signed valid until they expire. Keys come from
``OMS_JWT_KEYS`` (a JWK set with private keys); the embedded default creates
one under the var folder on first start.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from api.files import write_private
from api.settings import ConfigurationError, Settings

ALGORITHMS = ["RS256", "ES256"]
ORDER_TOKEN_TTL = 90 * 24 * 3600
STOREFRONT_KEY_TTL = 5 * 365 * 24 * 3600


class InvalidToken(Exception):
    pass


def _load_keys(settings: Settings) -> KeySet:
    raw = settings.jwt_keys
    if raw is None:
        path = settings.var_dir / "jwt-keys.json"
        if not path.exists():
            key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)})
            # Another process starting at once may have written it first: then read theirs.
            write_private(path, json.dumps({"keys": [key.as_dict(private=True)]}))
        path.chmod(0o600)
        raw = path.read_text()
    try:
        keys = KeySet.import_key_set(json.loads(raw))
    except (ValueError, JoseError, KeyError, TypeError) as error:
        raise ConfigurationError(f"OMS_JWT_KEYS is not a JWK set with private keys: {error}") \
            from None
    if not keys.keys or any(k.kid is None for k in keys.keys):
        raise ConfigurationError("OMS_JWT_KEYS needs at least one key, each with a kid")
    return keys


@dataclass
class TokenService:
    keys: KeySet
    issuer: str
    ttl: int
    audience: str = "oms"  # the aud of every token issued, and the one a token must carry

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        return cls(_load_keys(settings), settings.token_issuer, settings.access_token_ttl,
                   settings.token_audience)

    def issue(self, *, subject: str, claims: dict[str, Any], ttl: int | None = None,
              audience: str | None = None) -> str:
        signer = self.keys.keys[0]
        now = int(time.time())
        header = {"alg": signer.alg or "RS256", "kid": signer.kid, "typ": "at+jwt"}
        payload = {"iss": self.issuer, "sub": subject, "aud": audience or self.audience,
                   "iat": now,
                   "exp": now + (ttl or self.ttl), "jti": secrets.token_urlsafe(12), **claims}
        return jwt.encode(header, payload, self.keys)

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

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token we issued for our audience and that has not expired;
        InvalidToken otherwise."""
        try:
            decoded = jwt.decode(token, self.keys, algorithms=ALGORITHMS)
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
        return {"keys": [key.as_dict(private=False) | {"use": "sig", "alg": key.alg or "RS256"}
                         for key in self.keys.keys]}
