"""CSV exports of reports, with the same parameters and permission as the GraphQL query."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.auth import Permission, http_caller
from api.graphql.arguments import text_problems
from domain.access import Scope
from domain.errors import DomainError, NotPermitted
from domain.reports.fulfillment import fulfillment_report
from domain.reports.inventory import inventory_report
from domain.reports.returns import returns_report
from domain.reports.sales import GroupBy, sales_query

SALES_COLUMNS = ["group", "currency", "orders", "units", "gross_sales", "discounts", "refunds",
                 "net_sales", "average_order_value"]
INVENTORY_COLUMNS = ["sku", "location", "on_hand", "reserved", "available", "units_sold",
                     "turnover", "days_of_cover", "oldest_unsold_days", "last_sale_at",
                     "below_threshold", "no_recent_sale"]
RETURNS_COLUMNS = ["sku", "units_sold", "units_returned", "return_rate", "restocked",
                   "written_off"]
FULFILLMENT_COLUMNS = ["location", "carrier", "shipments", "hours_to_ship_median",
                       "hours_to_ship_p90", "hours_to_deliver_median", "hours_to_deliver_p90",
                       "shipped_within_promise"]

Rows = Callable[[Any, Scope], Awaitable[Iterable[Sequence[object]]]]


def _range(query: Any) -> dict[str, Any]:
    """The parameters every report takes: from, to (ISO days) and timeZone."""
    return {"start": date.fromisoformat(query["from"]), "end": date.fromisoformat(query["to"]),
            "time_zone": query.get("timeZone", "UTC")}


async def _sales(query: Any, scope: Scope) -> Iterable[Sequence[object]]:
    report = await sales_query(
        scope=scope,
        **_range(query), group_by=GroupBy(query.get("groupBy", "DAY")), channel=query.get("channel"),
        location=query.get("location"))
    return ([row.group, row.currency, row.orders, row.units, row.gross, row.discounts,
             row.refunds, row.net, row.average_order_value]
            for row in [*await report.rows(), *await report.totals()])


async def _inventory(query: Any, scope: Scope) -> Iterable[Sequence[object]]:
    report = await inventory_report(
        scope=scope,
        **_range(query), location=query.get("location"), channel=query.get("channel"),
        no_sale_days=int(query.get("noSaleDays", 30)))
    return ([row.sku, row.location, row.on_hand, row.reserved, row.available, row.units_sold,
             row.turnover, row.days_of_cover, row.oldest_unsold_days,
             row.last_sale_at.isoformat() if row.last_sale_at else None,
             row.below_threshold, row.no_recent_sale] for row in report.rows)


async def _returns(query: Any, scope: Scope) -> Iterable[Sequence[object]]:
    report = await returns_report(
        scope=scope,
        **_range(query), channel=query.get("channel"), location=query.get("location"))
    return ([row.sku, row.units_sold, row.units_returned, row.return_rate, row.restocked,
             row.written_off] for row in report.skus)


async def _fulfillment(query: Any, scope: Scope) -> Iterable[Sequence[object]]:
    report = await fulfillment_report(
        scope=scope,
        **_range(query), channel=query.get("channel"), location=query.get("location"),
        promise_hours=int(query.get("promiseHours", 48)))
    return ([row.location, row.carrier, row.shipments, row.hours_to_ship_median,
             row.hours_to_ship_p90, row.hours_to_deliver_median, row.hours_to_deliver_p90,
             row.shipped_within_promise] for row in report.rows)


def _export(name: str, columns: Sequence[str], rows: Rows) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        principal = await http_caller(request, Permission.REPORTS_READ)
        if isinstance(principal, Response):
            return principal
        for key, value in request.query_params.multi_items():
            for message in text_problems(key, value):
                return JSONResponse({"error": f"{key}: {message}"}, status_code=400)
        try:
            lines = await rows(request.query_params, Scope(principal))
        except (KeyError, ValueError) as error:
            return JSONResponse({"error": f"bad parameter: {error}"}, status_code=400)
        except NotPermitted as error:
            return JSONResponse({"error": error.message}, status_code=403)
        except DomainError as error:
            return JSONResponse({"error": error.message}, status_code=400)
        return StreamingResponse(_lines(columns, lines), media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"'})

    return endpoint


async def _lines(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> AsyncIterator[str]:
    """One line at a time, so a long report never sits whole in memory as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(columns)
    for row in rows:
        yield line(row)


sales_csv = _export("sales", SALES_COLUMNS, _sales)
inventory_csv = _export("inventory", INVENTORY_COLUMNS, _inventory)
returns_csv = _export("returns", RETURNS_COLUMNS, _returns)
fulfillment_csv = _export("fulfillment", FULFILLMENT_COLUMNS, _fulfillment)
