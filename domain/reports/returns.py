"""The returns report: how often each SKU comes back and why, what was refunded, and what
went back to stock versus was written off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.db import connection, fetch
from domain.money import quantize
from domain.reports.sales import GroupBy, buckets, zone


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


async def returns_report(*, start: date, end: date, time_zone: str,
                         channel: str | None = None) -> ReturnsReport:
    """Returns of orders placed in the range (days in ``time_zone``)."""
    periods = buckets(start, end, zone(time_zone), GroupBy.DAY)
    params: list[Any] = [periods[0][1], periods[-1][2]]
    where = "o.status <> 'CANCELLED' AND o.created_at >= ? AND o.created_at < ?"
    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    conn = connection()
    base = "FROM orders o JOIN channel c ON c.id = o.channel_id JOIN order_line l ON l.order_id = o.id"
    sold = await fetch(conn, f"""
        SELECT l.sku AS sku, SUM(l.quantity) AS sold, SUM(l.quantity_returned) AS returned
        {base} WHERE {where} GROUP BY l.sku ORDER BY l.sku""", params)
    received = {str(r["sku"]): r for r in await fetch(conn, f"""
        SELECT l.sku AS sku, SUM(rl.quantity_received) AS received,
               SUM(rl.quantity_restocked) AS restocked
        {base} JOIN return_line rl ON rl.order_line_id = l.id
        WHERE {where} GROUP BY l.sku""", params)}
    reasons = await fetch(conn, f"""
        SELECT COALESCE(rl.reason, 'no reason given') AS reason, SUM(rl.quantity) AS units
        {base} JOIN return_line rl ON rl.order_line_id = l.id
        JOIN order_return r ON r.id = rl.rma_id AND r.status NOT IN ('DECLINED', 'CANCELLED')
        WHERE {where} GROUP BY COALESCE(rl.reason, 'no reason given')
        ORDER BY SUM(rl.quantity) DESC, COALESCE(rl.reason, 'no reason given')""", params)
    refunds = await fetch(conn, f"""
        SELECT o.currency AS currency, SUM(r.refund_total) AS refunded
        FROM orders o JOIN channel c ON c.id = o.channel_id
        JOIN order_return r ON r.order_id = o.id AND r.status = 'REFUNDED'
        WHERE {where} GROUP BY o.currency ORDER BY o.currency""", params)
    skus = []
    for row in sold:
        got = received.get(str(row["sku"])) or {}
        restocked = int(got.get("restocked") or 0)
        skus.append(SkuReturns(
            sku=str(row["sku"]), units_sold=int(row["sold"] or 0),
            units_returned=int(row["returned"] or 0), restocked=restocked,
            written_off=int(got.get("received") or 0) - restocked))
    return ReturnsReport(
        skus=skus, reasons=[(str(r["reason"]), int(r["units"] or 0)) for r in reasons],
        refunds=[(str(r["currency"]), quantize(Decimal(str(r["refunded"] or 0)),
                                               str(r["currency"]))) for r in refunds])
