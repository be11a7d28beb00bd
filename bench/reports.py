"""Report latency: every report over a year of history, against a running server.

Load the history first (``oms seed --demo --orders N``). Each report runs
``--runs`` times over the last ``--days`` days; the JSON gives the median and
the worst latency of each, beside two baselines measured in the same run: the
plain Starlette ``/healthz`` round trip and a full ``SELECT COUNT(*) FROM
orders`` on the same database (what scanning the orders once costs here).

``--refunds F`` first charges refunds (exchange credits of a tenth of the line) to a
share F of the history's lines, once, so the queries that read refunds have rows to
read. "after changes" reports (the sales report, the fulfilment report and the customers
list) are timed after marking the quarter hours of a fixed set of orders changed (as a
burst of writes would), so they include the refreshes that rebuild those quarter hours
and their days (and, for the fulfilment and customer summaries, their months and
customers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Api

REPORTS = {
    "salesReport(MONTH)": ("salesReport(from: $from, to: $to, groupBy: MONTH)"
                           " { rows { group netSales { amount } } totals { orders } }"),
    "salesReport(DAY)": "salesReport(from: $from, to: $to, groupBy: DAY) { rows { group units } }",
    "salesReport(SKU)": ("salesReport(from: $from, to: $to, groupBy: SKU)"
                         " { rows { group units } topSkus { group } }"),
    "salesReport(LOCATION)": ("salesReport(from: $from, to: $to, groupBy: LOCATION)"
                              " { rows { group units } }"),
    "inventoryReport": "inventoryReport(from: $from, to: $to) { rows { sku unitsSold } }",
    "fulfillmentReport": "fulfillmentReport(from: $from, to: $to) { orders rows { shipments } }",
    "returnsReport": "returnsReport(from: $from, to: $to) { skus { sku } }",
    "customers(LIFETIME_VALUE)": ("customers(first: 20, sortBy: LIFETIME_VALUE, currency: \"EUR\")"
                                  " { edges { node { email lifetimeValue { amount } } } }"),
    "customers(ORDER_COUNT)": ("customers(first: 20, sortBy: ORDER_COUNT)"
                               " { edges { node { email orderCount } } }"),
    "customers(LAST_ORDER)": ("customers(first: 20, sortBy: LAST_ORDER)"
                              " { edges { node { email lastOrderAt } } }"),
}
# Timed again after changes: those that bring summaries up to date first.
AFTER_CHANGES = ("salesReport", "fulfillmentReport", "customers(LIFETIME_VALUE)")


async def timed(call: Any, runs: int, prepare: Any = None) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        if prepare is not None:
            await prepare()
        began = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - began)
    return {"median_ms": round(statistics.median(seconds) * 1000, 1),
            "max_ms": round(max(seconds) * 1000, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--database-url", required=True, help="the server's PostgreSQL database")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--refunds", type=float, default=0.0,
                        help="share of lines to charge refunds to first, if none are yet")
    parser.add_argument("--changed", type=int, default=2500,
                        help="'after changes': every Nth order's quarter hour is marked")
    parser.add_argument("--only", default="",
                        help="comma-separated name prefixes: time only those reports")
    args = parser.parse_args()
    only = tuple(name for name in args.only.split(",") if name)
    database = await asyncpg.connect(args.database_url)
    if args.refunds and not await database.fetchval("SELECT COUNT(*) FROM refund_allocation"):
        await database.execute(
            "INSERT INTO refund_allocation (order_id, order_line_id, kind, amount, created_at)"
            " SELECT l.order_id, l.id, 'EXCHANGE', ROUND(l.total / 10, 2), now()"
            " FROM order_line l WHERE l.id % 1000 < $1", int(args.refunds * 1000))

    async def changes() -> None:
        await database.execute(
            "INSERT INTO report_dirty (slot) SELECT DISTINCT date_bin('15 minutes',"
            " created_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') FROM orders WHERE id % $1 = 7",
            args.changed)

    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=args.days)).isoformat(), "to": today.isoformat()}
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=args.url, timeout=600) as client:
        api = Api(client, args.token)
        for name, field in REPORTS.items():
            if only and not name.startswith(only):
                continue
            ranged = "$from" in field
            query = f"query{'($from: Date!, $to: Date!)' if ranged else ''} {{ {field} }}"

            async def run(query: str = query, ranged: bool = ranged) -> None:
                await api(query, period if ranged else {})

            results[name] = await timed(run, args.runs)
            if name.startswith(AFTER_CHANGES):
                results[f"{name} after changes"] = await timed(run, args.runs, changes)

        async def csv() -> None:
            response = await client.get("/reports/sales.csv", headers=api.headers,
                                        params={**period, "groupBy": "DAY"})
            response.raise_for_status()

        if not only or "GET /reports/sales.csv (DAY)".startswith(only):
            results["GET /reports/sales.csv (DAY)"] = await timed(csv, args.runs)

        async def healthz() -> None:
            (await client.get("/healthz")).raise_for_status()

        health = await timed(healthz, 50)
    try:
        orders = await database.fetchval("SELECT COUNT(*) FROM orders")
        scan = await timed(lambda: database.fetchval("SELECT COUNT(*) FROM orders"), args.runs)
    finally:
        await database.close()
    worst = max(r["median_ms"] for r in results.values())
    print(json.dumps({
        "orders": orders, "days": args.days, "reports": results,
        "baseline": {"healthz": health, "count_orders": scan},
        "ratio_slowest_report_to_count_orders": round(worst / max(scan["median_ms"], 0.1), 2),
        "slowest_report_ms": worst,
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
