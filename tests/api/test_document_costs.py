"""Every document is costed as executed: introspection, list arguments, fragments, passwords."""

from __future__ import annotations

import time
from typing import Any

import graphql
import httpx
import pytest

from api.graphql.cost import (
    PASSWORD_FIELD_COST,
    PLAIN_LIST_SIZE,
    REFUSED_CHARACTERS_PER_POINT,
)
from tests.support import GraphQLClient

FULL = {"descriptions": True, "specified_by_url": True, "directive_is_repeatable": True,
        "schema_description": True, "input_value_deprecation": True}


def _nested(levels: int) -> str:
    """products > edges > node > variants > product > variants ... ``levels`` fields deep."""
    path = ["products", "edges", "node"] + ["variants", "product"] * 10
    opening, leaf = path[:levels - 1], "sku" if path[levels - 2] == "variants" else "name"
    return "{ " + " { ".join(opening) + " { " + leaf + " }" * levels


def _code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


@pytest.mark.parametrize("options", [{}, FULL, {"descriptions": False},
                                     {"input_value_deprecation": True}],
                         ids=["default", "every-option", "no-descriptions", "deprecated-inputs"])
async def test_the_standard_introspection_query_returns_the_schema(
    api: GraphQLClient, fresh_budgets: None, options: dict[str, bool],
) -> None:
    body = (await api.raw(graphql.get_introspection_query(**options), admin=False)).json()
    assert not body.get("errors"), body["errors"]
    schema = graphql.build_client_schema(body["data"])
    assert schema.query_type is not None and "availability" in schema.query_type.fields
    assert schema.get_type("Order") is not None
    # Counted like any other document, by the size of its answer.
    assert body["extensions"]["cost"]["requested"] > 5000


