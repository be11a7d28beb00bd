"""What an invoice or credit note says: the snapshot of seller, buyer, lines, tax and
totals taken when it is issued (pure functions over the rows read by the service).

Amounts are strings of the currency's precision. There is no tax engine yet: every line
carries ``tax_rate`` null, ``tax_lines`` is empty and the tax total zero, so documents
show no tax section; a tax engine fills the same structure (one entry per rate:
``{"rate": "19", "taxable": "100.00", "tax": "19.00"}``) without changing its shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from domain.invoices.settings import InvoiceSettings
from domain.money import quantize
from domain.orders.models import Order, OrderLine
from domain.payments.models import RefundAllocation

ZERO = Decimal(0)


def money(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def seller_of(settings: InvoiceSettings) -> dict[str, Any]:
    return {"name": settings.seller_name,
            "address": [line for line in settings.seller_address.splitlines() if line.strip()],
            "tax_number": settings.seller_tax_number or None,
            "email": settings.seller_email or None}


def buyer_of(order: Order, customer_name: str | None) -> dict[str, Any]:
    """The billing address (else the shipping address), the email, and the company and tax
    number where the address carries them."""
    address: Mapping[str, Any] | None = order.billing_address or order.shipping_address
    address = dict(address) if address else None
    name = (address or {}).get("name") or customer_name
    return {"name": name, "email": order.email,
            "company": (address or {}).get("company"),
            "tax_number": (address or {}).get("tax_number") or (address or {}).get("taxNumber"),
            "address": address, "po_number": order.po_number}


def _line(sku: str | None, name: str, quantity: int, unit_price: Decimal, total: Decimal,
          currency: str) -> dict[str, Any]:
    return {"sku": sku, "name": name, "quantity": quantity,
            "unit_price": money(unit_price, currency), "discount": money(ZERO, currency),
            "total": money(total, currency), "tax_rate": None}


def totals(*, subtotal: Decimal, shipping: Decimal, total: Decimal, tax_lines: Sequence[Any],
           currency: str) -> dict[str, Any]:
    tax = sum((Decimal(t["tax"]) for t in tax_lines), ZERO)
    discount = subtotal + shipping + tax - total  # what the total leaves off the lines
    return {"subtotal": money(subtotal, currency), "discount": money(discount, currency),
            "shipping": money(shipping, currency), "tax": money(tax, currency),
            "total": money(total, currency)}


def invoice_lines(order: Order, lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    return [_line(ln.sku, ln.name, ln.quantity, ln.unit_price, ln.total, order.currency)
            for ln in lines if ln.quantity > 0]


def invoice_totals(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    subtotal = sum((ln.total for ln in lines if ln.quantity > 0), ZERO)
    return totals(subtotal=subtotal, shipping=order.shipping_total, total=order.total,
                  tax_lines=[], currency=order.currency)


def credit_lines(*, amount: Decimal, currency: str, itemised: Sequence[RefundAllocation],
                 lines: Mapping[int, OrderLine], label: str
                 ) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    """The credit note's lines, and its goods and shipping amounts: one line per order line
    (and shipping) the refund was charged to, when it refunds a return; else one line of
    the amount. ``itemised`` is empty for a single line."""
    if not itemised:
        return [_line(None, label, 1, amount, amount, currency)], amount, ZERO
    out: list[dict[str, Any]] = []
    goods = shipping = ZERO
    for share in itemised:
        if share.order_line_id is None:
            shipping += share.amount
            continue
        line = lines.get(share.order_line_id)
        units = share.units or 1
        goods += share.amount
        out.append(_line(line.sku if line else None, line.name if line else "Goods", units,
                         share.amount / units, share.amount, currency))
    return out, goods, shipping
