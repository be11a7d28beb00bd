"""Reports (permission reports:read): the sales report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import Money
from api.graphql.errors import bad_request, graphql_error
from api.graphql.permissions import requires
from domain.errors import DomainError, NotPermitted
from domain.money import plain
from domain.reports import fulfillment, inventory, returns, sales, taxes

strawberry.enum(sales.GroupBy, name="SalesGroupBy")
MAX_TOP = 100


def report_error(error: DomainError) -> GraphQLError:
    """A report refused: FORBIDDEN for a caller that may not read it, else BAD_REQUEST."""
    if isinstance(error, NotPermitted):
        return graphql_error(error.message, "FORBIDDEN")
    return bad_request(error.message)


@strawberry.type
class TaxReportRow:
    currency: str
    name: str
    rate: Decimal = strawberry.field(description="Percent: 19 is 19%.")
    taxable: Money = strawberry.field(description="What the rate taxed, net of the tax.")
    tax: Money = strawberry.field(description="The tax charged.")
    refunded: Money = strawberry.field(description="What refunds gave back of it.")
    net: Money = strawberry.field(description="Tax charged less refunded: what is owed.")

    @classmethod
    def from_domain(cls, row: taxes.TaxRow) -> TaxReportRow:
        c = row.currency
        return cls(currency=c, name=row.name, rate=plain(row.rate),
                   taxable=Money.of(row.taxable, c), tax=Money.of(row.tax, c),
                   refunded=Money.of(row.refunded, c), net=Money.of(row.net, c))


@strawberry.type
class SalesRow:
    group: str = strawberry.field(description=(
        "The period, channel, SKU or location code (UNASSIGNED: units neither shipped nor"
        " reserved); TOTAL in totals."))
    currency: str
    orders: int
    units: int
    gross_sales: Money
    discounts: Money
    refunds: Money
    net_sales: Money
    average_order_value: Money

    @classmethod
    def from_domain(cls, row: sales.SalesRow) -> SalesRow:
        c = row.currency
        return cls(group=row.group, currency=c, orders=row.orders, units=row.units,
                   gross_sales=Money.of(row.gross, c), discounts=Money.of(row.discounts, c),
                   refunds=Money.of(row.refunds, c), net_sales=Money.of(row.net, c),
                   average_order_value=Money.of(row.average_order_value, c))


@strawberry.type
class SalesReport:
    query: strawberry.Private[sales.SalesQuery]

    @strawberry.field(description="One per period, channel, SKU or location and currency.")
    async def rows(self) -> list[SalesRow]:
        return [SalesRow.from_domain(row) for row in await self.query.rows()]

    @strawberry.field(description="One per currency, never mixed.")
    async def totals(self) -> list[SalesRow]:
        return [SalesRow.from_domain(row) for row in await self.query.totals()]

    @strawberry.field(description="The best sellers by units, at most `first` (1 to 100).")
    async def top_skus(self, first: int = 10) -> list[SalesRow]:
        if not 1 <= first <= MAX_TOP:
            raise bad_request(f"first must be between 1 and {MAX_TOP}")
        return [SalesRow.from_domain(row) for row in await self.query.top_skus(first)]


@strawberry.type
class SkuReturns:
    sku: str
    units_sold: int
    units_returned: int
    return_rate: Decimal = strawberry.field(description="Returned per sold unit, e.g. 0.25.")
    restocked: int
    written_off: int


@strawberry.type
class ReturnReason:
    reason: str
    units: int


@strawberry.type
class ReturnsReport:
    skus: list[SkuReturns]
    reasons: list[ReturnReason]
    refunds: list[Money] = strawberry.field(description="Refunded, per currency.")


@strawberry.type
class InventoryRow:
    sku: str
    location: str
    on_hand: int
    reserved: int
    available: int
    units_sold: int = strawberry.field(description="Units shipped from here in the period.")
    turnover: Decimal | None = strawberry.field(
        description="Units sold in the period per unit now on hand; null when none on hand.")
    days_of_cover: Decimal | None = strawberry.field(
        description="Days the available units last at the period's sales rate; null without sales.")
    oldest_unsold_days: int | None = strawberry.field(
        description="Age in days of the oldest receipt still on the shelf (first in, first out).")
    last_sale_at: datetime | None
    below_threshold: bool = strawberry.field(
        description="Available is at or under the row's lowStockThreshold.")
    no_recent_sale: bool = strawberry.field(description="No sale in the last noSaleDays days.")


@strawberry.type
class InventoryReport:
    rows: list[InventoryRow]
    below_threshold: int = strawberry.field(description="How many rows are below threshold.")
    no_recent_sale: int = strawberry.field(description="How many rows had no recent sale.")


@strawberry.type
class FulfillmentRow:
    location: str
    carrier: str | None
    shipments: int = strawberry.field(description="Parcels shipped from here with this carrier.")
    hours_to_ship_median: Decimal | None
    hours_to_ship_p90: Decimal | None
    hours_to_deliver_median: Decimal | None
    hours_to_deliver_p90: Decimal | None
    shipped_within_promise: Decimal | None = strawberry.field(
        description="Share of these parcels shipped within promiseHours of the order, e.g. 0.75.")


@strawberry.type
class ReasonCount:
    reason: str
    orders: int


@strawberry.type
class FulfillmentReport:
    rows: list[FulfillmentRow]
    orders: int = strawberry.field(description="Orders placed in the period.")
    split_shipment_rate: Decimal = strawberry.field(
        description="Share of the orders shipped in more than one parcel.")
    on_hold_rate: Decimal
    cancelled_rate: Decimal
    on_hold: list[ReasonCount] = strawberry.field(description="Orders on hold, by reason.")
    cancelled: list[ReasonCount] = strawberry.field(description="Cancelled orders, by reason.")


@strawberry.type
class ReportQueries:
    @strawberry.field(extensions=requires(Permission.REPORTS_READ),
                      description="How fast and how well the orders placed between two days shipped.")
    async def fulfillment_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
        time_zone: str = "UTC", channel: str | None = None,
        location: Annotated[str | None, strawberry.argument(
            description="Its parcels, and the orders that shipped or reserved units there."
        )] = None,
        promise_hours: int = 48,
    ) -> FulfillmentReport:
        try:
            report = await fulfillment.fulfillment_report(
                scope=info.context.scope,
                start=from_, end=to, time_zone=time_zone, channel=channel, location=location,
                promise_hours=promise_hours)
        except DomainError as error:
            raise report_error(error) from error
        on_hold = [ReasonCount(reason=r, orders=n) for r, n in report.on_hold]
        cancelled = [ReasonCount(reason=r, orders=n) for r, n in report.cancelled]
        return FulfillmentReport(
            rows=[FulfillmentRow(**vars(row)) for row in report.rows], orders=report.orders,
            split_shipment_rate=report.share(report.split_orders),
            on_hold_rate=report.share(sum(r.orders for r in on_hold)),
            cancelled_rate=report.share(sum(r.orders for r in cancelled)),
            on_hold=on_hold, cancelled=cancelled)

    @strawberry.field(extensions=requires(Permission.REPORTS_READ),
                      description="Stock per SKU and location with its sales between two days.")
    async def inventory_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
        time_zone: str = "UTC", location: str | None = None,
        channel: Annotated[str | None, strawberry.argument(
            description="Rows at the locations serving it, with its own sales.")] = None,
        no_sale_days: int = 30,
        attention_only: Annotated[bool, strawberry.argument(
            description="Only rows below threshold or without a recent sale.")] = False,
    ) -> InventoryReport:
        try:
            report = await inventory.inventory_report(
                scope=info.context.scope,
                start=from_, end=to, time_zone=time_zone, location=location, channel=channel,
                no_sale_days=no_sale_days)
        except DomainError as error:
            raise report_error(error) from error
        rows = [InventoryRow(**vars(row)) for row in report.rows
                if not attention_only or row.below_threshold or row.no_recent_sale]
        return InventoryReport(rows=rows, below_threshold=report.below_threshold,
                               no_recent_sale=report.no_recent_sale)

    @strawberry.field(extensions=requires(Permission.REPORTS_READ),
                      description="Returns of the orders placed between two days.")
    async def returns_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
        time_zone: str = "UTC", channel: str | None = None,
        location: Annotated[str | None, strawberry.argument(
            description="Units it shipped or holds; returned lines it shipped most of.")] = None,
    ) -> ReturnsReport:
        try:
            report = await returns.returns_report(
                scope=info.context.scope, start=from_, end=to, time_zone=time_zone,
                channel=channel, location=location)
        except DomainError as error:
            raise report_error(error) from error
        return ReturnsReport(
            skus=[SkuReturns(sku=s.sku, units_sold=s.units_sold, units_returned=s.units_returned,
                             return_rate=s.return_rate, restocked=s.restocked,
                             written_off=s.written_off) for s in report.skus],
            reasons=[ReturnReason(reason=r, units=u) for r, u in report.reasons],
            refunds=[Money.of(amount, currency) for currency, amount in report.refunds])

    @strawberry.field(extensions=requires(Permission.REPORTS_READ),
                      description="Sales between two days (inclusive) in a time zone.")
    async def sales_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
        group_by: sales.GroupBy = sales.GroupBy.DAY, time_zone: str = "UTC",
        channel: str | None = None,
        location: Annotated[str | None, strawberry.argument(
            description="Only units shipped or reserved at this location.")] = None,
    ) -> SalesReport:
        try:
            query = await sales.sales_query(
                scope=info.context.scope, start=from_, end=to, time_zone=time_zone,
                group_by=group_by, channel=channel, location=location)
        except DomainError as error:
            raise report_error(error) from error
        return SalesReport(query=query)

    @strawberry.field(extensions=requires(Permission.REPORTS_READ),
                      description="The tax charged per currency and rate on the orders "
                                  "placed between two days (inclusive), what refunds gave "
                                  "back of it, and what is owed.")
    async def tax_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
        time_zone: str = "UTC", channel: str | None = None,
    ) -> list[TaxReportRow]:
        try:
            rows = await taxes.tax_report(scope=info.context.scope, start=from_, end=to,
                                          time_zone=time_zone, channel=channel)
        except DomainError as error:
            raise report_error(error) from error
        return [TaxReportRow.from_domain(row) for row in rows]
