"""Edits racing buyers and shipments: on PostgreSQL these are real parallel transactions."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from api.graphql.relay import from_global_id
from domain.fulfillment.models import ShipmentLine
from domain.inventory.models import StockLevel
from domain.orders.models import Order, OrderLine, OrderStatus
from tests import factories
from tests.api.test_order_edits import BEGIN, COMMIT, CONFIRM, SET, SHIP, _line, _place
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes


async def _reserved(sku: str) -> int:
    return sum(level.reserved for level in await StockLevel.filter(variant__sku=sku))


async def _ordered(sku: str) -> int:
    """Units of the SKU on orders that are not cancelled: what must be reserved."""
    lines = await OrderLine.filter(sku=sku).exclude(order__status=OrderStatus.CANCELLED)
    return sum(line.quantity - line.quantity_shipped for line in lines)


async def test_edits_racing_buyers_for_the_last_units_never_oversell(
    api: GraphQLClient,
) -> None:
    await factories.shop({"HOT": {"a": 6, "b": 4}})
    placed = [await _place(api, {"HOT": 1}, paid=False) for _ in range(3)]  # 7 left
    edits = []
    for order in placed:
        edit = (await api(BEGIN, {"id": order["order"]["id"]}))["orderEditBegin"][
            "calculatedOrder"]["id"]
        staged = await api(SET, {"e": edit, "l": _line(order, "HOT"), "q": 4})  # +3 each
        assert staged["orderEditSetQuantity"]["userErrors"] == []
        edits.append(edit)
    buyer = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
      order { id } userErrors { code } } }"""
    racing = [api(COMMIT, {"id": edit}) for edit in edits] + [
        api(buyer, {"input": {"channel": "web", "email": f"b{n}@example.com",
                              "shippingAddress": factories.address(),
                              "lines": [{"sku": "HOT", "quantity": 1}]}}) for n in range(8)]
    results = await asyncio.gather(*racing)
    commits = [r["orderEditCommit"] for r in results[:3]]
    buys = [r["orderCreate"] for r in results[3:]]
    for payload in commits:
        assert payload["userErrors"] == [] or codes(payload) == ["INSUFFICIENT_STOCK"]
    for payload in buys:
        assert payload["order"] is not None or codes(payload) == ["INSUFFICIENT_STOCK"]
    grown = sum(1 for p in commits if not p["userErrors"])
    bought = sum(1 for p in buys if p["order"])
    assert 3 + 3 * grown + bought == await _ordered("HOT") == await _reserved("HOT")
    assert await _reserved("HOT") <= 10
    assert all(level.available >= 0 for level in await StockLevel.all())
    await assert_ledger_matches()


async def _round(api: GraphQLClient) -> tuple[dict[str, Any], dict[str, Any], str]:
    placed = await _place(api, {"SHOE": 3, "HAT": 1}, paid=False)
    order_id = placed["order"]["id"]
    await api(CONFIRM, {"id": order_id})
    edit = (await api(BEGIN, {"id": order_id}))["orderEditBegin"]["calculatedOrder"]["id"]
    await api(SET, {"e": edit, "l": _line(placed, "SHOE"), "q": 1})
    await api(SET, {"e": edit, "l": _line(placed, "HAT"), "q": 0})
    committed, shipped = await asyncio.gather(api(COMMIT, {"id": edit}),
                                              api(SHIP, {"o": order_id}))
    return committed["orderEditCommit"], shipped["shipmentCreate"], order_id


async def test_a_commit_racing_a_shipment_applies_whole_or_changes_nothing(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 50}, "HAT": {"a": 50}})
    outcomes = set()
    for _ in range(6):
        committed, shipped, order_id = await _round(api)
        assert shipped["userErrors"] == []
        order = await Order.get(id=_pk(order_id))
        lines = {ln.sku: ln for ln in await OrderLine.filter(order_id=order.id)}
        in_shipment = sum(sl.quantity for sl in await ShipmentLine.filter(
            shipment__order_id=order.id))
        if committed["userErrors"]:
            # The shipment came first: the edit changed nothing at all.
            assert codes(committed) == ["EDIT_CONFLICT"]
            assert (lines["SHOE"].quantity, lines["HAT"].quantity) == (3, 1)
            assert order.total == Decimal("44.90")
            assert in_shipment == 4
            outcomes.add("conflict")
        else:
            # The edit came first: the shipment took what the edited order holds.
            assert (lines["SHOE"].quantity, lines["HAT"].quantity) == (1, 0)
            assert in_shipment == 1
            outcomes.add("edited")
    assert outcomes <= {"conflict", "edited"}
    assert await _reserved("SHOE") == await _ordered("SHOE")
    assert await _reserved("HAT") == await _ordered("HAT")
    await assert_ledger_matches()


def _pk(gid: str) -> int:
    decoded = from_global_id(gid, expect="Order")
    assert decoded is not None
    return decoded[1]
