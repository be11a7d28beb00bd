"""Reading orders: by id and number, filtered pages, customers, and statement counts."""

from __future__ import annotations

from tests import factories
from tests.support import GraphQLClient, StatementCounter

PAGE = """query($first: Int, $after: String, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    edges { cursor node { number status channel { code } customer { email }
      lines { sku variant { sku product { name } } allocations { location { code } quantity } }
      events { sequence type } } }
    pageInfo { hasNextPage endCursor } } }"""


async def test_orders_page_newest_first_with_filters(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 50}})
    await factories.channel("app", locations=["a"])
    for i in range(5):
        await factories.place({"SHOE": 1}, email=f"c{i % 2}@example.com",
                              channel="web" if i < 4 else "app", external_id=f"X-{i}")
    numbers, after = [], None
    while True:
        page = (await api(PAGE, {"first": 2, "after": after}))["orders"]
        numbers += [e["node"]["number"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert numbers == ["1005", "1004", "1003", "1002", "1001"]

    async def matching(filter_: dict) -> list[str]:
        page = (await api(PAGE, {"first": 10, "filter": filter_}))["orders"]
        return [e["node"]["number"] for e in page["edges"]]

    assert await matching({"channel": "app"}) == ["1005"]
    assert await matching({"email": "C1@example.com"}) == ["1004", "1002"]
    assert await matching({"externalId": "X-2"}) == ["1003"]
    assert await matching({"status": ["CANCELLED"]}) == []
    assert await matching({"createdAfter": "2000-01-01T00:00:00Z"}) == [
        "1005", "1004", "1003", "1002", "1001"]
    assert await matching({"createdBefore": "2000-01-01T00:00:00Z"}) == []

    customer = await api('{ customer(email: "c0@example.com") { email orders(first: 10) '
                         "{ edges { node { number } } } } }")
    assert [e["node"]["number"] for e in customer["customer"]["orders"]["edges"]] == [
        "1005", "1003", "1001"]


async def test_an_order_by_id_number_and_node(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await factories.place({"SHOE": 1})
    by_number = await api('{ order(number: "1001") { id number } }')
    gid = by_number["order"]["id"]
    by_id = await api("query($id: ID!) { order(id: $id) { number } node(id: $id) "
                      "{ ... on Order { number } } }", {"id": gid})
    assert by_id == {"order": {"number": "1001"}, "node": {"number": "1001"}}
    assert (await api('{ order(number: "9999") { id } }'))["order"] is None


async def test_orders_are_not_for_anonymous_callers(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await factories.place({"SHOE": 1})
    gid = (await api('{ order(number: "1001") { id } }'))["order"]["id"]
    for query in ('{ order(number: "1001") { id } }', "{ orders { edges { cursor } } }",
                  '{ customer(email: "ann@example.com") { email } }'):
        errors = await api.errors(query, admin=False)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    errors = await api.errors("query($id: ID!) { node(id: $id) { id } }", {"id": gid},
                              admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    errors = await api.errors('mutation { orderCreate(input: {channel: "web", lines: []}) '
                              "{ userErrors { code } } }", admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"



async def test_a_page_of_100_orders_costs_the_statements_of_a_page_of_5(
    api: GraphQLClient, uncosted: None,
) -> None:
    await factories.shop({"SHOE": {"a": 500}, "TEE": {"b": 500}})
    for _ in range(100):
        await factories.place({"SHOE": 1, "TEE": 2})

    async def statements(first: int) -> int:
        with StatementCounter() as counter:
            page = (await api(PAGE, {"first": first}))["orders"]
        assert len(page["edges"]) == first and counter.count > 0  # the request was counted
        return counter.count

    assert await statements(5) == await statements(100)
