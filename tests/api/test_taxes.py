"""Taxes: the merchant's rates, prices with or without tax, rounding per currency, exempt
buyers, and an order's tax kept through edits and refunds. Every figure is worked out by
hand in the comments."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.catalog.models import BackorderPolicy
from domain.orders.models import Order
from domain.taxes.models import TaxRate
from tests import factories
from tests.api.test_invoices import _read_back
from tests.support import ADMIN_TOKEN, GraphQLClient, codes

RATES = """mutation($rates: [TaxRateInput!]!) { taxRatesSet(rates: $rates) {
  taxRates { country region taxClass rate name } userErrors { field code message } } }"""
PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id subtotal { amount } shippingTotal { amount } total { amount currency }
    taxTotal { amount } pricesIncludeTax taxExempt taxNumber
    taxLines { name rate base { amount } amount { amount } }
    lines { id sku quantity unitPrice { amount } total { amount } taxRate taxName
      taxAmount { amount } } }
  payment { id } userErrors { field code message } } }"""
DE_RATES = [{"country": "DE", "taxClass": "STANDARD", "rate": "19", "name": "MwSt. 19%"},
            {"country": "DE", "taxClass": "REDUCED", "rate": "7", "name": "MwSt. 7%"}]


INCLUSIVE = """mutation { channelUpdate(input: {code: "web", pricesIncludeTax: true}) {
  channel { pricesIncludeTax } userErrors { code } } }"""


async def _shop(api: GraphQLClient, *, inclusive: bool = False, currency: str = "EUR",
                prices: dict[str, str] | None = None) -> None:
    await factories.location("wh", country="DE")
    await factories.channel("web", currency=currency, locations=["wh"])
    for sku, price in (prices or {"SHOE": "10.00", "BOOK": "12.99"}).items():
        await factories.product(sku, price=price, currency=currency,
                                backorder=BackorderPolicy.DENY)
        await factories.stock(sku, {"wh": 50})
    if inclusive:
        await _ok(api, INCLUSIVE)


async def _ok(api: GraphQLClient, document: str, variables: Any = None) -> dict[str, Any]:
    payload = next(iter((await api(document, variables)).values()))
    assert payload["userErrors"] == [], payload
    return dict(payload)


async def _place(api: GraphQLClient, lines: dict[str, int], *, shipping: str | None = "standard",
                 email: str = "ann@example.com", **address: Any) -> dict[str, Any]:
    placed = (await api(PLACE, {"input": {
        "channel": "web", "email": email, "shippingMethod": shipping,
        "shippingAddress": factories.address(**address) if address else factories.address(),
        "lines": [{"sku": s, "quantity": q} for s, q in lines.items()],
        "payment": {"provider": "manual", "method": "invoice"}}}))["orderCreate"]
    assert placed["userErrors"] == [], placed
    return placed


def _money(order: dict[str, Any]) -> tuple[str, str, str, str]:
    return (order["subtotal"]["amount"], order["shippingTotal"]["amount"],
            order["taxTotal"]["amount"], order["total"]["amount"])


def _tax_lines(order: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(t["name"], t["rate"], t["base"]["amount"], t["amount"]["amount"])
            for t in order["taxLines"]]


async def _book_is_reduced(api: GraphQLClient) -> None:
    done = (await api('mutation { variantUpdate(input: {sku: "BOOK", taxClass: REDUCED}) '
                      "{ variant { taxClass } userErrors { code } } }"))["variantUpdate"]
    assert done == {"variant": {"taxClass": "REDUCED"}, "userErrors": []}


