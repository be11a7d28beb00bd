"""Companies (B2B): a company's price list over the customer group's, its tax exemption,
PO numbers, payment terms with due dates and overdue orders, the credit limit (checked
atomically, under concurrency too), and its account as its contacts and staff see it.

The shop: SHOE at 10.00 EUR (its own price), 100 in stock at "a", channel web (EUR),
prices without tax, no shipping method (so no shipping).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.graphql.relay import to_global_id
from domain.companies import service as companies
from domain.customers.models import Customer
from domain.inventory.models import StockLevel
from domain.orders.models import Order
from tests import factories
from tests.api.test_customers_and_guests import _register, bearer
from tests.support import GraphQLClient

CREATE = """mutation($input: CompanyCreateInput!) { companyCreate(input: $input) {
  company { id code name taxExempt taxNumber paymentTerms creditLimit { amount currency }
    poRequired active priceList { code } }
  userErrors { field code message } } }"""
UPDATE = """mutation($input: CompanyUpdateInput!) { companyUpdate(input: $input) {
  company { id paymentTerms creditLimit { amount currency } poRequired }
  userErrors { field code message } } }"""
CONTACT = """mutation($input: CompanyContactAddInput!) { companyContactAdd(input: $input) {
  company { contacts { role customer { email } } } userErrors { field code message } } }"""
UNCONTACT = """mutation($c: ID!, $u: ID!) { companyContactRemove(companyId: $c, customerId: $u) {
  company { contacts { role } } userErrors { field code message } } }"""
LOCATION = """mutation($input: CompanyLocationAddInput!) { companyLocationAdd(input: $input) {
  location { id name address { city country } } userErrors { field code message } } }"""
UNLOCATE = """mutation($id: ID!) { companyLocationRemove(id: $id) { deletedId
  userErrors { field code message } } }"""
PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number total { amount currency } taxTotal { amount } taxExempt taxNumber
    poNumber paymentTerms paymentDueAt createdAt company { code }
    lines { unitPrice { amount } total { amount } priceListCode taxRate } }
  payment { id provider method status }
  userErrors { field code message } } }"""
ACCOUNT = """query($id: ID!) { company(id: $id) { code
  contacts { customer { email } } locations { name }
  orders { edges { node { number total { amount } } } }
  balance { amount currency }
  openInvoices { edges { node { invoice { number } amountDue { amount currency } dueAt
    order { number } } } }
  overdueOrders { edges { node { number } } } } }"""
OVERDUE = "{ overdueOrders { edges { node { number paymentDueAt company { code } } } } }"
CAPTURE = """mutation($p: ID!, $a: Decimal) { paymentCapture(input: {paymentId: $p, amount: $a})
  { userErrors { code message } } }"""
RATES = """mutation($rates: [TaxRateInput!]!) { taxRatesSet(rates: $rates) {
  userErrors { field code message } } }"""


async def _shop() -> None:
    await factories.shop({"SHOE": {"a": 100}})


async def _company(api: GraphQLClient, code: str = "acme", **fields: Any) -> str:
    created = (await api(CREATE, {"input": {"code": code, "name": code.title(), **fields}}
                         ))["companyCreate"]
    assert created["userErrors"] == [], created
    return str(created["company"]["id"])


async def _customer(email: str) -> str:
    customer = await Customer.create(email=email)
    return str(to_global_id("Customer", customer.id))


async def _contact(api: GraphQLClient, company: str, customer: str,
                   role: str | None = None) -> None:
    done = (await api(CONTACT, {"input": {"companyId": company, "customerId": customer,
                                          **({"role": role} if role else {})}}
                      ))["companyContactAdd"]
    assert done["userErrors"] == [], done


def _order(company: str | None, customer: str | None, quantity: int = 1,
           **extra: Any) -> dict[str, Any]:
    return {"input": {"channel": "web", "shippingAddress": factories.address(),
                      "lines": [{"sku": "SHOE", "quantity": quantity}],
                      **({"companyId": company} if company else {}),
                      **({"customerId": customer} if customer else {}), **extra}}