async def test_a_repeated_introspection_is_answered_again_and_charged_again(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    query = graphql.get_introspection_query(descriptions=False)
    first = (await api.raw(query, admin=False)).json()
    second = (await api.raw(query, admin=False)).json()
    assert second["data"] == first["data"]
    cost = first["extensions"]["cost"]["requested"]
    assert second["extensions"]["cost"]["remaining"] == first["extensions"]["cost"]["remaining"] \
        - cost


async def test_aliased_introspection_is_refused(api: GraphQLClient, fresh_budgets: None) -> None:
    schemas = " ".join(f"s{i}: __schema {{ types {{ name kind fields {{ name type {{ name }} }} }} }}"
                       for i in range(30))
    body = (await api.raw("{ " + schemas + " }", admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX"
    assert "introspection" in body["errors"][0]["message"]
    # One of them is fine.
    assert not (await api.raw("{ __schema { types { name kind fields { name type { name } } } } }",
                              admin=False)).json().get("errors")


async def test_introspection_walking_the_schemas_cycles_is_refused(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    # graphql-core refuses three levels of fields in fields; two, thirty times over, cost it all.
    walks = " ".join(f'q{i}: __type(name: "Query") {{ fields {{ type {{ fields {{ name type {{'
                     f" name }} }} }} }} }}" for i in range(30))
    body = (await api.raw("{ " + walks + " }", admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and "introspection" in body["errors"][0]["message"]
    three = "{ __type(name: \"Order\") { fields { type { fields { type { fields { name } } } } } } }"
    assert _code((await api.raw(three, admin=False)).json()) == "QUERY_TOO_COMPLEX"
    deep = "{ __schema { queryType { " + "ofType { " * 20 + "name" + " }" * 20 + " } } }"
    body = (await api.raw(deep, admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and "introspection is" in body["errors"][0]["message"]



async def test_user_documents_deeper_than_the_limit_are_still_refused(
    api: GraphQLClient, uncosted: None,
) -> None:
    assert not (await api.raw(_nested(12), admin=False)).json().get("errors")
    body = (await api.raw(_nested(13), admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and "13 levels deep" in body["errors"][0]["message"]
    # The same depth reached through fragments, each shallow on its own.
    split = ("{ products { edges { node { ...A } } } }"
             " fragment A on Product { variants { product { variants { ...B } } } }"
             " fragment B on Variant { product { variants { product { variants { ...C } } } } }"
             " fragment C on Variant { product { variants { sku } } }")
    body = (await api.raw(split, admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and "13 levels deep" in body["errors"][0]["message"]


async def test_fragments_spread_many_times_count_as_executed(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    fragment = " fragment P on Product { a: name b: name c: description d: name }"
    spreads = " ".join(f"p{i}: products(first: 1) {{ edges {{ node {{ ...P }} }} }}"
                       for i in range(10))
    body = (await api.raw("{ " + spreads + " }" + fragment, admin=False)).json()
    # 14 aliases written, 50 executed
    assert _code(body) == "QUERY_TOO_COMPLEX" and "50 aliases" in body["errors"][0]["message"]

    costed = "{ a: products(first: 10) { edges { node { ...V } } }" \
             " b: products(first: 10) { edges { node { ...V } } } }" \
             " fragment V on Product { name variants { sku } }"
    cost = (await api.raw(costed, admin=False)).json()["extensions"]["cost"]
    # products 1 + 10 x (edges, node, name, variants 1 each + PLAIN_LIST_SIZE x sku)
    assert cost["requested"] == 2 * (1 + 10 * (4 + PLAIN_LIST_SIZE))


async def test_plain_lists_count_their_declared_size(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    # A product's variants are not paged: each level multiplies what is under it by
    # PLAIN_LIST_SIZE, so a page of products walking variants and back is far too costly.
    walk = ("{ products(first: 100) { edges { node { variants { product { variants {"
            " product { variants { sku } } } } } } } } }")
    body = (await api.raw(walk, admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX"
    n = PLAIN_LIST_SIZE
    expected = 1 + 100 * (2 + 1 + n * (1 + 1 + n * (1 + 1 + n)))
    assert body["extensions"]["cost"]["requested"] == expected
    # One level of it is affordable; a connection's edges count its page, not more.
    one = "{ products(first: 3) { edges { node { variants { sku } } } } }"
    cost = (await api.raw(one, admin=False)).json()["extensions"]["cost"]
    assert cost["requested"] == 1 + 3 * (1 + 1 + 1 + n)
    # The same through a fragment and an inline fragment on the interface.
    spread = ("{ products(first: 3) { edges { node { ...V } } } }"
              " fragment V on Product { ... on Product { variants { sku } } }")
    cost = (await api.raw(spread, admin=False)).json()["extensions"]["cost"]
    assert cost["requested"] == 1 + 3 * (1 + 1 + 1 + n)
    # A connection counts its page however its edges are asked: through a fragment on the
    # connection, or an inline fragment, as much as written out.
    plain = "{ products { edges { node { name } } } }"
    hidden = ("{ products { ...E } } fragment E on ProductConnection { edges { node { name } } }",
              "{ products { ... on ProductConnection { edges { node { name } } } } }")
    costs = {(await api.raw(d, admin=False)).json()["extensions"]["cost"]["requested"]
             for d in (plain, *hidden)}
    assert costs == {1 + 20 * 3}
    # A list given by `first` counts that many; a payload's userErrors count one.
    top = '{ salesReport(from: "2026-01-01", to: "2026-01-31") { topSkus(first: 5) { sku } } }'
    assert (await api.raw(top)).json()["extensions"]["cost"]["requested"] == 1 + 1 + 5


async def test_fragments_fanning_out_are_refused_without_walking_them_out(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    # Twelve fragments, each spreading the next four times: 4^12 spreads as executed.
    fragments = " ".join(f"fragment F{i} on Query {{ a{i}: channels {{ code }} "
                         + f"...F{i + 1} " * 4 + "}" for i in range(12))
    document = "{ ...F0 } " + fragments + " fragment F12 on Query { channels { code } }"
    started = time.monotonic()
    response = await api.http.post("/graphql", json={"query": document})
    assert _code(response.json()) == "QUERY_TOO_COMPLEX"
    assert time.monotonic() - started < 5  # walked once per fragment: milliseconds
    cycle = "{ ...A } fragment A on Query { channels { code } ...B } fragment B on Query { ...A }"
    assert (await api.raw(cycle, admin=False)).json()["errors"]


async def test_list_arguments_are_costed_by_their_length(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    query = "query($skus: [String!]!) { availability(skus: $skus) { sku available } }"
    skus = [f"SKU-{i}" for i in range(100)]
    cost = (await api.raw(query, {"skus": skus}, admin=False)).json()["extensions"]["cost"]
    assert cost["requested"] == 1 + 100 + 100 * 2  # the field, each SKU, each SKU's answer
    literal = "{ availability(skus: [" + ", ".join(f'"{s}"' for s in skus[:3]) + "]) { sku } }"
    assert (await api.raw(literal, admin=False)).json()["extensions"]["cost"]["requested"] == 7

    aliased = "query($skus: [String!]!) { " + " ".join(
        f"a{i}: availability(skus: $skus) {{ sku available }}" for i in range(30)) + " }"
    body = (await api.raw(aliased, {"skus": skus}, admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX"


async def test_lists_inside_inputs_count_each_item(api: GraphQLClient, fresh_budgets: None) -> None:
    mutation = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
      order { number } userErrors { code } } }"""
    lines = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(5)]
    body = (await api.raw(mutation, {"input": {"channel": "nowhere", "lines": lines}})).json()
    assert body["extensions"]["cost"]["requested"] == 1 + 5 + 4


async def test_a_document_may_check_only_a_few_passwords(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    def sign_ins(count: int) -> str:
        return "mutation { " + " ".join(
            f'a{i}: customerTokenCreate(input: {{email: "x{i}@example.com", password:'
            f' "wrong-password"}}) {{ userErrors {{ code }} }}' for i in range(count)) + " }"

    body = (await api.raw(sign_ins(4), admin=False)).json()
    assert _code(body) == "QUERY_TOO_COMPLEX" and "4 passwords" in body["errors"][0]["message"]
    body = (await api.raw(sign_ins(3), admin=False)).json()
    assert [a["userErrors"][0]["code"] for a in body["data"].values()] == ["INVALID_CREDENTIALS"] * 3
    assert body["extensions"]["cost"]["requested"] == 3 * (PASSWORD_FIELD_COST + 2)


async def test_anonymous_callers_are_budgeted_per_address(
    app: Any, api: GraphQLClient, limits: Any,
) -> None:
    query = "query($skus: [String!]!) { availability(skus: $skus) { sku available } }"
    skus = {"skus": [f"SKU-{i}" for i in range(20)]}  # 1 + 20 + 20 x 2 = 61 points of 200
    outcomes = []
    for _ in range(4):
        body = (await api.raw(query, skus, admin=False)).json()
        outcomes.append(_code(body) if body.get("errors") else "OK")
    assert outcomes == ["OK", "OK", "OK", "RATE_LIMITED"]
    other = httpx.ASGITransport(app=app, client=("192.0.2.7", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://oms.test") as http:
        body = (await http.post("/graphql", json={"query": query, "variables": skus})).json()
    assert not body.get("errors") and body["extensions"]["cost"]["remaining"] == 200 - 61


async def test_refused_documents_are_charged_by_their_size(
    api: GraphQLClient, fresh_budgets: None,
) -> None:
    deep = _nested(13)
    assert _code((await api.raw(deep, admin=False)).json()) == "QUERY_TOO_COMPLEX"
    broken = "{ channels { code " * 200  # does not parse
    assert _code((await api.raw(broken, admin=False)).json()) == "BAD_REQUEST"
    cost = (await api.raw("{ channels { code } }", admin=False)).json()["extensions"]["cost"]
    per = REFUSED_CHARACTERS_PER_POINT
    channels = 1 + PLAIN_LIST_SIZE  # the channels list, a code per channel
    assert cost["remaining"] == cost["limit"] - (1 + len(deep) // per) \
        - (1 + len(broken) // per) - channels


async def test_a_client_with_no_points_left_is_refused_before_its_document_is_read(
    api: GraphQLClient, limits: Any,
) -> None:
    query = "query($skus: [String!]!) { availability(skus: $skus) { sku } }"
    for _ in range(2):  # 1 + 49 + 49 points each, of 200
        body = (await api.raw(query, {"skus": [f"S{i}" for i in range(49)]}, admin=False)).json()
        assert not body.get("errors")
    assert body["extensions"]["cost"]["remaining"] == 2
    body = (await api.raw(query, {"skus": ["S1"]}, admin=False)).json()  # 3 points, 2 left
    assert _code(body) == "RATE_LIMITED"
    # Nothing left now: even a document that does not parse is not read.
    assert _code((await api.raw("{ channels {", admin=False)).json()) == "RATE_LIMITED"