async def test_prices_without_tax_get_each_rate_added_line_by_line(api: GraphQLClient) -> None:
    await _shop(api)
    await _book_is_reduced(api)
    set_ = (await api(RATES, {"rates": DE_RATES}))["taxRatesSet"]
    assert set_["userErrors"] == [] and len(set_["taxRates"]) == 2
    order = (await _place(api, {"SHOE": 3, "BOOK": 1}))["order"]
    # SHOE 3 x 10.00 = 30.00 + 19% 5.70 = 35.70; BOOK 12.99 + 7% 0.9093 -> 0.91 = 13.90;
    # shipping 4.90 + 19% 0.931 -> 0.93 = 5.83. Subtotal 49.60, tax 7.54, total 55.43.
    assert [(ln["sku"], ln["unitPrice"]["amount"], ln["total"]["amount"], ln["taxRate"],
             ln["taxName"], ln["taxAmount"]["amount"]) for ln in order["lines"]] == [
        ("SHOE", "10.00", "35.70", "19", "MwSt. 19%", "5.70"),
        ("BOOK", "12.99", "13.90", "7", "MwSt. 7%", "0.91")]
    assert _money(order) == ("49.60", "5.83", "7.54", "55.43")
    assert order["pricesIncludeTax"] is False
    # Per rate: goods and shipping at 19% (30.00 + 4.90 taxed 5.70 + 0.93), books at 7%.
    assert _tax_lines(order) == [("MwSt. 19%", "19", "34.90", "6.63"),
                                 ("MwSt. 7%", "7", "12.99", "0.91")]
    # The payment asks for the total, tax included.
    payment = (await api("query($id: ID!) { order(id: $id) { payments { amount { amount } } } }",
                         {"id": order["id"]}))["order"]["payments"]
    assert payment == [{"amount": {"amount": "55.43"}}]


async def test_prices_with_tax_carry_it_inside(api: GraphQLClient) -> None:
    await _shop(api, inclusive=True)
    await _book_is_reduced(api)
    await _ok(api, RATES, {"rates": DE_RATES})
    order = (await _place(api, {"SHOE": 3, "BOOK": 1}))["order"]
    # 30.00 holds 30 x 19/119 = 4.7899 -> 4.79; 12.99 holds 12.99 x 7/107 = 0.8498 -> 0.85;
    # shipping 4.90 holds 4.90 x 19/119 = 0.7824 -> 0.78. Nothing added: total 47.89.
    assert [(ln["total"]["amount"], ln["taxAmount"]["amount"]) for ln in order["lines"]] == [
        ("30.00", "4.79"), ("12.99", "0.85")]
    assert _money(order) == ("42.99", "4.90", "6.42", "47.89")
    assert order["pricesIncludeTax"] is True
    assert _tax_lines(order) == [("MwSt. 19%", "19", "29.33", "5.57"),
                                 ("MwSt. 7%", "7", "12.14", "0.85")]


async def test_currencies_without_decimals_round_to_whole_units(api: GraphQLClient) -> None:
    await _shop(api, currency="JPY", prices={"TEA": "123", "CUP": "1234"})
    await _ok(api, RATES, {"rates": [{"country": "JP", "taxClass": "STANDARD",
                                           "rate": "10"}]})
    order = (await _place(api, {"TEA": 5, "CUP": 3}, shipping=None, country="JP",
                          postalCode="100-0001"))["order"]
    # TEA 5 x 123 = 615, 10% = 61.5 -> 62 (half to even); CUP 3 x 1234 = 3702, 370.2 -> 370.
    assert [(ln["total"]["amount"], ln["taxAmount"]["amount"]) for ln in order["lines"]] == [
        ("677", "62"), ("4072", "370")]
    assert _money(order) == ("4749", "0", "432", "4749")
    assert order["total"]["currency"] == "JPY"
    assert _tax_lines(order) == [("JP 10%", "10", "4317", "432")]  # the default name


