"""The built-in tax provider: the merchant's own rate table, and the one tax arithmetic.

Rates are looked up by the destination's region (an ISO 3166-2 code), then its country,
for the line's tax class; none found is no tax. EXEMPT lines and tax-exempt buyers pay
none. Shipping is taxed at the STANDARD rate of the destination.

Each amount is rounded to the currency's minor unit on its own (per line, and shipping),
half to even like every amount here; the order's tax is the sum of those, so invoices and
refunds of a line always see the same figure:

- prices without tax: tax = amount x rate / 100; the customer pays amount + tax;
- prices with tax: tax = amount x rate / (100 + rate), part of the amount; a tax-exempt
  buyer pays the amount less that part. An exempt buyer's lines keep their rate with no
  tax (an edit prices them again from it); they are no tax line of the order.

The rates are kept in each process (``domain.settings_cache``), dropped by ``taxRatesSet``
everywhere: pricing an order costs no statement.
"""

from __future__ import annotations

from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import connection, fetch
from domain.money import quantize
from domain.settings_cache import SettingsCache
from domain.taxes.models import TaxClass
from domain.taxes.ports import Destination, Tax, TaxQuote, TaxRequest

Rates = dict[tuple[str, str | None, str], tuple[Decimal, str]]


async def _load(conn: BaseDBAsyncClient) -> Rates:
    rows = await fetch(conn, "SELECT country, region, tax_class, rate, name FROM tax_rate")
    return {(r["country"], r["region"], r["tax_class"]): (Decimal(r["rate"]), r["name"])
            for r in rows}


rates_cache: SettingsCache[Rates] = SettingsCache(
    "tax_rates_changed", _load, metric="tax_rates_cache_invalidations")


def taxed(amount: Decimal, rate: Decimal, name: str | None, *, currency: str,
          prices_include_tax: bool, exempt: bool = False) -> Tax:
    """The tax on ``amount`` at ``rate`` and what the customer pays, by the rule above."""
    if exempt or rate == 0 or amount == 0:
        # An exempt buyer's amount keeps its rate (an edit works its price out again from
        # it), with no tax; with tax in the price, the buyer pays it without the tax it holds.
        part = quantize(amount * rate / (100 + rate), currency) \
            if exempt and prices_include_tax and rate else Decimal(0)
        return Tax(rate, name, Decimal(0), amount - part)
    if prices_include_tax:
        return Tax(rate, name, quantize(amount * rate / (100 + rate), currency), amount)
    tax = quantize(amount * rate / 100, currency)
    return Tax(rate, name, tax, amount + tax)


def rate_for(rates: Rates, where: Destination, tax_class: TaxClass
             ) -> tuple[Decimal, str | None]:
    """The rate (percent) and its name for a tax class at a destination; (0, None): none."""
    if tax_class is TaxClass.EXEMPT or where.country is None:
        return Decimal(0), None
    for region in ((where.region, None) if where.region else (None,)):
        found = rates.get((where.country, region, tax_class.value))
        if found is not None:
            return found
    return Decimal(0), None


class TableTaxProvider:
    """The merchant's rate table (``taxRatesSet``)."""

    async def quote(self, request: TaxRequest) -> TaxQuote:
        rates = await rates_cache.get(request.conn or connection())

        def tax(amount: Decimal, tax_class: TaxClass) -> Tax:
            rate, name = rate_for(rates, request.destination, tax_class)
            return taxed(amount, rate, name, currency=request.currency,
                         prices_include_tax=request.prices_include_tax, exempt=request.exempt)

        return TaxQuote(lines={ln.key: tax(ln.amount, ln.tax_class) for ln in request.lines},
                        shipping=tax(request.shipping, TaxClass.STANDARD))
