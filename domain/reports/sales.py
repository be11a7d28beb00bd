"""The sales report: orders, units and money per period, channel, SKU or location, per currency.

Periods are days, ISO weeks or months in the merchant's time zone, daylight
saving included. PostgreSQL truncates local times itself (``date_trunc`` on
``AT TIME ZONE``); SQLite knows no time zones, so there the periods' UTC
boundaries are computed here and handed to it as a table of ranges. Both
read the summaries (see ``domain.reports.models``), brought up to date
first. SKU figures come from the daily summary for whole UTC days and from
the orders for the partial days at the ends of a range.

The rule (README, docs/architecture.md): an order is a sale from the moment it
is placed, in the period, channel and currency it was placed in, at the
amounts on its lines (a marketplace order at the marketplace's amounts), until
it is cancelled (a cancelled order is no sale at all). A refund counts
against the lines it was charged to (``domain.payments.allocation``), in the
period, channel, SKU and location of the order it refunds, once its payment
operation has succeeded; refunds of shipping are not line sales and are left
out. An exchange counts as the difference: the replacement order's lines are
sales, the original's returned lines are paid back by the exchange credit
(what the goods were worth towards the replacement), and the replacement is no
new order in the order count. In a location's figures a line's refunds are
shared by its units there.

Units are attributed to a location by where they left from (shipped
parcels) or are reserved (open allocations, backorders included); units
neither shipped nor reserved (untracked products not shipped yet) are
``UNASSIGNED``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from domain import validation as v
from domain.db import connection, fetch, is_postgres
from domain.errors import InvalidInput
from domain.money import quantize
from domain.reports import rollup
from domain.reports.models import ALL_LOCATIONS

if TYPE_CHECKING:
    from domain.access import Scope


MAX_BUCKETS = 1000
UNASSIGNED = "UNASSIGNED"


class GroupBy(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    CHANNEL = "CHANNEL"
    SKU = "SKU"
    LOCATION = "LOCATION"


PERIODS = (GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH)
# PostgreSQL's date_trunc unit and to_char format for each period's label.
_TRUNC = {GroupBy.DAY: ("day", "YYYY-MM-DD"), GroupBy.WEEK: ("week", "YYYY-MM-DD"),
          GroupBy.MONTH: ("month", "YYYY-MM")}
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
    return v.time_zone(name)


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
    v.day_range(start, end)
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


async def require_code(table: str, code: str | None, argument: str) -> None:
    """Refuse a channel or location code that names nothing (``table`` is ours, never input)."""
    if code is not None and not await fetch(
            connection(), f"SELECT 1 AS found FROM {table} WHERE code = ?", [code]):
        raise InvalidInput(f"No {table} with code {code!r}", field=(argument,))


@dataclass
class SalesQuery:
    """One sales report's parameters; each part is computed when asked for, once.

    Parts are read from the summaries (``summaries=True``, after a refresh), or
    straight from the orders: the reference the summaries are tested against,
    and what SKU figures use for the partial UTC days at a range's ends.
    """

    start: date
    end: date
    tz: ZoneInfo
    group_by: GroupBy
    channel: str | None = None
    location: str | None = None
    summaries: bool = True
    _parts: dict[GroupBy | None, asyncio.Task[list[SalesRow]]] = field(default_factory=dict)

    @property
    def span(self) -> tuple[datetime, datetime]:
        """The report's UTC range: from the first day's start to the day after the last."""
        first = datetime.combine(self.start, time(), self.tz).astimezone(UTC)
        return first, datetime.combine(self.end + timedelta(days=1), time(),
                                        self.tz).astimezone(UTC)

    async def rows(self) -> list[SalesRow]:
        return await self._grouped(self.group_by)

    async def totals(self) -> list[SalesRow]:
        """One row per currency, labelled TOTAL."""
        return await self._grouped(None)

    async def top_skus(self, top: int = 10) -> list[SalesRow]:
        """The best sellers by units."""
        rows = await self._grouped(GroupBy.SKU)
        return sorted(rows, key=lambda row: (-row.units, row.group, row.currency))[:top]

    async def _grouped(self, group: GroupBy | None) -> list[SalesRow]:
        if group not in self._parts:  # asked for twice at once (rows by SKU, top SKUs): once
            self._parts[group] = asyncio.ensure_future(self._aggregate(group))
        return await self._parts[group]

    async def _aggregate(self, group: GroupBy | None) -> list[SalesRow]:
        lo, hi = self.span
        tally = _Tally()
        if not self.summaries:
            tally.add(await self._from_orders(group, lo, hi))
        elif group is not GroupBy.SKU:
            tally.add(await self._from_summary("sales_slot", group, lo, hi))
        elif (days := rollup.whole_days(lo, hi)) is None:
            tally.add(await self._from_orders(group, lo, hi))
        else:  # whole UTC days from the daily summary, the partial days at the ends as they are
            first, after = (datetime.combine(day, time(), UTC) for day in days)
            if lo < first:
                tally.add(await self._from_orders(group, lo, first))
            tally.add(await self._from_summary("sales_day", group, *days))
            if after < hi:
                tally.add(await self._from_orders(group, after, hi))
        return tally.rows()

    def _label(self, group: GroupBy | None, stamp: str, pg: bool, sku: str) -> _Label:
        if group in PERIODS and pg:  # the local period's start, formatted once per group
            unit, fmt = _TRUNC[group]
            return _Label(f"to_char(date_trunc('{unit}', {stamp} AT TIME ZONE CAST(? AS TEXT)),"
                          f" '{fmt}')", select_params=[self.tz.key])
        if group in PERIODS:  # SQLite knows no time zones: the periods' UTC ranges
            periods = buckets(self.start, self.end, self.tz, group)
            ranges = " UNION ALL ".join("SELECT ? AS label, ? AS lo, ? AS hi" for _ in periods)
            return _Label("b.label", join=f" JOIN ({ranges}) b ON {stamp} >= b.lo AND {stamp} < b.hi",
                          params=[value for period in periods for value in period])
        return _Label({GroupBy.CHANNEL: "c.code", GroupBy.SKU: sku,
                       GroupBy.LOCATION: f"COALESCE(loc.code, '{UNASSIGNED}')",
                       None: "'TOTAL'"}[group])

    def _filters(self) -> tuple[str, list[Any]]:
        where, params = "", []
        for column, code in (("c.code", self.channel), ("loc.code", self.location)):
            if code is not None:
                where += f" AND {column} = ?"
                params.append(code)
        return where, params

    async def _from_summary(self, table: str, group: GroupBy | None, lo: Any, hi: Any
                            ) -> list[dict[str, Any]]:
        """Sum a summary's rows from ``lo`` to ``hi`` (quarter hours or UTC days)."""
        conn = connection()
        column = "slot" if table == "sales_slot" else "day"
        label = self._label(group, f"s.{column}", is_postgres(conn), sku="s.sku")
        if group is GroupBy.LOCATION:
            scope = f"s.location_id <> {ALL_LOCATIONS}"
        elif self.location is None:
            scope = f"s.location_id = {ALL_LOCATIONS}"
        else:
            scope = "1 = 1"  # the location filter picks its rows
        filters, filter_params = self._filters()
        return await fetch(conn, f"""
            SELECT {label.sql} AS grp, s.currency AS currency, SUM(s.orders) AS orders,
                   SUM(s.units) AS units, SUM(s.gross) AS gross, SUM(s.refunds) AS refunds
            FROM {table} s JOIN channel c ON c.id = s.channel_id
            LEFT JOIN location loc ON loc.id = s.location_id{label.join}
            WHERE s.{column} >= ? AND s.{column} < ? AND {scope}{filters}
            GROUP BY 1, 2""", [*label.select_params, *label.params, lo, hi, *filter_params])

    async def _from_orders(self, group: GroupBy | None, lo: datetime, hi: datetime
                           ) -> list[dict[str, Any]]:
        """The same figures straight from the orders placed in [lo, hi)."""
        conn = connection()
        label = self._label(group, "o.created_at", is_postgres(conn), sku="l.sku")
        filters, filter_params = self._filters()
        source, units_params = "JOIN order_line l ON l.order_id = o.id", []
        units, value, refund = "l.quantity", "l.total", rollup.line_refunds("l.id")
        if group is GroupBy.LOCATION or self.location is not None:
            source += (f" JOIN {rollup.UNITS_AT} p ON p.line_id = l.id"
                       " LEFT JOIN location loc ON loc.id = p.location_id")
            units, value, units_params = "p.qty", "l.total * p.qty / l.quantity", [lo, hi, lo, hi]
            refund = f"{refund} * p.qty / l.quantity"
        # Each order's part in each group first: its lines, and what refunds paid back of them.
        return await fetch(conn, f"""
            SELECT grp, currency, SUM(counted) AS orders, SUM(units) AS units,
                   SUM(gross) AS gross, SUM(refunds) AS refunds
            FROM (SELECT {label.sql} AS grp, o.currency AS currency,
                         {rollup.COUNTED} AS counted, SUM({units}) AS units,
                         SUM({value}) AS gross, SUM({refund}) AS refunds
                  FROM orders o JOIN channel c ON c.id = o.channel_id {source}{label.join}
                  WHERE {rollup.PLACED_IN}{filters}
                  GROUP BY o.id, o.currency, 1) sold
            GROUP BY grp, currency""",
            [*label.select_params, *units_params, *label.params, lo, hi, *filter_params])