async def test_a_region_has_its_own_rate_and_elsewhere_pays_the_countrys(
    api: GraphQLClient,
) -> None:
    await _shop(api, currency="USD", prices={"MUG": "10.00"})
    await _ok(api, RATES, {"rates": [
        {"country": "US", "region": "CA", "taxClass": "STANDARD", "rate": "7.25",
         "name": "CA sales tax"},
        {"country": "US", "taxClass": "STANDARD", "rate": "5"}]})
    rows = await TaxRate.all().order_by("id")
    assert [(r.country, r.region, r.rate) for r in rows] == [
        ("US", "US-CA", Decimal("7.2500")), ("US", None, Decimal("5.0000"))]
    # 10.00 x 7.25% = 0.725 -> 0.72 (half to even) in California; 5% elsewhere in the US.
    california = (await _place(api, {"MUG": 1}, shipping=None, country="US", region="CA",
                               city="Los Angeles", postalCode="90001"))["order"]
    assert _money(california) == ("10.72", "0.00", "0.72", "10.72")
    texas = (await _place(api, {"MUG": 1}, shipping=None, country="US", region="TX",
                          city="Austin", postalCode="73301"))["order"]
    assert _money(texas) == ("10.50", "0.00", "0.50", "10.50")
    # No rate for the country: no tax.
    elsewhere = (await _place(api, {"MUG": 1}, shipping=None, country="FR"))["order"]
    assert _money(elsewhere) == ("10.00", "0.00", "0.00", "10.00")
    assert elsewhere["taxLines"] == []


async def test_an_exempt_buyer_pays_no_tax_with_either_kind_of_price(
    api: GraphQLClient,
) -> None:
    await _shop(api)
    await _ok(api, RATES, {"rates": DE_RATES})
    first = await _place(api, {"SHOE": 1}, shipping=None, email="reseller@example.com")
    customer = (await api("query($id: ID!) { order(id: $id) { customer { id } } }",
                          {"id": first["order"]["id"]}))["order"]["customer"]["id"]
    assert _money(first["order"]) == ("11.90", "0.00", "1.90", "11.90")
    # Exemption needs the number that proves it.
    refused = (await api("""mutation($c: ID!) { customerTaxExemptionSet(customerId: $c,
      exempt: true) { customer { taxExempt } userErrors { field code } } }""", {"c": customer}))
    assert refused["customerTaxExemptionSet"]["userErrors"] == [
        {"field": ["taxNumber"], "code": "INVALID_INPUT"}]
    made = (await api("""mutation($c: ID!) { customerTaxExemptionSet(customerId: $c,
      exempt: true, taxNumber: "DE123456789") { customer { taxExempt taxNumber }
      userErrors { code } } }""", {"c": customer}))["customerTaxExemptionSet"]
    assert made["customer"] == {"taxExempt": True, "taxNumber": "DE123456789"}
    exempt = (await _place(api, {"SHOE": 1}, shipping=None, email="reseller@example.com"))
    assert _money(exempt["order"]) == ("10.00", "0.00", "0.00", "10.00")
    assert (exempt["order"]["taxExempt"], exempt["order"]["taxNumber"]) == (True, "DE123456789")
    # Anyone with the public storefront key who types the reseller's email is taxed like
    # anyone, and learns nothing of the exemption.
    key = (await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))[
        "storefrontKeyCreate"]["key"]
    shopper = (await api.raw(PLACE, {"input": {
        "channel": "web", "email": "reseller@example.com",
        "shippingAddress": factories.address(), "lines": [{"sku": "SHOE", "quantity": 1}]}},
        admin=False, headers={"Authorization": f"Bearer {key}"})).json()["data"]["orderCreate"]
    assert shopper["userErrors"] == []
    assert _money(shopper["order"]) == ("11.90", "0.00", "1.90", "11.90")
    assert (shopper["order"]["taxExempt"], shopper["order"]["taxNumber"]) == (False, None)
    # The order placed before keeps its tax.
    assert [o.tax_total for o in await Order.all().order_by("id")] == [
        Decimal("1.9000"), Decimal(0), Decimal("1.9000")]
    # Prices with tax: the exempt buyer pays them less the tax they hold (11.90 - 1.90).
    await _ok(api, INCLUSIVE)
    await api('mutation { variantUpdate(input: {sku: "SHOE", price: "11.90"}) '
              "{ userErrors { code } } }")
    inclusive = (await _place(api, {"SHOE": 1}, shipping=None, email="reseller@example.com"))
    assert _money(inclusive["order"]) == ("10.00", "0.00", "0.00", "10.00")


