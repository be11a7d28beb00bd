"""CSV exports of reports, with the same parameters and permission as the GraphQL query."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.auth import InvalidCredentials, Permission, authenticate
from domain.errors import DomainError
from domain.reports.sales import GroupBy, SalesReport, sales_report

COLUMNS = ["group", "currency", "orders", "units", "gross_sales", "discounts", "refunds",
           "net_sales", "average_order_value"]


async def sales_csv(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        principal = authenticate(request.headers.get("authorization"),
                                 admin_token=settings.admin_token,
                                 tokens=request.app.state.tokens)
    except InvalidCredentials as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    if principal is None:
        return JSONResponse({"error": "Authentication required"}, status_code=401)
    if not principal.allows(Permission.REPORTS_READ):
        return JSONResponse({"error": "Missing permission reports:read"}, status_code=403)
    query = request.query_params
    try:
        report = await sales_report(
            start=date.fromisoformat(query["from"]), end=date.fromisoformat(query["to"]),
            time_zone=query.get("timeZone", "UTC"),
            group_by=GroupBy(query.get("groupBy", "DAY")), channel=query.get("channel"))
    except (KeyError, ValueError) as error:
        return JSONResponse({"error": f"bad parameter: {error}"}, status_code=400)
    except DomainError as error:
        return JSONResponse({"error": error.message}, status_code=400)
    return StreamingResponse(_lines(report), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="sales.csv"'})


async def _lines(report: SalesReport) -> AsyncIterator[str]:
    """One line at a time, so a long report never sits whole in memory as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(COLUMNS)
    for row in [*report.rows, *report.totals]:
        yield line([row.group, row.currency, row.orders, row.units, row.gross, row.discounts,
                    row.refunds, row.net, row.average_order_value])
