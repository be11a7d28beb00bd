"""Bringing the sales summaries (``sales_slot``, ``sales_day``) up to date.

Triggers note the quarter hour of every order whose sale changed (placed,
cancelled, reserved elsewhere, shipped, refunded) in ``report_dirty``.
``refresh`` takes the noted quarter hours and rebuilds them, and the UTC days
they fall in, from the orders: one transaction, serialised between
processes, so a summary is always the exact sum of the orders it covers.

A change committed while a refresh runs leaves its own note behind, which
the next refresh picks up; nothing is lost whatever the interleaving, because
a note is only ever taken by the transaction that rebuilds its quarter hour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import as_datetime, atomic, connection, execute, fetch, is_postgres
from domain.reports.models import ALL_LOCATIONS, NO_LOCATION

SLOT = timedelta(minutes=15)
DAY = timedelta(days=1)
_LOCK = 7_301_501  # the advisory lock that serialises refreshes on PostgreSQL

# Units of each order line by location: shipped parcels, then open reservations.
_PLACED = """
    SELECT sl.order_line_id AS line_id, s.location_id AS location_id, sl.quantity AS qty
    FROM shipment_line sl JOIN shipment s ON s.id = sl.shipment_id
    WHERE s.shipped_at IS NOT NULL AND s.status <> 'CANCELLED'
    UNION ALL
    SELECT a.order_line_id, a.location_id, a.quantity FROM allocation a
    WHERE NOT a.released AND a.quantity > 0"""
# The units of the lines of orders placed in [?, ?) by location; NULL: neither shipped
# nor reserved. Takes the range twice.
UNITS_AT = f"""(
    SELECT pl.line_id AS line_id, pl.location_id AS location_id, SUM(pl.qty) AS qty
    FROM ({_PLACED}) pl JOIN order_line l ON l.id = pl.line_id
    JOIN orders o ON o.id = l.order_id
    WHERE o.created_at >= ? AND o.created_at < ?
    GROUP BY pl.line_id, pl.location_id
    UNION ALL
    SELECT l.id, NULL, l.quantity - COALESCE(SUM(pl.qty), 0)
    FROM order_line l JOIN orders o ON o.id = l.order_id
    LEFT JOIN ({_PLACED}) pl ON pl.line_id = l.id
    WHERE o.created_at >= ? AND o.created_at < ?
    GROUP BY l.id, l.quantity HAVING l.quantity > COALESCE(SUM(pl.qty), 0))"""
# What refunds paid back of one order line, or of one order (shipping included, for
# customers' figures), from ``refund_allocation``: a refund once its payment operation has
# succeeded, an exchange credit (no operation) once recorded. Correlated on the line's or
# the order's id (both indexed), so a query reads the allocations of its own rows only,
# never sums the whole table. Shipping refunds are not line sales and are left out; so
# are an order edit's (kind EDIT: the edited lines' amounts already show what it took off).
_COUNTED_REFUND = """(SELECT COALESCE(SUM(ra.amount), 0) FROM refund_allocation ra
    LEFT JOIN payment_operation po ON po.id = ra.payment_operation_id
    WHERE ra.{column} = {row} AND ra.kind <> 'EDIT'
      AND (ra.payment_operation_id IS NULL OR po.status = 'SUCCEEDED'))"""


def line_refunds(line_id: str) -> str:
    """SQL for what refunds paid back of the order line whose id is ``line_id`` (SQL)."""
    return _COUNTED_REFUND.format(column="order_line_id", row=line_id)


def order_refunds(order_id: str) -> str:
    """SQL for what refunds paid back of the order whose id is ``order_id`` (SQL)."""
    return _COUNTED_REFUND.format(column="order_id", row=order_id)


# An exchange's replacement order is no new order: 0 in the order count.
COUNTED = "MAX(CASE WHEN o.replaces_order_id IS NULL THEN 1 ELSE 0 END)"
PLACED_IN = "o.status <> 'CANCELLED' AND o.created_at >= ? AND o.created_at < ?"


def _slot_of(column: str, pg: bool) -> str:
    """SQL for the start of the quarter hour (UTC) that ``column`` falls in."""
    if pg:
        return f"date_bin('15 minutes', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    return (f"strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', {column}) AS INTEGER)"
            f" / 900 * 900, 'unixepoch') || '+00:00'")


def _day_of(column: str, pg: bool) -> str:
    return f"CAST({column} AT TIME ZONE 'UTC' AS DATE)" if pg else f"date({column})"


def _rebuild_sql(table: str, pg: bool) -> str:
    """Insert into ``table`` the sales of the orders placed in [?, ?) (taken four times):
    each order's sale for all locations, then per location, summed by bucket."""
    daily = table == "sales_day"
    column, bucket = ("day", _day_of("o.created_at", pg)) if daily \
        else ("slot", _slot_of("o.created_at", pg))
    sku, line_sku = (", sku", ", l.sku") if daily else ("", "")
    location = f"COALESCE(p.location_id, {NO_LOCATION})"
    return f"""
        INSERT INTO {table} ({column}, channel_id, currency{sku}, location_id, orders, units,
                             gross, refunds)
        SELECT bucket, channel_id, currency{sku}, location_id, SUM(counted), SUM(units),
               SUM(gross), COALESCE(SUM(refunds), 0)
        FROM (
            SELECT {bucket} AS bucket, o.channel_id AS channel_id, o.currency AS currency
                   {line_sku}{" AS sku" if daily else ""}, {ALL_LOCATIONS} AS location_id,
                   {COUNTED} AS counted, SUM(l.quantity) AS units, SUM(l.total) AS gross,
                   SUM({line_refunds("l.id")}) AS refunds
            FROM orders o JOIN order_line l ON l.order_id = o.id
            WHERE {PLACED_IN}
            GROUP BY o.id, o.created_at, o.channel_id, o.currency{line_sku}
            UNION ALL
            SELECT {bucket}, o.channel_id, o.currency{line_sku}, {location}, {COUNTED},
                   SUM(p.qty), SUM(l.total * p.qty / l.quantity),
                   SUM({line_refunds("l.id")} * p.qty / l.quantity)
            FROM orders o JOIN order_line l ON l.order_id = o.id
            JOIN {UNITS_AT} p ON p.line_id = l.id
            WHERE {PLACED_IN}
            GROUP BY o.id, o.created_at, o.channel_id, o.currency{line_sku}, {location}
        ) sold
        GROUP BY bucket, channel_id, currency{sku}, location_id"""


