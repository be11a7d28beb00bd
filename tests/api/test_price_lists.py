"""Price lists: one SKU with one stock sold in EUR, USD and CNY on three channels, quantity
tiers, a customer group's prices over the channel's, dates and switches, and every path
that prices a line (orders, drafts, edits) priced by the same rule."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api.graphql.relay import to_global_id
from domain.catalog.models import PriceListEntry
from domain.customers.models import Customer
from domain.inventory.models import StockLevel
from domain.orders.models import Order, OrderLine
from tests import factories
from tests.support import GraphQLClient, codes

LINES = """lines { sku quantity unitPrice { amount currency } total { amount }
  priceListCode priceListId }"""
PLACE = f"""mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{
  order {{ id number subtotal {{ amount currency }} {LINES} }}
  userErrors {{ field code message }} }} }}"""
CREATE = """mutation($input: PriceListCreateInput!) { priceListCreate(input: $input) {
  priceList { id code currency priority active channel { code } customerGroup { code } }
  userErrors { field code message } } }"""
UPDATE = """mutation($input: PriceListUpdateInput!) { priceListUpdate(input: $input) {
  priceList { id active priority startsAt endsAt customerGroup { code } }
  userErrors { field code message } } }"""
DELETE = """mutation($id: ID!) { priceListDelete(id: $id) { deletedId
  userErrors { field code message } } }"""
ENTRIES = """mutation($input: PriceListEntriesSetInput!) { priceListEntriesSet(input: $input) {
  priceList { code entries { edges { node { sku minQuantity amount { amount currency } } } } }
  userErrors { field code message } } }"""
GROUP = """mutation($input: CustomerGroupCreateInput!) { customerGroupCreate(input: $input) {
  customerGroup { id code } userErrors { field code message } } }"""
MEMBER = """mutation($c: ID!, $g: String) { customerGroupSet(customerId: $c, group: $g) {
  customer { id } customerGroup { code } userErrors { field code message } } }"""


async def _shop() -> None:
    """MUG and CUP (10.00 EUR each, their own price) stocked once at "a", which serves the
    channels eu (EUR), us (USD), cn (CNY) and jp (JPY)."""
    await factories.location("a")
    for code, currency in (("eu", "EUR"), ("us", "USD"), ("cn", "CNY"), ("jp", "JPY")):
        await factories.channel(code, currency=currency, locations=["a"])
    await factories.product("MUG", "CUP")
    await factories.stock("MUG", {"a": 50})
    await factories.stock("CUP", {"a": 50})


async def _list(api: GraphQLClient, code: str, channel: str, currency: str,
                entries: list[tuple[str, int, str]], **extra: Any) -> str:
    created = (await api(CREATE, {"input": {"code": code, "name": code.title(),
                                            "channel": channel, "currency": currency,
                                            **extra}}))["priceListCreate"]
    assert created["userErrors"] == [], created
    list_id = str(created["priceList"]["id"])
    await _entries(api, list_id, entries)
    return list_id


async def _entries(api: GraphQLClient, list_id: str,
                   entries: list[tuple[str, int, str]]) -> None:
    done = (await api(ENTRIES, {"input": {"priceListId": list_id, "entries": [
        {"sku": sku, "minQuantity": q, "amount": amount} for sku, q, amount in entries]}}
    ))["priceListEntriesSet"]
    assert done["userErrors"] == [], done


async def _place(api: GraphQLClient, channel: str, lines: dict[str, int], *,
                 email: str = "ann@example.com", customer: int | None = None
                 ) -> dict[str, Any]:
    order_input: dict[str, Any] = {
        "channel": channel, "shippingAddress": factories.address(),
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines.items()]}
    if customer is not None:
        order_input["customerId"] = to_global_id("Customer", customer)
    else:
        order_input["email"] = email
    return dict((await api(PLACE, {"input": order_input}))["orderCreate"])


def _priced(placed: dict[str, Any]) -> list[tuple[str, int, str, str, str, str | None]]:
    return [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["unitPrice"]["currency"],
             ln["total"]["amount"], ln["priceListCode"]) for ln in placed["order"]["lines"]]


async def _in_group(api: GraphQLClient, email: str, group: str) -> int:
    customer = await Customer.create(email=email)
    done = (await api(MEMBER, {"c": to_global_id("Customer", customer.id), "g": group})
            )["customerGroupSet"]
    assert done["userErrors"] == [] and done["customerGroup"] == {"code": group}, done
    return customer.id


async def _reserved(sku: str = "MUG") -> tuple[int, int]:
    levels = await StockLevel.filter(variant__sku=sku)
    assert len(levels) == 1  # one stock row, whichever currency sold it
    return levels[0].on_hand, levels[0].reserved


async def test_one_sku_with_one_stock_sells_in_eur_usd_and_cny(api: GraphQLClient) -> None:
    await _shop()
    await _list(api, "us-retail", "us", "USD", [("MUG", 1, "12.50")])
    await _list(api, "cn-retail", "cn", "cny", [("MUG", 1, "88.00")])

    eu = await _place(api, "eu", {"MUG": 2})
    us = await _place(api, "us", {"MUG": 1})
    cn = await _place(api, "cn", {"MUG": 3})
    assert _priced(eu) == [("MUG", 2, "10.00", "EUR", "20.00", None)]  # the variant's own
    assert _priced(us) == [("MUG", 1, "12.50", "USD", "12.50", "us-retail")]
    assert _priced(cn) == [("MUG", 3, "88.00", "CNY", "264.00", "cn-retail")]
    assert [o["order"]["subtotal"] for o in (eu, us, cn)] == [
        {"amount": "20.00", "currency": "EUR"}, {"amount": "12.50", "currency": "USD"},
        {"amount": "264.00", "currency": "CNY"}]
    assert await _reserved() == (50, 6)  # 2 + 1 + 3 from the same level
    line = await OrderLine.get(order__number=us["order"]["number"])
    assert (line.price_list_code, line.unit_price) == ("us-retail", 12.5)


async def test_the_highest_tier_the_quantity_reaches_prices_the_line(api: GraphQLClient) -> None:
    await _shop()
    await _list(api, "us-retail", "us", "USD",
                [("MUG", 1, "12.50"), ("MUG", 10, "11.00"), ("MUG", 25, "9.75")])
    one = await _place(api, "us", {"MUG": 1})
    nine = await _place(api, "us", {"MUG": 9})
    ten = await _place(api, "us", {"MUG": 10})
    assert _priced(one) == [("MUG", 1, "12.50", "USD", "12.50", "us-retail")]
    assert _priced(nine) == [("MUG", 9, "12.50", "USD", "112.50", "us-retail")]  # 9 x 12.50
    assert _priced(ten) == [("MUG", 10, "11.00", "USD", "110.00", "us-retail")]  # 10 x 11.00
    assert ten["order"]["subtotal"] == {"amount": "110.00", "currency": "USD"}
    # A list whose tiers start above the quantity does not price it: the next list may.
    await _list(api, "us-bulk", "us", "USD", [("CUP", 5, "3.00")], priority=10)
    await _list(api, "us-base", "us", "USD", [("CUP", 1, "4.00")])
    assert _priced(await _place(api, "us", {"CUP": 4})) == [
        ("CUP", 4, "4.00", "USD", "16.00", "us-base")]
    assert _priced(await _place(api, "us", {"CUP": 5})) == [
        ("CUP", 5, "3.00", "USD", "15.00", "us-bulk")]


async def test_a_customer_groups_list_beats_the_channels_and_priority_orders_the_rest(
    api: GraphQLClient,
) -> None:
    await _shop()
    await _list(api, "us-retail", "us", "USD", [("MUG", 1, "12.50")])
    await _list(api, "us-promo", "us", "USD", [("MUG", 1, "12.00")], priority=5)
    assert (await api(GROUP, {"input": {"code": "trade", "name": "Trade"}})
            )["customerGroupCreate"]["userErrors"] == []
    await _list(api, "us-trade", "us", "USD", [("MUG", 1, "9.00")], customerGroup="trade",
                priority=-100)  # a lower priority, still the group's: it wins
    trader = await _in_group(api, "trader@example.com", "trade")

    assert _priced(await _place(api, "us", {"MUG": 2})) == [  # anyone: the higher priority
        ("MUG", 2, "12.00", "USD", "24.00", "us-promo")]
    assert _priced(await _place(api, "us", {"MUG": 2}, customer=trader)) == [
        ("MUG", 2, "9.00", "USD", "18.00", "us-trade")]
    # Known by email only, the customer still buys at their group's prices.
    assert _priced(await _place(api, "us", {"MUG": 1}, email="trader@example.com")) == [
        ("MUG", 1, "9.00", "USD", "9.00", "us-trade")]
    # Out of the group, the channel's prices again.
    await api(MEMBER, {"c": to_global_id("Customer", trader), "g": None})
    assert _priced(await _place(api, "us", {"MUG": 1}, customer=trader)) == [
        ("MUG", 1, "12.00", "USD", "12.00", "us-promo")]


async def test_expired_future_and_inactive_lists_are_ignored(api: GraphQLClient) -> None:
    await _shop()
    now = datetime.now(UTC)
    await _list(api, "us-retail", "us", "USD", [("MUG", 1, "12.50")])
    await _list(api, "us-ended", "us", "USD", [("MUG", 1, "5.00")], priority=9,
                endsAt=(now - timedelta(minutes=1)).isoformat())
    await _list(api, "us-later", "us", "USD", [("MUG", 1, "6.00")], priority=9,
                startsAt=(now + timedelta(days=1)).isoformat())
    off = await _list(api, "us-off", "us", "USD", [("MUG", 1, "7.00")], priority=9,
                      active=False)
    assert _priced(await _place(api, "us", {"MUG": 1})) == [
        ("MUG", 1, "12.50", "USD", "12.50", "us-retail")]
    switched = (await api(UPDATE, {"input": {"id": off, "active": True}}))["priceListUpdate"]
    assert switched["userErrors"] == []
    assert _priced(await _place(api, "us", {"MUG": 1})) == [
        ("MUG", 1, "7.00", "USD", "7.00", "us-off")]  # the cache heard of the change


async def test_a_channel_without_a_price_in_its_currency_refuses_the_sku_and_changes_nothing(
    api: GraphQLClient,
) -> None:
    await _shop()
    refused = await _place(api, "jp", {"MUG": 1, "CUP": 2})
    assert refused["order"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["lines", "0", "sku"], "NO_PRICE"), (["lines", "1", "sku"], "NO_PRICE")]
    assert "MUG" in refused["userErrors"][0]["message"]
    assert "JPY" in refused["userErrors"][0]["message"]
    assert await Order.all().count() == 0
    assert await _reserved() == (50, 0)
    # Yen have no minor unit.
    jp = await _list(api, "jp-retail", "jp", "JPY", [("MUG", 1, "1500")])
    bad = (await api(ENTRIES, {"input": {"priceListId": jp, "entries": [
        {"sku": "MUG", "minQuantity": 1, "amount": "1500.5"}]}}))["priceListEntriesSet"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        (["entries", "0", "amount"], "INVALID_INPUT")]
    assert _priced(await _place(api, "jp", {"MUG": 3})) == [
        ("MUG", 3, "1500", "JPY", "4500", "jp-retail")]


async def test_drafts_and_edits_price_their_lines_by_the_same_rule(api: GraphQLClient) -> None:
    await _shop()
    await api(GROUP, {"input": {"code": "trade", "name": "Trade"}})
    await _list(api, "us-retail", "us", "USD", [("MUG", 1, "12.50"), ("CUP", 1, "4.00"),
                                                ("CUP", 10, "3.50")])
    await _list(api, "us-trade", "us", "USD", [("MUG", 1, "9.00")], customerGroup="trade")
    trader = await _in_group(api, "trader@example.com", "trade")

    draft_lines = "lines { sku unitPrice { amount currency } priceListCode priceSetByStaff }"
    created = (await api(f"""mutation($input: DraftOrderCreateInput!) {{
      draftOrderCreate(input: $input) {{ draftOrder {{ id {draft_lines} subtotal {{ amount }} }}
      userErrors {{ field code message }} }} }}""", {"input": {
        "channel": "us", "customerId": to_global_id("Customer", trader),
        "shippingAddress": factories.address(),
        "lines": [{"sku": "MUG", "quantity": 2}, {"sku": "CUP", "quantity": 10},
                  {"sku": "CUP", "quantity": 1, "unitPrice": "2.00",
                   "priceReason": "damaged box"}]}}))["draftOrderCreate"]
    assert created["userErrors"] == []
    draft = created["draftOrder"]
    assert [(ln["sku"], ln["unitPrice"]["amount"], ln["priceListCode"], ln["priceSetByStaff"])
            for ln in draft["lines"]] == [("MUG", "9.00", "us-trade", False),
                                          ("CUP", "3.50", "us-retail", False),
                                          ("CUP", "2.00", None, True)]
    assert draft["subtotal"] == {"amount": "55.00"}  # 2 x 9.00 + 10 x 3.50 + 2.00
    completed = (await api(f"""mutation($id: ID!) {{ draftOrderComplete(id: $id) {{
      order {{ id subtotal {{ amount currency }} {LINES} }} userErrors {{ code message }} }} }}""",
                           {"id": draft["id"]}))["draftOrderComplete"]
    assert completed["userErrors"] == []
    assert _priced(completed) == [("MUG", 2, "9.00", "USD", "18.00", "us-trade"),
                                  ("CUP", 10, "3.50", "USD", "35.00", "us-retail"),
                                  ("CUP", 1, "2.00", "USD", "2.00", None)]

    # A draft's catalogue-priced line without a price there is refused; a staff-set one not.
    no_price = (await api("""mutation($input: DraftOrderCreateInput!) {
      draftOrderCreate(input: $input) { userErrors { field code } } }""", {"input": {
        "channel": "jp", "lines": [{"sku": "MUG", "quantity": 1},
                                   {"sku": "CUP", "quantity": 1, "unitPrice": "300",
                                    "priceReason": "quoted"}]}}))["draftOrderCreate"]
    assert no_price["userErrors"] == [{"field": ["lines", "0", "sku"], "code": "NO_PRICE"}]

    # An edit's added line is priced like a new order line, for its quantity and customer.
    placed = await _place(api, "us", {"MUG": 1}, customer=trader)
    edit_lines = "lines { id sku quantity unitPrice { amount } priceListCode change }"
    begun = (await api("""mutation($id: ID!) { orderEditBegin(orderId: $id) {
      calculatedOrder { id } userErrors { code } } }""", {"id": placed["order"]["id"]})
             )["orderEditBegin"]
    edit = begun["calculatedOrder"]["id"]
    added = (await api(f"""mutation($e: ID!) {{ orderEditAddLine(input: {{editId: $e,
      sku: "CUP", quantity: 10}}) {{ calculatedOrder {{ {edit_lines} subtotal {{ amount }} }}
      userErrors {{ code message }} }} }}""", {"e": edit}))["orderEditAddLine"]
    assert added["userErrors"] == []
    cup = next(ln for ln in added["calculatedOrder"]["lines"] if ln["sku"] == "CUP")
    assert (cup["unitPrice"], cup["priceListCode"]) == ({"amount": "3.50"}, "us-retail")
    fewer = (await api(f"""mutation($e: ID!, $l: ID!) {{ orderEditSetQuantity(input: {{
      editId: $e, lineId: $l, quantity: 2}}) {{ calculatedOrder {{ {edit_lines}
      subtotal {{ amount }} }} userErrors {{ code message }} }} }}""",
                     {"e": edit, "l": cup["id"]}))["orderEditSetQuantity"]
    assert fewer["userErrors"] == []
    calc = fewer["calculatedOrder"]
    assert [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["priceListCode"])
            for ln in calc["lines"]] == [("MUG", 1, "9.00", "us-trade"),
                                         ("CUP", 2, "4.00", "us-retail")]  # another tier
    assert calc["subtotal"] == {"amount": "17.00"}
    committed = (await api(f"""mutation($id: ID!) {{ orderEditCommit(id: $id) {{
      order {{ {LINES} }} userErrors {{ code message }} }} }}""", {"id": edit}))["orderEditCommit"]
    assert committed["userErrors"] == []
    assert _priced(committed) == [("MUG", 1, "9.00", "USD", "9.00", "us-trade"),
                                  ("CUP", 2, "4.00", "USD", "8.00", "us-retail")]
    # No price for a SKU on the order's channel: the edit refuses to add it.
    jp_order = await _place(api, "eu", {"MUG": 1})
    jp_edit = (await api("""mutation($id: ID!) { orderEditBegin(orderId: $id) {
      calculatedOrder { id } } }""", {"id": jp_order["order"]["id"]})
               )["orderEditBegin"]["calculatedOrder"]["id"]
    await api('mutation { variantUpdate(input: {sku: "CUP", currency: "GBP", price: "8.00"}) '
              "{ userErrors { code } } }")
    refused = (await api("""mutation($e: ID!) { orderEditAddLine(input: {editId: $e,
      sku: "CUP", quantity: 1}) { userErrors { field code } } }""", {"e": jp_edit})
               )["orderEditAddLine"]
    assert refused["userErrors"] == [{"field": ["sku"], "code": "NO_PRICE"}]


async def test_a_line_keeps_its_price_and_list_after_the_list_changes_or_goes(
    api: GraphQLClient,
) -> None:
    await _shop()
    retail = await _list(api, "us-retail", "us", "USD", [("MUG", 1, "12.50")])
    first = await _place(api, "us", {"MUG": 2})
    await _entries(api, retail, [("MUG", 1, "13.00")])
    second = await _place(api, "us", {"MUG": 2})  # the cache dropped the old price
    assert _priced(second) == [("MUG", 2, "13.00", "USD", "26.00", "us-retail")]

    deleted = (await api(DELETE, {"id": retail}))["priceListDelete"]
    assert deleted == {"deletedId": retail, "userErrors": []}
    order = (await api(f"""query($id: ID!) {{ order(id: $id) {{ {LINES} }} }}""",
                       {"id": first["order"]["id"]}))["order"]
    assert _priced({"order": order}) == [("MUG", 2, "12.50", "USD", "25.00", "us-retail")]
    assert order["lines"][0]["priceListId"] == retail
    assert await PriceListEntry.all().count() == 0
    # With the list gone the USD channel has no price for a EUR-priced SKU.
    assert codes(await _place(api, "us", {"MUG": 1})) == ["NO_PRICE"]


async def test_channel_price_reads_the_price_an_order_would_get(api: GraphQLClient) -> None:
    await _shop()
    await api(GROUP, {"input": {"code": "trade", "name": "Trade"}})
    await _list(api, "us-retail", "us", "USD", [("MUG", 1, "12.50"), ("MUG", 10, "11.00")])
    await _list(api, "us-trade", "us", "USD", [("MUG", 1, "9.00")], customerGroup="trade")
    read = """query($c: String!, $q: Int = 1, $g: String) { variant(sku: "MUG") {
      channelPrice(channel: $c, quantity: $q, customerGroup: $g) { amount currency } } }"""
    anonymous = {"Authorization": ""}

    async def price(channel: str, quantity: int | None = None, group: str | None = None,
                    admin: bool = True) -> Any:
        variables = {"c": channel, "g": group, **({"q": quantity} if quantity else {})}
        if quantity == 0:
            variables["q"] = 0
        response = await api.raw(read, variables, admin=admin,
                                 headers=None if admin else anonymous)
        body = response.json()
        if body.get("errors"):
            return body["errors"][0]["extensions"]["code"]
        return body["data"]["variant"]["channelPrice"]

    assert await price("us", admin=False) == {"amount": "12.50", "currency": "USD"}
    assert await price("us", 10, admin=False) == {"amount": "11.00", "currency": "USD"}
    assert await price("eu", admin=False) == {"amount": "10.00", "currency": "EUR"}
    assert await price("jp", admin=False) is None
    assert await price("mars", admin=False) is None
    assert await price("us", group="trade", admin=False) == "FORBIDDEN"
    assert await price("us", group="trade") == {"amount": "9.00", "currency": "USD"}
    assert await price("us", 0) == "BAD_REQUEST"
    # A signed-in customer sees their group's price.
    from tests.api.test_customers_and_guests import _register, bearer

    signed_in = bearer((await _register(api, "trader@example.com"))["accessToken"])
    trader = await Customer.get(email="trader@example.com")
    await api(MEMBER, {"c": to_global_id("Customer", trader.id), "g": "trade"})
    mine = (await api(read, {"c": "us"}, admin=False, headers=signed_in))["variant"]
    assert mine["channelPrice"] == {"amount": "9.00", "currency": "USD"}
    # A partner limited to another channel reads no group price of this one.
    from tests.api.test_partners import _bearer

    elsewhere = await _bearer(api, ["catalog:write"], channels=["eu"])
    theirs = (await api(read, {"c": "us", "g": "trade"}, admin=False, headers=elsewhere))
    assert theirs["variant"]["channelPrice"] is None


async def test_bad_price_lists_and_entries_get_clear_errors_and_change_nothing(
    api: GraphQLClient,
) -> None:
    await _shop()
    await _list(api, "us-retail", "us", "USD", [])
    base = {"code": "x", "name": "X", "channel": "us", "currency": "USD"}
    cases: list[tuple[dict[str, Any], list[tuple[list[str], str]]]] = [
        ({**base, "code": "us-retail"}, [(["code"], "DUPLICATE")]),
        ({**base, "channel": "mars"}, [(["channel"], "UNKNOWN_CHANNEL")]),
        ({**base, "currency": "EUR"}, [(["currency"], "INVALID_INPUT")]),
        ({**base, "currency": "XXX"}, [(["currency"], "INVALID_INPUT")]),
        ({**base, "customerGroup": "nobody"}, [(["customerGroup"], "NOT_FOUND")]),
        ({**base, "code": "has space"}, [(["code"], "INVALID_INPUT")]),
        ({**base, "priority": 10_000_000}, [(["priority"], "INVALID_INPUT")]),
        ({**base, "startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"},
         [(["endsAt"], "INVALID_INPUT")]),
    ]
    for given, expected in cases:
        payload = (await api(CREATE, {"input": given}))["priceListCreate"]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, given
    lists = (await api("{ priceLists { edges { node { code } } } }"))["priceLists"]["edges"]
    assert lists == [{"node": {"code": "us-retail"}}]

    retail = (await api('{ priceLists(channel: "us") { edges { node { id } } } }')
              )["priceLists"]["edges"][0]["node"]["id"]
    await _entries(api, retail, [("MUG", 1, "12.50")])
    bad = (await api(ENTRIES, {"input": {"priceListId": retail, "entries": [
        {"sku": "MUG", "minQuantity": 1, "amount": "0"},
        {"sku": "MUG", "minQuantity": 2, "amount": "-1.00"},
        {"sku": "NOPE", "minQuantity": 1, "amount": "1.00"},
        {"sku": "CUP", "minQuantity": 0, "amount": "1.00"},
        {"sku": "CUP", "minQuantity": 5, "amount": "1.234"},
        {"sku": "MUG", "minQuantity": 10, "amount": "9.00"},
        {"sku": "MUG", "minQuantity": 10, "amount": "8.00"},
        {"sku": "CUP", "minQuantity": 1, "amount": "3.00"},
    ]}}))["priceListEntriesSet"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        (["entries", "0", "amount"], "INVALID_INPUT"),
        (["entries", "1", "amount"], "INVALID_INPUT"),
        (["entries", "2", "sku"], "UNKNOWN_SKU"),
        (["entries", "3", "minQuantity"], "INVALID_INPUT"),
        (["entries", "4", "amount"], "INVALID_INPUT"),
        (["entries", "6", "minQuantity"], "DUPLICATE"),
    ]
    assert bad["priceList"] is None
    # All or nothing: the list's prices are as they were.
    assert [(e.min_quantity, str(e.amount)) for e in await PriceListEntry.all()] == [
        (1, "12.5000")]
    gone = to_global_id("PriceList", 999)
    assert codes((await api(ENTRIES, {"input": {"priceListId": gone, "entries": []}})
                  )["priceListEntriesSet"]) == ["NOT_FOUND"]
    assert codes((await api(UPDATE, {"input": {"id": retail, "priority": None}})
                  )["priceListUpdate"]) == ["INVALID_INPUT"]
    assert codes((await api(UPDATE, {"input": {"id": retail, "endsAt": "2000-01-01T00:00:00Z",
                                               "startsAt": "2001-01-01T00:00:00Z"}})
                  )["priceListUpdate"]) == ["INVALID_INPUT"]
    assert codes((await api(DELETE, {"id": gone}))["priceListDelete"]) == ["NOT_FOUND"]
    assert codes((await api(GROUP, {"input": {"code": "", "name": "X"}})
                  )["customerGroupCreate"]) == ["INVALID_INPUT"]
    await api(GROUP, {"input": {"code": "trade", "name": "Trade"}})
    assert codes((await api(GROUP, {"input": {"code": "trade", "name": "Again"}})
                  )["customerGroupCreate"]) == ["DUPLICATE"]
    customer = await Customer.create(email="c@example.com")
    assert codes((await api(MEMBER, {"c": to_global_id("Customer", customer.id),
                                     "g": "nobody"}))["customerGroupSet"]) == ["NOT_FOUND"]
    assert codes((await api(MEMBER, {"c": to_global_id("Customer", 999), "g": "trade"})
                  )["customerGroupSet"]) == ["NOT_FOUND"]


async def test_price_lists_page_by_keyset_and_partners_see_their_channels_only(
    api: GraphQLClient,
) -> None:
    from tests.api.test_partners import _bearer

    await _shop()
    for code, channel, currency in (("a-eu", "eu", "EUR"), ("b-us", "us", "USD"),
                                    ("c-cn", "cn", "CNY")):
        await _list(api, code, channel, currency, [])
    page = """query($after: String) { priceLists(first: 2, after: $after) {
      edges { node { code } } pageInfo { hasNextPage endCursor } } }"""
    first = (await api(page))["priceLists"]
    second = (await api(page, {"after": first["pageInfo"]["endCursor"]}))["priceLists"]
    assert [e["node"]["code"] for e in first["edges"] + second["edges"]] == [
        "a-eu", "b-us", "c-cn"]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (
        True, False)
    partner = await _bearer(api, ["catalog:write"], channels=["us"])
    seen = (await api("{ priceLists { edges { node { code } } } }", admin=False,
                      headers=partner))["priceLists"]["edges"]
    assert seen == [{"node": {"code": "b-us"}}]
    refused = (await api(CREATE, {"input": {"code": "d-eu", "name": "D", "channel": "eu",
                                            "currency": "EUR"}}, admin=False,
                         headers=partner))["priceListCreate"]
    assert codes(refused) == ["UNKNOWN_CHANNEL"]


# Modules of domain/ that may read a variant's own price, and why: the rest must price a
# line through domain/catalog/prices.py.
PRICE_READERS = {
    "domain/catalog/prices.py": "the one pricing rule",
    "domain/catalog/service.py": "validating a new variant's price",
    "domain/catalog/lifecycle.py": "validating a changed variant's price",
    "domain/application/catalog_files.py": "exporting the catalogue",
}


def test_only_the_pricing_rule_reads_a_variants_own_price() -> None:
    """Any ``<something>.price`` read in domain/ outside the modules above would be a path
    pricing lines by itself, bypassing price lists."""
    root = Path(__file__).resolve().parents[2]
    readers = set()
    for path in (root / "domain").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.Attribute) and node.attr == "price"
               for node in ast.walk(tree)):
            readers.add(str(path.relative_to(root)))
    assert readers == set(PRICE_READERS)


async def test_an_edit_keeps_the_agreed_price_of_a_line_already_on_the_order(
    api: GraphQLClient,
) -> None:
    await _shop()
    retail = await _list(api, "us-retail", "us", "USD", [("CUP", 1, "4.00"), ("CUP", 10, "3.50")])
    placed = await _place(api, "us", {"CUP": 2})
    await _entries(api, retail, [("CUP", 1, "5.00")])  # the list changed since
    edit = (await api("""mutation($id: ID!) { orderEditBegin(orderId: $id) {
      calculatedOrder { id } } }""", {"id": placed["order"]["id"]})
            )["orderEditBegin"]["calculatedOrder"]["id"]
    line = placed["order"]["lines"][0]
    order_line = (await api("""query($id: ID!) { order(id: $id) { lines { id } } }""",
                            {"id": placed["order"]["id"]}))["order"]["lines"][0]["id"]
    assert line["priceListCode"] == "us-retail"
    changed = (await api("""mutation($e: ID!, $l: ID!) { orderEditSetQuantity(input: {
      editId: $e, lineId: $l, quantity: 10}) { calculatedOrder { subtotal { amount }
      lines { quantity unitPrice { amount } priceListCode } } userErrors { code } } }""",
                         {"e": edit, "l": order_line}))["orderEditSetQuantity"]
    assert changed["userErrors"] == []
    assert changed["calculatedOrder"]["lines"] == [
        {"quantity": 10, "unitPrice": {"amount": "4.00"}, "priceListCode": "us-retail"}]
    assert changed["calculatedOrder"]["subtotal"] == {"amount": "40.00"}