def _errors(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _reserved() -> int:
    return sum(level.reserved for level in await StockLevel.all())


async def test_a_company_is_created_changed_and_checked(api: GraphQLClient) -> None:
    await _shop()
    created = (await api(CREATE, {"input": {
        "code": "acme", "name": "Acme GmbH", "taxExempt": True, "taxNumber": "DE123456789",
        "paymentTerms": "NET_30", "creditLimit": "1000.00", "creditCurrency": "EUR",
        "poRequired": True}}))["companyCreate"]
    assert created["userErrors"] == []
    assert {k: v for k, v in created["company"].items() if k != "id"} == {
        "code": "acme", "name": "Acme GmbH", "taxExempt": True, "taxNumber": "DE123456789",
        "paymentTerms": "NET_30", "creditLimit": {"amount": "1000.00", "currency": "EUR"},
        "poRequired": True, "active": True, "priceList": None}
    company = created["company"]["id"]

    async def refused(fields: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
        payload = (await api(CREATE, {"input": {"code": "x", "name": "X", **fields}}
                             ))["companyCreate"]
        assert payload["company"] is None
        return _errors(payload)

    assert await refused({"code": "acme"}) == [(["code"], "DUPLICATE")]
    assert await refused({"taxExempt": True}) == [(["taxNumber"], "INVALID_INPUT")]
    assert await refused({"creditLimit": "10"}) == [(["creditCurrency"], "INVALID_INPUT")]
    assert await refused({"creditLimit": "10.001", "creditCurrency": "EUR"}) == [
        (["creditLimit"], "INVALID_INPUT")]
    assert await refused({"code": "bad code", "name": " "}) == [
        (["code"], "INVALID_INPUT"), (["name"], "INVALID_INPUT")]
    assert await refused({"priceListId": to_global_id("PriceList", 999)}) == [
        (["priceListId"], "NOT_FOUND")]

    orphan = (await api(UPDATE, {"input": {"id": company, "creditCurrency": None}}
                        ))["companyUpdate"]
    assert _errors(orphan) == [(["creditCurrency"], "INVALID_INPUT")]
    changed = (await api(UPDATE, {"input": {"id": company, "paymentTerms": "NET_60",
                                            "creditLimit": None, "poRequired": False}}
                         ))["companyUpdate"]
    assert changed == {"company": {"id": company, "paymentTerms": "NET_60",
                                   "creditLimit": None, "poRequired": False},
                       "userErrors": []}

    # Locations: addresses checked as every address is.
    bad = (await api(LOCATION, {"input": {"companyId": company, "name": "HQ", "address": {
        "name": "Acme", "line1": "1 Main St", "city": "Berlin", "country": "XX"}}}
                     ))["companyLocationAdd"]
    assert bad["location"] is None and bad["userErrors"][0]["code"] in (
        "INVALID_ADDRESS", "INVALID_INPUT")
    added = (await api(LOCATION, {"input": {"companyId": company, "name": "HQ",
                                            "address": factories.address()}}
                       ))["companyLocationAdd"]
    assert added["userErrors"] == [] and added["location"]["address"]["country"] == "DE"
    removed = (await api(UNLOCATE, {"id": added["location"]["id"]}))["companyLocationRemove"]
    assert removed == {"deletedId": added["location"]["id"], "userErrors": []}

    # Contacts: a customer buys for one company at most.
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann, "BUYER")
    other = await _company(api, "other")
    taken = (await api(CONTACT, {"input": {"companyId": other, "customerId": ann}}
                       ))["companyContactAdd"]
    assert _errors(taken) == [(["customerId"], "DUPLICATE")]
    gone = (await api(UNCONTACT, {"c": company, "u": ann}))["companyContactRemove"]
    assert gone == {"company": {"contacts": []}, "userErrors": []}
    again = (await api(UNCONTACT, {"c": company, "u": ann}))["companyContactRemove"]
    assert _errors(again) == [(["customerId"], "NOT_FOUND")]


async def test_the_company_price_list_beats_the_customer_group(api: GraphQLClient) -> None:
    await _shop()
    for code in ("trade", "acme-only"):
        await api('mutation($c: String!) { customerGroupCreate(input: {code: $c, name: $c}) '
                  "{ userErrors { code } } }", {"c": code})
    lists = {}
    for code, group, amount in (("trade", "trade", "9.00"), ("acme", "acme-only", "8.00")):
        created = (await api('mutation($c: String!, $g: String) { priceListCreate(input: '
                             '{code: $c, name: $c, channel: "web", currency: "EUR", '
                             "customerGroup: $g}) { priceList { id } } }",
                             {"c": code, "g": group}))["priceListCreate"]["priceList"]["id"]
        await api('mutation($l: ID!, $a: Decimal!) { priceListEntriesSet(input: {priceListId: '
                  '$l, entries: [{sku: "SHOE", amount: $a}]}) { userErrors { code } } }',
                  {"l": created, "a": amount})
        lists[code] = created
    company = await _company(api, priceListId=lists["acme"])
    ann = await _customer("ann@acme.example")
    await api('mutation($c: ID!) { customerGroupSet(customerId: $c, group: "trade") '
              "{ userErrors { code } } }", {"c": ann})
    await _contact(api, company, ann)

    for_company = (await api(PLACE, _order(company, ann, 2)))["orderCreate"]
    assert for_company["userErrors"] == []
    # 2 x 8.00 (the company's list, over the group's 9.00) = 16.00
    assert for_company["order"]["lines"] == [
        {"unitPrice": {"amount": "8.00"}, "total": {"amount": "16.00"},
         "priceListCode": "acme", "taxRate": "0"}]
    assert for_company["order"]["company"] == {"code": "acme"}
    # The same customer for themselves: the group's 9.00; a stranger: the SHOE's 10.00.
    own = (await api(PLACE, _order(None, ann, 2)))["orderCreate"]["order"]
    assert (own["lines"][0]["unitPrice"], own["lines"][0]["priceListCode"], own["company"]) \
        == ({"amount": "9.00"}, "trade", None)
    stranger = (await api(PLACE, _order(None, None, 2, email="bo@example.com")
                          ))["orderCreate"]["order"]
    assert stranger["lines"][0]["unitPrice"] == {"amount": "10.00"}
    # A line an edit adds to the company's order is priced at the company's list too.
    edit = (await api("mutation($id: ID!) { orderEditBegin(orderId: $id) { calculatedOrder "
                      "{ id } } }", {"id": for_company["order"]["id"]})
            )["orderEditBegin"]["calculatedOrder"]["id"]
    added = (await api('mutation($e: ID!) { orderEditAddLine(input: {editId: $e, sku: "SHOE", '
                       "quantity: 1}) { calculatedOrder { total { amount } } "
                       "userErrors { code } } }", {"e": edit}))["orderEditAddLine"]
    assert added == {"calculatedOrder": {"total": {"amount": "24.00"}}, "userErrors": []}


async def test_a_tax_exempt_company_pays_no_tax(api: GraphQLClient) -> None:
    await _shop()
    assert (await api(RATES, {"rates": [{"country": "DE", "taxClass": "STANDARD",
                                         "rate": "19"}]}))["taxRatesSet"]["userErrors"] == []
    company = await _company(api, taxExempt=True, taxNumber="DE123456789")
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    exempt = (await api(PLACE, _order(company, ann, 3)))["orderCreate"]["order"]
    # 3 x 10.00 = 30.00, no tax
    assert (exempt["total"], exempt["taxTotal"], exempt["taxExempt"], exempt["taxNumber"]) == (
        {"amount": "30.00", "currency": "EUR"}, {"amount": "0.00"}, True, "DE123456789")
    # For herself: 30.00 + 19% 5.70 = 35.70
    taxed = (await api(PLACE, _order(None, ann, 3)))["orderCreate"]["order"]
    assert (taxed["total"]["amount"], taxed["taxTotal"]["amount"], taxed["taxExempt"]) == (
        "35.70", "5.70", False)


async def test_a_po_number_is_required_where_the_company_says_so(api: GraphQLClient) -> None:
    await _shop()
    company = await _company(api, poRequired=True)
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    refused = (await api(PLACE, _order(company, ann)))["orderCreate"]
    assert refused["order"] is None and _errors(refused) == [(["poNumber"], "INVALID_INPUT")]
    assert await Order.all().count() == 0 and await _reserved() == 0
    placed = (await api(PLACE, _order(company, ann, poNumber="PO-77")))["orderCreate"]
    assert placed["userErrors"] == [] and placed["order"]["poNumber"] == "PO-77"
    # Not a contact of the company: refused too.
    bo = await _customer("bo@example.com")
    stranger = (await api(PLACE, _order(company, bo, poNumber="PO-78")))["orderCreate"]
    assert _errors(stranger) == [(["customerId"], "INVALID_INPUT")]
    # An inactive company takes no orders.
    await api(UPDATE, {"input": {"id": company, "active": False}})
    closed = (await api(PLACE, _order(company, ann, poNumber="PO-79")))["orderCreate"]
    assert _errors(closed) == [(["companyId"], "INVALID_INPUT")]


async def test_net_30_orders_are_due_in_30_days_and_overdue_after(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _shop()
    company = await _company(api, paymentTerms="NET_30")
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    placed_at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    monkeypatch.setattr(companies, "clock", lambda: placed_at)
    placed = (await api(PLACE, _order(company, ann, 4)))["orderCreate"]
    assert placed["userErrors"] == []
    order = placed["order"]
    assert order["paymentTerms"] == "NET_30"
    assert datetime.fromisoformat(order["paymentDueAt"]) == placed_at + timedelta(days=30)
    # Placed without paying: a manual invoice payment waits for the money.
    assert {k: placed["payment"][k] for k in ("provider", "method", "status")} == {
        "provider": "manual", "method": "invoice", "status": "PENDING"}

    async def overdue() -> list[str]:
        return [e["node"]["number"] for e in (await api(OVERDUE))["overdueOrders"]["edges"]]

    monkeypatch.setattr(companies, "clock", lambda: placed_at + timedelta(days=29))
    assert await overdue() == []
    monkeypatch.setattr(companies, "clock", lambda: placed_at + timedelta(days=31))
    assert await overdue() == [order["number"]]
    account = (await api(ACCOUNT, {"id": company}))["company"]
    assert account["overdueOrders"]["edges"] == [{"node": {"number": order["number"]}}]
    # Part paid: still overdue; paid in full (40.00): not any more.
    assert (await api(CAPTURE, {"p": placed["payment"]["id"], "a": "15.00"})
            )["paymentCapture"]["userErrors"] == []
    assert await overdue() == [order["number"]]
    assert (await api(ACCOUNT, {"id": company}))["company"]["balance"] == [
        {"amount": "25.00", "currency": "EUR"}]
    assert (await api(CAPTURE, {"p": placed["payment"]["id"], "a": "25.00"})
            )["paymentCapture"]["userErrors"] == []
    assert await overdue() == []
    assert (await api(ACCOUNT, {"id": company}))["company"]["balance"] == []


async def test_due_on_receipt_is_due_when_placed(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _shop()
    company = await _company(api)
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    placed_at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    monkeypatch.setattr(companies, "clock", lambda: placed_at)
    placed = (await api(PLACE, _order(company, ann)))["orderCreate"]
    assert placed["order"]["paymentTerms"] == "DUE_ON_RECEIPT"
    assert datetime.fromisoformat(placed["order"]["paymentDueAt"]) == placed_at
    assert placed["payment"] is None  # paid as any order is


async def test_the_credit_limit_refuses_what_would_exceed_it(api: GraphQLClient) -> None:
    await _shop()
    company = await _company(api, creditLimit="100.00", creditCurrency="EUR")
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    first = (await api(PLACE, _order(company, ann, 6)))["orderCreate"]  # 60.00
    assert first["userErrors"] == [] and first["order"]["total"]["amount"] == "60.00"
    # 60.00 owed + 50.00 > 100.00: refused, nothing written, nothing reserved.
    second = (await api(PLACE, _order(company, ann, 5)))["orderCreate"]
    assert second["order"] is None
    assert _errors(second) == [(["companyId"], "CREDIT_LIMIT_EXCEEDED")]
    assert "60.00" in second["userErrors"][0]["message"]
    assert await Order.all().count() == 1 and await _reserved() == 6
    assert (await api(ACCOUNT, {"id": company}))["company"]["balance"] == [
        {"amount": "60.00", "currency": "EUR"}]
    # Once the first is paid, the second fits.
    await factories.pay(await Order.get(number=first["order"]["number"]))
    again = (await api(PLACE, _order(company, ann, 5)))["orderCreate"]
    assert again["userErrors"] == [], again
    assert (await api(ACCOUNT, {"id": company}))["company"]["balance"] == [
        {"amount": "50.00", "currency": "EUR"}]
    exact = (await api(PLACE, _order(company, ann, 5)))["orderCreate"]  # 50 + 50 = 100
    assert exact["userErrors"] == []
    over = (await api(PLACE, _order(company, ann, 1)))["orderCreate"]
    assert _errors(over) == [(["companyId"], "CREDIT_LIMIT_EXCEEDED")]
    # A cancelled order owes nothing.
    await api("mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }",
              {"id": exact["order"]["id"]})
    assert (await api(PLACE, _order(company, ann, 1)))["orderCreate"]["userErrors"] == []


async def test_concurrent_orders_never_pass_the_credit_limit(
    api: GraphQLClient, needs_postgres: None,
) -> None:
    await _shop()
    company = await _company(api, creditLimit="100.00", creditCurrency="EUR")
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    results = await asyncio.gather(*(api(PLACE, _order(company, ann, 3)) for _ in range(10)))
    payloads = [r["orderCreate"] for r in results]
    placed = [p for p in payloads if p["order"]]
    # 3 x 30.00 = 90.00; a fourth would make 120.00
    assert len(placed) == 3
    assert all(_errors(p) == [(["companyId"], "CREDIT_LIMIT_EXCEEDED")]
               for p in payloads if not p["order"])
    assert await Order.all().count() == 3 and await _reserved() == 9


async def test_a_contact_sees_its_company_account_and_nobody_else_does(
    api: GraphQLClient,
) -> None:
    await _shop()
    company = await _company(api, paymentTerms="NET_15")
    await api(LOCATION, {"input": {"companyId": company, "name": "HQ",
                                   "address": factories.address()}})
    tokens = await _register(api, "ann@acme.example")
    ann = await Customer.get(email="ann@acme.example")
    await _contact(api, company, str(to_global_id("Customer", ann.id)), "ADMIN")
    headers = bearer(tokens["accessToken"])
    placed = (await api(PLACE, {"input": {"channel": "web", "companyId": company,
                                          "shippingAddress": factories.address(),
                                          "lines": [{"sku": "SHOE", "quantity": 2}]}},
                        admin=False, headers=headers))["orderCreate"]
    assert placed["userErrors"] == [] and placed["order"]["company"] == {"code": "acme"}
    number = placed["order"]["number"]
    # A colleague's order, placed by staff for the company, is in the account too.
    colleague = await _customer("cy@acme.example")
    await _contact(api, company, colleague)
    by_staff = (await api(PLACE, _order(company, colleague, 1)))["orderCreate"]["order"]
    invoice = (await api("mutation($o: ID!) { invoiceIssue(orderId: $o) { invoice { number } "
                         "userErrors { code } } }", {"o": placed["order"]["id"]})
               )["invoiceIssue"]["invoice"]["number"]

    account = (await api(ACCOUNT, {"id": company}, admin=False, headers=headers))["company"]
    assert account["code"] == "acme"
    # Its colleague is a contact too; their customer record is their own.
    assert account["contacts"] == [{"customer": {"email": "ann@acme.example"}},
                                   {"customer": None}]
    assert account["locations"] == [{"name": "HQ"}]
    assert [e["node"] for e in account["orders"]["edges"]] == [
        {"number": by_staff["number"], "total": {"amount": "10.00"}},
        {"number": number, "total": {"amount": "20.00"}}]
    assert account["balance"] == [{"amount": "30.00", "currency": "EUR"}]
    [open_invoice] = [e["node"] for e in account["openInvoices"]["edges"]]
    assert open_invoice["invoice"]["number"] == invoice
    assert open_invoice["amountDue"] == {"amount": "20.00", "currency": "EUR"}
    assert open_invoice["order"] == {"number": number}
    assert open_invoice["dueAt"] == placed["order"]["paymentDueAt"]
    assert account["overdueOrders"]["edges"] == []

    # Another customer: the company is not there for them, nor may they order for it.
    other = bearer((await _register(api, "bo@example.com"))["accessToken"])
    assert (await api(ACCOUNT, {"id": company}, admin=False, headers=other)) == {
        "company": None}
    refused = (await api(PLACE, {"input": {"channel": "web", "companyId": company,
                                           "shippingAddress": factories.address(),
                                           "lines": [{"sku": "SHOE", "quantity": 1}]}},
                         admin=False, headers=other))["orderCreate"]
    assert _errors(refused) == [(["companyId"], "NOT_FOUND")]
    # Nor do they see the company's orders.
    seen = (await api("{ orders { edges { node { number } } } }", admin=False,
                      headers=other))["orders"]["edges"]
    assert seen == []


async def test_a_draft_for_a_company_completes_on_its_terms(api: GraphQLClient) -> None:
    await _shop()
    company = await _company(api, paymentTerms="NET_60", poRequired=True,
                             creditLimit="25.00", creditCurrency="EUR")
    ann = await _customer("ann@acme.example")
    await _contact(api, company, ann)
    draft = (await api('mutation($c: ID!, $u: ID!) { draftOrderCreate(input: {channel: "web", '
                       'companyId: $c, customerId: $u, lines: [{sku: "SHOE", quantity: 3}], '
                       'shippingAddress: {name: "Ann", line1: "1 Main St", city: "Berlin", '
                       'postalCode: "10115", country: "DE"}}) { draftOrder { id companyId } '
                       "userErrors { code } } }", {"c": company, "u": ann})
             )["draftOrderCreate"]["draftOrder"]
    assert draft["companyId"] == company
    complete = ("mutation($id: ID!) { draftOrderComplete(id: $id) { order { paymentTerms "
                "company { code } } userErrors { field code } } }")
    refused = (await api(complete, {"id": draft["id"]}))["draftOrderComplete"]
    assert refused["order"] is None and _errors(refused) == [(["poNumber"], "INVALID_INPUT")]
    await api('mutation($id: ID!) { draftOrderUpdate(id: $id, input: {poNumber: "PO-1"}) '
              "{ userErrors { code } } }", {"id": draft["id"]})
    # 3 x 10.00 = 30.00 > 25.00
    over = (await api(complete, {"id": draft["id"]}))["draftOrderComplete"]
    assert _errors(over) == [(["companyId"], "CREDIT_LIMIT_EXCEEDED")]
    await api(UPDATE, {"input": {"id": company, "creditLimit": "30.00"}})
    done = (await api(complete, {"id": draft["id"]}))["draftOrderComplete"]
    assert done["userErrors"] == [] and done["order"] == {"paymentTerms": "NET_60",
                                                          "company": {"code": "acme"}}
