"""A blank or missing required text is refused with an error that names it."""

from __future__ import annotations

from tests import factories
from tests.api.test_orders import CREATE
from tests.support import GraphQLClient


async def test_each_blank_field_is_named_in_its_error(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    refused = (await api(CREATE, {"input": {
        "channel": "web", "email": "ann@example.com", "lines": [{"sku": "  ", "quantity": 1}],
        "shippingAddress": {**factories.address(), "name": " ", "city": ""}}}))["orderCreate"]
    assert sorted(((e["field"], e["code"], e["message"]) for e in refused["userErrors"]),
                  key=str) == [
        (["lines", "0", "sku"], "INVALID_INPUT", "lines.0.sku must not be blank"),
        (["shippingAddress", "city"], "INVALID_ADDRESS", "shippingAddress.city must not be blank"),
        (["shippingAddress", "name"], "INVALID_ADDRESS", "shippingAddress.name must not be blank"),
    ]
    placed = await factories.place({"SHOE": 1})
    gid = (await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": placed.number}))["order"]["id"]  # type: ignore[attr-defined]
    held = (await api('mutation($id: ID!) { orderHold(id: $id, reason: " ") { userErrors '
                      "{ field code message } } }", {"id": gid}))["orderHold"]
    assert held["userErrors"] == [{"field": ["reason"], "code": "INVALID_INPUT",
                                   "message": "reason must not be blank"}]
