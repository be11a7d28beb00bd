"""What an invoice or credit note says: the snapshot of seller, buyer, lines, tax and
totals taken when it is issued (pure functions over the rows read by the service).

Amounts are strings of the currency's precision. Documents are net of tax, the tax added
per rate: each line shows what it comes to without its tax (the order's line total less
its tax, whether the prices included it or not) and its rate, the totals the net goods,
the net shipping, the tax per rate (``{"rate": "19", "name": "MwSt. 19%", "taxable":
"34.90", "tax": "6.63"}``, lines and shipping together, from
``domain.orders.pricing.tax_lines``) and the total the customer was charged, which they
add up to. An untaxed order has no tax lines and its documents say so. A credit note for
a refund charged to lines carries the tax the refunded amounts hold at those lines' rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from domain.invoices.settings import InvoiceSettings
from domain.money import plain, quantize
from domain.orders.models import Order, OrderLine
from domain.orders.pricing import tax_lines
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
            "tax_number": order.tax_number or (address or {}).get("tax_number")
            or (address or {}).get("taxNumber"),
            "address": address, "po_number": order.po_number}


def _line(sku: str | None, name: str, quantity: int, net: Decimal, currency: str, *,
          tax_rate: Decimal | None = None, discount: Decimal = ZERO) -> dict[str, Any]:
    """A document line: its net total, the unit price that makes it (net, after its
    discount) and its tax rate (None: untaxed)."""
    return {"sku": sku, "name": name, "quantity": quantity,
            "unit_price": money(net / quantity if quantity else net, currency),
            "discount": money(discount, currency), "total": money(net, currency),
            "tax_rate": str(plain(tax_rate)) if tax_rate else None}


def totals(*, subtotal: Decimal, shipping: Decimal, total: Decimal, tax_lines: Sequence[Any],
           currency: str, discount: Decimal = ZERO) -> dict[str, Any]:
    """Net goods and shipping, the discount already taken off the lines, the tax and the
    total: subtotal + shipping + tax = total."""
    tax = sum((Decimal(t["tax"]) for t in tax_lines), ZERO)
    return {"subtotal": money(subtotal, currency), "discount": money(discount, currency),
            "shipping": money(shipping, currency), "tax": money(tax, currency),
            "total": money(total, currency)}


def document_tax_lines(order: Order, lines: Sequence[OrderLine]) -> list[dict[str, str]]:
    return [{"rate": str(plain(t.rate)), "name": t.name,
             "taxable": money(t.base, order.currency), "tax": money(t.amount, order.currency)}
            for t in tax_lines(order, lines)]


def invoice_lines(order: Order, lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    return [_line(ln.sku, ln.name, ln.quantity, ln.total - ln.tax_amount, order.currency,
                  tax_rate=ln.tax_rate if ln.tax_name and not order.tax_exempt else None,
                  discount=ln.discount_amount)
            for ln in lines if ln.quantity > 0]


def invoice_totals(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    subtotal = sum((ln.total - ln.tax_amount for ln in lines if ln.quantity > 0), ZERO)
    return totals(subtotal=subtotal, shipping=order.shipping_total - order.shipping_tax,
                  total=order.total, tax_lines=document_tax_lines(order, lines),
                  currency=order.currency, discount=order.discount_total)


def credit_lines(*, amount: Decimal, order: Order, shares: Sequence[RefundAllocation],
                 lines: Mapping[int, OrderLine], label: str, itemise: bool,
                 ) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, str]]]:
    """The credit note's lines, totals and tax per rate, from what the refund was charged to
    (``shares``, adding up to its amount; none: not known): one line per order line (and
    the shipping) with ``itemise`` (a return's refund, a cancellation's), else one line of
    the amount; the tax those amounts hold either way."""
    currency = order.currency
    if not shares:
        return [_line(None, label, 1, amount, currency)], totals(
            subtotal=amount, shipping=ZERO, total=amount, tax_lines=[], currency=currency), []
    out: list[dict[str, Any]] = []
    goods = shipping = ZERO
    taxes: dict[tuple[str, Decimal], list[Decimal]] = {}

    def taxed(charged: Decimal, name: str | None, rate: Decimal) -> Decimal:
        """The tax held in a refunded amount (which, like every charged amount, includes
        it): at the line's rate, so a line since cancelled to nothing still has it."""
        if not rate or name is None or order.tax_exempt:
            return ZERO
        part = quantize(charged * rate / (100 + rate), currency)
        if part:
            entry = taxes.setdefault((name, rate), [ZERO, ZERO])
            entry[0] += charged - part
            entry[1] += part
        return part

    for share in shares:
        if share.order_line_id is None:
            shipping += share.amount - taxed(share.amount, order.shipping_tax_name,
                                             order.shipping_tax_rate)
            continue
        line = lines.get(share.order_line_id)
        units = share.units or 1
        tax = taxed(share.amount, line.tax_name, line.tax_rate) if line else ZERO
        goods += share.amount - tax
        out.append(_line(line.sku if line else None, line.name if line else "Goods", units,
                         share.amount - tax, currency,
                         tax_rate=line.tax_rate if line and line.tax_name
                         and not order.tax_exempt else None))
    tax_rows = [{"rate": str(plain(rate)), "name": name, "taxable": money(base, currency),
                 "tax": money(tax, currency)}
                for (name, rate), (base, tax) in sorted(taxes.items(), key=lambda kv: -kv[0][1])]
    if not itemise:
        out, goods, shipping = [_line(None, label, 1, goods + shipping, currency)], \
            goods + shipping, ZERO
    return out, totals(subtotal=goods, shipping=shipping, total=amount, tax_lines=tax_rows,
                       currency=currency), tax_rows