def spans(starts: list[datetime], step: timedelta, gap: timedelta
          ) -> list[tuple[datetime, datetime]]:
    """Sorted bucket starts merged into [from, to) spans, bridging gaps up to ``gap``."""
    merged: list[tuple[datetime, datetime]] = []
    for start in sorted(set(starts)):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], start + step))
        else:
            merged.append((start, start + step))
    return merged


async def take_notes(table: str, lock: int, columns: str,
                     rebuild: Callable[[BaseDBAsyncClient, list[dict[str, Any]]],
                                       Awaitable[int]]) -> int:
    """Take every note of ``table`` and ``rebuild`` from them, in one transaction serialised
    between processes by the advisory ``lock``: a note is only ever taken by the transaction
    that rebuilds what it names. With nothing noted, nobody queues for the lock."""
    if not await fetch(connection(), f"SELECT 1 AS noted FROM {table} LIMIT 1"):
        return 0
    async with atomic() as conn:
        if is_postgres(conn):
            await fetch(conn, "SELECT pg_advisory_xact_lock(?) AS locked", [lock])
        return await rebuild(conn, await fetch(conn, f"DELETE FROM {table} RETURNING {columns}"))


async def _rebuild(conn: BaseDBAsyncClient, table: str, lo: datetime, hi: datetime,
                   keys: tuple[Any, Any]) -> None:
    pg = is_postgres(conn)
    column = "slot" if table == "sales_slot" else "day"
    await execute(conn, f"DELETE FROM {table} WHERE {column} >= ? AND {column} < ?", keys)
    await execute(conn, _rebuild_sql(table, pg), [lo, hi] * 4)


async def refresh() -> int:
    """Rebuild every noted quarter hour and UTC day; the number of quarter hours rebuilt."""
    return await take_notes("report_dirty", _LOCK, "slot", _rebuild_noted)


async def _rebuild_noted(conn: BaseDBAsyncClient, noted: list[dict[str, Any]]) -> int:
    slots = sorted({stamp for row in noted if (stamp := as_datetime(row["slot"])) is not None})
    for lo, hi in spans(slots, SLOT, gap=DAY):
        await _rebuild(conn, "sales_slot", lo, hi, (lo, hi))
    days = [datetime.combine(s.date(), time(), UTC) for s in slots]
    for lo, hi in spans(days, DAY, gap=timedelta(0)):
        await _rebuild(conn, "sales_day", lo, hi, (lo.date(), hi.date()))
    return len(slots)


def whole_days(lo: datetime, hi: datetime) -> tuple[date, date] | None:
    """The UTC days wholly inside [lo, hi), as [first, after last), if any."""
    first = lo.astimezone(UTC).date() + (DAY if lo.astimezone(UTC).time() != time() else
                                         timedelta(0))
    after = hi.astimezone(UTC).date()
    return (first, after) if first < after else None
