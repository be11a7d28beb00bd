"""An order's money: each line's amount, discount and tax, the shipping and its tax.

Every amount an order stores is what the customer is charged, tax included: a line's
``total`` is its price times quantity, less its discount, plus its tax when the channel's
prices are without tax; the order's ``subtotal`` is the sum of its lines, ``shipping_total``
the shipping with its tax, ``total`` the two together. ``tax_total`` and the lines'
``tax_amount`` say how much of that is tax. So payments, refunds, returns and reports, which
work with those amounts, include tax wherever the customer paid it.

The tax comes from a :class:`~domain.taxes.ports.TaxProvider` (the merchant's own table by
default), or is given with the order (a marketplace's own figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.money import quantize
from domain.taxes.models import TaxClass
from domain.taxes.ports import Destination, Tax, TaxableLine, TaxProvider, TaxQuote, TaxRequest
from domain.taxes.table import TableTaxProvider


@dataclass(frozen=True)
class PricedLine:
    unit_price: Decimal
    quantity: int
    tax_class: TaxClass
    discount: Decimal = Decimal(0)

    def amount(self, currency: str) -> Decimal:
        return quantize(self.unit_price * self.quantity, currency) - self.discount


@dataclass(frozen=True)
class OrderMoney:
    currency: str
    prices_include_tax: bool
    exempt: bool
    lines: list[tuple[PricedLine, Tax]]
    shipping: Tax  # charged: the shipping with its tax

    @property
    def subtotal(self) -> Decimal:
        return sum((tax.charged for _, tax in self.lines), Decimal(0))

    @property
    def shipping_total(self) -> Decimal:
        return self.shipping.charged

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_total

    @property
    def tax_total(self) -> Decimal:
        return sum((tax.amount for _, tax in self.lines), self.shipping.amount)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line, _ in self.lines), Decimal(0))

    def order_columns(self) -> dict[str, Any]:
        """The order's money columns."""
        return {"subtotal": self.subtotal, "shipping_total": self.shipping_total,
                "total": self.total, "prices_include_tax": self.prices_include_tax,
                "tax_total": self.tax_total, "discount_total": self.discount_total,
                "shipping_tax": self.shipping.amount, "shipping_tax_rate": self.shipping.rate,
                "shipping_tax_name": self.shipping.name, "tax_exempt": self.exempt}


def line_columns(unit_price: Decimal, discount: Decimal, tax: Tax) -> dict[str, Any]:
    """An order line's money columns."""
    return {"unit_price": unit_price, "total": tax.charged, "discount_amount": discount,
            "tax_rate": tax.rate, "tax_name": tax.name, "tax_amount": tax.amount}


def destination(*addresses: Mapping[str, Any] | None) -> Destination:
    """Where tax is owed: the first address given (shipping, then the pickup store's, then
    billing)."""
    for address in addresses:
        if address and address.get("country"):
            return Destination(str(address["country"]), address.get("region"))
    return Destination(None)


DEFAULT_PROVIDER: TaxProvider = TableTaxProvider()


async def price_order(
    conn: BaseDBAsyncClient, *, currency: str, lines: Sequence[PricedLine], shipping: Decimal,
    prices_include_tax: bool, exempt: bool, where: Destination,
    provider: TaxProvider | None = None, given: TaxQuote | None = None,
) -> OrderMoney:
    """The order's money, its tax from ``given`` (a marketplace's) or asked of ``provider``."""
    quote = given if given is not None else await (provider or DEFAULT_PROVIDER).quote(
        TaxRequest(currency=currency, destination=where, prices_include_tax=prices_include_tax,
                   exempt=exempt, shipping=shipping, conn=conn,
                   lines=[TaxableLine(i, ln.tax_class, ln.amount(currency))
                          for i, ln in enumerate(lines)]))
    return OrderMoney(currency, prices_include_tax, exempt,
                      [(ln, quote.lines[i]) for i, ln in enumerate(lines)], quote.shipping)


@dataclass(frozen=True)
class TaxLine:
    """One rate's share of an order: what it taxes (net of the tax) and the tax."""

    name: str
    rate: Decimal
    base: Decimal
    amount: Decimal


def tax_lines(order: Any, lines: Sequence[Any]) -> list[TaxLine]:
    """The order's tax per rate, its lines and its shipping together, highest rate first
    (what receipts and invoices print). Untaxed amounts, and a tax-exempt buyer's, are no
    tax line."""
    if order.tax_exempt:
        return []
    sums: dict[tuple[str, Decimal], list[Decimal]] = {}
    parts = [(ln.tax_name, ln.tax_rate, ln.total, ln.tax_amount) for ln in lines]
    parts.append((order.shipping_tax_name, order.shipping_tax_rate, order.shipping_total,
                  order.shipping_tax))
    for name, rate, charged, tax in parts:
        if name is None or (not rate and not tax and not charged):
            continue
        entry = sums.setdefault((name, Decimal(rate)), [Decimal(0), Decimal(0)])
        entry[0] += Decimal(charged) - Decimal(tax)
        entry[1] += Decimal(tax)
    return [TaxLine(name, rate, base, amount) for (name, rate), (base, amount)
            in sorted(sums.items(), key=lambda kv: (-kv[0][1], kv[0][0]))]
