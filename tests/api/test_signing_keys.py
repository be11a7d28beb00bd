"""Signing keys shared through the database: rotation, keys added by other hosts, tokens
naming made-up keys, retirement, and keys the operator sets."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from api.settings import Settings
from api.signing_keys import new_key
from api.tokens import TokenService
from domain.signing.models import SigningKey
from tests.support import GraphQLClient

CHANNELS = "{ channels { code } }"


def _kid(token: str) -> str:
    return str(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"])


async def _status(api: GraphQLClient, token: str) -> int:
    response = await api.raw(CHANNELS, admin=False, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def _published(api: GraphQLClient) -> list[str]:
    return [k["kid"] for k in (await api.http.get("/.well-known/jwks.json")).json()["keys"]]


async def test_a_key_rotated_on_another_host_is_accepted_without_a_restart(
    api: GraphQLClient, app: Any, settings: Settings,
) -> None:
    """Another host (here: another token service on the same database) rotates and signs
    with the new key; this process has never seen it, re-reads the keys and accepts it."""
    before = app.state.tokens.storefront_key("web")
    elsewhere = TokenService.from_settings(settings)
    await elsewhere.load()
    rotation = await elsewhere.rotate()
    theirs = elsewhere.storefront_key("web")
    assert _kid(theirs) == rotation.kid != _kid(before)
    # Accepted at once, unless a made-up kid made this process re-read in the last seconds.
    deadline = time.monotonic() + 10
    while await _status(api, theirs) != 200:
        assert time.monotonic() < deadline, "a key added on another host was never accepted"
        await asyncio.sleep(0.5)
    assert await _status(api, before) == 200
    assert (await _published(api))[0] == rotation.kid  # it signs here too from now on
    assert _kid(app.state.tokens.storefront_key("web")) == rotation.kid


async def test_tokens_naming_made_up_keys_do_not_hammer_the_database(
    api: GraphQLClient, app: Any,
) -> None:
    """Each unknown kid may be a key rotated elsewhere, but the keys are re-read at most once
    per interval, however many such tokens arrive."""
    forger = RSAKey.generate_key(2048)
    rereads = app.state.tokens.source.rereads
    for attempt in range(30):
        token = jwt.encode({"alg": "RS256", "kid": f"forged-{attempt}", "typ": "at+jwt"},
                           {"iss": "oms", "sub": "channel:web", "kind": "storefront",
                            "exp": int(time.time()) + 60}, forger)
        assert await _status(api, token) == 401
    assert app.state.tokens.source.rereads - rereads <= 1


async def test_rotation_retires_keys_whose_tokens_have_all_expired(
    api: GraphQLClient, app: Any,
) -> None:
    tokens = app.state.tokens
    first = await tokens.rotate()
    signed_by_first = tokens.storefront_key("web")
    second = await tokens.rotate()
    # The second key took over from the first longer ago than any token lives.
    long_ago = datetime.now(UTC) - tokens.longest_lifetime - timedelta(days=2)
    await SigningKey.filter(kid=second.kid).update(created_at=long_ago)
    third = await tokens.rotate()
    assert third.retired == [first.kid]
    published = await _published(api)
    assert published[:2] == [third.kid, second.kid] and first.kid not in published
    assert await _status(api, signed_by_first) == 401


def test_keys_the_operator_sets_are_used_as_given(settings: Settings) -> None:
    signer, older = new_key(), new_key()
    tokens = TokenService.from_settings(
        settings.with_(jwt_keys=json.dumps({"keys": [signer, older]})))
    assert [k["kid"] for k in tokens.jwks()["keys"]] == [signer["kid"], older["kid"]]
    assert _kid(tokens.storefront_key("web")) == signer["kid"]
