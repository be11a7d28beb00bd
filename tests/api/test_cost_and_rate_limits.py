"""Every response reports its cost; heavy documents and spent budgets are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from graphql import get_introspection_query, parse

from api.graphql.cost import (
    PUBLIC_FLOOR,
    Limits,
    document_cost,
    introspection_allowance,
    public_budget,
)
from api.graphql.schema import build_schema
from api.settings import BYTES_PER_TOKEN, Settings
from tests import factories
from tests.api.test_document_checking import _preparation
from tests.conftest import DATABASE_URL, REDIS_URL, budgets_of_their_own
from tests.servers import oms_server
from tests.support import ADMIN, GraphQLClient

PAGE = "{ products(first: 4) { edges { node { name variants { sku } } } } }"


async def test_the_cost_is_reported_on_every_response(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    body = (await api.raw(PAGE, admin=False)).json()
    cost = body["extensions"]["cost"]
    # products 1 + 4 x (edges 1 + node 1 + name 1 + variants 1 + 10 variants x sku 1)
    assert cost["requested"] == cost["actual"] == 57
    assert cost["remaining"] == cost["limit"] - 57


async def test_a_document_read_before_costs_one_round_trip_to_the_budgets(
    app: Any, api: GraphQLClient, limits: Limits, monkeypatch: pytest.MonkeyPatch,
) -> None:
    limiter = app.state.services.rate_limiter
    calls: list[int] = []  # the points of each charge asked of the limiter
    inside = []  # (one of its methods may call another: counted once)
    for name in ("consume", "consume_within", "charge"):
        original = getattr(limiter, name)

        async def counted(*args: Any, _original: Any = original) -> Any:
            if not inside:
                calls.append(args[1])
            inside.append(True)
            try:
                return await _original(*args)
            finally:
                inside.pop()

        monkeypatch.setattr(limiter, name, counted)
    document = PAGE.replace("first: 4", "first: 3")  # a text no other test prepared
    costs = []
    for _ in range(4):  # 43 points each against 200 a minute
        body = (await api.raw(document, admin=False)).json()
        assert not body.get("errors")
        costs.append(body["extensions"]["cost"])
    # the first time: a point before parsing, then the rest; then the whole cost at once
    assert calls == [1, 42, 43, 43, 43]
    assert [c["remaining"] for c in costs] == [157, 114, 71, 28]
    for left in (27, 26):  # a document that costs nothing pays its point, prepared or not
        body = (await api.raw("{ __typename }", admin=False)).json()
        assert body["extensions"]["cost"]["remaining"] == left
    # a client with no point left is still refused, before running anything
    refused = (await api.raw(document, admin=False)).json()
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert refused["data"] is None
    # a document the process no longer holds parsed pays its point before it is read again
    _preparation(app).parsed.clear()
    calls.clear()
    await api.raw(document)  # the admin, whose budget has room
    assert calls[0] == 1 and len(calls) == 2


async def test_too_costly_documents_and_spent_budgets_are_refused(
    api: GraphQLClient, limits: Limits,
) -> None:
    heavy = await api.raw("{ products(first: 50) { edges { node { name } } } }", admin=False)
    assert heavy.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    codes = []
    for _ in range(6):  # 57 points each against 200 a minute
        body = (await api.raw(PAGE, admin=False)).json()
        codes.append(body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK")
    assert codes == ["OK", "OK", "OK", "RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"]
    # Another client has its own budget.
    assert not (await api.raw(PAGE)).json().get("errors")


@pytest.mark.skipif(DATABASE_URL is None or REDIS_URL is None,
                    reason="needs PostgreSQL and Redis: runs in the OMS_TEST_DATABASE_URL leg")
async def test_processes_sharing_redis_share_one_budget(db: None) -> None:
    assert DATABASE_URL is not None
    env = {"OMS_RATE_LIMIT_POINTS": "200", "OMS_MAX_QUERY_COST": "100",
           "OMS_RATE_LIMIT_PREFIX": f"test:{uuid4().hex}"}
    with (oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL, env=env) as a,
          oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL, env=env) as b):
        outcomes = []
        async with httpx.AsyncClient(timeout=20) as http:
            for server in (a, b, a, b, a, b):
                body = (await http.post(f"{server.url}/graphql", json={"query": PAGE},
                                        headers=ADMIN)).json()
                outcomes.append("LIMITED" if body.get("errors") else "OK")
    assert outcomes == ["OK", "OK", "OK", "LIMITED", "LIMITED", "LIMITED"]


def _code(body: dict[str, object]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if isinstance(errors, list) else None


async def test_public_callers_have_a_smaller_budget_than_the_admin_and_partners(
    app: object, api: GraphQLClient, limits: Limits,
) -> None:
    await factories.location("a")
    await factories.channel("web", locations=["a"])
    key = (await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))
    shop = {"Authorization": f"Bearer {key['storefrontKeyCreate']['key']}"}
    limits.public_budget = 120  # the admin's (and partners') is 200
    anonymous = []
    for _ in range(3):  # 57 points each
        body = (await api.raw(PAGE, admin=False)).json()
        anonymous.append(_code(body) or "OK")
        assert body["extensions"]["cost"]["limit"] == 120
    assert anonymous == ["OK", "OK", "RATE_LIMITED"]
    admin = []
    for _ in range(4):
        body = (await api.raw(PAGE)).json()
        admin.append(_code(body) or "OK")
    assert admin == ["OK", "OK", "OK", "RATE_LIMITED"]
    assert body["extensions"]["cost"]["limit"] == 200

    # A storefront key is public, and shared by its shoppers: budgeted per address.
    outcomes = []
    for _ in range(3):
        body = (await api.raw(PAGE, admin=False, headers=shop)).json()
        outcomes.append(_code(body) or "OK")
    assert outcomes == ["OK", "OK", "RATE_LIMITED"]
    other = httpx.ASGITransport(app=app, client=("192.0.2.8", 4000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=other, base_url="http://oms.test") as http:
        body = (await http.post("/graphql", json={"query": PAGE}, headers=shop)).json()
    assert _code(body) is None and body["extensions"]["cost"]["remaining"] == 120 - 57


async def test_a_document_over_the_byte_limit_is_refused_before_it_is_parsed(
    api: GraphQLClient, limits: Limits,
) -> None:
    limits.max_bytes, limits.budget = 2000, 10_000
    padding = " " * (2000 - len("{ channels { code } }"))
    assert _code((await api.raw("{ channels { code } }" + padding, admin=False)).json()) is None
    # Over it, even a document that would not parse is refused for its size.
    body = (await api.raw("{ channels { code " * 120, admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["message"] == "The document is 2160 bytes; at most 2000 are allowed"
    # Bytes, not characters: 500 four-byte characters in a string are 2000 bytes.
    wide = '{ availability(skus: ["' + "\U0001f600" * 500 + '"]) { sku } }'
    body = (await api.raw(wide, admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and "bytes" in body["errors"][0]["message"]
    # Refused documents are charged by their size, like any refused document.
    cost = (await api.raw("{ channels { code } }", admin=False)).json()["extensions"]["cost"]
    channels = 11  # the list, and a code for each of its ten counted channels
    assert cost["remaining"] == 10_000 - channels - (1 + 2160 // 2) - (1 + len(wide) // 2) \
        - channels


def test_the_byte_limit_follows_the_token_limit_unless_set() -> None:
    assert Settings.from_env({}).max_document_bytes == BYTES_PER_TOKEN * 5000 == 50_000
    assert Settings.from_env({"OMS_MAX_TOKENS": "1000"}).max_document_bytes == 10_000
    assert Settings.from_env({"OMS_MAX_DOCUMENT_BYTES": "5000"}).max_document_bytes == 5000
    assert Settings.from_env({}).public_rate_limit_points is None  # from the schema, below
    assert Settings.from_env({"OMS_PUBLIC_RATE_LIMIT_POINTS": "7"}).public_rate_limit_points == 7


def test_a_public_caller_can_read_the_whole_schema_twice_a_minute() -> None:
    """GraphiQL reads the schema on opening (and on a reload): the public budget, unless
    set, is worked out from the schema itself, so a schema that grows keeps it working."""
    schema = build_schema()._schema
    full = introspection_allowance(schema)
    assert public_budget(schema, 10**9) == max(PUBLIC_FLOOR, 2 * full)
    assert public_budget(schema, 1000) == 1000  # never above a partner's



@pytest.fixture
async def long_bursts(app: Any) -> AsyncIterator[None]:
    """Fresh budgets whose burst windows last an hour, so none ends during a test."""
    async with budgets_of_their_own(app, burst_window=3600):
        yield


async def test_a_public_caller_cannot_spend_its_minute_in_one_burst(
    app: Any, api: GraphQLClient, long_bursts: None,
) -> None:
    # Within a burst window a public caller's documents may cost the window's share of its
    # minute (and at least two of the costliest documents); introspection is not counted
    # there, so GraphiQL still reads the schema at once. The admin has no burst limit.
    schema = build_schema()._schema
    document = "{ products(first: 60) { edges { node { name variants { sku } } } } }"
    cost = document_cost(parse(document), None, None, schema).total
    introspection = get_introspection_query()
    read_schema = document_cost(parse(introspection), None, None, schema)
    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=cost, budget=10**9,
                             public_budget=read_schema.total + 16 * cost)
    try:
        burst = services.limits.burst_of(None)
        assert burst is not None and 2 * cost <= burst < 16 * cost
        assert _code((await api.raw(introspection, admin=False)).json()) is None
        fits = (burst - read_schema.fields) // cost
        for _ in range(fits):
            assert _code((await api.raw(document, admin=False)).json()) is None
        refused = (await api.raw(document, admin=False)).json()
        (error,) = refused["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
        assert f"at most {burst} points in" in error["message"]
        assert refused["extensions"]["cost"]["remaining"] >= cost  # the minute has room
        for _ in range(fits + 1):
            assert _code((await api.raw(document)).json()) is None  # the admin
    finally:
        services.limits = original
