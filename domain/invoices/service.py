"""Issuing invoices and credit notes, in the transaction of the change that owes them.

An order's invoice is owed when its payment status becomes PAID, or when everything in
it has shipped (the merchant's ``issue_on`` setting), and when staff issue it by hand.
Each refund that succeeds owes a credit note against the invoice. The two places every
payment and fulfilment status change goes through (``payments.service.
sync_order_payment_status`` and ``orders.progress.refresh_progress``) call
``after_payment`` and ``after_fulfilment`` with the order row locked, so a document is
committed with its cause or not at all, and asked again (a repeated webhook, a second
sync) finds it issued: the ``source`` column is unique.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.access import Scope
from domain.customers.models import Customer
from domain.errors import AlreadyInvoiced, InvalidTransition
from domain.events.catalogue import EventType
from domain.events.service import record_order_event
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.invoices import documents
from domain.invoices.models import DocumentKind, Invoice, IssueOn
from domain.invoices.numbering import format_number, take_number
from domain.invoices.settings import InvoiceSettings, stored_settings
from domain.orders.lifecycle import lock_order
from domain.orders.models import (
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from domain.payments.models import (
    AllocationKind,
    OperationKind,
    OperationStatus,
    PaymentOperation,
    RefundAllocation,
)

REFUNDED = (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def clock() -> datetime:
    """When a document is issued (its date, and the year it is numbered in)."""
    return datetime.now(UTC)


def invoice_source(order_id: int) -> str:
    return f"order:{order_id}"


def credit_source(operation_id: int) -> str:
    return f"refund:{operation_id}"


async def invoice_of(conn: BaseDBAsyncClient, order_id: int) -> Invoice | None:
    return await Invoice.filter(source=invoice_source(order_id)).using_db(conn).first()


async def after_payment(conn: BaseDBAsyncClient, order: Order, *, actor: str) -> None:
    """What the order's payment status owes: its invoice once PAID (when invoices are
    issued on payment), a credit note for each refund once it is refunded. Reads nothing
    for any other status."""
    if order.payment_status is PaymentStatus.PAID:
        settings = await stored_settings(conn)
        if settings.issue_on is IssueOn.PAID and await invoice_of(conn, order.id) is None:
            await issue_invoice(conn, order, settings=settings, actor=actor)
    elif order.payment_status in REFUNDED:
        invoice = await invoice_of(conn, order.id)
        if invoice is not None:
            await credit_refunds(conn, order, invoice, actor=actor)


async def after_fulfilment(conn: BaseDBAsyncClient, order: Order, *, actor: str) -> None:
    """The order's invoice once everything in it has shipped (when invoices are issued on
    shipment)."""
    if order.fulfillment_status is not FulfillmentStatus.FULFILLED:
        return
    settings = await stored_settings(conn)
    if settings.issue_on is IssueOn.SHIPPED and await invoice_of(conn, order.id) is None:
        await issue_invoice(conn, order, settings=settings, actor=actor)


async def issue_invoice(conn: BaseDBAsyncClient, order: Order, *, actor: str,
                        settings: InvoiceSettings | None = None) -> Invoice:
    """Number and write the order's invoice (the caller holds the order row's lock), then
    credit any refund made before it. ALREADY_INVOICED when it has one."""
    existing = await invoice_of(conn, order.id)
    if existing is not None:
        raise AlreadyInvoiced(order.number or str(order.id), existing.number)
    settings = settings or await stored_settings(conn)
    lines = await OrderLine.filter(order_id=order.id).order_by("position", "id").using_db(conn)
    customer_name = None
    if order.customer_id is not None and not (order.billing_address or order.shipping_address):
        customer = await Customer.filter(id=order.customer_id).using_db(conn).first()
        customer_name = customer.name if customer else None
    totals = documents.invoice_totals(order, lines)
    invoice = await _write(
        conn, order=order, settings=settings, kind=DocumentKind.INVOICE,
        series=settings.invoice_series, source=invoice_source(order.id), invoice_id=None,
        seller=documents.seller_of(settings), buyer=documents.buyer_of(order, customer_name),
        lines=documents.invoice_lines(order, lines), totals=totals, actor=actor,
        tax_lines=documents.document_tax_lines(order, lines))
    await record_order_event(conn, order_id=order.id, type=EventType.INVOICE_ISSUED, actor=actor,
                             message=f"Invoice {invoice.number} issued",
                             data={"invoice_id": invoice.id, "number": invoice.number,
                                   "total": totals["total"], "currency": order.currency})
    if order.payment_status in REFUNDED:
        await credit_refunds(conn, order, invoice, actor=actor, settings=settings)
    return invoice


async def credit_refunds(conn: BaseDBAsyncClient, order: Order, invoice: Invoice, *,
                         actor: str, settings: InvoiceSettings | None = None) -> list[Invoice]:
    """A credit note for each succeeded refund of the order that has none yet."""
    refunds = await PaymentOperation.filter(
        payment__order_id=order.id, kind=OperationKind.REFUND,
        status=OperationStatus.SUCCEEDED).order_by("id").using_db(conn)
    if not refunds:
        return []
    credited = set(await Invoice.filter(order_id=order.id, kind=DocumentKind.CREDIT_NOTE)
                   .using_db(conn).values_list("source", flat=True))
    owed = [op for op in refunds if credit_source(op.id) not in credited]
    if not owed:
        return []
    settings = settings or await stored_settings(conn)
    lines = {ln.id: ln for ln in await OrderLine.filter(order_id=order.id).using_db(conn)}
    issued = []
    shares_of: dict[int, list[RefundAllocation]] = {}
    for share in await RefundAllocation.filter(
            payment_operation_id__in=[op.id for op in owed]).order_by("id").using_db(conn):
        shares_of.setdefault(share.payment_operation_id or 0, []).append(share)
    for op in owed:
        shares = shares_of.get(op.id, [])
        if shares and all(s.kind is AllocationKind.EDIT for s in shares) \
                and op.created_at <= invoice.issued_at:
            continue  # an edit's refund before the invoice: its lines already show it
        known = shares if shares and sum(s.amount for s in shares) == op.amount else []
        # A return's refund, or a cancellation's, line by line; any other in one line.
        itemise = op.return_id is not None or (
            bool(known) and all(s.kind is AllocationKind.EDIT for s in known))
        credit_lines, credit_totals, credit_taxes = documents.credit_lines(
            amount=op.amount, order=order, shares=known, lines=lines, itemise=itemise,
            label="Refund" if itemise else f"Refund of invoice {invoice.number}")
        note = await _write(
            conn, order=order, settings=settings, kind=DocumentKind.CREDIT_NOTE,
            series=settings.credit_note_series, source=credit_source(op.id),
            invoice_id=invoice.id, seller=invoice.seller, buyer=invoice.buyer,
            lines=credit_lines, actor=actor, totals=credit_totals, tax_lines=credit_taxes)
        await record_order_event(
            conn, order_id=order.id, type=EventType.CREDIT_NOTE_ISSUED, actor=actor,
            message=f"Credit note {note.number} issued against invoice {invoice.number}",
            data={"invoice_id": note.id, "number": note.number, "invoice": invoice.number,
                  "total": note.totals["total"], "currency": order.currency})
        issued.append(note)
    return issued


async def _write(conn: BaseDBAsyncClient, *, order: Order, settings: InvoiceSettings,
                 kind: DocumentKind, series: str, source: str, invoice_id: int | None,
                 seller: object, buyer: object, lines: object, totals: dict[str, str],
                 tax_lines: object, actor: str) -> Invoice:
    issued_at = clock()
    year = issued_at.astimezone(ZoneInfo(settings.time_zone)).year
    sequence = await take_number(conn, series, year)
    return await Invoice.create(
        order_id=order.id, kind=kind, invoice_id=invoice_id, series=series, year=year,
        sequence=sequence, number=format_number(series, year, sequence), source=source,
        currency=order.currency, total=totals["total"], seller=seller, buyer=buyer,
        lines=lines, tax_lines=tax_lines, totals=totals, issued_by=actor, issued_at=issued_at,
        using_db=conn)


async def issue_by_hand(*, order_id: int, scope: Scope, actor: str,
                        idempotency: IdempotencyKey | None = None) -> Invoice:
    """Staff issue an order's invoice where the setting did not (invoices by hand, an order
    paid outside the system, one shipped before it was paid). NOT_FOUND for an order the
    caller may not see, INVALID_TRANSITION for a cancelled or unplaced one,
    ALREADY_INVOICED when it has its invoice; a repeated key returns the same invoice."""
    await scope.require(Order, order_id, field="orderId")

    async def run(conn: BaseDBAsyncClient) -> Invoice:
        order = await lock_order(conn, order_id)
        if order.number is None or order.status is OrderStatus.CANCELLED:
            raise InvalidTransition("Order", order.number or str(order.id), order.status,
                                    "INVOICED")
        return await issue_invoice(conn, order, actor=actor)

    async def decode(stored: dict[str, Any]) -> Invoice:
        return await Invoice.get(id=stored["id"])

    return await idempotent(key=idempotency, operation="invoiceIssue", request=[order_id],
                            run=run, encode=lambda invoice: {"id": invoice.id}, decode=decode)
