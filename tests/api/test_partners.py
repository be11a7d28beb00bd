"""Partner apps: client credentials, JWT access tokens, scopes and channel limits."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from api.settings import Settings
from api.tokens import InvalidToken, TokenService
from domain.partners.service import SCOPES
from tests import factories
from tests.support import GraphQLClient

CREATE_CLIENT = """mutation($input: OAuthClientCreateInput!) { oauthClientCreate(input: $input) {
  client { clientId scopes channels } clientSecret userErrors { field code message } } }"""


async def _client(api: GraphQLClient, scopes: list[str], channels: list[str] | None = None
                  ) -> tuple[str, str]:
    data = (await api(CREATE_CLIENT, {"input": {"name": "ERP", "scopes": scopes,
                                                "channels": channels}}))["oauthClientCreate"]
    assert data["userErrors"] == [], data
    return data["client"]["clientId"], data["clientSecret"]


async def _token(api: GraphQLClient, client_id: str, secret: str, **form: str) -> Any:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return await api.http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                               headers={"Authorization": f"Basic {basic}"})


async def _bearer(api: GraphQLClient, scopes: list[str], channels: list[str] | None = None
                  ) -> dict[str, str]:
    client_id, secret = await _client(api, scopes, channels)
    token = (await _token(api, client_id, secret)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_a_partner_gets_a_short_lived_signed_token(api: GraphQLClient) -> None:
    client_id, secret = await _client(api, ["orders:read", "inventory:read"])
    response = await _token(api, client_id, secret)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer", 900, "inventory:read orders:read")
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header["typ"] == "at+jwt"
    jwks = (await api.http.get("/.well-known/jwks.json")).json()
    assert jwks["keys"][0]["kid"] == header["kid"]  # the key that signs comes first
    assert all("d" not in key for key in jwks["keys"])  # public parts only
    narrower = (await _token(api, client_id, secret, scope="orders:read")).json()
    assert narrower["scope"] == "orders:read"
    by_post = await api.http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert by_post.status_code == 200


async def test_the_token_endpoint_answers_errors_per_rfc_6749(api: GraphQLClient) -> None:
    client_id, secret = await _client(api, ["orders:read"])
    cases = [
        (await _token(api, client_id, "wrong"), 401, "invalid_client"),
        (await _token(api, "oms_nobody", secret), 401, "invalid_client"),
        (await _token(api, client_id, secret, scope="orders:write"), 400, "invalid_scope"),
        (await _token(api, client_id, secret, scope="galaxy:rule"), 400, "invalid_scope"),
        (await api.http.post("/oauth/token", data={"grant_type": "password", "username": "x",
                                                   "password": "y"}), 400,
         "unsupported_grant_type"),
    ]
    for response, status, error in cases:
        assert (response.status_code, response.json()["error"]) == (status, error)
    await api("mutation($id: String!) { oauthClientRevoke(clientId: $id) { userErrors { code } } }",
              {"id": client_id})
    revoked = await _token(api, client_id, secret)
    assert (revoked.status_code, revoked.json()["error"]) == (401, "invalid_client")


async def test_scopes_decide_what_a_partner_may_do(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    reader = await _bearer(api, ["orders:read"])
    assert (await api("{ orders { edges { cursor } } }", admin=False,
                      headers=reader))["orders"] == {"edges": []}
    errors = await api.errors('mutation { orderCreate(input: {channel: "web", email: '
                              '"a@example.com", lines: [{sku: "SHOE", quantity: 1}]}) '
                              "{ userErrors { code } } }", admin=False, headers=reader)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    errors = await api.errors('mutation { oauthClientCreate(input: {name: "x", scopes: '
                              '["orders:read"]}) { userErrors { code } } }',
                              admin=False, headers=await _bearer(api, list(SCOPES)))
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"  # only the admin manages clients


async def test_a_partner_limited_to_a_channel_sees_only_its_orders(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 20}})
    await factories.channel("amazon", locations=["a"], kind=factories.ChannelKind.MARKETPLACE)
    ours = await factories.place({"SHOE": 1}, channel="amazon")
    theirs = await factories.place({"SHOE": 1}, channel="web")
    partner = await _bearer(api, ["orders:read", "orders:write", "fulfillment:write"],
                            channels=["amazon"])
    listed = await api("{ orders { edges { node { number } } } }", admin=False, headers=partner)
    assert [e["node"]["number"] for e in listed["orders"]["edges"]] == [ours.number]  # type: ignore[attr-defined]
    hidden = await api('query($n: String!) { order(number: $n) { id } }',
                       {"n": theirs.number}, admin=False, headers=partner)  # type: ignore[attr-defined]
    assert hidden["order"] is None
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": theirs.number}))["order"]["id"]  # type: ignore[attr-defined]
    assert (await api("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, admin=False,
                      headers=partner))["node"] is None
    confirm = await api("mutation($id: ID!) { orderConfirm(id: $id) { order { status } "
                        "userErrors { code } } }", {"id": gid}, admin=False, headers=partner)
    assert confirm["orderConfirm"]["userErrors"][0]["code"] == "NOT_FOUND"
    placed = await api('mutation { orderCreate(input: {channel: "web", email: "a@example.com", '
                       'lines: [{sku: "SHOE", quantity: 1}]}) { userErrors { code } } }',
                       admin=False, headers=partner)
    assert placed["orderCreate"]["userErrors"][0]["code"] == "UNKNOWN_CHANNEL"


def _forged(claims: dict[str, Any], header: dict[str, Any]) -> str:
    key = RSAKey.generate_key(2048, parameters={"kid": header.get("kid", "other")})
    return jwt.encode(header, claims, key)


@pytest.mark.parametrize("kind", ["expired", "other key", "alg none", "garbage",
                                  "other audience", "no audience"])
async def test_bad_tokens_are_refused(api: GraphQLClient, kind: str) -> None:
    good = (await _bearer(api, ["orders:read"]))["Authorization"].split()[1]
    header = json.loads(base64.urlsafe_b64decode(good.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=="))
    if kind == "expired":
        tokens = api.http._transport.app.state.tokens  # type: ignore[attr-defined]
        token = tokens.issue(subject=claims["sub"], audience="oms", ttl=-10,
                             claims={k: claims[k] for k in ("client_id", "scope", "channels",
                                                            "kind", "name")})
    elif kind == "other audience":  # signed by us, for another service of ours
        tokens = api.http._transport.app.state.tokens  # type: ignore[attr-defined]
        token = tokens.issue(subject=claims["sub"], audience="billing",
                             claims={k: claims[k] for k in ("client_id", "scope", "channels",
                                                            "kind", "name")})
    elif kind == "no audience":
        tokens = api.http._transport.app.state.tokens  # type: ignore[attr-defined]
        token = jwt.encode(header, {k: v for k, v in claims.items() if k != "aud"},
                           tokens.source.keys)
    elif kind == "other key":
        token = _forged(claims, header)
    elif kind == "alg none":
        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
        token = f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}."
    else:
        token = "a.b.c"
    response = await api.raw("{ orders { edges { cursor } } }", admin=False,
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"



async def test_tokens_carry_and_need_the_configured_audience(api: GraphQLClient,
                                                            app: Any) -> None:
    good = (await _bearer(api, ["orders:read"]))["Authorization"].split()[1]
    claims = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=="))
    assert claims["aud"] == "oms"  # OMS_TOKEN_AUDIENCE's default
    tokens = app.state.tokens
    elsewhere = TokenService(tokens.source, tokens.issuer, tokens.ttl,
                             Settings.from_env({"OMS_TOKEN_AUDIENCE": "shop-b"}).token_audience)
    with pytest.raises(InvalidToken):
        await elsewhere.verify(good)  # same keys, another deployment's audience
    assert (await elsewhere.verify(elsewhere.customer_token(7)))["aud"] == "shop-b"


async def test_rotated_keys_keep_old_tokens_valid_until_they_expire(
    api: GraphQLClient, app: Any,
) -> None:
    old = await _bearer(api, ["orders:read"])
    old_kid = _kid(old)
    rotation = await app.state.tokens.rotate()  # what `oms keys rotate` does
    fresh = await _bearer(api, ["orders:read"])
    assert rotation.kid != old_kid and _kid(fresh) == rotation.kid
    for headers in (old, fresh):
        response = await api.raw("{ orders { edges { cursor } } }", admin=False, headers=headers)
        assert response.status_code == 200 and "errors" not in response.json()
    published = [k["kid"] for k in (await api.http.get("/.well-known/jwks.json")).json()["keys"]]
    assert published[0] == rotation.kid and old_kid in published


def _kid(headers: dict[str, str]) -> str:
    token = headers["Authorization"].split()[1]
    return str(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"])
