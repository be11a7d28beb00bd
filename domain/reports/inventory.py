"""The inventory report: per SKU and location, what is on the shelf, how fast it sells,
how long it lasts, how old it is, and which rows need attention.

Everything comes from the stock rows and their ledger. Units sold are the net
SHIPMENT movements in the period (a dispatch undone before it left nets out);
for one channel, the units of its parcels shipped in the period.
The age of the oldest unsold receipt assumes first-in, first-out: the units on
hand are the most recent inflows (receipts, restocks, transfers in, positive
counts), so the oldest inflow still partly on the shelf is found with a running
sum over the ledger, newest first, computed by the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.db import as_datetime, fetch, for_reports, is_postgres
from domain.errors import InvalidInput
from domain.reports.sales import GroupBy, buckets, require_code, zone

if TYPE_CHECKING:
    from domain.access import Scope


MAX_NO_SALE_DAYS = 3650
# One channel's units shipped in the period and last shipment, per variant and location.
_CHANNEL_SALES = """
    SELECT ol.variant_id AS variant, s.location_id AS location,
           SUM(CASE WHEN s.shipped_at >= ? AND s.shipped_at < ? THEN sl.quantity ELSE 0 END)
               AS sold,
           MAX(s.shipped_at) AS last_sale
    FROM shipment_line sl JOIN shipment s ON s.id = sl.shipment_id
    JOIN order_line ol ON ol.id = sl.order_line_id JOIN orders o ON o.id = ol.order_id
    JOIN channel c ON c.id = o.channel_id
    WHERE s.shipped_at IS NOT NULL AND s.status <> 'CANCELLED' AND c.code = ?
    GROUP BY ol.variant_id, s.location_id"""


@dataclass(frozen=True)
class InventoryRow:
    sku: str
    location: str
    on_hand: int
    reserved: int
    available: int
    units_sold: int
    turnover: Decimal | None  # units sold in the period per unit now on hand
    days_of_cover: Decimal | None  # available units at the period's daily sales rate
    oldest_unsold_days: int | None  # age of the oldest inflow still on the shelf
    last_sale_at: datetime | None
    below_threshold: bool
    no_recent_sale: bool


@dataclass(frozen=True)
class InventoryReport:
    rows: list[InventoryRow]

    @property
    def below_threshold(self) -> int:
        return sum(row.below_threshold for row in self.rows)

    @property
    def no_recent_sale(self) -> int:
        return sum(row.no_recent_sale for row in self.rows)


async def inventory_report(*, scope: Scope, start: date, end: date, time_zone: str,
                           location: str | None = None, channel: str | None = None,
                           no_sale_days: int = 30,
                           now: datetime | None = None) -> InventoryReport:
    """Stock rows with their sales between two days (inclusive, days in ``time_zone``).

    With a channel: the rows at the locations that serve it, and its own sales
    (its parcels shipped from each row's location) instead of the ledger's. A caller
    limited to channels reads one of its own.
    """
    channel = scope.report_channel(channel)
    if not 1 <= no_sale_days <= MAX_NO_SALE_DAYS:
        raise InvalidInput(f"noSaleDays must be between 1 and {MAX_NO_SALE_DAYS}",
                           field=("noSaleDays",))
    periods = buckets(start, end, zone(time_zone), GroupBy.DAY)
    now = now or datetime.now(UTC)
    await require_code("location", location, "location")
    await require_code("channel", channel, "channel")
    conditions, params = ["1 = 1"], []
    if location is not None:
        conditions.append("l.code = ?")
        params.append(location)
    if channel is not None:
        conditions.append("l.id IN (SELECT cl.location_id FROM channel_location cl"
                          " JOIN channel ch ON ch.id = cl.channel_id WHERE ch.code = ?)")
        params.append(channel)
    where = "WHERE " + " AND ".join(conditions)
    # Per stock row: the last sale, and the oldest inflow still on the shelf, found by
    # walking its inflows newest first, else the first. Every inflow adds at least one
    # unit, so at most on_hand + 1 of them are read (PostgreSQL stops there; SQLite
    # cannot bound a subquery by the outer row, and reads them all).
    inflows = "m.stock_level_id = s.id AND m.on_hand_delta > 0 AND m.kind <> 'SHIPMENT'"
    enough = "LIMIT GREATEST(s.on_hand, 0) + 1" if is_postgres() else ""
    async with for_reports() as conn:
        levels = await fetch(conn, f"""
            SELECT s.id AS id, s.variant_id AS variant, s.location_id AS location_id,
                   v.sku AS sku, l.code AS location, s.on_hand AS on_hand,
                   s.reserved AS reserved, s.safety_stock AS safety,
                   s.low_stock_threshold AS threshold,
                   (SELECT MAX(m.created_at) FROM stock_movement m WHERE m.stock_level_id = s.id
                    AND m.kind = 'SHIPMENT' AND m.on_hand_delta < 0) AS last_sale,
                   COALESCE(
                       (SELECT f.created_at FROM (
                            SELECT w.created_at AS created_at, w.id AS id,
                                   SUM(w.on_hand_delta) OVER (
                                       ORDER BY w.created_at DESC, w.id DESC) AS newer
                            FROM (SELECT m.created_at, m.id, m.on_hand_delta
                                  FROM stock_movement m WHERE {inflows}
                                  ORDER BY m.created_at DESC, m.id DESC {enough}) w) f
                        WHERE f.newer >= s.on_hand ORDER BY f.created_at DESC, f.id DESC LIMIT 1),
                       (SELECT MIN(m.created_at) FROM stock_movement m WHERE {inflows})) AS oldest
            FROM stock_level s JOIN variant v ON v.id = s.variant_id
            JOIN location l ON l.id = s.location_id
            {where}
            ORDER BY v.sku, l.code""", params)
        if channel is None:
            sold = {int(r["id"]): int(r["sold"] or 0) for r in await fetch(conn, """
                SELECT m.stock_level_id AS id, SUM(-m.on_hand_delta) AS sold
                FROM stock_movement m
                WHERE m.kind = 'SHIPMENT' AND m.created_at >= ? AND m.created_at < ?
                GROUP BY m.stock_level_id""", [periods[0][1], periods[-1][2]])}
        else:
            sold = {}
            by_channel = {(int(r["variant"]), int(r["location"])): r for r in await fetch(
                conn, _CHANNEL_SALES, [periods[0][1], periods[-1][2], channel])}
            for level in levels:
                own = by_channel.get((int(level["variant"]), int(level["location_id"]))) or {}
                sold[int(level["id"])] = int(own.get("sold") or 0)
                level["last_sale"] = own.get("last_sale")
    days = len(periods)
    quiet_since = now - timedelta(days=no_sale_days)
    rows = []
    for r in levels:
        on_hand, units_sold = int(r["on_hand"]), sold.get(int(r["id"]), 0)
        available = on_hand - int(r["reserved"]) - int(r["safety"])
        threshold = r["threshold"]
        last_sale = as_datetime(r["last_sale"])
        received = as_datetime(r["oldest"])
        rows.append(InventoryRow(
            sku=str(r["sku"]), location=str(r["location"]), on_hand=on_hand,
            reserved=int(r["reserved"]), available=available, units_sold=units_sold,
            turnover=(Decimal(units_sold) / on_hand).quantize(Decimal("0.01"))
            if on_hand else None,
            days_of_cover=(Decimal(max(available, 0)) * days / units_sold).quantize(
                Decimal("0.1")) if units_sold > 0 else None,
            oldest_unsold_days=(now - received).days if received and on_hand > 0 else None,
            last_sale_at=last_sale,
            below_threshold=threshold is not None and available <= int(threshold),
            no_recent_sale=last_sale is None or last_sale < quiet_since))
    return InventoryReport(rows=rows)