async def test_an_edit_and_a_refund_keep_the_tax_of_the_lines(api: GraphQLClient) -> None:
    await _shop(api)
    await _book_is_reduced(api)
    await _ok(api, RATES, {"rates": DE_RATES})
    placed = await _place(api, {"SHOE": 3, "BOOK": 1})  # 55.43, as above
    order_id = placed["order"]["id"]
    await api("mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) { userErrors "
              "{ code } } }", {"p": placed["payment"]["id"]})
    # A rate changed afterwards changes nothing of the order placed.
    await _ok(api, RATES, {"rates": [{"country": "DE", "taxClass": "STANDARD",
                                           "rate": "20"}]})
    edit = (await api("mutation($id: ID!) { orderEditBegin(orderId: $id) { calculatedOrder "
                      "{ id } } }", {"id": order_id}))["orderEditBegin"]["calculatedOrder"]["id"]
    shoe = next(ln["id"] for ln in placed["order"]["lines"] if ln["sku"] == "SHOE")
    calc = (await api("""mutation($e: ID!, $l: ID!) { orderEditSetQuantity(input: {editId: $e,
      lineId: $l, quantity: 2}) { calculatedOrder { total { amount } balance { amount }
      lines { sku total { amount } } } } }""", {"e": edit, "l": shoe}))[
        "orderEditSetQuantity"]["calculatedOrder"]
    # SHOE 2 x 10.00 at the line's 19%: 20.00 + 3.80 = 23.80; total 55.43 - 11.90 = 43.53.
    assert [ln["total"]["amount"] for ln in calc["lines"]] == ["23.80", "13.90"]
    assert (calc["total"], calc["balance"]) == ({"amount": "43.53"}, {"amount": "-11.90"})
    committed = (await api("""mutation($id: ID!) { orderEditCommit(id: $id) {
      order { taxTotal { amount } payments { refundedAmount { amount } } }
      userErrors { code } } }""", {"id": edit}))["orderEditCommit"]
    assert committed["userErrors"] == []
    # Tax 3.80 + 0.91 + 0.93 = 5.64; the 11.90 refunded holds its 1.90 of tax.
    assert committed["order"]["taxTotal"] == {"amount": "5.64"}
    assert committed["order"]["payments"][0]["refundedAmount"] == {"amount": "11.90"}
    # A refund of the book pays back what was charged for it, tax included.
    book = next(ln["id"] for ln in placed["order"]["lines"] if ln["sku"] == "BOOK")
    refunded = (await api("""mutation($p: ID!, $l: ID!) { paymentRefund(input: {paymentId: $p,
      amount: "13.90", lines: [{orderLineId: $l, amount: "13.90"}]}) { userErrors { code
      message } } }""", {"p": placed["payment"]["id"], "l": book}))["paymentRefund"]
    assert refunded["userErrors"] == []
    over = (await api("""mutation($p: ID!, $l: ID!) { paymentRefund(input: {paymentId: $p,
      amount: "0.01", lines: [{orderLineId: $l, amount: "0.01"}]}) { userErrors { code } } }""",
                      {"p": placed["payment"]["id"], "l": book}))["paymentRefund"]
    assert codes(over) != []  # nothing of the book is left to refund


