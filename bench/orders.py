"""Order placement under load: a running server on PostgreSQL, N clients, M orders.

Starts nothing itself. Prints one JSON object: orders per second, latency
percentiles, the oversold count (must be 0), SQL statements per order, PostgreSQL CPU per
order (its local processes' CPU time over the run), and the
ratio of orders per second to pgbench's tpcb-like TPS measured on the same
database server in the same run.

    python bench/orders.py --url http://127.0.0.1:8000 --token $OMS_ADMIN_TOKEN \
        --database-url postgres://postgres@127.0.0.1:5432/oms_bench \
        --clients 50 --orders 3000 --skus 200 [--hot]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ADDRESS, Api, percentile_ms, setup_catalogue

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { number lines { sku quantity } } userErrors { code } } }"""


async def place_orders(api: Api, channel: str, skus: list[str], *, clients: int, orders: int,
                       hot: bool, seed: int) -> dict[str, Any]:
    import random

    rng = random.Random(seed)
    plans = []
    for n in range(orders):
        if hot:
            lines = [(skus[0], 1)]
        else:
            lines = [(sku, rng.randint(1, 2)) for sku in rng.sample(skus, rng.randint(1, 3))]
        plans.append({"input": {"channel": channel, "email": f"b{n % 500}@example.com",
                                "lines": [{"sku": s, "quantity": q} for s, q in lines],
                                "shippingAddress": ADDRESS}})
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for plan in plans:
        queue.put_nowait(plan)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    ordered: Counter[str] = Counter()

    async def worker() -> None:
        while not queue.empty():
            variables = queue.get_nowait()
            started = time.perf_counter()
            try:
                payload = (await api(CREATE, variables))["orderCreate"]
            except Exception as error:  # a failed request counts, and the run goes on
                outcomes[f"error:{type(error).__name__}"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            if payload["order"]:
                outcomes["placed"] += 1
                for line in payload["order"]["lines"]:
                    ordered[line["sku"]] += line["quantity"]
            else:
                outcomes[",".join(sorted({e["code"] for e in payload["userErrors"]}))] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "latencies": latencies, "outcomes": outcomes, "ordered": ordered}


async def oversold(api: Api, skus: list[str], ordered: Counter[str]) -> int:
    """Units reserved beyond stock, plus any mismatch between reservations and placed orders."""
    total = 0
    for sku in skus:
        data = await api("query($s: String!) { variant(sku: $s) { stock { onHand reserved } } }",
                         {"s": sku})
        levels = data["variant"]["stock"]
        reserved = sum(level["reserved"] for level in levels)
        total += sum(max(0, level["reserved"] - level["onHand"]) for level in levels)
        total += abs(reserved - ordered.get(sku, 0))
    return total


async def statements_per_order(database_url: str, channel: str, skus: list[str]) -> float:
    """Place a few orders in-process on the same database and count the SQL they send."""
    from api import database
    from api.settings import Settings
    from domain.inventory.service import StockTarget, adjust_stock
    from domain.orders.capture import LineRequest, OrderRequest, create_order

    count = 0

    class Counting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal count
            count += 1

    await database.connect(Settings(database_url=database_url, db_pool_max=2))
    probes = 10
    for sku in skus[:2]:  # stock for the probes, whatever the run left
        await adjust_stock(target=StockTarget(sku, f"{channel}-wh1"), delta=2 * probes,
                           reason="bench probe", actor="bench")
    logger = logging.getLogger("tortoise.db_client")
    handler = Counting()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        for n in range(probes):
            await create_order(request=OrderRequest(
                channel=channel, email=f"probe{n}@example.com",
                lines=[LineRequest(sku, 1) for sku in skus[:2]], shipping_address=ADDRESS),
                actor="bench")
    finally:
        logger.removeHandler(handler)
        await database.close()
    return count / probes


