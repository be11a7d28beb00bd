"""Discounts: promotions on lines, the order and shipping, voucher codes and their limits,
the stacking rule, and what a discount does to tax, refunds and cancellations. Every figure
is worked out by hand in the comments."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from domain.catalog.models import BackorderPolicy
from domain.discounts.models import OrderDiscount, Voucher, VoucherRedemption
from domain.orders.models import Order
from tests import factories
from tests.support import GraphQLClient, codes

PROMOTION = """mutation($input: PromotionCreateInput!) { promotionCreate(input: $input) {
  promotion { id name kind target value currency minSubtotal skus channels customerGroups
    active requiresCode } userErrors { field code message } } }"""
VOUCHERS = """mutation($input: VoucherCreateInput!) { voucherCreate(input: $input) {
  vouchers { id code maxUses perCustomerLimit uses } userErrors { field code message } } }"""
UPDATE = """mutation($input: PromotionUpdateInput!) { promotionUpdate(input: $input) {
  promotion { id active } userErrors { field code message } } }"""
ORDER = """id subtotal { amount } shippingTotal { amount } total { amount currency }
  taxTotal { amount } discountTotal { amount }
  discounts { name code target amount { amount } allocations { position sku amount { amount } } }
  lines { id sku quantity total { amount } discountAmount { amount } taxAmount { amount } }"""
PLACE = f"""mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{
  order {{ {ORDER} }} payment {{ id }} userErrors {{ field code message }} }} }}"""


async def _shop(prices: dict[str, str], *, currency: str = "EUR") -> None:
    await factories.location("wh", country="DE")
    await factories.channel("web", currency=currency, locations=["wh"])
    for sku, price in prices.items():
        await factories.product(sku, price=price, currency=currency,
                                backorder=BackorderPolicy.DENY)
        await factories.stock(sku, {"wh": 100})


async def _ok(api: GraphQLClient, document: str, variables: Any) -> dict[str, Any]:
    payload = next(iter((await api(document, variables)).values()))
    assert payload["userErrors"] == [], payload
    return dict(payload)


async def _promotion(api: GraphQLClient, **fields: Any) -> str:
    spec = {"name": "Promotion", "kind": "PERCENTAGE", "target": "LINES", "value": "10",
            **fields}
    return str((await _ok(api, PROMOTION, {"input": spec}))["promotion"]["id"])


async def _code(api: GraphQLClient, code: str, **fields: Any) -> str:
    promotion = await _promotion(api, requiresCode=True, **fields.pop("promotion", {}))
    created = await _ok(api, VOUCHERS, {"input": {"promotionId": promotion, "codes": [code],
                                                  **fields}})
    return str(created["vouchers"][0]["code"])


def _order_input(lines: dict[str, int], *, email: str = "ann@example.com",
                 shipping: str | None = "standard", **more: Any) -> dict[str, Any]:
    return {"input": {"channel": "web", "email": email, "shippingMethod": shipping,
                      "shippingAddress": factories.address(),
                      "lines": [{"sku": s, "quantity": q} for s, q in lines.items()], **more}}


async def _place(api: GraphQLClient, lines: dict[str, int], **more: Any) -> dict[str, Any]:
    placed = (await api(PLACE, _order_input(lines, **more)))["orderCreate"]
    assert placed["userErrors"] == [], placed
    return dict(placed["order"])


async def _refused(api: GraphQLClient, lines: dict[str, int], **more: Any) -> str:
    placed = (await api(PLACE, _order_input(lines, **more)))["orderCreate"]
    assert placed["order"] is None
    assert [(e["code"], e["field"]) for e in placed["userErrors"]] == [
        ("VOUCHER_INVALID", ["voucherCode"])], placed
    return str(placed["userErrors"][0]["message"])


def _lines(order: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(ln["sku"], ln["discountAmount"]["amount"], ln["total"]["amount"])
            for ln in order["lines"]]


def _discounts(order: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(d["name"], d["code"], d["target"], d["amount"]["amount"],
             [(a["position"], a["sku"], a["amount"]["amount"]) for a in d["allocations"]])
            for d in order["discounts"]]


async def test_a_percentage_on_one_sku_discounts_only_its_line(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00", "BOOK": "12.99"})
    await _promotion(api, name="10% off shoes", skus=["SHOE"])
    order = await _place(api, {"SHOE": 2, "BOOK": 1})
    # SHOE 2 x 10.00 = 20.00, 10% = 2.00 off: 18.00; BOOK 12.99 as it is; no tax rates.
    assert _lines(order) == [("SHOE", "2.00", "18.00"), ("BOOK", "0.00", "12.99")]
    # Subtotal 30.99, standard shipping 4.90: 35.89.
    assert (order["subtotal"], order["total"]["amount"], order["discountTotal"]) == (
        {"amount": "30.99"}, "35.89", {"amount": "2.00"})
    assert _discounts(order) == [("10% off shoes", None, "LINES", "2.00",
                                  [(0, "SHOE", "2.00")])]


async def test_a_fixed_order_discount_is_spread_over_the_lines_to_the_cent(
    api: GraphQLClient,
) -> None:
    await _shop({"A": "10.00", "B": "20.00", "C": "3.33"})
    await _promotion(api, name="5 off", kind="FIXED", target="ORDER", value="5",
                     currency="EUR")
    order = await _place(api, {"A": 1, "B": 1, "C": 1})
    # 5.00 over 33.33 in cents, rounded down: A 500 x 1000/3333 = 150.01 -> 1.50,
    # B 500 x 2000/3333 = 300.03 -> 3.00, C 500 x 333/3333 = 49.95 -> 0.49; 4.99 so far,
    # the cent left goes to the largest line, B: 3.01. 1.50 + 3.01 + 0.49 = 5.00.
    assert _lines(order) == [("A", "1.50", "8.50"), ("B", "3.01", "16.99"),
                             ("C", "0.49", "2.84")]
    assert (order["subtotal"], order["discountTotal"]) == ({"amount": "28.33"},
                                                           {"amount": "5.00"})
    assert _discounts(order) == [("5 off", None, "ORDER", "5.00",
                                  [(0, "A", "1.50"), (1, "B", "3.01"), (2, "C", "0.49")])]
    stored = await OrderDiscount.get()
    assert sum(Decimal(a["amount"]) for a in stored.lines) == stored.amount == Decimal("5")


async def test_a_free_shipping_voucher_lowers_the_shipping_and_is_used_once(
    api: GraphQLClient,
) -> None:
    await _shop({"SHOE": "10.00"})
    code = await _code(api, "freeship", maxUses=1, promotion={
        "name": "Free shipping", "target": "SHIPPING", "value": "100"})
    assert code == "FREESHIP"  # taken in any case, kept in upper case
    order = await _place(api, {"SHOE": 1}, voucherCode="FreeShip")
    # 10.00 and the 4.90 of standard shipping off: 10.00 in all. The lines keep their price.
    assert (order["shippingTotal"], order["total"]["amount"], order["discountTotal"]) == (
        {"amount": "0.00"}, "10.00", {"amount": "0.00"})
    assert _discounts(order) == [("Free shipping", "FREESHIP", "SHIPPING", "4.90", [])]
    assert (await Voucher.get(code="FREESHIP")).uses == 1
    assert "used up" in await _refused(api, {"SHOE": 1}, voucherCode="FREESHIP",
                                       email="bob@example.com")


async def test_tax_is_charged_on_the_discounted_amount(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00"})
    await _ok(api, """mutation($r: [TaxRateInput!]!) { taxRatesSet(rates: $r) {
      userErrors { code } } }""", {"r": [{"country": "DE", "taxClass": "STANDARD",
                                          "rate": "19"}]})
    await _promotion(api, name="10% off")
    order = await _place(api, {"SHOE": 3})
    # 30.00 less 10% = 27.00 net; 19% of it 5.13 (not 5.70): the line is 32.13.
    assert [(ln["discountAmount"]["amount"], ln["taxAmount"]["amount"], ln["total"]["amount"])
            for ln in order["lines"]] == [("3.00", "5.13", "32.13")]
    # Shipping 4.90 + 0.93 = 5.83; total 37.96, of it tax 5.13 + 0.93 = 6.06.
    assert (order["shippingTotal"], order["taxTotal"], order["total"]["amount"]) == (
        {"amount": "5.83"}, {"amount": "6.06"}, "37.96")


async def test_yen_discounts_round_to_whole_yen(api: GraphQLClient) -> None:
    await _shop({"A": "1234", "B": "555", "C": "101"}, currency="JPY")
    await _promotion(api, name="10% off the order", target="ORDER")
    order = await _place(api, {"A": 1, "B": 1, "C": 1}, shipping=None)
    # 10% of 1,890 = 189 yen: A 189 x 1234/1890 = 123.4 -> 123, B 55.5 -> 55, C 10.1 -> 10,
    # 188 so far; the yen left goes to A (the largest): 124 + 55 + 10 = 189.
    assert _lines(order) == [("A", "124", "1110"), ("B", "55", "500"), ("C", "10", "91")]
    assert (order["subtotal"], order["discountTotal"]) == ({"amount": "1701"},
                                                           {"amount": "189"})


async def test_a_code_below_its_minimum_subtotal_is_refused_and_nothing_is_written(
    api: GraphQLClient,
) -> None:
    await _shop({"SHOE": "10.00"})
    await _code(api, "BIG-SPENDER", promotion={
        "kind": "FIXED", "target": "ORDER", "value": "5", "currency": "EUR",
        "minSubtotal": "50"})
    message = await _refused(api, {"SHOE": 4}, voucherCode="big-spender")  # 40.00 < 50.00
    assert "at least 50.00 EUR" in message
    assert await Order.all().count() == 0
    assert (await Voucher.get()).uses == 0
    order = await _place(api, {"SHOE": 5}, voucherCode="big-spender")  # 50.00: 5.00 off
    assert (order["subtotal"], order["discountTotal"]) == ({"amount": "45.00"},
                                                           {"amount": "5.00"})


async def test_unknown_expired_and_future_codes_are_refused(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00"})
    await _code(api, "OLD", promotion={"startsAt": "2020-01-01T00:00:00+00:00",
                                       "endsAt": "2020-02-01T00:00:00+00:00"})
    await _code(api, "LATER", promotion={"startsAt": "2099-01-01T00:00:00+00:00"})
    await _code(api, "OFF", promotion={"active": False})
    assert "has expired" in await _refused(api, {"SHOE": 1}, voucherCode="OLD")
    assert "not valid yet" in await _refused(api, {"SHOE": 1}, voucherCode="LATER")
    assert "not active" in await _refused(api, {"SHOE": 1}, voucherCode="OFF")
    assert "no such code" in await _refused(api, {"SHOE": 1}, voucherCode="NOPE")
    assert await Order.all().count() == 0


async def test_a_code_for_another_channel_is_refused(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00"})
    await factories.channel("shop2", locations=["wh"])
    await _code(api, "SHOP2", promotion={"channels": ["shop2"]})
    assert "channel web" in await _refused(api, {"SHOE": 1}, voucherCode="SHOP2")


async def test_a_per_customer_limit_counts_each_buyers_orders(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00"})
    await _code(api, "ONCE-EACH", perCustomerLimit=1)
    await _place(api, {"SHOE": 1}, voucherCode="ONCE-EACH")
    assert "one customer" in await _refused(api, {"SHOE": 1}, voucherCode="ONCE-EACH")
    await _place(api, {"SHOE": 1}, voucherCode="ONCE-EACH", email="bob@example.com")
    assert (await Voucher.get()).uses == 2
    assert await VoucherRedemption.all().count() == 2


async def test_one_voucher_stacks_with_automatic_promotions_one_per_target(
    api: GraphQLClient,
) -> None:
    await _shop({"SHOE": "10.00", "BOOK": "20.00"})
    await _promotion(api, name="Auto 10%")  # every line
    await _promotion(api, name="Auto 2 off", kind="FIXED", target="ORDER", value="2",
                     currency="EUR")
    await _code(api, "SHOES20", promotion={"name": "Shoes 20%", "skus": ["SHOE"],
                                           "value": "20"})
    order = await _place(api, {"SHOE": 1, "BOOK": 1}, voucherCode="SHOES20")
    # Lines: SHOE's best is the voucher's 20% (2.00), BOOK's the automatic 10% (2.00).
    # Order: the one order discount, 2.00 over 8.00 + 18.00 = 26.00: SHOE 200 x 800/2600 =
    # 61.5 -> 0.61, BOOK 138.4 -> 1.38, the cent left to BOOK: 1.39.
    assert _lines(order) == [("SHOE", "2.61", "7.39"), ("BOOK", "3.39", "16.61")]
    assert _discounts(order) == [
        ("Auto 10%", None, "LINES", "2.00", [(1, "BOOK", "2.00")]),
        ("Shoes 20%", "SHOES20", "LINES", "2.00", [(0, "SHOE", "2.00")]),
        ("Auto 2 off", None, "ORDER", "2.00", [(0, "SHOE", "0.61"), (1, "BOOK", "1.39")])]
    # A code the automatic promotions beat on every line gives nothing: refused, not spent.
    await _code(api, "BOOKS5", promotion={"name": "Books 5%", "skus": ["BOOK"], "value": "5"})
    assert "gives no discount" in await _refused(api, {"BOOK": 1}, voucherCode="BOOKS5")


async def test_switching_a_promotion_off_reaches_the_next_order(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00"})
    promotion = await _promotion(api, name="Weekend")
    assert (await _place(api, {"SHOE": 1}))["discountTotal"] == {"amount": "1.00"}
    await _ok(api, UPDATE, {"input": {"id": promotion, "active": False}})
    assert (await _place(api, {"SHOE": 1}))["discountTotal"] == {"amount": "0.00"}


async def test_refunds_and_cancellations_of_a_discounted_line_pay_back_its_discounted_price(
    api: GraphQLClient,
) -> None:
    await _shop({"SHOE": "10.00", "BOOK": "12.99"})
    await _promotion(api, name="10% off shoes", skus=["SHOE"])
    placed = (await api(PLACE, _order_input(
        {"SHOE": 4, "BOOK": 1}, payment={"provider": "manual", "method": "invoice"})))[
            "orderCreate"]
    order, payment = placed["order"], placed["payment"]["id"]
    await _ok(api, "mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) "
                   "{ userErrors { code } } }", {"p": payment})
    shoe = order["lines"][0]["id"]
    assert _lines(order)[0] == ("SHOE", "4.00", "36.00")  # 40.00 less 4.00
    # Cancelling one of the four shoes pays back 9.00 (10.00 less its 1.00 share).
    cancelled = await _ok(api, """mutation($input: OrderLinesCancelInput!) {
      orderLinesCancel(input: $input) { order { lines { sku total { amount }
        discountAmount { amount } } payments { refundedAmount { amount } } }
      userErrors { field code message } } }""", {"input": {
        "orderId": order["id"], "lines": [{"lineId": shoe, "quantity": 1}]}})
    assert cancelled["order"]["lines"][0] == {"sku": "SHOE", "total": {"amount": "27.00"},
                                              "discountAmount": {"amount": "3.00"}}
    assert cancelled["order"]["payments"][0]["refundedAmount"] == {"amount": "9.00"}
    # A refund of the rest of the line pays back what was charged for it, no more.
    refund = """mutation($p: ID!, $l: ID!, $a: Decimal!) { paymentRefund(input: {
      paymentId: $p, amount: $a, lines: [{orderLineId: $l, amount: $a}]}) {
      userErrors { code } } }"""
    assert codes((await api(refund, {"p": payment, "l": shoe, "a": "27.01"}))[
        "paymentRefund"]) != []
    await _ok(api, refund, {"p": payment, "l": shoe, "a": "27.00"})


async def test_a_draft_redeems_its_voucher_when_completed(api: GraphQLClient) -> None:
    await _shop({"SHOE": "10.00"})
    await _code(api, "PHONE-5", maxUses=1, promotion={
        "kind": "FIXED", "target": "ORDER", "value": "5", "currency": "EUR"})
    draft = (await _ok(api, """mutation($input: DraftOrderCreateInput!) {
      draftOrderCreate(input: $input) { draftOrder { id voucherCode }
      userErrors { field code message } } }""", {"input": {
        "channel": "web", "email": "ann@example.com", "shippingAddress": factories.address(),
        "lines": [{"sku": "SHOE", "quantity": 2}], "voucherCode": "phone-5"}}))["draftOrder"]
    assert draft["voucherCode"] == "PHONE-5"
    done = await _ok(api, f"""mutation($id: ID!) {{ draftOrderComplete(id: $id) {{
      order {{ {ORDER} }} userErrors {{ field code message }} }} }}""", {"id": draft["id"]})
    assert (done["order"]["subtotal"], done["order"]["discountTotal"]) == (
        {"amount": "15.00"}, {"amount": "5.00"})
    assert (await Voucher.get()).uses == 1


async def test_bad_promotions_and_codes_are_refused_with_the_field_named(
    api: GraphQLClient,
) -> None:
    await _shop({"SHOE": "10.00"})

    async def refused(**fields: Any) -> list[tuple[str, list[str]]]:
        spec = {"name": "X", "kind": "PERCENTAGE", "target": "LINES", "value": "10", **fields}
        payload = (await api(PROMOTION, {"input": spec}))["promotionCreate"]
        assert payload["promotion"] is None
        return [(e["code"], e["field"]) for e in payload["userErrors"]]

    assert await refused(value="0") == [("INVALID_INPUT", ["value"])]
    assert await refused(value="100.5") == [("INVALID_INPUT", ["value"])]
    assert await refused(kind="FIXED", value="5") == [("INVALID_INPUT", ["currency"])]
    assert await refused(kind="FIXED", value="-1", currency="EUR") == [
        ("INVALID_INPUT", ["value"])]
    assert await refused(kind="FIXED", value="5", currency="USD", channels=["web"]) == [
        ("INVALID_INPUT", ["channels", "0"])]
    assert await refused(startsAt="2030-01-02T00:00:00+00:00",
                         endsAt="2030-01-01T00:00:00+00:00") == [("INVALID_INPUT", ["endsAt"])]
    assert await refused(skus=["NOPE"]) == [("UNKNOWN_SKU", ["skus", "0"])]
    promotion = await _promotion(api, requiresCode=True)

    async def codes_refused(*given: str) -> list[tuple[str, list[str]]]:
        payload = (await api(VOUCHERS, {"input": {"promotionId": promotion,
                                                  "codes": list(given)}}))["voucherCreate"]
        assert payload["vouchers"] == []
        return [(e["code"], e["field"]) for e in payload["userErrors"]]

    assert await codes_refused("AB") == [("INVALID_INPUT", ["codes", "0"])]
    assert await codes_refused("NO SPACES") == [("INVALID_INPUT", ["codes", "0"])]
    await _ok(api, VOUCHERS, {"input": {"promotionId": promotion, "codes": ["spring-10"]}})
    assert await codes_refused("SPRING-10") == [("DUPLICATE", ["codes", "0"])]
    automatic = await _promotion(api)
    payload = (await api(VOUCHERS, {"input": {"promotionId": automatic, "codes": ["AUTO"]}}))
    assert codes(payload["voucherCreate"]) == ["INVALID_INPUT"]
    assert await Voucher.all().count() == 1


async def test_fifty_orders_racing_for_a_single_use_code_redeem_it_once(
    api: GraphQLClient, needs_postgres: None,
) -> None:
    await _shop({"SHOE": "10.00"})
    await _code(api, "ONLY-ONE", maxUses=1, promotion={"value": "50"})
    results = await asyncio.gather(*(api(PLACE, _order_input(
        {"SHOE": 1}, email=f"buyer{n}@example.com", voucherCode="ONLY-ONE"))
        for n in range(50)))
    payloads = [r["orderCreate"] for r in results]
    placed = [p["order"] for p in payloads if p["order"]]
    refused = [p for p in payloads if not p["order"]]
    assert len(placed) == 1 and placed[0]["discountTotal"] == {"amount": "5.00"}
    assert all(codes(p) == ["VOUCHER_INVALID"] for p in refused) and len(refused) == 49
    assert await Order.all().count() == 1  # the refused ones wrote nothing
    assert (await Voucher.get()).uses == 1
    assert await VoucherRedemption.all().count() == 1


async def test_twenty_orders_racing_for_five_uses_redeem_exactly_five(
    api: GraphQLClient, needs_postgres: None,
) -> None:
    await _shop({"SHOE": "10.00"})
    await _code(api, "FIVE", maxUses=5)
    results = await asyncio.gather(*(api(PLACE, _order_input(
        {"SHOE": 1}, email=f"buyer{n}@example.com", voucherCode="FIVE")) for n in range(20)))
    placed = [r["orderCreate"]["order"] for r in results if r["orderCreate"]["order"]]
    assert len(placed) == 5
    assert all(o["discountTotal"] == {"amount": "1.00"} for o in placed)
    assert await Order.all().count() == 5
    assert (await Voucher.get()).uses == 5
    assert await VoucherRedemption.all().count() == 5