async def test_bad_rates_are_refused_and_change_nothing(api: GraphQLClient) -> None:
    await _shop(api)
    await api(RATES, {"rates": DE_RATES})

    async def refused(rates: list[dict[str, Any]]) -> list[tuple[list[str] | None, str]]:
        payload = (await api(RATES, {"rates": rates}))["taxRatesSet"]
        assert payload["taxRates"] == []
        return [(e["field"], e["code"]) for e in payload["userErrors"]]

    assert await refused([]) == [(["rates"], "INVALID_INPUT")]
    assert await refused([{"country": "XX", "taxClass": "STANDARD", "rate": "5"}]) == [
        (["rates", "0", "country"], "INVALID_INPUT")]
    assert await refused([{"country": "DE", "region": "Texas", "taxClass": "STANDARD",
                           "rate": "5"}]) == [(["rates", "0", "region"], "INVALID_INPUT")]
    for rate in ("100", "-1", "7.12345"):
        assert await refused([{"country": "DE", "taxClass": "STANDARD", "rate": rate}]) == [
            (["rates", "0", "rate"], "INVALID_INPUT")]
    assert await refused([{"country": "DE", "taxClass": "STANDARD", "rate": "5"},
                          {"country": "de", "taxClass": "STANDARD", "rate": "6"}]) == [
        (["rates", "1", "country"], "INVALID_INPUT")]
    assert await refused([{"country": "DE", "taxClass": "ZERO", "rate": "0",
                           "name": "x" * 65},
                          {"country": "XX", "taxClass": "ZERO", "rate": "0"}]) == [
        (["rates", "0", "name"], "INVALID_INPUT"), (["rates", "1", "country"], "INVALID_INPUT")]
    deleted = (await api("""mutation { taxRatesDelete(rates: [{country: "DE",
      taxClass: ZERO}]) { deleted userErrors { field code } } }"""))["taxRatesDelete"]
    assert deleted == {"deleted": 0, "userErrors": [{"field": ["rates", "0"],
                                                     "code": "NOT_FOUND"}]}
    assert [(r.tax_class, r.rate) for r in await TaxRate.all().order_by("id")] == [
        ("STANDARD", Decimal("19.0000")), ("REDUCED", Decimal("7.0000"))]
    listed = (await api('{ taxRates(country: "de") { taxClass rate name } }'))["taxRates"]
    assert listed == [{"taxClass": "REDUCED", "rate": "7", "name": "MwSt. 7%"},
                      {"taxClass": "STANDARD", "rate": "19", "name": "MwSt. 19%"}]
    wrong = await api.errors('{ taxRates(country: "Germany") { name } }')
    assert wrong[0]["extensions"]["code"] == "BAD_REQUEST"
    gone = (await api("""mutation { taxRatesDelete(rates: [{country: "DE",
      taxClass: REDUCED}]) { deleted userErrors { code } } }"""))["taxRatesDelete"]
    assert gone == {"deleted": 1, "userErrors": []}


async def _paid_german_order(api: GraphQLClient) -> dict[str, Any]:
    """3 SHOE and a BOOK (reduced rate) with standard shipping: 55.43, as above, paid."""
    await _shop(api)
    await _book_is_reduced(api)
    await _ok(api, RATES, {"rates": DE_RATES})
    placed = await _place(api, {"SHOE": 3, "BOOK": 1})
    await _ok(api, "mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) "
                   "{ userErrors { code } } }", {"p": placed["payment"]["id"]})
    return placed


