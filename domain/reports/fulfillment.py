"""The fulfilment report: how fast and how well the orders placed in a period shipped.

Per shipping location and carrier: how many parcels left, the median and 90th
percentile of hours from order to shipment and from order to delivery
(nearest-rank percentiles), and the share shipped within the promise. Over all
orders: how many were split over more than one shipment, and how many sit on
hold or were cancelled, with their reasons. At one location: its parcels, and
the orders that shipped or reserved units there (a cancelled order keeps its
released reservations).

Read from the summaries (``domain.reports.summaries``), brought up to date
first: the parcels' histogram of whole hours begun per UTC month, and the
parcels themselves for the partial months at a range's ends, count the parcels
and those within the promise, and find the hour each percentile falls in; the
parcels of that hour alone then give its exact tenth of an hour (the hours
shown are rounded half to even, a rounding that keeps the order, so the
percentile of the rounded hours is the rounded percentile). Orders by status
come from the daily summary and, for the partial UTC days at the ends, from the
orders; with a location, from the orders. ``summaries=False`` computes every
figure straight from the orders and parcels, by the database's own percentiles:
the reference the summaries are tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.db import fetch, for_reports, is_postgres
from domain.errors import InvalidInput
from domain.reports import rollup
from domain.reports import summaries as summary
from domain.reports.sales import GroupBy, buckets, require_code, zone
from domain.reports.summaries import DELIVER, NO_REASON, SHIP

if TYPE_CHECKING:
    from domain.access import Scope


MAX_PROMISE_HOURS = 24 * 90
_SHIPPED_FROM = """SELECT 1 FROM shipment fs JOIN location fl ON fl.id = fs.location_id
                   WHERE fs.order_id = o.id AND fs.status <> 'CANCELLED' AND fl.code = ?"""
_RESERVED_AT = """SELECT 1 FROM allocation fa JOIN order_line fo ON fo.id = fa.order_line_id
                  JOIN location fl ON fl.id = fa.location_id
                  WHERE fo.order_id = o.id AND fl.code = ?"""


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
    return summary.seconds(is_postgres(conn), later, earlier)


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
                             promise_hours: int = 48, summaries: bool = True
                             ) -> FulfillmentReport:
    """Shipments of the orders placed between two days (inclusive, days in ``time_zone``).
    A caller limited to channels reads one of its own."""
    channel = scope.report_channel(channel)
    if not 1 <= promise_hours <= MAX_PROMISE_HOURS:
        raise InvalidInput(f"promiseHours must be between 1 and {MAX_PROMISE_HOURS}",
                           field=("promiseHours",))
    periods = buckets(start, end, zone(time_zone), GroupBy.DAY)
    await require_code("channel", channel, "channel")
    await require_code("location", location, "location")
    lo, hi = periods[0][1], periods[-1][2]
    if not summaries:
        return await _from_orders(lo, hi, channel, location, promise_hours)
    await summary.refresh()
    async with for_reports() as conn:
        channel_id = await _id_of(conn, "channel", channel)
        location_id = await _id_of(conn, "location", location)
        codes = {int(r["id"]): str(r["code"])
                 for r in await fetch(conn, "SELECT id, code FROM location")}
        rows = await _parcel_figures(conn, lo, hi, channel_id, location_id, promise_hours)
        if location is None:
            split, by_status = await _order_figures(conn, lo, hi, channel_id)
        else:
            split, by_status = await _order_figures_from_orders(conn, lo, hi, channel, location)
    return _report([replace(row, location=codes[int(row.location)]) for row in rows],
                   split, by_status)


async def _id_of(conn: Any, table: str, code: str | None) -> int | None:
    """The id of a channel or location named by code (``table`` is ours, never input)."""
    if code is None:
        return None
    return int((await fetch(conn, f"SELECT id FROM {table} WHERE code = ?", [code]))[0]["id"])


def _rank(conn: Any, share: int, count: int) -> int:
    """The nearest rank of the ``share`` percentile of ``count`` values, as each database's
    direct computation picks it: PostgreSQL's ``percentile_disc`` multiplies in floating
    point, SQLite's row numbers in whole numbers."""
    if is_postgres(conn):
        return max(1, math.ceil(share / 100 * count))
    return (share * count + 99) // 100