def postgres_cpu_seconds() -> float | None:
    """CPU time so far of every PostgreSQL process on this machine (None when none is local):
    the difference over a run, divided by its orders, is the database's CPU per order."""
    total, seen = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            if not fields[0].endswith("(postgres"):
                continue
            values = fields[1].split()
            total += int(values[11]) + int(values[12])  # utime, stime (fields 14 and 15)
            seen = True
        except (OSError, IndexError, ValueError):
            continue  # the process ended while being read
    return total / os.sysconf("SC_CLK_TCK") if seen else None


def pgbench_tps(database_url: str, clients: int, seconds: int) -> float:
    """pgbench's built-in tpcb-like script against the same server, in a scratch database."""
    parts = urlsplit(database_url)
    scratch = f"pgbench_{uuid.uuid4().hex[:8]}"
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
            "-U", parts.username or "postgres"]
    subprocess.run(["createdb", *conn, scratch], check=True)
    try:
        subprocess.run(["pgbench", *conn, "-i", "-q", "-s", "4", scratch], check=True,
                       capture_output=True)
        done = subprocess.run(["pgbench", *conn, "-c", str(clients), "-j", "2",
                               "-T", str(seconds), scratch],
                              check=True, capture_output=True, text=True)
    finally:
        subprocess.run(["dropdb", *conn, "--force", scratch], check=False)
    match = re.search(r"tps = ([\d.]+)", done.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no TPS: {done.stdout}")
    return float(match.group(1))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--database-url", required=True,
                        help="the server's PostgreSQL database (pgbench runs on the same server)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--units", type=int, default=100_000, help="stock per SKU")
    parser.add_argument("--hot", action="store_true",
                        help="every buyer wants the same SKU, stocked for half of them")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    run = f"b{uuid.uuid4().hex[:6]}"
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=args.url, timeout=60, limits=limits) as client:
        api = Api(client, args.token)
        units = args.orders // 2 if args.hot else args.units
        skus = await setup_catalogue(api, run, 1 if args.hot else args.skus, units)
        cpu_before = postgres_cpu_seconds()
        result = await place_orders(api, run, skus, clients=args.clients, orders=args.orders,
                                    hot=args.hot, seed=args.seed)
        cpu_after = postgres_cpu_seconds()
        lost = await oversold(api, skus, result["ordered"])
    statements = await statements_per_order(args.database_url, run, skus)
    tps = pgbench_tps(args.database_url, min(args.clients, 32), args.pgbench_seconds)
    placed = result["outcomes"]["placed"]
    orders_per_second = placed / result["elapsed"]
    print(json.dumps({
        "mode": "hot-sku" if args.hot else "catalogue",
        "clients": args.clients,
        "orders_attempted": args.orders,
        "orders_placed": placed,
        "outcomes": dict(result["outcomes"]),
        "elapsed_s": round(result["elapsed"], 3),
        "orders_per_second": round(orders_per_second, 1),
        "requests_per_second": round(len(result["latencies"]) / result["elapsed"], 1),
        "latency_ms": {"p50": percentile_ms(result["latencies"], 0.50),
                       "p95": percentile_ms(result["latencies"], 0.95),
                       "p99": percentile_ms(result["latencies"], 0.99),
                       "mean": round(statistics.fmean(result["latencies"]) * 1000, 2)
                       if result["latencies"] else None},
        "oversold": lost,
        "postgres_cpu_ms_per_order": round((cpu_after - cpu_before) * 1000 / placed, 2)
        if cpu_before is not None and cpu_after is not None and placed else None,
        "sql_statements_per_order": round(statements, 1),
        "baseline": {"pgbench_tpcb_like_tps": tps},
        "ratio_orders_per_second_to_pgbench_tps": round(orders_per_second / tps, 4),
    }, indent=2))
    if lost:
        raise SystemExit("oversold: reservations do not match stock and placed orders")


if __name__ == "__main__":
    asyncio.run(main())