async def test_the_invoice_is_net_with_the_tax_per_rate_added(api: GraphQLClient,
                                                             tmp_path: Path) -> None:
    placed = await _paid_german_order(api)
    invoice = (await api("""query($id: ID!) { order(id: $id) { invoices { pdfUrl
      lines { sku quantity unitPrice { amount } total { amount } taxRate }
      taxLines { name rate taxable { amount } tax { amount } }
      totals { subtotal { amount } shipping { amount } tax { amount } total { amount } } } } }""",
                         {"id": placed["order"]["id"]}))["order"]["invoices"][0]
    assert [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["total"]["amount"],
             ln["taxRate"]) for ln in invoice["lines"]] == [
        ("SHOE", 3, "10.00", "30.00", "19"), ("BOOK", 1, "12.99", "12.99", "7")]
    assert [(t["name"], t["rate"], t["taxable"]["amount"], t["tax"]["amount"])
            for t in invoice["taxLines"]] == [("MwSt. 19%", "19", "34.90", "6.63"),
                                              ("MwSt. 7%", "7", "12.99", "0.91")]
    # Net goods 42.99 + net shipping 4.90 + tax 7.54 = 55.43, what the customer paid.
    assert {k: v["amount"] for k, v in invoice["totals"].items()} == {
        "subtotal": "42.99", "shipping": "4.90", "tax": "7.54", "total": "55.43"}
    # The PDF says the same (kept as PDF and PNG in the test's folder).
    pdf = await api.http.get(invoice["pdfUrl"], headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert pdf.status_code == 200
    inked, text = await asyncio.to_thread(_read_back, pdf.content, tmp_path, "taxed")
    assert inked > 0.005, "the page is blank"
    for expected in ("19%", "7%", "MwSt. 19% on 34.90 EUR", "6.63 EUR", "MwSt. 7% on 12.99 EUR",
                     "0.91 EUR", "42.99 EUR", "55.43 EUR"):
        assert expected in text, (expected, text)


async def test_the_tax_report_shows_what_is_owed_per_rate(api: GraphQLClient) -> None:
    placed = await _paid_german_order(api)
    book = next(ln["id"] for ln in placed["order"]["lines"] if ln["sku"] == "BOOK")
    await _ok(api, """mutation($p: ID!, $l: ID!) { paymentRefund(input: {paymentId: $p,
      amount: "13.90", lines: [{orderLineId: $l, amount: "13.90"}]}) { userErrors { code } } }""",
              {"p": placed["payment"]["id"], "l": book})
    cancelled = await _place(api, {"SHOE": 1}, email="gone@example.com")
    await _ok(api, "mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }",
              {"id": cancelled["order"]["id"]})
    today = (await Order.get(id=1)).created_at.date().isoformat()
    report = (await api("""query($d: Date!) { taxReport(from: $d, to: $d) { currency name rate
      taxable { amount } tax { amount } refunded { amount } net { amount } } }""",
                        {"d": today}))["taxReport"]
    # 19%: SHOE 30.00 + shipping 4.90 taxed 5.70 + 0.93; 7%: BOOK 12.99 taxed 0.91, refunded
    # in full with the book. The cancelled order owes nothing.
    assert [(r["currency"], r["name"], r["rate"], r["taxable"]["amount"], r["tax"]["amount"],
             r["refunded"]["amount"], r["net"]["amount"]) for r in report] == [
        ("EUR", "MwSt. 19%", "19", "34.90", "6.63", "0.00", "6.63"),
        ("EUR", "MwSt. 7%", "7", "12.99", "0.91", "0.91", "0.00")]
    bad = await api.errors("""{ taxReport(from: "2026-02-01", to: "2026-01-01") { name } }""")
    assert bad and bad[0]["extensions"]["code"] == "BAD_REQUEST"


CANCEL_ONE = """mutation($o: ID!, $l: ID!) { orderLinesCancel(input: {orderId: $o,
  lines: [{lineId: $l, quantity: 1}]}) { order { total { amount } taxTotal { amount }
  payments { refundedAmount { amount } } } userErrors { code message } } }"""
DOCUMENTS = """query($id: ID!) { order(id: $id) { invoices { number
  lines { sku total { amount } } totals { total { amount } tax { amount } }
  creditNotes { lines { sku quantity total { amount } taxRate }
    taxLines { name taxable { amount } tax { amount } }
    totals { subtotal { amount } tax { amount } total { amount } } } } } }"""


async def test_cancelling_part_of_an_invoiced_line_credits_it_with_its_tax(
    api: GraphQLClient,
) -> None:
    placed = await _paid_german_order(api)  # invoiced when paid: 55.43
    shoe = next(ln["id"] for ln in placed["order"]["lines"] if ln["sku"] == "SHOE")
    cut = (await api(CANCEL_ONE, {"o": placed["order"]["id"], "l": shoe}))["orderLinesCancel"]
    # One SHOE of 10.00 + 19% = 11.90 back; 1.90 of it was tax.
    assert cut["userErrors"] == [] and cut["order"]["total"] == {"amount": "43.53"}
    assert cut["order"]["taxTotal"] == {"amount": "5.64"}
    [invoice] = (await api(DOCUMENTS, {"id": placed["order"]["id"]}))["order"]["invoices"]
    [note] = invoice["creditNotes"]
    assert [(ln["sku"], ln["quantity"], ln["total"]["amount"], ln["taxRate"])
            for ln in note["lines"]] == [("SHOE", 1, "10.00", "19")]
    assert [(t["name"], t["taxable"]["amount"], t["tax"]["amount"])
            for t in note["taxLines"]] == [("MwSt. 19%", "10.00", "1.90")]
    assert {k: v["amount"] for k, v in note["totals"].items()} == {
        "subtotal": "10.00", "tax": "1.90", "total": "11.90"}


async def test_an_invoice_issued_after_a_cancellation_is_not_credited_for_it(
    api: GraphQLClient,
) -> None:
    await api("""mutation { invoiceSettingsUpdate(input: {issueOn: MANUAL}) {
      userErrors { code } } }""")
    placed = await _paid_german_order(api)
    shoe = next(ln["id"] for ln in placed["order"]["lines"] if ln["sku"] == "SHOE")
    assert (await api(CANCEL_ONE, {"o": placed["order"]["id"], "l": shoe}))[
        "orderLinesCancel"]["userErrors"] == []
    issued = (await api("""mutation($o: ID!) { invoiceIssue(orderId: $o) {
      userErrors { code } } }""", {"o": placed["order"]["id"]}))["invoiceIssue"]
    assert issued["userErrors"] == []
    # The invoice shows the order as it is (43.53): the 11.90 refunded is not in it, and no
    # credit note takes it off a second time.
    [invoice] = (await api(DOCUMENTS, {"id": placed["order"]["id"]}))["order"]["invoices"]
    assert invoice["totals"] == {"total": {"amount": "43.53"}, "tax": {"amount": "5.64"}}
    assert invoice["creditNotes"] == []


async def test_an_exempt_buyer_of_prices_with_tax_gets_back_what_they_paid(
    api: GraphQLClient,
) -> None:
    await _shop(api, inclusive=True)
    await _ok(api, RATES, {"rates": DE_RATES})
    first = await _place(api, {"BOOK": 1}, shipping=None, email="charity@example.com")
    customer = (await api("query($id: ID!) { order(id: $id) { customer { id } } }",
                          {"id": first["order"]["id"]}))["order"]["customer"]["id"]
    await _ok(api, """mutation($c: ID!) { customerTaxExemptionSet(customerId: $c, exempt: true,
      taxNumber: "DE111") { userErrors { code } } }""", {"c": customer})
    placed = await _place(api, {"SHOE": 2}, shipping=None, email="charity@example.com")
    # 20.00 holds 20 x 19/119 = 3.19 of tax: the exempt buyer pays 16.81.
    assert _money(placed["order"]) == ("16.81", "0.00", "0.00", "16.81")
    assert placed["order"]["taxLines"] == []
    await _ok(api, "mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) "
                   "{ userErrors { code } } }", {"p": placed["payment"]["id"]})
    shoe = placed["order"]["lines"][0]["id"]
    cut = (await api(CANCEL_ONE, {"o": placed["order"]["id"], "l": shoe}))["orderLinesCancel"]
    # The shoe left costs 10.00 less its 1.60 of tax: 8.40; 8.41 goes back.
    assert cut["userErrors"] == [] and cut["order"]["total"] == {"amount": "8.40"}
    assert cut["order"]["payments"][0]["refundedAmount"] == {"amount": "8.41"}