async def _parcel_figures(conn: Any, lo: datetime, hi: datetime, channel_id: int | None,
                          location_id: int | None, promise_hours: int) -> list[FulfillmentRow]:
    """Per location (its id, for now) and carrier, from the histograms and the parcels."""
    months = summary.whole_months(lo, hi)
    edges = [(lo, months[0]), (months[1], hi)] if months else [(lo, hi), (hi, hi)]
    filters, filter_params = "", []
    for column, value in (("channel_id", channel_id), ("location_id", location_id)):
        if value is not None:
            filters += f" AND {column} = ?"
            filter_params.append(value)
    edge = "((placed_at >= ? AND placed_at < ?) OR (placed_at >= ? AND placed_at < ?))"
    edge_params = [moment for pair in edges for moment in pair]
    month_range = [months[0].date(), months[1].date()] if months else [lo.date(), lo.date()]
    coarse = await fetch(conn, f"""
        SELECT location_id AS loc, carrier, kind, hours, SUM(n) AS n FROM (
            SELECT location_id, carrier, kind, hours, parcels AS n FROM parcel_month
            WHERE month >= ? AND month < ?{filters}
            UNION ALL
            SELECT location_id, carrier, {SHIP}, ship_hours, COUNT(*) FROM parcel_time
            WHERE ship_hours IS NOT NULL AND {edge}{filters}
            GROUP BY location_id, carrier, ship_hours
            UNION ALL
            SELECT location_id, carrier, {DELIVER}, deliver_hours, COUNT(*) FROM parcel_time
            WHERE deliver_hours IS NOT NULL AND {edge}{filters}
            GROUP BY location_id, carrier, deliver_hours) h
        GROUP BY location_id, carrier, kind, hours""",
        [*month_range, *filter_params, *edge_params, *filter_params, *edge_params,
         *filter_params])
    histograms: dict[tuple[int, str], dict[int, list[tuple[int, int]]]] = {}
    for r in coarse:
        histograms.setdefault((int(r["loc"]), str(r["carrier"])), {}).setdefault(
            int(r["kind"]), []).append((int(r["hours"]), int(r["n"])))
    # Each percentile's hour, and its rank among the parcels of that hour.
    targets: dict[tuple[int, str, int, int], list[tuple[int, int]]] = {}
    wanted: dict[tuple[int, str, int, int], tuple[tuple[int, str, int, int], int]] = {}
    for group, kinds in histograms.items():
        for kind, counts in kinds.items():
            counts.sort()
            total = sum(n for _, n in counts)
            for share in (50, 90):
                rank, seen = _rank(conn, share, total), 0
                for hours, n in counts:
                    if seen + n >= rank:
                        bucket = (*group, kind, hours)
                        targets.setdefault(bucket, [])
                        wanted[(*group, kind, share)] = (bucket, rank - seen)
                        break
                    seen += n
    await _fill_tenths(conn, targets, lo, hi, channel_id)
    tenth = Decimal("0.1")

    def percentile(group: tuple[int, str], kind: int, share: int) -> Decimal | None:
        found = wanted.get((*group, kind, share))
        if found is None:
            return None
        bucket, rank = found
        for value, n in targets[bucket]:
            rank -= n
            if rank <= 0:
                return (Decimal(value) / 10).quantize(tenth)
        raise AssertionError(f"the parcels of {bucket} disagree with the histogram")

    rows = []
    for group, kinds in histograms.items():
        shipped = kinds.get(SHIP)
        if not shipped:
            continue
        count = sum(n for _, n in shipped)
        on_time = sum(n for hours, n in shipped if hours <= promise_hours)
        rows.append(FulfillmentRow(
            location=str(group[0]), carrier=group[1] or None, shipments=count,
            hours_to_ship_median=percentile(group, SHIP, 50),
            hours_to_ship_p90=percentile(group, SHIP, 90),
            hours_to_deliver_median=percentile(group, DELIVER, 50),
            hours_to_deliver_p90=percentile(group, DELIVER, 90),
            shipped_within_promise=(Decimal(on_time) / count).quantize(Decimal("0.0001"))))
    return rows


async def _fill_tenths(conn: Any,
                       targets: dict[tuple[int, str, int, int], list[tuple[int, int]]],
                       lo: datetime, hi: datetime, channel_id: int | None) -> None:
    """For each (location, carrier, kind, hours): its parcels' tenths of an hour in the
    range, lowest first, with how many took each (the index on those columns)."""
    parts, params = [], []
    channel = " AND channel_id = ?" if channel_id is not None else ""
    buckets = list(targets)
    for i, (location_id, carrier, kind, hours) in enumerate(buckets):
        column = "ship" if kind == SHIP else "deliver"
        parts.append(f"""SELECT {i} AS target, {column}_tenths AS t, COUNT(*) AS n
            FROM parcel_time WHERE location_id = ? AND carrier = ? AND {column}_hours = ?
              AND placed_at >= ? AND placed_at < ?{channel} GROUP BY {column}_tenths""")
        params += [location_id, carrier, hours, lo, hi]
        if channel_id is not None:
            params.append(channel_id)
    if not parts:
        return
    found = await fetch(conn, " UNION ALL ".join(parts), params)
    for r in sorted(found, key=lambda r: (int(r["target"]), int(r["t"]))):
        targets[buckets[int(r["target"])]].append((int(r["t"]), int(r["n"])))


