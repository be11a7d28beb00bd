"""The OAuth 2 token endpoint (client credentials) on Authlib's AuthorizationServer.

Authlib has no ASGI integration, so this subclass is one: it turns a
Starlette request into an OAuth2Request and the answer into a JSONResponse.
Authlib's server is synchronous, so the client is loaded (async) before it
runs and handed to ``query_client`` through a context variable.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, unquote

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidScopeError, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.inbound import Malformed, WellFormedHeaders, read
from api.tokens import TokenService
from domain.partners.models import OAuthClient
from domain.partners.service import SCOPES, active_client, secret_matches

_loaded: ContextVar[OAuthClient | None] = ContextVar("oauth_client", default=None)
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
MAX_FIELDS = 16
MAX_CLIENT_ID = 64


class Client(ClientMixin):
    def __init__(self, model: OAuthClient) -> None:
        self.model = model

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = list(self.model.scopes)
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(client_secret, self.model.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class TokenRequest(OAuth2Request):
    """A token request's form, as Authlib reads it."""

    def __init__(self, form: dict[str, Any], headers: Mapping[str, str]) -> None:
        # TLS ends in front of the app (a load balancer); Authlib insists on an https URI.
        super().__init__("POST", "https://oms/oauth/token", headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, Any]:
        return self._form

    @property
    def args(self) -> dict[str, Any]:
        return {}


class PartnerCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


class StarletteAuthorizationServer(AuthorizationServer):
    def __init__(self, tokens: TokenService) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.tokens = tokens
        self.register_grant(PartnerCredentials)
        self.register_token_generator("default", self._generate)

    def _generate(self, grant_type: str, client: Client, user: Any = None,
                  scope: str | None = None, expires_in: int | None = None,
                  include_refresh_token: bool = True) -> dict[str, Any]:
        granted = scope if scope is not None else client.get_allowed_scope(None)
        token = self.tokens.issue(
            subject=client.get_client_id(),
            claims={"client_id": client.get_client_id(), "scope": granted,
                    "channels": client.model.channels, "kind": "partner",
                    "name": client.model.name})
        return {"token_type": "Bearer", "access_token": token, "expires_in": self.tokens.ttl,
                "scope": granted}

    def validate_requested_scope(self, scope: str | None) -> None:
        super().validate_requested_scope(scope)
        model = _loaded.get()
        if scope and model is not None and not set(scope.split()) <= set(model.scopes):
            raise InvalidScopeError(description="the client may not ask for "
                                    + " ".join(sorted(set(scope.split()) - set(model.scopes))))

    def query_client(self, client_id: str) -> Client | None:
        model = _loaded.get()
        return Client(model) if model is not None and model.client_id == client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are self-contained JWTs: nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        form, headers = request
        return TokenRequest(form, headers)

    def handle_response(self, status: int, body: Any, headers: Any) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=dict(headers or []))

    async def token_endpoint(self, request: Request) -> JSONResponse:
        try:
            form = await _form(request)
            # Authlib decodes the header itself, and fails on one that is not ASCII
            authorization = WellFormedHeaders(request.headers).get("authorization")
        except Malformed as refused:
            return JSONResponse({"error": "invalid_request", "error_description": refused.message},
                                status_code=refused.status, headers={"Cache-Control": "no-store"})
        client_id = _client_id(authorization, form)
        model = await active_client(client_id) if client_id else None
        token = _loaded.set(model)
        try:
            # Checking the secret is an argon2 verify: off the event loop, with the sign-ins.
            hasher = request.app.state.services.hasher
            response: JSONResponse = await hasher.run(
                lambda: self.create_token_response((form, request.headers)))
        finally:
            _loaded.reset(token)
        response.headers["Cache-Control"] = "no-store"
        return response


async def _form(request: Request) -> dict[str, str]:
    """The token request's form (RFC 6749 section 4.4.2: urlencoded, each parameter once),
    read through the same bounded edge as the webhooks."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise Malformed("send the token request as application/x-www-form-urlencoded")
    body = (await read(request)).body.decode()
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise Malformed(f"a token request has at most {MAX_FIELDS} parameters") from None
    form = dict(pairs)
    if len(form) < len(pairs):
        raise Malformed("a parameter is given more than once")
    return form


def _client_id(authorization: str | None, form: Mapping[str, Any]) -> str | None:
    """The client the request names, if it could be one of ours (ids are at most 64)."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
        except (binascii.Error, ValueError):  # not base64, not ASCII, not UTF-8
            return None
        found: str | None = unquote(decoded.partition(":")[0])
    else:
        found = str(form.get("client_id") or "")
    return found if found and len(found) <= MAX_CLIENT_ID else None
