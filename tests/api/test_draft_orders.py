"""Draft orders taken by staff over the phone, by email or for B2B buyers: written freely,
reserving nothing, and placed through the same path as orderCreate when completed."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import Kind, Permission, Principal, Scope
from domain.drafts import service
from domain.drafts.models import DraftOrder
from domain.errors import NotPermitted
from domain.inventory.models import StockLevel
from domain.orders.models import Order
from tests import factories
from tests.api.test_partners import _bearer
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes

DRAFT = """id status source email poNumber note shippingMethod
  lines { sku quantity unitPrice { amount } total { amount } priceSetByStaff priceReason }
  subtotal { amount currency } channel { code } order { id number }"""
CREATE = f"""mutation($input: DraftOrderCreateInput!) {{ draftOrderCreate(input: $input) {{
  draftOrder {{ {DRAFT} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: DraftOrderUpdateInput!) {{
  draftOrderUpdate(id: $id, input: $input) {{
  draftOrder {{ {DRAFT} }} userErrors {{ field code message }} }} }}"""
COMPLETE = f"""mutation($id: ID!, $key: String) {{ draftOrderComplete(id: $id,
  idempotencyKey: $key) {{ draftOrder {{ {DRAFT} }}
  order {{ id number status total {{ amount }} poNumber
    lines {{ sku quantity unitPrice {{ amount }} quantityAllocated }} events {{ type message }} }}
  userErrors {{ field code message }} }} }}"""
DELETE = """mutation($id: ID!) { draftOrderDelete(id: $id) { deletedId
  userErrors { code } } }"""
LIST = """query($after: String, $status: DraftStatus) { draftOrders(first: 2, after: $after,
  status: $status) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }"""


def _input(**extra: Any) -> dict[str, Any]:
    return {"channel": "phone", "source": "PHONE", "email": "buyer@example.com",
            "shippingAddress": factories.address(), "poNumber": "PO-77",
            "note": "Call before delivery", "lines": [{"sku": "SHOE", "quantity": 2}], **extra}


async def _shop() -> None:
    await factories.shop({"SHOE": {"a": 5}, "HAT": {"a": 1}}, channel_code="phone")


async def _reserved() -> int:
    return sum(level.reserved for level in await StockLevel.all())


async def test_a_draft_is_written_changed_and_completed_into_an_order(
    api: GraphQLClient,
) -> None:
    await _shop()
    created = (await api(CREATE, {"input": _input()}))["draftOrderCreate"]
    assert created["userErrors"] == []
    draft = created["draftOrder"]
    assert (draft["status"], draft["source"], draft["poNumber"]) == ("OPEN", "PHONE", "PO-77")
    assert draft["lines"] == [{"sku": "SHOE", "quantity": 2, "unitPrice": {"amount": "10.00"},
                               "total": {"amount": "20.00"}, "priceSetByStaff": False,
                               "priceReason": None}]
    assert await _reserved() == 0  # a draft reserves nothing
    assert await Order.all().count() == 0

    updated = (await api(UPDATE, {"id": draft["id"], "input": {
        "source": "B2B", "lines": [{"sku": "SHOE", "quantity": 3},
                                   {"sku": "HAT", "quantity": 1, "unitPrice": "4.50",
                                    "priceReason": "Trade discount agreed by phone"}]}}))
    updated = updated["draftOrderUpdate"]
    assert updated["userErrors"] == []
    assert updated["draftOrder"]["source"] == "B2B"
    assert updated["draftOrder"]["poNumber"] == "PO-77"  # fields left out stay
    assert updated["draftOrder"]["subtotal"] == {"amount": "34.50", "currency": "EUR"}
    assert await _reserved() == 0

    done = (await api(COMPLETE, {"id": draft["id"], "key": "complete-1"}))["draftOrderComplete"]
    assert done["userErrors"] == []
    order = done["order"]
    assert order["poNumber"] == "PO-77" and order["total"]["amount"] == "34.50"
    assert [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["quantityAllocated"])
            for ln in order["lines"]] == [("SHOE", 3, "10.00", 3), ("HAT", 1, "4.50", 1)]
    types = [e["type"] for e in order["events"]]
    assert types[:2] == ["ORDER_PLACED", "STOCK_RESERVED"] and "ORDER_DRAFT_COMPLETED" in types
    completed = next(e for e in order["events"] if e["type"] == "ORDER_DRAFT_COMPLETED")
    assert "HAT at 4.50 EUR (Trade discount agreed by phone)" in completed["message"]
    assert "Call before delivery" in completed["message"]
    assert done["draftOrder"]["status"] == "COMPLETED"
    assert done["draftOrder"]["order"]["number"] == order["number"]
    assert await _reserved() == 4

    again = (await api(COMPLETE, {"id": draft["id"], "key": "complete-1"}))["draftOrderComplete"]
    assert again["order"]["id"] == order["id"]  # the same key: the first answer
    assert await Order.all().count() == 1 and await _reserved() == 4
    twice = (await api(COMPLETE, {"id": draft["id"]}))["draftOrderComplete"]
    assert codes(twice) == ["INVALID_TRANSITION"]
    assert codes((await api(UPDATE, {"id": draft["id"], "input": {"note": "x"}}))[
        "draftOrderUpdate"]) == ["INVALID_TRANSITION"]
    assert codes((await api(DELETE, {"id": draft["id"]}))["draftOrderDelete"]) == [
        "INVALID_TRANSITION"]
    await assert_ledger_matches()


async def test_completing_with_too_little_stock_fails_and_the_draft_remains(
    api: GraphQLClient,
) -> None:
    await _shop()
    draft = (await api(CREATE, {"input": _input(lines=[{"sku": "HAT", "quantity": 3}])}))[
        "draftOrderCreate"]["draftOrder"]
    refused = (await api(COMPLETE, {"id": draft["id"]}))["draftOrderComplete"]
    assert codes(refused) == ["INSUFFICIENT_STOCK"]
    assert "HAT" in refused["userErrors"][0]["message"]
    assert refused["order"] is None
    assert refused["draftOrder"]["status"] == "OPEN"
    assert refused["draftOrder"]["lines"][0]["quantity"] == 3
    assert await Order.all().count() == 0 and await _reserved() == 0
    # Fixed by staff, it completes.
    await api(UPDATE, {"id": draft["id"], "input": {"lines": [{"sku": "HAT", "quantity": 1}]}})
    done = (await api(COMPLETE, {"id": draft["id"]}))["draftOrderComplete"]
    assert done["userErrors"] == [] and done["order"]["number"] == "1001"
    await assert_ledger_matches()


async def test_a_staff_set_price_needs_a_reason_and_a_sound_amount(api: GraphQLClient) -> None:
    await _shop()
    refused = (await api(CREATE, {"input": _input(lines=[
        {"sku": "SHOE", "quantity": 1, "unitPrice": "5.00"},
        {"sku": "SHOE", "quantity": 1, "unitPrice": "5.001", "priceReason": "typo"},
        {"sku": "NOPE", "quantity": 1}])}))["draftOrderCreate"]
    assert refused["draftOrder"] is None
    assert {(tuple(e["field"]), e["code"]) for e in refused["userErrors"]} == {
        (("lines", "0", "priceReason"), "INVALID_INPUT"),
        (("lines", "1", "unitPrice"), "INVALID_INPUT"),
        (("lines", "2", "sku"), "UNKNOWN_SKU")}
    assert await DraftOrder.all().count() == 0


async def test_setting_a_price_needs_the_price_override_permission(
    api: GraphQLClient,
) -> None:
    await _shop()
    sales_rep = Scope(Principal(client="staff:rep", actor="staff:rep", kind=Kind.ADMIN,
                                permissions=frozenset({Permission.DRAFT_ORDERS})))
    spec = service.DraftSpec(channel="phone", email="b@example.com", lines=[
        service.DraftLine("SHOE", 1, "5.00", "Loyal customer")])
    with pytest.raises(NotPermitted):
        await service.create_draft(spec=spec, scope=sales_rep, actor="staff:rep")
    plain = service.DraftSpec(channel="phone", email="b@example.com",
                              lines=[service.DraftLine("SHOE", 1)])
    draft = await service.create_draft(spec=plain, scope=sales_rep, actor="staff:rep")
    with pytest.raises(NotPermitted):
        await service.update_draft(draft_id=draft.id, spec=spec, scope=sales_rep,
                                   actor="staff:rep")
    manager = Scope(Principal(client="staff:m", actor="staff:m", kind=Kind.ADMIN,
                              permissions=frozenset({Permission.DRAFT_ORDERS,
                                                     Permission.PRICE_OVERRIDE})))
    await service.update_draft(draft_id=draft.id, spec=spec, scope=manager, actor="staff:m")


async def test_drafts_are_listed_by_keyset_for_staff_only(api: GraphQLClient) -> None:
    await _shop()
    ids = [(await api(CREATE, {"input": _input()}))["draftOrderCreate"]["draftOrder"]["id"]
           for _ in range(3)]
    first = (await api(LIST))["draftOrders"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[::-1][:2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await api(LIST, {"after": first["pageInfo"]["endCursor"]}))["draftOrders"]
    assert [e["node"]["id"] for e in rest["edges"]] == [ids[0]]
    assert (await api(DELETE, {"id": ids[1]}))["draftOrderDelete"]["deletedId"] == ids[1]
    assert (await api(LIST, {"status": "OPEN"}))["draftOrders"]["edges"][1]["node"]["id"] == \
        ids[0]

    partner = await _bearer(api, ["orders:read", "orders:write"])
    for document, variables in ((LIST, {}), (CREATE, {"input": _input()}),
                                (COMPLETE, {"id": ids[0]})):
        errors = (await api.raw(document, variables, admin=False, headers=partner)).json()
        assert errors["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = (await api.raw("query($id: ID!) { node(id: $id) { id } }", {"id": ids[0]},
                               admin=False)).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The rule itself: no partner sees a draft, whatever its token carries.
    scoped = Scope(Principal(client="p", actor="p", kind=Kind.PARTNER,
                             permissions=frozenset(Permission)))
    assert await scoped.query(DraftOrder).count() == 0
