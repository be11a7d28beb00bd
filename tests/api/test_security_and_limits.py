"""Who may call what, and the limits that refuse abusive documents."""

from __future__ import annotations

from pathlib import Path

from api.graphql.permissions import Requires
from api.graphql.schema import Mutation, Query, Subscription, export_sdl
from tests.support import GraphQLClient

ROOT = Path(__file__).resolve().parents[2]


def _permission_of(field: object) -> list[Requires]:
    return [
        permission
        for extension in getattr(field, "extensions", [])
        for permission in getattr(extension, "permissions", [])
        if isinstance(permission, Requires)
    ]


def test_every_query_mutation_and_subscription_declares_who_may_call_it() -> None:
    for root in (Query, Mutation, Subscription):
        definition = root.__strawberry_definition__  # type: ignore[attr-defined]
        for field in definition.fields:
            assert len(_permission_of(field)) == 1, f"{root.__name__}.{field.name}"


def test_schema_graphql_matches_the_code() -> None:
    assert (ROOT / "schema.graphql").read_text() == export_sdl(), (
        "schema.graphql is stale: run `oms export-schema > schema.graphql`"
    )


async def test_anonymous_callers_read_the_storefront_but_nothing_else(
    api: GraphQLClient,
) -> None:
    await api("{ channels { code } locations { code } products { edges { cursor } } "
              'variant(sku: "X") { sku } availability(skus: ["X"]) { sku } }', admin=False)
    errors = await api.errors(
        'mutation { inventoryAdjust(input: {sku: "X", location: "a", delta: 1, reason: "r"}) '
        "{ userErrors { code } } }", admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    errors = await api.errors(
        'mutation { channelCreate(input: {code: "w", name: "W", kind: WEB, currency: "EUR"}) '
        "{ userErrors { code } } }", admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await api("{ channels { code } }", admin=False))["channels"] == []


async def test_a_wrong_token_is_refused_not_treated_as_anonymous(api: GraphQLClient) -> None:
    for header in ("Bearer not-the-token", "Basic dXNlcjpwYXNz", "Bearer "):
        response = await api.raw("{ channels { code } }", admin=False,
                                 headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_abusive_documents_are_refused(api: GraphQLClient) -> None:
    deep = "{ products { edges { node { variants { product { variants { product { variants " \
           "{ product { variants { product { variants { product { name } } } } } } } } } } } } } }"
    errors = await api.errors(deep, admin=False)
    assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    aliases = "{ " + " ".join(f"a{i}: channels {{ code }}" for i in range(31)) + " }"
    errors = await api.errors(aliases, admin=False)
    assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    tokens = "{ channels { " + " ".join(["code"] * 6000) + " } }"
    errors = await api.errors(tokens, admin=False)
    assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    errors = await api.errors("{ products(first: 101) { edges { cursor } } }", admin=False)
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    errors = await api.errors('{ products(after: "garbage") { edges { cursor } } }', admin=False)
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    errors = await api.errors("{ channels { nope } }", admin=False)
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


async def test_graphiql_in_a_browser_and_health_endpoints(api: GraphQLClient) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


async def test_node_of_an_unknown_or_malformed_id_is_null(api: GraphQLClient) -> None:
    for gid in ("bm9wZQ==", "garbage!", "UGxhbmV0OjE="):  # "nope", junk, "Planet:1"
        data = await api("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, admin=False)
        assert data["node"] is None


async def test_introspection_can_be_switched_off() -> None:
    from api.graphql.schema import build_schema
    from api.settings import Settings

    closed = await build_schema(Settings(introspection=False)).execute(
        "{ __schema { types { name } } }")
    assert closed.errors
    opened = await build_schema(Settings()).execute("{ __schema { queryType { name } } }")
    assert opened.data == {"__schema": {"queryType": {"name": "Query"}}}
