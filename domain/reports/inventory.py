"""The inventory report: per SKU and location, what is on the shelf, how fast it sells,
how long it lasts, how old it is, and which rows need attention.

Everything comes from the stock rows and their ledger. Units sold are the net
SHIPMENT movements in the period (a dispatch undone before it left nets out).
The age of the oldest unsold receipt assumes first-in, first-out: the units on
hand are the most recent inflows (receipts, restocks, transfers in, positive
counts), so the oldest inflow still partly on the shelf is found with a running
sum over the ledger, newest first, computed by the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from domain.db import as_datetime, connection, fetch
from domain.errors import InvalidInput
from domain.reports.sales import GroupBy, buckets, zone

MAX_NO_SALE_DAYS = 3650


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


async def inventory_report(*, start: date, end: date, time_zone: str,
                           location: str | None = None, no_sale_days: int = 30,
                           now: datetime | None = None) -> InventoryReport:
    """Stock rows with their sales between two days (inclusive, days in ``time_zone``)."""
    if not 1 <= no_sale_days <= MAX_NO_SALE_DAYS:
        raise InvalidInput(f"noSaleDays must be between 1 and {MAX_NO_SALE_DAYS}",
                           field=("noSaleDays",))
    periods = buckets(start, end, zone(time_zone), GroupBy.DAY)
    now = now or datetime.now(UTC)
    where, params = "", []
    if location is not None:
        where, params = "WHERE l.code = ?", [location]
    conn = connection()
    levels = await fetch(conn, f"""
        SELECT s.id AS id, v.sku AS sku, l.code AS location, s.on_hand AS on_hand,
               s.reserved AS reserved, s.safety_stock AS safety,
               s.low_stock_threshold AS threshold,
               COALESCE(SUM(CASE WHEN m.kind = 'SHIPMENT' AND m.created_at >= ?
                                  AND m.created_at < ? THEN -m.on_hand_delta END), 0) AS sold,
               MAX(CASE WHEN m.kind = 'SHIPMENT' AND m.on_hand_delta < 0
                        THEN m.created_at END) AS last_sale
        FROM stock_level s JOIN variant v ON v.id = s.variant_id
        JOIN location l ON l.id = s.location_id
        LEFT JOIN stock_movement m ON m.stock_level_id = s.id
        {where}
        GROUP BY s.id, v.sku, l.code, s.on_hand, s.reserved, s.safety_stock,
                 s.low_stock_threshold
        ORDER BY v.sku, l.code""", [periods[0][1], periods[-1][2], *params])
    oldest = {int(r["id"]): as_datetime(r["oldest"]) for r in await fetch(conn, f"""
        SELECT f.stock_level_id AS id, MIN(f.created_at) AS oldest FROM (
            SELECT m.stock_level_id, m.created_at, m.on_hand_delta,
                   SUM(m.on_hand_delta) OVER (PARTITION BY m.stock_level_id
                                              ORDER BY m.created_at DESC, m.id DESC) AS newer
            FROM stock_movement m WHERE m.on_hand_delta > 0 AND m.kind <> 'SHIPMENT'
        ) f JOIN stock_level s ON s.id = f.stock_level_id
        JOIN location l ON l.id = s.location_id
        {where + (" AND" if where else "WHERE")} f.newer - f.on_hand_delta < s.on_hand
        GROUP BY f.stock_level_id""", params)}
    days = len(periods)
    quiet_since = now - timedelta(days=no_sale_days)
    rows = []
    for r in levels:
        on_hand, sold = int(r["on_hand"]), int(r["sold"] or 0)
        available = on_hand - int(r["reserved"]) - int(r["safety"])
        threshold = r["threshold"]
        last_sale = as_datetime(r["last_sale"])
        received = oldest.get(int(r["id"]))
        rows.append(InventoryRow(
            sku=str(r["sku"]), location=str(r["location"]), on_hand=on_hand,
            reserved=int(r["reserved"]), available=available, units_sold=sold,
            turnover=(Decimal(sold) / on_hand).quantize(Decimal("0.01")) if on_hand else None,
            days_of_cover=(Decimal(max(available, 0)) * days / sold).quantize(Decimal("0.1"))
            if sold > 0 else None,
            oldest_unsold_days=(now - received).days if received and on_hand > 0 else None,
            last_sale_at=last_sale,
            below_threshold=threshold is not None and available <= int(threshold),
            no_recent_sale=last_sale is None or last_sale < quiet_since))
    return InventoryReport(rows=rows)