async def _order_figures(conn: Any, lo: datetime, hi: datetime, channel_id: int | None
                         ) -> tuple[int, list[dict[str, Any]]]:
    """Split orders, and orders by status and reason: the daily summary for whole UTC
    days, the orders for the partial days at the ends."""
    pg = is_postgres(conn)
    channel_params = [] if channel_id is None else [channel_id]
    channel = "" if channel_id is None else " AND channel_id = ?"
    days = rollup.whole_days(lo, hi)
    found: list[dict[str, Any]] = []
    if days is not None:
        found += await fetch(conn, f"""
            SELECT status, reason, SUM(orders) AS n, SUM(split) AS split FROM fulfillment_day
            WHERE day >= ? AND day < ?{channel} GROUP BY status, reason""",
                             [*days, *channel_params])
        first, after = (datetime.combine(day, time(), UTC) for day in days)
        edges = [(lo, first), (after, hi)]
    else:
        edges = [(lo, hi)]
    for edge_lo, edge_hi in edges:
        if edge_lo < edge_hi:
            placed = "o.created_at >= ? AND o.created_at < ?" + (
                "" if channel_id is None else " AND o.channel_id = ?")
            found += [{**r, "n": r["orders"]} for r in await fetch(
                conn, summary.order_figures(pg, placed),
                [edge_lo, edge_hi, edge_lo, edge_hi, *channel_params])]
    tally: dict[tuple[str, str | None], int] = {}
    split = 0
    for r in found:
        key = (str(r["status"]), r["reason"])
        tally[key] = tally.get(key, 0) + int(r["n"])
        split += int(r["split"] or 0)
    return split, [{"status": status, "reason": reason, "n": n}
                   for (status, reason), n in tally.items()]


def _orders_where(lo: datetime, hi: datetime, channel: str | None, location: str | None
                  ) -> tuple[str, list[Any], str, list[Any]]:
    """The orders' and the parcels' conditions and parameters, straight on the tables."""
    params: list[Any] = [lo, hi]
    where = "o.created_at >= ? AND o.created_at < ?"
    if channel is not None:
        where += " AND c.code = ?"
        params.append(channel)
    parcels, parcel_params = where, list(params)
    if location is not None:  # orders that shipped or reserved units there, parcels from there
        where += f" AND (EXISTS ({_SHIPPED_FROM}) OR EXISTS ({_RESERVED_AT}))"
        params += [location, location]
        parcels += " AND l.code = ?"
        parcel_params.append(location)
    return where, params, parcels, parcel_params


async def _order_figures_from_orders(conn: Any, lo: datetime, hi: datetime,
                                     channel: str | None, location: str | None
                                     ) -> tuple[int, list[dict[str, Any]]]:
    where, params, _, _ = _orders_where(lo, hi, channel, location)
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
    return int(split or 0), by_status


async def _from_orders(lo: datetime, hi: datetime, channel: str | None, location: str | None,
                       promise_hours: int) -> FulfillmentReport:
    """Every figure straight from the orders and parcels."""
    _, _, parcels, parcel_params = _orders_where(lo, hi, channel, location)
    promise = promise_hours * 3600
    async with for_reports() as conn:
        shipped = await fetch(conn, _percentiles(conn, "shipped_at", parcels),
                              [promise, *parcel_params])
        delivered = {(r["loc"], r["carrier"]): r for r in await fetch(
            conn, _percentiles(conn, "delivered_at", parcels), [0, *parcel_params])}
        split, by_status = await _order_figures_from_orders(conn, lo, hi, channel, location)
    rows = [FulfillmentRow(
        location=str(r["loc"]), carrier=r["carrier"], shipments=int(r["n"]),
        hours_to_ship_median=_hours(r["p50"]), hours_to_ship_p90=_hours(r["p90"]),
        hours_to_deliver_median=_hours((delivered.get((r["loc"], r["carrier"])) or {}).get("p50")),
        hours_to_deliver_p90=_hours((delivered.get((r["loc"], r["carrier"])) or {}).get("p90")),
        shipped_within_promise=(Decimal(int(r["on_time"])) / int(r["n"])).quantize(
            Decimal("0.0001")))
        for r in shipped]
    return _report(rows, split, by_status)


def _report(rows: list[FulfillmentRow], split: int, by_status: list[dict[str, Any]]
            ) -> FulfillmentReport:
    rows.sort(key=lambda row: (row.location, row.carrier or ""))

    def reasons(status: str) -> list[tuple[str, int]]:
        found = [(str(r["reason"]), int(r["n"])) for r in by_status if r["status"] == status]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    return FulfillmentReport(
        rows=rows, orders=sum(int(r["n"]) for r in by_status), split_orders=split,
        on_hold=reasons("ON_HOLD"), cancelled=reasons("CANCELLED"))
