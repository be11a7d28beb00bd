"""The fulfilment report: how fast and how well the orders placed in a period shipped.

Per shipping location and carrier: how many parcels left, the median and 90th
percentile of hours from order to shipment and from order to delivery
(nearest-rank percentiles, picked by the database with window functions), and
the share shipped within the promise. Over all orders: how many were split
over more than one shipment, and how many sit on hold or were cancelled, with
their reasons. At one location: its parcels, and the orders that shipped or
reserved units there (a cancelled order keeps its released reservations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.db import fetch, for_reports, is_postgres
from domain.errors import InvalidInput
from domain.reports.sales import GroupBy, buckets, require_code, zone

if TYPE_CHECKING:
    from domain.access import Scope


MAX_PROMISE_HOURS = 24 * 90
_SHIPPED_FROM = """SELECT 1 FROM shipment fs JOIN location fl ON fl.id = fs.location_id
                   WHERE fs.order_id = o.id AND fs.status <> 'CANCELLED' AND fl.code = ?"""
_RESERVED_AT = """SELECT 1 FROM allocation fa JOIN order_line fo ON fo.id = fa.order_line_id
                  JOIN location fl ON fl.id = fa.location_id
                  WHERE fo.order_id = o.id AND fl.code = ?"""
NO_REASON = "no reason given"


@dataclass(frozen=True)
class FulfillmentRow:
    location: str
    carrier: str | None
    shipments: int
    hours_to_ship_median: Decimal | None
    hours_to_ship_p90: Decimal | None
    hours_to_deliver_median: Decimal | None
    hours_to_deliver_p90: Decimal | None
    shipped_within_promise: Decimal | None  # share of shipped parcels, 0..1


@dataclass(frozen=True)
class FulfillmentReport:
    rows: list[FulfillmentRow]
    orders: int
    split_orders: int  # orders with more than one shipment
    on_hold: list[tuple[str, int]]  # (reason, orders)
    cancelled: list[tuple[str, int]]  # (reason, orders)

    def share(self, count: int) -> Decimal:
        return (Decimal(count) / self.orders).quantize(Decimal("0.0001")) if self.orders \
            else Decimal("0.0000")


def _seconds(conn: Any, later: str, earlier: str) -> str:
    if is_postgres(conn):
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _hours(value: Any) -> Decimal | None:
    return None if value is None else (Decimal(str(value)) / 3600).quantize(Decimal("0.1"))


def _percentiles(conn: Any, column: str, where: str) -> str:
    """Per location and carrier, the nearest-rank median and 90th percentile of ``column``.

    PostgreSQL's ``percentile_disc`` is the nearest rank; SQLite numbers the rows.
    """
    seconds = _seconds(conn, f"s.{column}", "o.created_at")
    source = f"""FROM shipment s JOIN orders o ON o.id = s.order_id
              JOIN channel c ON c.id = o.channel_id JOIN location l ON l.id = s.location_id
              WHERE s.{column} IS NOT NULL AND {where}"""
    if is_postgres(conn):
        return f"""
            SELECT l.code AS loc, s.carrier AS carrier, COUNT(*) AS n,
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY {seconds}) AS p50,
                   percentile_disc(0.9) WITHIN GROUP (ORDER BY {seconds}) AS p90,
                   SUM(CASE WHEN {seconds} <= ? THEN 1 ELSE 0 END) AS on_time
            {source}
            GROUP BY l.code, s.carrier"""
    return f"""
        SELECT loc, carrier, COUNT(*) AS n,
               MAX(CASE WHEN rn = (50 * total + 99) / 100 THEN secs END) AS p50,
               MAX(CASE WHEN rn = (90 * total + 99) / 100 THEN secs END) AS p90,
               SUM(CASE WHEN secs <= ? THEN 1 ELSE 0 END) AS on_time
        FROM (SELECT l.code AS loc, s.carrier AS carrier, {seconds} AS secs,
                     ROW_NUMBER() OVER (PARTITION BY l.code, s.carrier ORDER BY {seconds}) AS rn,
                     COUNT(*) OVER (PARTITION BY l.code, s.carrier) AS total
              {source}) r
        GROUP BY loc, carrier"""


async def fulfillment_report(*, scope: Scope, start: date, end: date, time_zone: str,
                             channel: str | None = None, location: str | None = None,
                             promise_hours: int = 48) -> FulfillmentReport:
    """Shipments of the orders placed between two days (inclusive, days in ``time_zone``).
    A caller limited to channels reads one of its own."""
    channel = scope.report_channel(channel)
    if not 1 <= promise_hours <= MAX_PROMISE_HOURS:
        raise InvalidInput(f"promiseHours must be between 1 and {MAX_PROMISE_HOURS}",
                           field=("promiseHours",))
    periods = buckets(start, end, zone(time_zone), GroupBy.DAY)
    params: list[Any] = [periods[0][1], periods[-1][2]]
    where = "o.created_at >= ? AND o.created_at < ?"
    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    parcels, parcel_params = where, list(params)
    await require_code("channel", channel, "channel")
    await require_code("location", location, "location")
    if location is not None:  # orders that shipped or reserved units there, parcels from there
        where += f" AND (EXISTS ({_SHIPPED_FROM}) OR EXISTS ({_RESERVED_AT}))"
        params += [location, location]
        parcels += " AND l.code = ?"
        parcel_params.append(location)
    promise = promise_hours * 3600
    async with for_reports() as conn:
        shipped = await fetch(conn, _percentiles(conn, "shipped_at", parcels),
                              [promise, *parcel_params])
        delivered = {(r["loc"], r["carrier"]): r for r in await fetch(
            conn, _percentiles(conn, "delivered_at", parcels), [0, *parcel_params])}
        split = (await fetch(conn, f"""
            SELECT COUNT(*) AS n FROM (
                SELECT s.order_id FROM shipment s JOIN orders o ON o.id = s.order_id
                JOIN channel c ON c.id = o.channel_id
                WHERE s.status <> 'CANCELLED' AND {where}
                GROUP BY s.order_id HAVING COUNT(*) > 1) split""", params))[0]["n"]
        # One pass over the orders: how many, and why those on hold or cancelled are.
        by_status = await fetch(conn, f"""
            SELECT o.status AS status,
                   CASE o.status WHEN 'ON_HOLD' THEN COALESCE(o.hold_reason, '{NO_REASON}')
                                 WHEN 'CANCELLED' THEN COALESCE(o.cancel_reason, '{NO_REASON}')
                   END AS reason, COUNT(*) AS n
            FROM orders o JOIN channel c ON c.id = o.channel_id WHERE {where}
            GROUP BY 1, 2""", params)
    rows = [FulfillmentRow(
        location=str(r["loc"]), carrier=r["carrier"], shipments=int(r["n"]),
        hours_to_ship_median=_hours(r["p50"]), hours_to_ship_p90=_hours(r["p90"]),
        hours_to_deliver_median=_hours((delivered.get((r["loc"], r["carrier"])) or {}).get("p50")),
        hours_to_deliver_p90=_hours((delivered.get((r["loc"], r["carrier"])) or {}).get("p90")),
        shipped_within_promise=(Decimal(int(r["on_time"])) / int(r["n"])).quantize(
            Decimal("0.0001")))
        for r in shipped]
    rows.sort(key=lambda row: (row.location, row.carrier or ""))

    def reasons(status: str) -> list[tuple[str, int]]:
        found = [(str(r["reason"]), int(r["n"])) for r in by_status if r["status"] == status]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    return FulfillmentReport(
        rows=rows, orders=sum(int(r["n"]) for r in by_status), split_orders=int(split or 0),
        on_hold=reasons("ON_HOLD"), cancelled=reasons("CANCELLED"))
