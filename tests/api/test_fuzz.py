"""Documents drawn from the schema never make the endpoint fail, for the admin or anyone.

A few hundred queries and mutations (tests/fuzzing.py) go through the real endpoint
over a small shop with orders, a shipment, a payment and a return; every answer must
carry a stable code. bench/fuzz.py runs the same generator longer, against a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.graphql.schema import build_schema
from tests import factories
from tests.fuzzing import HARVEST, Pool, documents, first_crash, harvest, outcome
from tests.support import GraphQLClient

EXAMPLES = 300
NEGATIVE_EVERY = 10  # one document in ten has a schema violation, refused before execution
ANONYMOUS_EVERY = 3  # one in three is sent without a token


@dataclass
class Target:
    api: GraphQLClient
    pool: Pool
    positive: st.SearchStrategy[str]
    negative: st.SearchStrategy[str]


async def _seed(api: GraphQLClient) -> None:
    await factories.shop({"SHOE-42": {"berlin": 20, "paris": 5}, "TEE-M": {"berlin": 8}},
                         currency="EUR")
    await factories.product("GIFT", track_inventory=False)
    for email in ("ann@example.com", "bob@example.com"):
        await factories.place({"SHOE-42": 2, "TEE-M": 1}, email=email)
    orders = (await api("{ orders { edges { node { id lines { id } } } } }"))["orders"]["edges"]
    order = orders[0]["node"]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
              {"id": order["id"]})
    created = await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                        "{ shipment { id } } }", {"o": order["id"]})
    await api('mutation($s: ID!) { shipmentShip(input: {shipmentId: $s, trackingNumber: "TRK-1"})'
              " { userErrors { code } } }", {"s": created["shipmentCreate"]["shipment"]["id"]})
    await api('mutation($o: ID!, $l: ID!) { returnRequest(input: {orderId: $o, lines: '
              '[{orderLineId: $l, quantity: 1, reason: "too small"}]}) { userErrors { code } } }',
              {"o": order["id"], "l": order["lines"][0]["id"]})
    await api('mutation($o: ID!) { paymentCreate(input: {orderId: $o, provider: "manual", '
              'method: "bank_transfer"}) { userErrors { code } } }', {"o": orders[1]["node"]["id"]})


@pytest.fixture
async def target(api: GraphQLClient) -> Target:
    await _seed(api)
    pool = harvest(await api(HARVEST))
    assert len(pool.ids) > 10, pool
    schema: graphql.GraphQLSchema = build_schema()._schema
    return Target(api=api, pool=pool, positive=documents(schema, pool),
                  negative=documents(schema, pool, negative=True))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # a failure prints its document; no shrinking
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                 HealthCheck.large_base_example])
@given(data=st.data())
async def test_no_document_from_the_schema_makes_the_endpoint_fail(
    target: Target, data: st.DataObject,
) -> None:
    negative = data.draw(st.integers(0, NEGATIVE_EVERY - 1), label="kind") == 0
    as_admin = data.draw(st.integers(0, ANONYMOUS_EVERY - 1), label="caller") != 0
    document = data.draw(target.negative if negative else target.positive, label="document")
    response = await target.api.raw(document, admin=as_admin)
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    assert outcome(response.status_code, body) != "crash", (
        f"HTTP {response.status_code} ({'admin' if as_admin else 'anonymous'}): "
        f"{first_crash(body) or body}\n{document}")
