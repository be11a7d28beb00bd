"""The order lifecycle through the API: confirm, hold, release, cancel."""

from __future__ import annotations

from domain.inventory.models import StockLevel
from tests import factories
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes

FIELDS = "order { status holdReason cancelReason events { sequence type message } } " \
         "userErrors { field code message }"


async def _order(api: GraphQLClient) -> str:
    await factories.shop({"SHOE": {"a": 5}})
    order = await factories.place({"SHOE": 2})
    data = await api('query($n: String!) { order(number: $n) { id } }',
                     {"n": order.number})  # type: ignore[attr-defined]
    return data["order"]["id"]


async def _do(api: GraphQLClient, mutation: str, gid: str, args: str = "") -> dict:
    data = await api(f"mutation($id: ID!) {{ {mutation}(id: $id{args}) {{ {FIELDS} }} }}",
                     {"id": gid})
    return data[mutation]


async def test_hold_release_and_confirm(api: GraphQLClient) -> None:
    gid = await _order(api)
    held = await _do(api, "orderHold", gid, ', reason: "address check"')
    assert (held["order"]["status"], held["order"]["holdReason"]) == ("ON_HOLD", "address check")
    released = await _do(api, "orderRelease", gid)
    assert (released["order"]["status"], released["order"]["holdReason"]) == ("PENDING", None)
    confirmed = await _do(api, "orderConfirm", gid)
    assert confirmed["order"]["status"] == "CONFIRMED"
    assert [(e["sequence"], e["type"]) for e in confirmed["order"]["events"]] == [
        (1, "ORDER_PLACED"), (2, "STOCK_RESERVED"), (3, "ORDER_ON_HOLD"),
        (4, "ORDER_RELEASED"), (5, "ORDER_CONFIRMED")]
    assert confirmed["order"]["events"][2]["message"] == "Order 1001 put on hold: address check"


async def test_illegal_transitions_are_refused(api: GraphQLClient) -> None:
    gid = await _order(api)
    assert codes(await _do(api, "orderRelease", gid)) == ["INVALID_TRANSITION"]
    await _do(api, "orderConfirm", gid)
    assert codes(await _do(api, "orderHold", gid, ', reason: "late"')) == []  # fulfilment hold
    refused = await _do(api, "orderHold", gid, ', reason: "later"')
    assert codes(refused) == ["INVALID_TRANSITION"]
    assert refused["userErrors"][0]["message"] == "Order 1001 is ON_HOLD and cannot become ON_HOLD"
    assert codes(await _do(api, "orderConfirm", gid)) == ["INVALID_TRANSITION"]  # release it
    assert (await _do(api, "orderRelease", gid))["order"]["status"] == "CONFIRMED"
    assert codes(await _do(api, "orderConfirm", gid)) == ["INVALID_TRANSITION"]
    await _do(api, "orderCancel", gid)
    assert codes(await _do(api, "orderConfirm", gid)) == ["INVALID_TRANSITION"]
    assert codes(await _do(api, "orderCancel", gid)) == ["INVALID_TRANSITION"]
    blank = await _do(api, "orderHold", gid, ', reason: "  "')
    assert codes(blank) == ["INVALID_INPUT"]
    missing = await _do(api, "orderConfirm", "T3JkZXI6OTk5")  # Order:999
    assert codes(missing) == ["NOT_FOUND"]
    wrong_type = await _do(api, "orderConfirm", "garbage")
    assert codes(wrong_type) == ["NOT_FOUND"]


async def test_cancelling_releases_every_reservation(api: GraphQLClient) -> None:
    gid = await _order(api)
    assert (await StockLevel.get()).reserved == 2
    cancelled = await _do(api, "orderCancel", gid, ', reason: "customer asked"')
    assert cancelled["order"]["status"] == "CANCELLED"
    assert cancelled["order"]["cancelReason"] == "customer asked"
    assert [e["type"] for e in cancelled["order"]["events"]][-2:] == [
        "STOCK_RELEASED", "ORDER_CANCELLED"]
    assert (await StockLevel.get()).reserved == 0
    lines = await api('query($id: ID!) { order(id: $id) { lines { quantityAllocated } } }',
                      {"id": gid})
    assert lines["order"]["lines"] == [{"quantityAllocated": 0}]
    await assert_ledger_matches()
