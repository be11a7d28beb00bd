"""A marketplace order at the marketplace's own amounts.

The marketplace priced, discounted and taxed the order, and the customer paid that: the
imported order keeps its figures instead of our catalogue's prices and our tax table.
Each line's unit price and discount, and its tax and the shipping's tax as the
marketplace computed them, go into capture (``LineRequest.unit_price`` and ``.discount``,
``OrderRequest.shipping_amount``, ``.tax`` and ``.prices_include_tax``), so the stored
amounts follow the money model (domain/orders/pricing.py) and the imported order's total
equals the marketplace's to the minor unit. Figures that break that (a negative amount,
more decimals than the currency has, another currency than the channel's, a total that
is not the sum of the lines, the shipping and their taxes) refuse the order with the
reason: nothing is imported, and the marketplace's retry imports it once fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import DomainError, InvalidInput, raise_all
from domain.marketplaces.ports import FINANCIAL_STATUSES, MarketplaceMoney, MarketplaceTax
from domain.money import MAX_AMOUNT, format_amount, parse_price
from domain.orders.capture import LineRequest
from domain.taxes.ports import Tax, TaxQuote

TAX_NAME_LENGTH = 64  # the lines' and the shipping's tax_name columns
MAX_RATE = Decimal(1000)


@dataclass(frozen=True)
class PricedImport:
    """What capture is given for a marketplace order, and the total it must come to."""

    lines: list[LineRequest]
    shipping_amount: Decimal
    tax: TaxQuote
    prices_include_tax: bool
    total: Decimal


def price_import(money: MarketplaceMoney, lines: Sequence[tuple[str, int]], *,
                 channel_currency: str) -> PricedImport:
    """The capture inputs of a marketplace's figures, checked; every problem is reported
    at once (InvalidInput, field named after the marketplace's figure)."""
    if money.currency != channel_currency:
        raise InvalidInput(f"The marketplace order is in {money.currency}, but the channel "
                           f"sells in {channel_currency}", field=("currency",))
    currency = money.currency
    errors: list[DomainError] = []

    def amount(value: Decimal, *field: str) -> Decimal:
        try:
            return parse_price(value, currency, field=field)
        except DomainError as error:
            errors.append(error)
            return Decimal(0)

    def tax(taxes: Sequence[MarketplaceTax], base: Decimal, *field: str) -> Tax:
        total = Decimal(0)
        rate = Decimal(0)
        for n, found in enumerate(taxes):
            total += amount(found.amount, *field, str(n), "amount")
            if not (found.rate.is_finite() and 0 <= found.rate < MAX_RATE):
                errors.append(InvalidInput("A tax rate is a percentage of zero or more",
                                           field=(*field, str(n), "rate")))
            else:
                rate += found.rate
        names = " + ".join(dict.fromkeys(t.name for t in taxes if t.name))
        charged = base if money.taxes_included else base + total
        if money.taxes_included and total > base:
            errors.append(InvalidInput(f"The tax ({format_amount(total, currency)}) is more "
                                       f"than the amount it is included in", field=field))
        return Tax(rate=rate.quantize(Decimal("0.0001")), name=names[:TAX_NAME_LENGTH] or None,
                   amount=total, charged=charged)

    if money.financial_status not in FINANCIAL_STATUSES:
        errors.append(InvalidInput(f"Unknown financial status {money.financial_status!r}",
                                   field=("financialStatus",)))
    if len(money.lines) != len(lines):
        raise InvalidInput("Every line needs the marketplace's price", field=("lines",))
    requests: list[LineRequest] = []
    quoted: dict[int, Tax] = {}
    for i, ((sku, quantity), price) in enumerate(zip(lines, money.lines, strict=True)):
        line_amount = amount(price.line_amount, "lines", str(i), "price")
        discount = amount(price.discount, "lines", str(i), "discount")
        if not (price.unit_price.is_finite() and 0 <= price.unit_price < MAX_AMOUNT):
            errors.append(InvalidInput("A price must be a finite amount of zero or more",
                                       field=("lines", str(i), "price")))
        if discount > line_amount:
            errors.append(InvalidInput("A line's discount is more than its price",
                                       field=("lines", str(i), "discount")))
        requests.append(LineRequest(sku, quantity,
                                    unit_price=price.unit_price.quantize(Decimal("0.0001")),
                                    discount=discount))
        quoted[i] = tax(price.taxes, line_amount - discount, "lines", str(i), "taxLines")
    shipping = amount(money.shipping, "shipping")
    shipping_tax = tax(money.shipping_taxes, shipping, "shipping", "taxLines")
    total = amount(money.total, "total")
    raise_all(errors)
    computed = sum((t.charged for t in quoted.values()), shipping_tax.charged)
    if computed != total:
        raise InvalidInput(
            f"The marketplace's total {format_amount(total, currency)} is not its lines, "
            f"shipping and taxes, which come to {format_amount(computed, currency)}",
            field=("total",))
    return PricedImport(lines=requests, shipping_amount=shipping,
                        tax=TaxQuote(lines=quoted, shipping=shipping_tax),
                        prices_include_tax=money.taxes_included, total=total)
