"""Every response reports its cost; heavy documents and spent budgets are refused."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from api.graphql.cost import Limits
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import oms_server
from tests.support import ADMIN, GraphQLClient

PAGE = "{ products(first: 10) { edges { node { name variants { sku } } } } }"


async def test_the_cost_is_reported_on_every_response(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    body = (await api.raw(PAGE, admin=False)).json()
    cost = body["extensions"]["cost"]
    # products 1 + 10 x (edges 1 + node 1 + name 1 + variants 1 + sku 1)
    assert cost["requested"] == cost["actual"] == 51
    assert cost["remaining"] == cost["limit"] - 51


async def test_too_costly_documents_and_spent_budgets_are_refused(
    api: GraphQLClient, limits: Limits,
) -> None:
    heavy = await api.raw("{ products(first: 50) { edges { node { name } } } }", admin=False)
    assert heavy.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    codes = []
    for _ in range(6):  # 51 points each against 200 a minute
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
