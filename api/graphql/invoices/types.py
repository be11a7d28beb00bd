"""GraphQL types of invoices and credit notes, read from their stored snapshot."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.graphql.common import Address, Money
from api.graphql.relay import Node, to_global_id
from domain.invoices import models
from domain.invoices.settings import InvoiceSettings as SettingsModel

if TYPE_CHECKING:
    from api.graphql.orders.types import Order


@strawberry.enum(description="An invoice, or a credit note against one (a refund).")
class InvoiceKind(Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


@strawberry.enum(description="When an order's invoice is issued by itself.")
class InvoiceIssueOn(Enum):
    PAID = strawberry.enum_value("PAID", description="When its payment status becomes PAID.")
    SHIPPED = strawberry.enum_value("SHIPPED", description="When everything in it shipped.")
    MANUAL = strawberry.enum_value("MANUAL", description="Never by itself: invoiceIssue.")


@strawberry.type(description="Who sells: the merchant's invoice settings when issued.")
class InvoiceSeller:
    name: str
    address: list[str]
    tax_number: str | None
    email: str | None


@strawberry.type(description="Who buys: the order's billing address (else its shipping "
                             "address) and email when issued.")
class InvoiceBuyer:
    name: str | None
    email: str | None
    company: str | None
    tax_number: str | None
    address: Address | None
    po_number: str | None


@strawberry.type
class InvoiceLine:
    sku: str | None
    name: str
    quantity: int
    unit_price: Money
    discount: Money
    total: Money
    tax_rate: Decimal | None = strawberry.field(description=(
        "The line's tax rate in percent; null when it is not taxed."))


@strawberry.type(description="The tax at one rate: what it taxes (net) and the tax.")
class InvoiceTaxLine:
    rate: Decimal
    name: str | None
    taxable: Money
    tax: Money


@strawberry.type
class InvoiceTotals:
    subtotal: Money = strawberry.field(description="The lines.")
    discount: Money
    shipping: Money
    tax: Money
    total: Money = strawberry.field(description="What is due (an invoice) or credited (a "
                                                "credit note), shipping included.")


def _money(amount: Any, currency: str) -> Money:
    return Money.of(Decimal(str(amount)), currency)


@strawberry.type
class Invoice(Node):
    id: strawberry.ID
    kind: InvoiceKind
    number: str = strawberry.field(description="Gapless per series and year: INV-2026-000001.")
    series: str
    year: int
    issued_at: datetime
    currency: str
    seller: InvoiceSeller
    buyer: InvoiceBuyer
    lines: list[InvoiceLine]
    tax_lines: list[InvoiceTaxLine]
    totals: InvoiceTotals
    pdf_url: str = strawberry.field(description=(
        "The PDF, read with the same credentials: GET /invoices/<id>.pdf."))
    pk: strawberry.Private[int]
    order_pk: strawberry.Private[int]
    invoice_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.Invoice) -> Invoice:
        c = m.currency
        gid = to_global_id("Invoice", m.id)
        return cls(
            id=gid, pk=m.id, order_pk=m.order_id, invoice_pk=m.invoice_id,
            kind=InvoiceKind(m.kind.value), number=m.number, series=m.series, year=m.year,
            issued_at=m.issued_at, currency=c,
            seller=InvoiceSeller(name=m.seller.get("name") or "",
                                 address=list(m.seller.get("address") or []),
                                 tax_number=m.seller.get("tax_number"),
                                 email=m.seller.get("email")),
            buyer=InvoiceBuyer(name=m.buyer.get("name"), email=m.buyer.get("email"),
                               company=m.buyer.get("company"),
                               tax_number=m.buyer.get("tax_number"),
                               address=Address.from_json(m.buyer.get("address")),
                               po_number=m.buyer.get("po_number")),
            lines=[InvoiceLine(sku=ln.get("sku"), name=ln["name"], quantity=ln["quantity"],
                               unit_price=_money(ln["unit_price"], c),
                               discount=_money(ln.get("discount", 0), c),
                               total=_money(ln["total"], c),
                               tax_rate=Decimal(ln["tax_rate"]) if ln.get("tax_rate")
                               is not None else None)
                   for ln in m.lines],
            tax_lines=[InvoiceTaxLine(rate=Decimal(str(t["rate"])), name=t.get("name"),
                                      taxable=_money(t["taxable"], c), tax=_money(t["tax"], c))
                       for t in m.tax_lines or []],
            totals=InvoiceTotals(**{k: _money(m.totals[k], c) for k in
                                    ("subtotal", "discount", "shipping", "tax", "total")}),
            pdf_url=f"/invoices/{gid}.pdf",
        )

    @strawberry.field
    async def order(self, info: Info) -> Annotated[
            Order, strawberry.lazy("api.graphql.orders.types")] | None:
        from api.graphql.orders.types import Order

        found = await info.context.loaders.order_by_id.load(self.order_pk)
        return Order.from_model(found) if found else None

    @strawberry.field(description="A credit note's invoice; null for an invoice.")
    async def invoice(self, info: Info) -> Invoice | None:
        if self.invoice_pk is None:
            return None
        found = await info.context.loaders.invoice_by_id.load(self.invoice_pk)
        return Invoice.from_model(found) if found else None

    @strawberry.field(description="An invoice's credit notes, oldest first.")
    async def credit_notes(self, info: Info) -> list[Invoice]:
        rows = await info.context.loaders.credit_notes_by_invoice.load(self.pk)
        return [Invoice.from_model(row) for row in rows]


@strawberry.type(description="What invoices say of the seller, how they are numbered and "
                             "when they are issued.")
class InvoiceSettings:
    issue_on: InvoiceIssueOn
    invoice_series: str = strawberry.field(description="Invoices' prefix: INV-2026-000001.")
    credit_note_series: str
    seller_name: str
    seller_address: str = strawberry.field(description="As printed, one line per line.")
    seller_tax_number: str
    seller_email: str
    time_zone: str = strawberry.field(description="Whose calendar year numbers documents.")

    @classmethod
    def from_model(cls, m: SettingsModel) -> InvoiceSettings:
        return cls(issue_on=InvoiceIssueOn(m.issue_on.value), invoice_series=m.invoice_series,
                   credit_note_series=m.credit_note_series, seller_name=m.seller_name,
                   seller_address=m.seller_address, seller_tax_number=m.seller_tax_number,
                   seller_email=m.seller_email, time_zone=m.time_zone)


@strawberry.input(description="Settings left out stay as they are.")
class InvoiceSettingsInput:
    issue_on: InvoiceIssueOn | None = None
    invoice_series: str | None = None
    credit_note_series: str | None = None
    seller_name: str | None = None
    seller_address: str | None = None
    seller_tax_number: str | None = None
    seller_email: str | None = None
    time_zone: str | None = None