@dataclass
class _Label:
    """A group's label in SQL and its parameters, with the join it may need and its own."""

    sql: str
    select_params: list[Any] = field(default_factory=list)
    join: str = ""
    params: list[Any] = field(default_factory=list)


class _Tally:
    """Figures per (group, currency), added up from any number of partial results."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str], list[Any]] = {}

    def add(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            sums = self._sums.setdefault((str(r["grp"]), str(r["currency"])),
                                         [0, 0, Decimal(0), Decimal(0)])
            sums[0] += int(r["orders"] or 0)
            sums[1] += int(r["units"] or 0)
            sums[2] += Decimal(str(r["gross"] or 0))
            sums[3] += Decimal(str(r["refunds"] or 0))

    def rows(self) -> list[SalesRow]:
        return [SalesRow(group=group, currency=currency, orders=orders, units=units,
                         gross=_money(gross, currency), discounts=_money(0, currency),
                         refunds=_money(refunds, currency))
                for (group, currency), (orders, units, gross, refunds) in sorted(
                    self._sums.items())]


async def sales_query(*, scope: Scope, start: date, end: date, time_zone: str,
                      group_by: GroupBy, channel: str | None = None,
                      location: str | None = None) -> SalesQuery:
    """Check a sales report's parameters; the report is computed part by part. A caller
    limited to channels reads one of its own (``Scope.report_channel``)."""
    channel = scope.report_channel(channel)
    tz = zone(time_zone)
    buckets(start, end, tz, GroupBy.DAY if group_by not in PERIODS else group_by)
    await require_code("channel", channel, "channel")
    await require_code("location", location, "location")
    await rollup.refresh()
    return SalesQuery(start=start, end=end, tz=tz, group_by=group_by, channel=channel,
                      location=location)


async def sales_report(*, scope: Scope, start: date, end: date, time_zone: str, group_by: GroupBy,
                       channel: str | None = None, location: str | None = None,
                       top: int = 10) -> SalesReport:
    """Sales between ``start`` and ``end`` (days in ``time_zone``), grouped."""
    query = await sales_query(scope=scope, start=start, end=end, time_zone=time_zone, group_by=group_by,
                              channel=channel, location=location)
    return SalesReport(rows=await query.rows(), totals=await query.totals(),
                       top_skus=await query.top_skus(top))
