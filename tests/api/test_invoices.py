"""Invoices and credit notes: issued with the payment (or the shipment) that owes them,
numbered without gaps per series and year, credited per refund, printed as PDF."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from domain.invoices import service
from domain.invoices.models import Invoice
from domain.invoices.numbering import take_number
from domain.uow import unit_of_work
from tests import factories
from tests.api.test_customers_and_guests import _register, bearer
from tests.api.test_partners import _bearer
from tests.api.test_payments_and_returns import REFUND, _return_and_receive, _ship
from tests.support import GraphQLClient

MONEY = "{ amount currency }"
DOCUMENT = f"""id kind number series year issuedAt currency pdfUrl
  seller {{ name address taxNumber email }}
  buyer {{ name email company taxNumber address {{ name city country }} }}
  lines {{ sku name quantity unitPrice {MONEY} discount {MONEY} total {MONEY} taxRate }}
  taxLines {{ rate taxable {MONEY} tax {MONEY} }}
  totals {{ subtotal {MONEY} discount {MONEY} shipping {MONEY} tax {MONEY} total {MONEY} }}
  invoice {{ number }}"""
ORDER = f"""query($id: ID!) {{ order(id: $id) {{ number paymentStatus
  invoices {{ {DOCUMENT} creditNotes {{ {DOCUMENT} }} }} }} }}"""
PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number lines { id sku } } payment { id } userErrors { code message } } }"""
CAPTURE = """mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) {
  payment { status } userErrors { code message } } }"""
SETTINGS = """mutation($input: InvoiceSettingsInput!) { invoiceSettingsUpdate(input: $input) {
  invoiceSettings { issueOn invoiceSeries creditNoteSeries sellerName timeZone }
  userErrors { field code message } } }"""
ISSUE = """mutation($o: ID!, $key: String) { invoiceIssue(orderId: $o, idempotencyKey: $key) {
  invoice { id number } userErrors { field code message } } }"""
ONE = "query($id: ID!) { invoice(id: $id) { number } }"
SELLER = {"sellerName": "Muster Schuhe GmbH", "sellerAddress": "Hauptstr. 1\n10115 Berlin\nDE",
          "sellerTaxNumber": "DE123456789", "sellerEmail": "billing@muster.example"}


def _order(**extra: Any) -> dict[str, Any]:
    lines = extra.pop("lines", [{"sku": "SHOE", "quantity": 2}, {"sku": "HAT", "quantity": 1}])
    return {"input": {"channel": "web", "email": "ann@example.com",
                      "shippingAddress": factories.address(), "shippingMethod": "standard",
                      "lines": lines, "payment": {"provider": "manual", "method": "invoice"},
                      **extra}}


async def _place(api: GraphQLClient, **kwargs: Any) -> dict[str, Any]:
    headers = kwargs.pop("headers", None)
    placed = (await api(PLACE, _order(**kwargs), admin=headers is None,
                        headers=headers))["orderCreate"]
    assert placed["userErrors"] == [], placed
    return placed


async def _pay(api: GraphQLClient, placed: dict[str, Any]) -> None:
    captured = (await api(CAPTURE, {"p": placed["payment"]["id"]}))["paymentCapture"]
    assert captured["userErrors"] == [], captured


async def _invoices(api: GraphQLClient, order_id: str) -> list[dict[str, Any]]:
    return list((await api(ORDER, {"id": order_id}))["order"]["invoices"])


async def _shop(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 50}, "HAT": {"a": 50}})
    settings = (await api(SETTINGS, {"input": SELLER}))["invoiceSettingsUpdate"]
    assert settings["userErrors"] == []


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def test_paying_an_order_issues_exactly_one_invoice_with_its_totals(
    api: GraphQLClient,
) -> None:
    await _shop(api)
    placed = await _place(api)
    order_id = placed["order"]["id"]
    assert await _invoices(api, order_id) == []  # not paid yet
    await _pay(api, placed)
    await factories.pay(await _model(order_id))  # paid again: still the one invoice
    [invoice] = await _invoices(api, order_id)
    assert invoice["kind"] == "INVOICE"
    assert invoice["number"] == f"INV-{datetime.now(UTC).year}-000001"
    assert invoice["seller"] == {"name": "Muster Schuhe GmbH",
                                 "address": ["Hauptstr. 1", "10115 Berlin", "DE"],
                                 "taxNumber": "DE123456789", "email": "billing@muster.example"}
    assert invoice["buyer"] == {"name": "Ann Example", "email": "ann@example.com",
                                "company": None, "taxNumber": None,
                                "address": {"name": "Ann Example", "city": "City",
                                            "country": "DE"}}
    # 2 x 10.00 + 1 x 10.00 = 30.00 of goods, 4.90 standard shipping: 34.90; no tax yet.
    assert [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["total"]["amount"],
             ln["taxRate"]) for ln in invoice["lines"]] == [
        ("SHOE", 2, "10.00", "20.00", None), ("HAT", 1, "10.00", "10.00", None)]
    assert invoice["taxLines"] == []
    assert invoice["totals"] == {"subtotal": _money("30.00"), "discount": _money("0.00"),
                                 "shipping": _money("4.90"), "tax": _money("0.00"),
                                 "total": _money("34.90")}
    assert invoice["creditNotes"] == [] and invoice["invoice"] is None
    assert await Invoice.all().count() == 1
    events = (await api("query($id: ID!) { order(id: $id) { events { type message } } }",
                        {"id": order_id}))["order"]["events"]
    assert {"type": "INVOICE_ISSUED", "message": f"Invoice {invoice['number']} issued"} in events


