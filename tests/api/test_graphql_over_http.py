"""GraphQL over HTTP as clients send it: queries over GET, mutations only over POST."""

from __future__ import annotations

import json

from tests.support import ADMIN, GraphQLClient

CHANNEL = {"code": "web", "name": "Web", "kind": "WEB", "currency": "EUR"}
CREATE = """mutation Create($input: ChannelCreateInput!) {
  channelCreate(input: $input) { channel { code } userErrors { code } } }"""
BOTH = "query Read { channels { code } } " + CREATE.replace("mutation Create", "mutation Write")


async def test_a_query_over_get_with_variables_and_an_operation_name(api: GraphQLClient) -> None:
    created = await api(CREATE.replace("channel { code }", "channel { id }"), {"input": CHANNEL})
    response = await api.http.get("/graphql", params={
        "query": "query Find($id: ID!) { node(id: $id) { ... on Channel { code currency } } } "
                 "query Other { channels { code } }",
        "variables": json.dumps({"id": created["channelCreate"]["channel"]["id"]}),
        "operationName": "Find"},
        headers={"Accept": "application/graphql-response+json, application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"node": {"code": "web", "currency": "EUR"}}


async def test_a_mutation_over_get_is_refused_and_changes_nothing(api: GraphQLClient) -> None:
    response = await api.http.get("/graphql", headers=ADMIN, params={
        "query": CREATE, "variables": json.dumps({"input": CHANNEL})})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

    chosen = await api.http.get("/graphql", headers=ADMIN, params={
        "query": BOTH, "operationName": "Write", "variables": json.dumps({"input": CHANNEL})})
    assert chosen.status_code == 405
    read = await api.http.get("/graphql", params={"query": BOTH, "operationName": "Read"})
    assert read.status_code == 200 and read.json()["data"] == {"channels": []}


async def test_graphiql_still_opens_on_a_browsers_get(api: GraphQLClient) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and "<title>" in page.text and "GraphiQL" in page.text
    answer = await api.http.get("/graphql", params={"query": "{ channels { code } }"},
                                headers={"Accept": "text/html,application/xhtml+xml"})
    assert answer.json()["data"] == {"channels": []}
