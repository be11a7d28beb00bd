"""A subscription's websocket ends with the token that opened it: at its expiry, and soon
after it is revoked (close code 4401)."""

from __future__ import annotations

from typing import Any

import httpx_ws
import pytest

from api.sessions import CLOSE_CODE
from domain.customers.models import Customer
from tests import factories
from tests.api.test_customers_and_guests import PLACE, REFRESH, _register, bearer
from tests.api.test_partners import _client, _token
from tests.api.test_subscriptions import AVAILABILITY, ORDER_EVENTS, subscriber
from tests.support import GraphQLClient, Subscriber

REVOKE = """mutation($id: String!) { oauthClientRevoke(clientId: $id) {
  userErrors { code } } }"""


async def _closed(sub: Subscriber, seconds: float = 10) -> httpx_ws.WebSocketDisconnect:
    """Wait (with a timeout) for the server to close the connection; its close frame."""
    with pytest.raises(httpx_ws.WebSocketDisconnect) as closed:
        while True:
            await sub.next(seconds)
    return closed.value


async def test_the_connection_closes_when_its_token_expires(app: Any, api: GraphQLClient
                                                            ) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await _register(api, "short@example.com")
    customer = await Customer.get(email="short@example.com")
    token = app.state.tokens.issue(subject=f"customer:{customer.id}",
                                   claims={"kind": "customer"}, ttl=1)
    async with subscriber(app) as sub:
        assert (await sub.init(token))["type"] == "connection_ack"
        await sub.subscribe(AVAILABILITY, {"skus": ["SHOE"]})
        assert (await sub.data(1))[0]["availabilityChanged"]["available"] == 5
        closed = await _closed(sub)
    assert (closed.code, closed.reason) == (CLOSE_CODE, "Token expired")


async def test_a_revoked_partner_client_loses_its_open_subscriptions(
    app: Any, api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    order = await factories.place({"SHOE": 1})
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number}))["order"]["id"]  # type: ignore[attr-defined]
    client_id, secret = await _client(api, ["orders:read"])
    token = (await _token(api, client_id, secret)).json()["access_token"]
    async with subscriber(app) as sub:
        assert (await sub.init(token))["type"] == "connection_ack"
        await sub.subscribe(ORDER_EVENTS, {"id": gid})
        assert len(await sub.data(2)) == 2  # placed, reserved: the session works
        revoked = await api(REVOKE, {"id": client_id})
        assert revoked["oauthClientRevoke"]["userErrors"] == []
        closed = await _closed(sub)
    assert (closed.code, closed.reason) == (CLOSE_CODE, "Token revoked")


async def test_a_replayed_refresh_token_ends_the_customers_sessions(
    app: Any, api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    tokens = await _register(api, "ann@example.com")
    placed = (await api(PLACE, {"input": {"channel": "web", "lines": [
        {"sku": "SHOE", "quantity": 1}], "shippingAddress": factories.address()}}, admin=False,
        headers=bearer(tokens["accessToken"])))["orderCreate"]
    async with subscriber(app) as sub:
        assert (await sub.init(tokens["accessToken"]))["type"] == "connection_ack"
        await sub.subscribe(ORDER_EVENTS, {"id": placed["order"]["id"]})
        assert len(await sub.data(2)) == 2
        for _ in range(2):  # the second use of one refresh token: it was stolen
            await api(REFRESH, {"t": tokens["refreshToken"]}, admin=False)
        closed = await _closed(sub)
    assert (closed.code, closed.reason) == (CLOSE_CODE, "Token revoked")


async def test_a_session_whose_token_holds_stays_open(app: Any, api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    tokens = await _register(api, "bob@example.com")
    other = await _register(api, "eve@example.com")
    async with subscriber(app) as sub, subscriber(app) as theirs:
        for session, token in ((sub, tokens), (theirs, other)):
            assert (await session.init(token["accessToken"]))["type"] == "connection_ack"
            await session.subscribe(AVAILABILITY, {"skus": ["SHOE"]})
            await session.data(1)
        watch = app.state.services.sessions  # one watch for the process's sessions
        assert len(watch) == 2
        for _ in range(2):  # another customer's sessions are revoked, not this one's
            await api(REFRESH, {"t": other["refreshToken"]}, admin=False)
        assert (await _closed(theirs)).code == CLOSE_CODE
        assert len(watch) == 1
        await api('mutation { inventoryAdjust(input: {sku: "SHOE", location: "a", delta: 3, '
                  'reason: "count"}) { userErrors { code } } }')
        assert (await sub.data(1, seconds=5))[0]["availabilityChanged"]["available"] == 8