async def _model(order_gid: str) -> Any:
    from api.graphql.relay import from_global_id
    from domain.orders.models import Order

    decoded = from_global_id(order_gid, expect="Order")
    assert decoded is not None
    return await Order.get(id=decoded[1])


async def test_invoicing_on_shipment_waits_until_everything_shipped(api: GraphQLClient) -> None:
    await _shop(api)
    changed = (await api(SETTINGS, {"input": {"issueOn": "SHIPPED"}}))["invoiceSettingsUpdate"]
    assert changed["invoiceSettings"]["issueOn"] == "SHIPPED"
    placed = await _place(api)
    order_id = placed["order"]["id"]
    await _pay(api, placed)
    assert await _invoices(api, order_id) == []  # paid, not shipped
    shoe, hat = placed["order"]["lines"]
    await _ship(api, order_id, shoe["id"], 2)
    assert await _invoices(api, order_id) == []  # part of it shipped
    await _ship(api, order_id, hat["id"], 1)
    [invoice] = await _invoices(api, order_id)
    assert invoice["totals"]["total"] == _money("34.90")


async def test_staff_issue_an_invoice_by_hand_once(api: GraphQLClient) -> None:
    await _shop(api)
    await api(SETTINGS, {"input": {"issueOn": "MANUAL"}})
    placed = await _place(api)
    order_id = placed["order"]["id"]
    await _pay(api, placed)
    assert await _invoices(api, order_id) == []
    first = (await api(ISSUE, {"o": order_id, "key": "k1"}))["invoiceIssue"]
    assert first["userErrors"] == [] and first["invoice"]["number"].endswith("-000001")
    again = (await api(ISSUE, {"o": order_id, "key": "k1"}))["invoiceIssue"]
    assert again == first  # the same key: the same answer
    refused = (await api(ISSUE, {"o": order_id}))["invoiceIssue"]
    assert refused["invoice"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("ALREADY_INVOICED", ["orderId"])]
    assert first["invoice"]["number"] in refused["userErrors"][0]["message"]
    assert len(await _invoices(api, order_id)) == 1


