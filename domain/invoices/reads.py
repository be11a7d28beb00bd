"""Reading one invoice or credit note as the caller may: through its order's read rule."""

from __future__ import annotations

from dataclasses import dataclass

from domain.access import Scope
from domain.invoices.models import Invoice
from domain.orders.models import Order


@dataclass(frozen=True)
class Readable:
    document: Invoice
    order_number: str
    credits: str | None  # a credit note's invoice number


async def readable_document(scope: Scope, pk: int) -> Readable | None:
    """The document with what its print shows beside it; None when the caller may not read
    it (someone else's order, another channel's), as when it does not exist."""
    document = await scope.get(Invoice, pk)
    if document is None:
        return None
    order = await Order.get(id=document.order_id)
    credits = None
    if document.invoice_id is not None:
        credited = await Invoice.get(id=document.invoice_id)
        credits = credited.number
    return Readable(document, order.number or str(order.id), credits)
