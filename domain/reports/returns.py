"""The returns report: how often each SKU comes back and why, what was refunded, and what
went back to stock versus was written off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.db import connection, fetch
from domain.reports.rollup import PLACED_IN
from domain.reports.sales import GroupBy, sales_query

if TYPE_CHECKING:
    from domain.access import Scope


# The location that shipped most of an order line's units (the lower id on a tie).
_SHIPPED_MOST = """
    SELECT s.location_id FROM shipment_line sl JOIN shipment s ON s.id = sl.shipment_id
    WHERE sl.order_line_id = l.id AND s.shipped_at IS NOT NULL AND s.status <> 'CANCELLED'
    GROUP BY s.location_id ORDER BY SUM(sl.quantity) DESC, s.location_id LIMIT 1"""


@dataclass(frozen=True)
class SkuReturns:
    sku: str
    units_sold: int
    units_returned: int
    restocked: int
    written_off: int

    @property
    def return_rate(self) -> Decimal:
        """Returned units per sold unit (0 when nothing sold)."""
        if not self.units_sold:
            return Decimal("0.0000")
        return (Decimal(self.units_returned) / self.units_sold).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class ReturnsReport:
    skus: list[SkuReturns]
    reasons: list[tuple[str, int]]  # (reason, units asked to return)
    refunds: list[tuple[str, Decimal]]  # (currency, refunded)


async def returns_report(*, scope: Scope, start: date, end: date, time_zone: str,
                         channel: str | None = None,
                         location: str | None = None) -> ReturnsReport:
    """Returns of orders placed in the range (days in ``time_zone``).

    Units sold and the refunds come from the sales report (its summaries, so at
    a location: the units it shipped or holds, and its share of refunds); what
    came back, and why, from the return lines, which are few. A returned line
    belongs to the location that shipped most of its units. A caller limited to
    channels reads one of its own.
    """
    channel = scope.report_channel(channel)
    sales = await sales_query(scope=scope, start=start, end=end, time_zone=time_zone, group_by=GroupBy.SKU,
                              channel=channel, location=location)
    params: list[Any] = list(sales.span)
    where = PLACED_IN
    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    if location is not None:
        where += f" AND ({_SHIPPED_MOST}) = (SELECT id FROM location WHERE code = ?)"
        params.append(location)
    conn = connection()
    base = """FROM return_line rl JOIN order_line l ON l.id = rl.order_line_id
              JOIN orders o ON o.id = l.order_id JOIN channel c ON c.id = o.channel_id"""
    received = {str(r["sku"]): r for r in await fetch(conn, f"""
        SELECT l.sku AS sku, SUM(rl.quantity_received) AS received,
               SUM(rl.quantity_restocked) AS restocked
        {base} WHERE {where} GROUP BY l.sku""", params)}
    reasons = await fetch(conn, f"""
        SELECT COALESCE(rl.reason, 'no reason given') AS reason, SUM(rl.quantity) AS units
        {base} JOIN order_return r ON r.id = rl.rma_id AND r.status NOT IN ('DECLINED', 'CANCELLED')
        WHERE {where} GROUP BY COALESCE(rl.reason, 'no reason given')
        ORDER BY SUM(rl.quantity) DESC, COALESCE(rl.reason, 'no reason given')""", params)
    sold: dict[str, int] = {}
    for row in await sales.rows():  # one row per SKU and currency
        sold[row.group] = sold.get(row.group, 0) + row.units
    skus = []
    for sku, units in sorted(sold.items()):
        got = received.get(sku) or {}
        back, restocked = int(got.get("received") or 0), int(got.get("restocked") or 0)
        skus.append(SkuReturns(sku=sku, units_sold=units, units_returned=back,
                               restocked=restocked, written_off=back - restocked))
    return ReturnsReport(
        skus=skus, reasons=[(str(r["reason"]), int(r["units"] or 0)) for r in reasons],
        refunds=[(t.currency, t.refunds) for t in await sales.totals() if t.refunds])