async def test_numbers_are_gapless_per_series_and_year(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _shop(api)
    await api(SETTINGS, {"input": {"timeZone": "Europe/Berlin", "invoiceSeries": "R"}})
    moments = iter([datetime(2026, 12, 31, 12, 0, tzinfo=UTC),
                    datetime(2026, 12, 31, 22, 59, tzinfo=UTC),
                    # 00:30 on New Year's Day in Berlin: the shop's new year
                    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
                    datetime(2027, 3, 1, 9, 0, tzinfo=UTC)])
    monkeypatch.setattr(service, "clock", lambda: next(moments))
    numbers = []
    for _ in range(4):
        placed = await _place(api)
        await _pay(api, placed)
        [invoice] = await _invoices(api, placed["order"]["id"])
        numbers.append((invoice["number"], invoice["year"]))
    assert numbers == [("R-2026-000001", 2026), ("R-2026-000002", 2026),
                       ("R-2027-000001", 2027), ("R-2027-000002", 2027)]


async def test_a_number_taken_in_a_rolled_back_transaction_is_taken_again(db: None) -> None:
    async with unit_of_work() as conn:
        assert await take_number(conn, "INV", 2026) == 1
    with pytest.raises(RuntimeError):
        async with unit_of_work() as conn:
            assert await take_number(conn, "INV", 2026) == 2
            raise RuntimeError("the insert after it failed")
    async with unit_of_work() as conn:
        assert await take_number(conn, "INV", 2026) == 2
        assert await take_number(conn, "CN", 2026) == 1  # a series of its own


async def test_a_refund_issues_a_credit_note_against_the_invoice(api: GraphQLClient) -> None:
    await _shop(api)
    placed = await _place(api)
    order_id = placed["order"]["id"]
    await _pay(api, placed)
    await factories.refund(await _model(order_id), "5.00")  # a direct refund: one line
    shoe = placed["order"]["lines"][0]
    await _ship(api, order_id, shoe["id"], 2)
    rid = await _return_and_receive(api, order_id, shoe["id"], 1, restock=True)
    refunded = (await api(REFUND, {"r": rid}))["returnRefund"]
    assert refunded["userErrors"] == [], refunded
    [invoice] = await _invoices(api, order_id)
    year = datetime.now(UTC).year
    direct, returned = invoice["creditNotes"]
    assert (direct["kind"], direct["number"], direct["invoice"]) == (
        "CREDIT_NOTE", f"CN-{year}-000001", {"number": invoice["number"]})
    assert [(ln["sku"], ln["name"], ln["quantity"], ln["total"]["amount"])
            for ln in direct["lines"]] == [
        (None, f"Refund of invoice {invoice['number']}", 1, "5.00")]
    assert direct["totals"]["total"] == _money("5.00")
    # The returned shoe: its line, at what it was paid for.
    assert returned["number"] == f"CN-{year}-000002"
    assert [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["total"]["amount"])
            for ln in returned["lines"]] == [("SHOE", 1, "10.00", "10.00")]
    assert returned["totals"]["total"] == _money("10.00")
    assert returned["buyer"] == invoice["buyer"] and returned["seller"] == invoice["seller"]
    printed = await api.http.get(returned["pdfUrl"], headers={
        "Authorization": "Bearer test-admin-token"})
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
    notes = (await api("""{ invoices(filter: {kind: CREDIT_NOTE}) { edges { node {
        number invoice { number } } } } }"""))["invoices"]["edges"]
    assert [n["node"]["number"] for n in notes] == [returned["number"], direct["number"]]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs poppler-utils")
        pytest.skip(f"{name} is missing: apt-get install poppler-utils")
    return found


def _read_back(pdf: bytes, folder: Path, name: str) -> tuple[float, str]:
    """Save the PDF and its first page as PNG in ``folder``; the share of the page inked
    darker than mid-grey, and the PDF's text as pdftotext reads it."""
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run([_tool("pdftoppm"), "-png", "-r", "100", "-f", "1", "-l", "1", str(path),
                    str(folder / "page")], check=True, timeout=60)
    [png] = sorted(folder.glob("page*.png"))
    with Image.open(png) as page:
        gray = page.convert("L")
        inked = sum(gray.histogram()[:128]) / (gray.width * gray.height)
    text = subprocess.run([_tool("pdftotext"), "-layout", str(path), "-"], check=True,
                          timeout=60, capture_output=True, text=True).stdout
    return inked, text


