"""The sales report: orders, units and money per period, channel or SKU, per currency.

Periods are days, ISO weeks or months in the merchant's time zone. Their
boundaries are computed here (so daylight-saving days are 23 or 25 hours
long) and handed to the database as a table of ranges; the database joins
and aggregates. Cancelled orders are not sales. Refunds count in the period
of the order they refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.db import connection, fetch, is_postgres
from domain.errors import InvalidInput
from domain.money import quantize

MAX_BUCKETS = 1000


class GroupBy(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    CHANNEL = "CHANNEL"
    SKU = "SKU"


@dataclass(frozen=True)
class SalesRow:
    group: str
    currency: str
    orders: int
    units: int
    gross: Decimal
    discounts: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.discounts - self.refunds

    @property
    def average_order_value(self) -> Decimal:
        return quantize(self.gross / self.orders, self.currency) if self.orders else Decimal(0)


@dataclass(frozen=True)
class SalesReport:
    rows: list[SalesRow]
    totals: list[SalesRow]  # one per currency
    top_skus: list[SalesRow]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not an IANA time zone", field=("timeZone",)) from None


def _start_of(day: date, group: GroupBy) -> date:
    if group is GroupBy.WEEK:
        return day - timedelta(days=day.weekday())
    if group is GroupBy.MONTH:
        return day.replace(day=1)
    return day


def _next(day: date, group: GroupBy) -> date:
    if group is GroupBy.WEEK:
        return day + timedelta(days=7)
    if group is GroupBy.MONTH:
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def buckets(start: date, end: date, tz: ZoneInfo, group: GroupBy
            ) -> list[tuple[str, datetime, datetime]]:
    """(label, UTC start, UTC end) of each period from ``start`` to ``end`` (inclusive days)."""
    out = []
    day = _start_of(start, group)
    while day <= end:
        following = _next(day, group)
        lo = datetime.combine(max(day, start), time(), tz).astimezone(UTC)
        hi = datetime.combine(min(following, end + timedelta(days=1)), time(), tz).astimezone(UTC)
        label = day.strftime("%Y-%m") if group is GroupBy.MONTH else day.isoformat()
        out.append((label, lo, hi))
        day = following
        if len(out) > MAX_BUCKETS:
            raise InvalidInput("Choose a shorter range or a longer period", field=("to",))
    return out


def _money(value: Any, currency: str) -> Decimal:
    return quantize(Decimal(str(value or 0)), currency)


async def sales_report(*, start: date, end: date, time_zone: str, group_by: GroupBy,
                       channel: str | None = None, top: int = 10) -> SalesReport:
    """Sales between ``start`` and ``end`` (days in ``time_zone``), grouped."""
    if end < start:
        raise InvalidInput("The range ends before it starts", field=("to",))
    tz = zone(time_zone)
    periods = buckets(start, end, tz, GroupBy.DAY if group_by in (
        GroupBy.CHANNEL, GroupBy.SKU) else group_by)
    lo, hi = periods[0][1], periods[-1][2]
    conn = connection()
    params: list[Any] = []
    values = []
    # PostgreSQL needs the parameters' types; SQLite compares its stored text as is.
    text, stamp = ("CAST(? AS TEXT)", "CAST(? AS TIMESTAMPTZ)") if is_postgres(conn) \
        else ("?", "?")
    for label, b_lo, b_hi in periods:
        values.append(f"SELECT {text} AS label, {stamp} AS lo, {stamp} AS hi")
        params += [label, b_lo, b_hi]
    period_table = " UNION ALL ".join(values)
    group_expr = {GroupBy.CHANNEL: "c.code", GroupBy.SKU: "l.sku"}.get(group_by, "b.label")
    where = "o.status <> 'CANCELLED' AND o.created_at >= ? AND o.created_at < ?"
    params += [lo, hi]
    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    lines_sql = f"""
        SELECT {group_expr} AS grp, o.currency AS currency,
               COUNT(DISTINCT o.id) AS orders, SUM(l.quantity) AS units, SUM(l.total) AS gross
        FROM orders o
        JOIN channel c ON c.id = o.channel_id
        JOIN order_line l ON l.order_id = o.id
        JOIN ({period_table}) b ON o.created_at >= b.lo AND o.created_at < b.hi
        WHERE {where}
        GROUP BY {group_expr}, o.currency"""
    refunds_sql = f"""
        SELECT {group_expr if group_by is not GroupBy.SKU else "'*'"} AS grp,
               o.currency AS currency, SUM(r.refund_total) AS refunds
        FROM orders o
        JOIN channel c ON c.id = o.channel_id
        JOIN order_return r ON r.order_id = o.id AND r.status = 'REFUNDED'
        JOIN ({period_table}) b ON o.created_at >= b.lo AND o.created_at < b.hi
        WHERE {where}
        GROUP BY 1, o.currency"""
    line_rows = await fetch(conn, lines_sql, params)
    refund_params = list(params)
    refund_rows = await fetch(conn, refunds_sql, refund_params)
    refunds = {(str(r["grp"]), str(r["currency"])): r["refunds"] for r in refund_rows}
    rows = sorted((SalesRow(
        group=str(r["grp"]), currency=str(r["currency"]), orders=int(r["orders"]),
        units=int(r["units"] or 0), gross=_money(r["gross"], str(r["currency"])),
        discounts=_money(0, str(r["currency"])),
        refunds=_money(refunds.get((str(r["grp"]), str(r["currency"]))), str(r["currency"])))
        for r in line_rows), key=lambda row: (row.group, row.currency))
    return SalesReport(rows=rows, totals=await _totals(conn, lo, hi, channel),
                       top_skus=await _top(conn, lo, hi, channel, top))


async def _totals(conn: Any, lo: datetime, hi: datetime, channel: str | None) -> list[SalesRow]:
    where, params = _where(lo, hi, channel)
    rows = await fetch(conn, f"""
        SELECT o.currency AS currency, COUNT(DISTINCT o.id) AS orders,
               SUM(l.quantity) AS units, SUM(l.total) AS gross
        FROM orders o JOIN channel c ON c.id = o.channel_id
        JOIN order_line l ON l.order_id = o.id
        WHERE {where} GROUP BY o.currency ORDER BY o.currency""", params)
    refunds = {str(r["currency"]): r["refunds"] for r in await fetch(conn, f"""
        SELECT o.currency AS currency, SUM(r.refund_total) AS refunds
        FROM orders o JOIN channel c ON c.id = o.channel_id
        JOIN order_return r ON r.order_id = o.id AND r.status = 'REFUNDED'
        WHERE {where} GROUP BY o.currency""", params)}
    return [SalesRow(group="TOTAL", currency=str(r["currency"]), orders=int(r["orders"]),
                     units=int(r["units"] or 0), gross=_money(r["gross"], str(r["currency"])),
                     discounts=_money(0, str(r["currency"])),
                     refunds=_money(refunds.get(str(r["currency"])), str(r["currency"])))
            for r in rows]


async def _top(conn: Any, lo: datetime, hi: datetime, channel: str | None, top: int
               ) -> list[SalesRow]:
    where, params = _where(lo, hi, channel)
    rows = await fetch(conn, f"""
        SELECT l.sku AS sku, o.currency AS currency, COUNT(DISTINCT o.id) AS orders,
               SUM(l.quantity) AS units, SUM(l.total) AS gross
        FROM orders o JOIN channel c ON c.id = o.channel_id
        JOIN order_line l ON l.order_id = o.id
        WHERE {where} GROUP BY l.sku, o.currency
        ORDER BY SUM(l.quantity) DESC, l.sku LIMIT ?""", [*params, top])
    return [SalesRow(group=str(r["sku"]), currency=str(r["currency"]), orders=int(r["orders"]),
                     units=int(r["units"] or 0), gross=_money(r["gross"], str(r["currency"])),
                     discounts=_money(0, str(r["currency"])),
                     refunds=_money(0, str(r["currency"]))) for r in rows]


def _where(lo: datetime, hi: datetime, channel: str | None) -> tuple[str, list[Any]]:
    where = "o.status <> 'CANCELLED' AND o.created_at >= ? AND o.created_at < ?"
    params: list[Any] = [lo, hi]
    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    return where, params


