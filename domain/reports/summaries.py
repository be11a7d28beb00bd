"""Bringing the fulfilment and customer summaries up to date (see ``domain.reports.models``).

Every quarter hour noted for the sales summaries (``report_dirty``) is noted in
``summary_dirty`` too (a trigger copies it), where triggers also note what the
sales summaries are not made of; the two are taken apart, so neither report
waits for the other's rebuild. ``refresh`` takes those notes and, in one transaction serialised between
processes, rebuilds from the orders and parcels themselves:

- ``parcel_time``, the parcels of the orders placed in each noted quarter hour
  (or placed there before they were re-dated), with their hours to ship and to
  deliver;
- ``parcel_month``, each noted UTC month's histogram of those hours (whole hours
  begun), and ``fulfillment_day``, each noted UTC day's orders by status;
- ``customer_summary`` and ``customer_value``, every customer with an order in
  a noted quarter hour, and every customer noted by itself.

So every summary is always the exact sum of what it covers once a refresh has
run; a change committed meanwhile leaves a note for the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import as_datetime, execute, fetch, is_postgres
from domain.reports import rollup
from domain.reports.rollup import DAY, SLOT, _day_of, order_refunds

_LOCK = 7_301_502  # the advisory lock that serialises these refreshes on PostgreSQL
NO_REASON = "no reason given"
SHIP, DELIVER = 0, 1
# Ten-thousandths: lifetime values are kept as whole numbers of them (amounts have four
# decimals), exact on both databases.
VALUE_SCALE = 10_000


def seconds(pg: bool, later: str, earlier: str) -> str:
    """SQL for the seconds from ``earlier`` to ``later`` (as the report has always counted)."""
    if pg:
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _floor(pg: bool, value: str) -> str:
    if pg:
        return f"FLOOR({value})"
    return f"(CAST({value} AS INTEGER) - ({value} < CAST({value} AS INTEGER)))"


def tenths(pg: bool, secs: str, whole: str) -> str:
    """SQL for ``secs`` in tenths of an hour rounded half to even (``Decimal.quantize``),
    given ``whole`` = the floor of ``secs / 360``: the remainder decides, exactly."""
    rest = f"({secs} - {whole} * 360)"
    return (f"CAST({whole} + CASE WHEN {rest} > 180 THEN 1 WHEN {rest} < 180 THEN 0"
            f" WHEN {whole} - 2 * {_floor(pg, f'{whole} / 2.0')} = 0 THEN 0 ELSE 1 END"
            " AS INTEGER)")


def hours_begun(secs: str, whole: str) -> str:
    """SQL for the whole hours begun in ``secs`` (the least H with secs <= H * 3600), given
    ``whole`` = the floor of ``secs / 3600``."""
    return f"CAST({whole} + CASE WHEN {secs} > {whole} * 3600 THEN 1 ELSE 0 END AS INTEGER)"


def parcel_rows(pg: bool, where: str) -> str:
    """SQL selecting ``parcel_time``'s columns for the parcels of the orders (alias o)
    matching ``where``."""
    ship = seconds(pg, "s.shipped_at", "o.created_at")
    deliver = seconds(pg, "s.delivered_at", "o.created_at")
    return f"""
        SELECT id, order_id, placed_at, channel_id, location_id, carrier, live,
               {tenths(pg, 'ship', 'ship_t')} AS ship_tenths,
               {hours_begun('ship', 'ship_h')} AS ship_hours,
               {tenths(pg, 'deliver', 'deliver_t')} AS deliver_tenths,
               {hours_begun('deliver', 'deliver_h')} AS deliver_hours
        FROM (SELECT t.*, {_floor(pg, 'ship / 360.0')} AS ship_t,
                     {_floor(pg, 'ship / 3600.0')} AS ship_h,
                     {_floor(pg, 'deliver / 360.0')} AS deliver_t,
                     {_floor(pg, 'deliver / 3600.0')} AS deliver_h
              FROM (SELECT s.id AS id, s.order_id AS order_id, o.created_at AS placed_at,
                           o.channel_id AS channel_id, s.location_id AS location_id,
                           COALESCE(s.carrier, '') AS carrier,
                           s.status <> 'CANCELLED' AS live,
                           {ship} AS ship, {deliver} AS deliver
                    FROM shipment s JOIN orders o ON o.id = s.order_id
                    WHERE {where}) t) w"""


def _month_of(pg: bool, column: str) -> str:
    if pg:
        return f"CAST(date_trunc('month', {column} AT TIME ZONE 'UTC') AS DATE)"
    return f"date({column}, 'start of month')"


def order_figures(pg: bool, where: str) -> str:
    """SQL for the orders (alias o) matching ``where`` by UTC day, channel, status and
    reason: how many, and how many went out in more than one parcel not cancelled. Takes
    the range the orders were placed in first, then ``where``'s parameters."""
    return f"""
        SELECT {_day_of('o.created_at', pg)} AS day, o.channel_id AS channel_id,
               o.status AS status,
               CASE o.status WHEN 'ON_HOLD' THEN COALESCE(o.hold_reason, '{NO_REASON}')
                             WHEN 'CANCELLED' THEN COALESCE(o.cancel_reason, '{NO_REASON}')
               END AS reason, COUNT(*) AS orders,
               SUM(CASE WHEN sp.order_id IS NULL THEN 0 ELSE 1 END) AS split
        FROM orders o LEFT JOIN (
            SELECT pt.order_id AS order_id FROM parcel_time pt
            WHERE pt.live = {'TRUE' if pg else '1'} AND pt.placed_at >= ? AND pt.placed_at < ?
            GROUP BY pt.order_id HAVING COUNT(*) > 1) sp ON sp.order_id = o.id
        WHERE {where}
        GROUP BY 1, 2, 3, 4"""


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def whole_months(lo: datetime, hi: datetime) -> tuple[datetime, datetime] | None:
    """The UTC months wholly inside [lo, hi), as [first, after last), if any."""
    first = month_start(lo)
    if first < lo:
        first = next_month(first)
    after = month_start(hi)
    return (first, after) if first < after else None


