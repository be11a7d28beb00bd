"""The tax report: the tax charged per rate on the orders placed in a range, what refunds
gave back of it, and what is left to declare, per currency.

An order counts from the moment it is placed, in the range it was placed in, until it is
cancelled, like a sale (``domain.reports.sales``). Each line and the shipping carry the
tax they were charged (``domain.orders.pricing``); a refund gives back the share of a
line's tax that it pays back of the line's total (a refund of the shipping, of the
shipping's tax), once its payment operation has succeeded. An order edit's refund (kind
EDIT) is not counted: the edited lines already carry their lower tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain import validation as v
from domain.db import connection, fetch
from domain.money import quantize
from domain.reports.rollup import PLACED_IN, line_refunds

if TYPE_CHECKING:
    from domain.access import Scope

_SHIPPING_REFUNDS = """(SELECT COALESCE(SUM(ra.amount), 0) FROM refund_allocation ra
    LEFT JOIN payment_operation po ON po.id = ra.payment_operation_id
    WHERE ra.order_id = o.id AND ra.order_line_id IS NULL AND ra.kind <> 'EDIT'
      AND (ra.payment_operation_id IS NULL OR po.status = 'SUCCEEDED'))"""


@dataclass(frozen=True)
class TaxRow:
    currency: str
    name: str
    rate: Decimal
    taxable: Decimal  # what the rate taxed, net of the tax
    tax: Decimal  # charged
    refunded: Decimal  # given back by refunds

    @property
    def net(self) -> Decimal:
        return self.tax - self.refunded


async def tax_report(*, scope: Scope, start: date, end: date, time_zone: str,
                     channel: str | None = None) -> list[TaxRow]:
    """Tax per currency and rate of the orders placed from ``start`` to ``end`` (days in
    ``time_zone``, inclusive); a caller limited to channels reads one of its own."""
    tz = v.time_zone(time_zone)
    v.day_range(start, end)
    channel = scope.report_channel(channel)
    lo = datetime.combine(start, time(), tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), tz).astimezone(UTC)
    where = PLACED_IN
    params: list[Any] = [lo, hi]

    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    source = "FROM orders o JOIN channel c ON c.id = o.channel_id"
    rows = await fetch(connection(), f"""
        SELECT o.currency AS currency, l.tax_name AS name, l.tax_rate AS rate,
               SUM(l.total - l.tax_amount) AS taxable, SUM(l.tax_amount) AS tax,
               SUM(CASE WHEN l.total > 0 THEN {line_refunds("l.id")} * l.tax_amount / l.total
                        ELSE 0 END) AS refunded
        {source} JOIN order_line l ON l.order_id = o.id
        WHERE {where} AND l.tax_name IS NOT NULL
        GROUP BY o.currency, l.tax_name, l.tax_rate
        UNION ALL
        SELECT o.currency, o.shipping_tax_name, o.shipping_tax_rate,
               SUM(o.shipping_total - o.shipping_tax), SUM(o.shipping_tax),
               SUM(CASE WHEN o.shipping_total > 0
                        THEN {_SHIPPING_REFUNDS} * o.shipping_tax / o.shipping_total
                        ELSE 0 END)
        {source}
        WHERE {where} AND o.shipping_tax_name IS NOT NULL AND o.shipping_total > 0
        GROUP BY o.currency, o.shipping_tax_name, o.shipping_tax_rate""", [*params, *params])
    sums: dict[tuple[str, str, Decimal], list[Decimal]] = {}
    for r in rows:
        key = (str(r["currency"]), str(r["name"]), Decimal(str(r["rate"])))
        entry = sums.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
        for i, column in enumerate(("taxable", "tax", "refunded")):
            entry[i] += _decimal(r[column])
    return [TaxRow(currency, name, rate, *(quantize(x, currency) for x in values))
            for (currency, name, rate), values in sorted(
                sums.items(), key=lambda kv: (kv[0][0], -kv[0][2], kv[0][1]))]


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value or 0))
