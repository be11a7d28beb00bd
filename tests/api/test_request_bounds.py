"""Requests are read no further than their limits, and plain lists are priced by declared sizes.

A body, a websocket message or a request's variables over its limit is refused with
``QUERY_TOO_COMPLEX`` before anything runs, and charged to its caller by its size; a
caller whose budget is spent is refused before its request is even read. Every plain
list field of the schema has a declared size, so the admin's order page fits the
default budget while documents that multiply lists are still refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLInterfaceType, GraphQLList, GraphQLNonNull, GraphQLObjectType, parse
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from api.graphql.cost import LIST_SIZES, Limits, document_cost
from api.graphql.schema import build_schema
from api.settings import Settings, request_bytes
from tests import factories
from tests.support import ADMIN, ADMIN_TOKEN, GraphQLClient

CREATE = """mutation($input: ProductCreateInput!) {
  productCreate(input: $input) { product { id } userErrors { code } } }"""
COUNT = "{ products(first: 5) { edges { node { name } } } }"
COUNTED = 1 + 5 * 3  # what COUNT costs: products, and edges, node and name for each of 5


@pytest.fixture
def small(app: Any, fresh_budgets: None) -> Iterator[Limits]:
    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=5000, budget=100_000, max_bytes=2000,
                             max_variables_bytes=1000)
    yield services.limits
    services.limits = original


def _product(description: str) -> dict[str, Any]:
    return {"input": {"name": "Padded", "description": description,
                      "variants": [{"sku": "PAD-1", "price": "1.00", "currency": "EUR"}]}}


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def _remaining(api: GraphQLClient) -> int:
    body = (await api.raw("{ channels { code } }")).json()
    return int(body["extensions"]["cost"]["remaining"])


async def test_a_body_over_the_limit_is_a_413_that_changes_nothing_and_is_charged(
    api: GraphQLClient, small: Limits,
) -> None:
    assert small.max_body == request_bytes(2000, 1000) == 7024
    response = await api.raw(CREATE, _product("x" * 8000))
    assert response.status_code == 413
    body = response.json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and body["data"] is None
    assert "7024 bytes" in body["errors"][0]["message"]
    assert (await api(COUNT))["products"]["edges"] == []
    # Charged a point per 2 bytes of the limit; then the channels list costs 11.
    assert await _remaining(api) == 100_000 - 7024 // 2 - COUNTED - 11

    # Sent in chunks, without a declared length, it is read no further either.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ channels { code } }", "variables": {"pad": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}}'

    streamed = await api.http.post("/graphql", content=chunks(),
                                   headers={**ADMIN, "Content-Type": "application/json"})
    assert streamed.status_code == 413 and _code(streamed.json()) == "QUERY_TOO_COMPLEX"


async def test_variables_over_their_limit_are_refused_unrun_and_charged(
    api: GraphQLClient, small: Limits,
) -> None:
    variables = _product("y" * 1200)
    response = await api.raw(CREATE, variables)
    assert response.status_code == 200
    body = response.json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and body["data"] is None
    message = body["errors"][0]["message"]
    assert message.startswith("The variables are ") and "at most 1000" in message
    size = int(message.split()[3])
    assert (await api(COUNT))["products"]["edges"] == []
    assert await _remaining(api) == 100_000 - (1 + (len(CREATE) + size) // 2) - COUNTED - 11
    # Under the limit, the same mutation runs.
    done = await api(CREATE, _product("y" * 100))
    assert done["productCreate"]["userErrors"] == []


async def test_a_spent_caller_is_refused_before_its_request_is_read(
    api: GraphQLClient, app: Any, fresh_budgets: None,
) -> None:
    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=100, budget=100, public_budget=30)
    try:
        first = (await api.raw("{ channels { code } }", admin=False)).json()
        assert _code(first) is None
        # A refused document takes what is left of the budget (a point per 2 characters).
        assert _code((await api.raw("{ channels {" + " " * 200, admin=False)).json()) \
            == "BAD_REQUEST"
        # The body is not even read now: a malformed one is RATE_LIMITED, not a 400.
        spent = await api.http.post("/graphql", content=b"not json",
                                    headers={"Content-Type": "application/json"})
        assert spent.status_code == 200, spent.text
        assert _code(spent.json()) == "RATE_LIMITED"
        assert spent.json()["extensions"]["cost"] == {"requested": 1, "actual": 0,
                                                      "remaining": 0, "limit": 30}
        assert 1 <= int(spent.headers["Retry-After"]) <= 60
        # The admin has a budget of its own.
        assert _code((await api.raw("{ channels { code } }")).json()) is None
    finally:
        services.limits = original


async def test_a_spent_caller_that_keeps_sending_is_answered_a_few_times_a_second(
    api: GraphQLClient, app: Any, fresh_budgets: None,
) -> None:
    # Each refusal waits spent_pause in its caller's turn (two at once, as for any request),
    # so eight sent at once are answered over four pauses, not all at once; the admin, who
    # has budget left, is not held up by them.
    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=100, budget=100, public_budget=2, spent_pause=0.2)
    try:
        await api.raw("{ channels { code } }", admin=False)  # spends the caller's budget
        assert _code((await api.raw("{ channels { code } }", admin=False)).json()) \
            == "RATE_LIMITED"
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = [asyncio.create_task(api.raw("{ channels { code } }", admin=False))
                for _ in range(8)]
        admin = (await api.raw("{ channels { code } }")).json()
        admin_answered = loop.time() - started
        answers = await asyncio.gather(*sent)
        elapsed = loop.time() - started
        assert [_code(a.json()) for a in answers] == ["RATE_LIMITED"] * 8
        assert all(a.headers["Retry-After"] for a in answers)
        assert elapsed >= 4 * 0.2 * 0.95  # eight refusals, two per turn of 0.2 s
        assert _code(admin) is None and admin_answered < elapsed
    finally:
        services.limits = original


async def test_a_websocket_message_over_the_limit_closes_the_socket_unrun(
    app: Any, api: GraphQLClient, small: Limits,
) -> None:
    transport = ASGIWebSocketTransport(app)
    mutation = CREATE.replace("mutation(", "subscription S(")  # never run: refused unread
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client,
        aconnect_ws("http://oms.test/graphql", client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json({"type": "connection_init",
                            "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe",
                            "payload": {"query": mutation, "variables": _product("z" * 8000)}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text(timeout=10)
    assert closed.value.code == 1009
    assert "7024 bytes" in (closed.value.reason or "")
    assert (await api(COUNT))["products"]["edges"] == []


async def test_a_subscription_with_variables_over_their_limit_is_refused(
    app: Any, small: Limits,
) -> None:
    transport = ASGIWebSocketTransport(app)
    query = "subscription($id: ID!, $pad: String) { orderEvents(orderId: $id) { type } }"
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client,
        aconnect_ws("http://oms.test/graphql", client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json({"type": "connection_init",
                            "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {
            "query": query, "variables": {"id": "T3JkZXI6MQ==", "pad": "p" * 1500}}})
        answer = await ws.receive_json(timeout=10)
    assert answer["type"] == "error", answer
    assert [e["extensions"]["code"] for e in answer["payload"]] == ["QUERY_TOO_COMPLEX"]


def _plain_object_lists() -> list[tuple[str, str]]:
    schema = build_schema()._schema
    found = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            continue
        if "pageInfo" in kind.fields:  # a connection: its edges are its page
            continue
        for field_name, field in kind.fields.items():
            of = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if not isinstance(of, GraphQLList):
                continue
            item = of.of_type.of_type if isinstance(of.of_type, GraphQLNonNull) else of.of_type
            if isinstance(item, GraphQLObjectType | GraphQLInterfaceType):
                found.append((name, field_name))
    return found


def test_every_plain_list_field_has_a_declared_size() -> None:
    lists = _plain_object_lists()
    assert ("Order", "lines") in lists and ("Product", "variants") in lists
    undeclared = [f"{kind}.{name}" for kind, name in lists
                  if f"{kind}.{name}" not in LIST_SIZES and name not in LIST_SIZES]
    assert undeclared == [], (
        "declare these plain lists' sizes in api/graphql/cost.py LIST_SIZES: "
        f"{undeclared}")
    assert all(size >= 1 for size in LIST_SIZES.values())


ADMIN_PAGE = """{
  orders(first: 50) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id number email status paymentStatus fulfillmentStatus createdAt
      total { amount currency }
      customer { id name email }
      lines { sku name quantity quantityShipped unitPrice { amount currency } }
      shipments { id status carrier trackingNumber lines { quantity orderLine { sku } } }
      payments { id provider status amount { amount currency } }
    } }
  }
}"""


async def test_the_admin_order_page_fits_the_default_budget(
    api: GraphQLClient, app: Any, fresh_budgets: None,
) -> None:
    schema = build_schema()._schema
    defaults = Settings()
    cost = document_cost(parse(ADMIN_PAGE), None, None, schema)
    assert cost.fields <= defaults.max_query_cost, cost
    # Lists of lists are still priced by what they multiply: refused.
    nested = ADMIN_PAGE.replace("lines { sku", "lines { variant { product { variants {"
                                " stock { onHand } } } } sku")
    assert document_cost(parse(nested), None, None, schema).fields > defaults.max_query_cost

    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=defaults.max_query_cost,
                             budget=defaults.rate_limit_points)
    try:
        await factories.shop({"A-1": {"wh": 10}, "B-1": {"wh": 10}})
        await factories.place({"A-1": 1, "B-1": 2})
        body = (await api.raw(ADMIN_PAGE)).json()
        assert "errors" not in body, body
        assert len(body["data"]["orders"]["edges"]) == 1
        assert body["extensions"]["cost"]["requested"] == cost.total
        assert _code((await api.raw(nested)).json()) == "QUERY_TOO_COMPLEX"
    finally:
        services.limits = original


async def test_a_subscription_from_a_caller_out_of_budget_is_refused_with_an_error(
    app: Any, fresh_budgets: None,
) -> None:
    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=5000, budget=3)
    transport = ASGIWebSocketTransport(app)
    query = "query { __typename }"  # each costs the one point every operation pays
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client,
            aconnect_ws("http://oms.test/graphql", client,
                        subprotocols=["graphql-transport-ws"]) as ws,
        ):
            await ws.send_json({"type": "connection_init",
                                "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            answers: list[dict[str, Any]] = []
            for number in range(1, 6):  # the budget runs out on the way
                await ws.send_json({"id": str(number), "type": "subscribe",
                                    "payload": {"query": query}})
                while not answers or answers[-1]["type"] not in ("complete", "error"):
                    answers.append(await ws.receive_json(timeout=10))
                if answers[-1]["type"] == "error":
                    break
                answers.append({"type": "-"})  # the next operation's answers follow
            # The socket is still usable: a ping is answered.
            await ws.send_json({"type": "ping"})
            pong = await ws.receive_json(timeout=10)
    finally:
        services.limits = original
    refused = answers[-1]
    assert refused["type"] == "error", answers
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["RATE_LIMITED"]
    assert pong["type"] == "pong", (answers, pong)