async def _rebuild_parcels(conn: BaseDBAsyncClient, spans: Sequence[tuple[datetime, datetime]]
                           ) -> None:
    pg = is_postgres(conn)
    for lo, hi in spans:  # every parcel leaves first (a re-dated order's too), then comes back
        await execute(conn, "DELETE FROM parcel_time WHERE placed_at >= ? AND placed_at < ?",
                      [lo, hi])
        await execute(conn, """
            DELETE FROM parcel_time WHERE order_id IN (
                SELECT o.id FROM orders o WHERE o.created_at >= ? AND o.created_at < ?)""",
                      [lo, hi])
    columns = ("id, order_id, placed_at, channel_id, location_id, carrier, live, ship_tenths,"
               " ship_hours, deliver_tenths, deliver_hours")
    for lo, hi in spans:
        rows = parcel_rows(pg, "o.created_at >= ? AND o.created_at < ?")
        await execute(conn, f"INSERT INTO parcel_time ({columns}) {rows}", [lo, hi])


async def _rebuild_months(conn: BaseDBAsyncClient, slots: Sequence[datetime]) -> None:
    pg = is_postgres(conn)
    months: list[tuple[datetime, datetime]] = []
    for start in sorted({month_start(s) for s in slots}):
        if months and months[-1][1] == start:
            months[-1] = (months[-1][0], next_month(start))
        else:
            months.append((start, next_month(start)))
    month = _month_of(pg, "placed_at")
    for lo, hi in months:
        await execute(conn, "DELETE FROM parcel_month WHERE month >= ? AND month < ?",
                      [lo.date(), hi.date()])
        await execute(conn, f"""
            INSERT INTO parcel_month (month, channel_id, location_id, carrier, kind, hours,
                                      parcels)
            SELECT {month}, channel_id, location_id, carrier, {SHIP}, ship_hours, COUNT(*)
            FROM parcel_time WHERE placed_at >= ? AND placed_at < ? AND ship_hours IS NOT NULL
            GROUP BY 1, 2, 3, 4, 6
            UNION ALL
            SELECT {month}, channel_id, location_id, carrier, {DELIVER}, deliver_hours, COUNT(*)
            FROM parcel_time WHERE placed_at >= ? AND placed_at < ?
              AND deliver_hours IS NOT NULL
            GROUP BY 1, 2, 3, 4, 6""", [lo, hi] * 2)