async def test_a_cjk_buyer_is_printed_in_the_pdf(api: GraphQLClient, tmp_path: Path) -> None:
    _tool("pdftoppm"), _tool("pdftotext")
    await _shop(api)
    tokyo = {"name": "王小明", "line1": "丸の内1-1", "city": "東京都", "postalCode": "100-0005",
             "country": "JP"}
    placed = await _place(api, billingAddress=tokyo, shippingAddress=tokyo,
                          email="wang@example.com")
    await _pay(api, placed)
    [invoice] = await _invoices(api, placed["order"]["id"])
    assert invoice["buyer"]["name"] == "王小明"
    response = await api.http.get(invoice["pdfUrl"], headers={
        "Authorization": "Bearer test-admin-token"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    inked, text = await asyncio.to_thread(_read_back, response.content, tmp_path,
                                          invoice["number"])
    assert inked > 0.005, "the page is blank"
    for expected in ("INVOICE", invoice["number"], "王小明", "東京都", "Muster Schuhe GmbH",
                     "DE123456789", "34.90 EUR", "Tax 0%"):
        assert expected in text, (expected, text)


async def test_only_whoever_may_read_the_order_reads_its_invoice(api: GraphQLClient) -> None:
    await _shop(api)
    await factories.channel("other", locations=["a"])
    ann = bearer((await _register(api, "ann@example.com"))["accessToken"])
    placed = await _place(api, headers=ann)
    await _pay(api, placed)
    [invoice] = await _invoices(api, placed["order"]["id"])
    own = await api(ONE, {"id": invoice["id"]}, admin=False, headers=ann)
    assert own == {"invoice": {"number": invoice["number"]}}
    assert (await api.http.get(invoice["pdfUrl"], headers=ann)).status_code == 200

    web_partner = await _bearer(api, ["orders:read"], channels=["web"])
    assert (await api.http.get(invoice["pdfUrl"], headers=web_partner)).status_code == 200

    bob = bearer((await _register(api, "bob@example.com"))["accessToken"])
    elsewhere = await _bearer(api, ["orders:read", "orders:write"], channels=["other"])
    for stranger in (bob, elsewhere):
        assert await api(ONE, {"id": invoice["id"]}, admin=False, headers=stranger) == {
            "invoice": None}
        assert (await api("{ invoices { edges { node { id } } } }", admin=False,
                          headers=stranger))["invoices"]["edges"] == []
        assert (await api.http.get(invoice["pdfUrl"], headers=stranger)).status_code == 404
    issued = (await api(ISSUE, {"o": placed["order"]["id"]}, admin=False,
                        headers=elsewhere))["invoiceIssue"]
    assert [e["code"] for e in issued["userErrors"]] == ["NOT_FOUND"]
    assert (await api.errors(ISSUE, {"o": placed["order"]["id"]}, admin=False,
                             headers=bob))[0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.http.get(invoice["pdfUrl"])).status_code == 401
    assert (await api.http.get("/invoices/nonsense.pdf", headers=ann)).status_code == 404


async def test_bad_invoice_settings_change_nothing(api: GraphQLClient) -> None:
    await _shop(api)
    refused = (await api(SETTINGS, {"input": {"invoiceSeries": "inv 1", "timeZone": "Mars/Base",
                                              "sellerName": "Other GmbH"}}))
    errors = refused["invoiceSettingsUpdate"]["userErrors"]
    assert {(e["code"], tuple(e["field"])) for e in errors} == {
        ("INVALID_INPUT", ("invoiceSeries",)), ("INVALID_INPUT", ("timeZone",))}
    clash = (await api(SETTINGS, {"input": {"creditNoteSeries": "INV"}}))
    assert [(e["code"], e["field"]) for e in clash["invoiceSettingsUpdate"]["userErrors"]] == [
        ("INVALID_INPUT", ["creditNoteSeries"])]
    current = await api("{ invoiceSettings { invoiceSeries creditNoteSeries timeZone "
                        "sellerName } }")
    assert current["invoiceSettings"] == {"invoiceSeries": "INV", "creditNoteSeries": "CN",
                                          "timeZone": "UTC", "sellerName": SELLER["sellerName"]}


async def test_twenty_orders_paid_at_once_get_numbers_one_to_twenty(
    api: GraphQLClient, needs_postgres: None,
) -> None:
    await _shop(api)
    orders = [await factories.place({"SHOE": 1}, email=f"buyer{n}@example.com")
              for n in range(20)]
    await asyncio.gather(*(factories.pay(order) for order in orders))
    invoices = await Invoice.all()
    assert sorted(i.sequence for i in invoices) == list(range(1, 21))
    assert len({i.number for i in invoices}) == 20
    assert sorted(i.order_id for i in invoices) == sorted(o.id for o in orders)  # type: ignore[attr-defined]


async def test_a_pdf_is_rendered_once_and_charged_to_its_caller(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch, fresh_budgets: None,
) -> None:
    """Rendering costs about a second: asking again is served from what was rendered, and
    each request is charged to the caller's points, so one caller cannot keep the process
    rendering for everyone."""
    from api import invoices_pdf

    rendered: list[str] = []
    render = invoices_pdf.render

    def counting(document: Any, font: Any) -> bytes:
        rendered.append(document.number)
        return render(document, font)

    monkeypatch.setattr(invoices_pdf, "render", counting)
    await _shop(api)
    ann = bearer((await _register(api, "ann@example.com"))["accessToken"])
    placed = await _place(api, headers=ann)
    await _pay(api, placed)
    [invoice] = await _invoices(api, placed["order"]["id"])
    first = await api.http.get(invoice["pdfUrl"], headers=ann)
    again = await api.http.get(invoice["pdfUrl"], headers=ann)
    assert first.status_code == again.status_code == 200 and first.content == again.content
    assert rendered == [invoice["number"]]
    # A customer's points a minute pay for so many PDFs; then 429 until the minute is over
    # (here one PDF costs more than the whole budget).
    monkeypatch.setattr(invoices_pdf, "PDF_POINTS", 10**12)
    spent = await api.http.get(invoice["pdfUrl"], headers=ann)
    assert spent.status_code == 429 and spent.headers["Retry-After"] == "1"