async def _rebuild_days(conn: BaseDBAsyncClient, slots: Sequence[datetime]) -> None:
    pg = is_postgres(conn)
    days = [datetime.combine(s.date(), time(), UTC) for s in slots]
    for lo, hi in rollup.spans(days, DAY, gap=timedelta(0)):
        await execute(conn, "DELETE FROM fulfillment_day WHERE day >= ? AND day < ?",
                      [lo.date(), hi.date()])
        await execute(conn, f"""
            INSERT INTO fulfillment_day (day, channel_id, status, reason, orders, split)
            {order_figures(pg, "o.created_at >= ? AND o.created_at < ?")}""", [lo, hi] * 2)


async def _rebuild_customers(conn: BaseDBAsyncClient, which: str, params: list[Any]) -> None:
    """Rebuild the customers whose ids ``which`` (SQL, with ``params``) selects."""
    live = f"o.status <> 'CANCELLED' AND o.customer_id IN ({which})"
    for table in ("customer_summary", "customer_value"):
        await execute(conn, f"DELETE FROM {table} WHERE customer_id IN ({which})", params)
    await execute(conn, f"""
        INSERT INTO customer_summary (customer_id, order_count, last_order_at)
        SELECT o.customer_id, SUM(CASE WHEN o.replaces_order_id IS NULL THEN 1 ELSE 0 END),
               MAX(o.created_at)
        FROM orders o WHERE {live} GROUP BY o.customer_id""", params)
    await execute(conn, f"""
        INSERT INTO customer_value (customer_id, currency, value)
        SELECT o.customer_id, o.currency,
               ROUND(SUM(o.total - {order_refunds("o.id")}) * {VALUE_SCALE})
        FROM orders o WHERE {live} GROUP BY o.customer_id, o.currency""", params)


async def refresh() -> int:
    """Rebuild what was noted; the number of quarter hours rebuilt."""
    return await rollup.take_notes("summary_dirty", _LOCK, "slot, customer_id", _rebuild_noted)


async def _rebuild_noted(conn: BaseDBAsyncClient, noted: list[dict[str, Any]]) -> int:
    slots = sorted({stamp for row in noted if (stamp := as_datetime(row["slot"]))})
    customers = {int(row["customer_id"]) for row in noted if row["customer_id"] is not None}
    # Quarter hours an hour apart or less are rebuilt as one: fewer statements, and few
    # parcels between them.
    spans = rollup.spans(slots, SLOT, gap=timedelta(hours=1))
    await _rebuild_parcels(conn, spans)
    await _rebuild_months(conn, slots)
    await _rebuild_days(conn, slots)
    if len(slots) > 10_000:  # a backlog: every customer with an order from first to last
        await _rebuild_customers(conn, "SELECT c.customer_id FROM orders c WHERE"
                                       " c.created_at >= ? AND c.created_at < ?"
                                       " AND c.customer_id IS NOT NULL",
                                 [spans[0][0], spans[-1][1]])
    else:  # by their ids, so each reads its own orders down the index
        for lo, hi in spans:
            customers.update(int(r["id"]) for r in await fetch(
                conn, "SELECT DISTINCT customer_id AS id FROM orders WHERE created_at >= ?"
                      " AND created_at < ? AND customer_id IS NOT NULL", [lo, hi]))
    # (A customer noted by itself, with no order in a noted quarter hour, is rebuilt here.)
    chosen = sorted(customers)
    for start in range(0, len(chosen), 500):
        chunk = chosen[start:start + 500]
        await _rebuild_customers(conn, ", ".join("?" * len(chunk)), chunk)
    return len(slots)


async def refresh_all() -> None:
    """The sales summaries, then these: what the background pass runs."""
    await rollup.refresh()
    await refresh()
