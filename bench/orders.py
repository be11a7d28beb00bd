"""Order placement under load, beside what the same database does without the API.

Starts nothing itself: give it a running server on PostgreSQL. Runs ``--rounds``
rounds, each the API then its two baselines, on the same catalogue and the same
kind of orders, so all three see the same machine:

- ``api``: ``orderCreate`` over HTTP from N clients;
- ``replay``: the statements one order sends (captured in this process from the
  application's own order path, with their parameters), sent again straight from
  asyncpg by N connections: no HTTP, GraphQL or ORM;
- ``ceiling``: the whole order as one statement of data-modifying CTEs (number,
  customer, guarded reservations, order, lines, allocations, ledger rows, events,
  outbox rows), from N connections: the most this design could reach.

pgbench's tpcb-like runs before the first round and after the last. Prints one JSON
object: per round and phase orders/s, p50/p99, and CPU ms per order of the application side (the
server's processes given ``--pid``; this process for the baselines) and of
PostgreSQL (the /proc times of the database's own backends); then the medians and
their ratios (API to ceiling, API to pgbench TPS, ...); statements per order as the
order path sends them (counted at the asyncpg connection: the transaction's BEGIN
and COMMIT, every query, pool chatter); and the oversold count (units reserved beyond
stock, plus any mismatch between reservations and placed orders; must be 0).

    python bench/orders.py --url http://127.0.0.1:8000 --token $OMS_ADMIN_TOKEN \
        --database-url postgres://postgres@127.0.0.1:5432/oms_bench \
        --clients 50 --orders 3000 --skus 200 --rounds 2 --pid <server pid> [--hot]

With ``--hot`` every buyer wants the same SKU, stocked for half of them: one API
run, and no baselines (they would need stock the API's buyers are refused).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Api, address, cpu_seconds, percentile_ms, setup_catalogue

BUYERS = 500  # buyers, each with an email and an address of their own

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { number lines { sku quantity } } userErrors { code } } }"""


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


Plan = list[tuple[str, int]]  # (sku, quantity) per line


def order_plans(skus: list[str], count: int, *, hot: bool, rng: random.Random) -> list[Plan]:
    if hot:
        return [[(skus[0], 1)] for _ in range(count)]
    return [[(sku, rng.randint(1, 2)) for sku in rng.sample(skus, rng.randint(1, 3))]
            for _ in range(count)]


async def closed(clients: int, plans: list[Any],
                 place: Callable[[Any], Awaitable[Any]]) -> dict[str, Any]:
    """``clients`` loops placing ``plans`` as fast as answers come; latencies of the placed."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for plan in plans:
        queue.put_nowait(plan)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()

    async def worker() -> None:
        while not queue.empty():
            plan = queue.get_nowait()
            began = time.perf_counter()
            try:
                outcome = await place(plan)
            except Exception as error:  # a failed order counts, and the run goes on
                outcomes[f"error:{type(error).__name__}"] += 1
                continue
            outcomes[outcome] += 1
            if outcome == "placed":
                latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return {"elapsed": time.perf_counter() - began, "latencies": latencies,
            "outcomes": outcomes}


def _backend_ticks(pids: list[int]) -> int:
    ticks = 0
    for pid in pids:
        try:
            values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not local, or ended
        ticks += int(values[11]) + int(values[12])
    return ticks


class Postgres:
    """The CPU time of one database's backends (those local to this machine)."""

    def __init__(self, monitor: asyncpg.Connection, database: str) -> None:
        self.monitor, self.database = monitor, database

    async def sample(self) -> float:
        rows = await self.monitor.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.database)
        ticks = _backend_ticks([row["pid"] for row in rows])
        return ticks / os.sysconf("SC_CLK_TCK")


async def measured(postgres: Postgres, app: Callable[[], float] | None,
                   run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run a phase; its figures per placed order."""
    pg_before = await postgres.sample()
    app_before = app() if app else None
    result = await run()
    app_after = app() if app else None
    pg_after = await postgres.sample()
    placed = result["outcomes"]["placed"]
    per = (lambda value: round(value / placed, 2)) if placed else (lambda value: None)
    return {
        "orders_placed": placed,
        "outcomes": dict(result["outcomes"]),
        "orders_per_second": round(placed / result["elapsed"], 1),
        "latency_ms": {"p50": percentile_ms(result["latencies"], 0.50),
                       "p99": percentile_ms(result["latencies"], 0.99)},
        "app_cpu_ms_per_order": per((app_after - app_before) * 1000)
        if app_after is not None and app_before is not None else None,
        "postgres_cpu_ms_per_order": per((pg_after - pg_before) * 1000),
        **({"load_generator_cpu_ms_per_order": per(result["own_cpu"] * 1000)}
           if "own_cpu" in result else {}),
    }


async def api_phase(api: Api, channel: str, plans: list[Plan], clients: int,
                    ordered: Counter[str]) -> dict[str, Any]:
    async def place(plan: Plan) -> str:
        buyer = random.randrange(BUYERS)
        variables = {"input": {"channel": channel, "email": f"b{buyer}@example.com",
                               "lines": [{"sku": s, "quantity": q} for s, q in plan],
                               "shippingAddress": address(buyer)}}
        payload = (await api(CREATE, variables))["orderCreate"]
        if not payload["order"]:
            return ",".join(sorted({e["code"] for e in payload["userErrors"]}))
        for line in payload["order"]["lines"]:
            ordered[line["sku"]] += line["quantity"]
        return "placed"

    own = time.process_time()
    result = await closed(clients, plans, place)
    result["own_cpu"] = time.process_time() - own
    return result


Statement = tuple[str, list[Any]]


class Connections:
    """N connections handed out in turn, given back as they are (no reset round trip, as the
    server's own pool)."""

    def __init__(self, conns: list[asyncpg.Connection]) -> None:
        self.free: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        for conn in conns:
            self.free.put_nowait(conn)

    @classmethod
    async def open(cls, url: str, count: int) -> Connections:
        return cls([await asyncpg.connect(url) for _ in range(count)])

    def acquire(self) -> Any:
        pool = self

        class Lease:
            async def __aenter__(self) -> asyncpg.Connection:
                self.conn = await pool.free.get()
                return self.conn

            async def __aexit__(self, *exc: object) -> None:
                if self.conn.is_in_transaction():
                    await self.conn.execute("ROLLBACK")
                pool.free.put_nowait(self.conn)

        return Lease()

    async def close(self) -> None:
        while not self.free.empty():
            await self.free.get_nowait().close()


class Capture:
    """The statements asyncpg connections send, with their parameters, while recording."""

    def __init__(self) -> None:
        self.sent: list[Statement] = []
        self.recording = False

    def install(self) -> None:
        connection = asyncpg.connection.Connection
        execute, run, many = connection.execute, connection._execute, connection._executemany
        capture = self

        async def counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if capture.recording and not args:  # with arguments: counted in _execute
                capture.sent.append((query, []))
            return await execute(self, query, *args, **kwargs)

        async def counted_run(self: Any, query: str, args: Any, *rest: Any, **kw: Any) -> Any:
            if capture.recording:
                capture.sent.append((query, list(args)))
            return await run(self, query, args, *rest, **kw)

        async def counted_many(self: Any, query: str, args: Any, *rest: Any, **kw: Any) -> Any:
            args = list(args)
            if capture.recording:
                capture.sent.extend((query, list(a)) for a in args)
            return await many(self, query, args, *rest, **kw)

        connection.execute = counted_execute  # type: ignore[method-assign]
        connection._execute = counted_run  # type: ignore[method-assign]
        connection._executemany = counted_many  # type: ignore[method-assign]


# An order id no other parameter of an order's statements can equal, so a replay can
# put its own order's id in its place.
MARKER_ID = 900_000_000


async def capture_orders(database_url: str, channel: str, plans: list[Plan]
                         ) -> tuple[list[tuple[int, list[Statement]]], float]:
    """Place orders in-process (the application's order path, no HTTP) and keep each one's
    statements with their parameters; also the statements per order."""
    from api import database
    from api.settings import Settings
    from domain.orders.capture import LineRequest, OrderRequest, create_order
    from domain.risk.screening import Screening
    from domain.risk.settings import RiskSettings

    capture = Capture()
    capture.install()
    await database.connect(Settings(database_url=database_url, db_pool_max=2))
    captured: list[tuple[int, list[Statement]]] = []
    try:
        from domain.catalog.cache import catalogue_cache
        from domain.db import connection
        from domain.settings_cache import CACHES

        # What a running server keeps warm (the channel, the variants, the merchant's
        # settings) is loaded first: counted are an order's statements, not a cache's filling.
        await catalogue_cache.channel(connection(), channel)
        await catalogue_cache.variants(connection(), sorted({s for plan in plans for s, _ in plan}))
        for cache in CACHES:
            await cache.get(connection())
        rows = await connection().execute_query_dict("SELECT max(id) AS last FROM orders")
        base = max(MARKER_ID, int(rows[0]["last"] or 0)) + 1_000_000
        for n, plan in enumerate(plans):
            marker = base + n * 1000
            await connection().execute_query(
                "SELECT setval(pg_get_serial_sequence('orders', 'id'), $1)", [marker - 1])
            capture.sent.clear()
            capture.recording = True
            order = await create_order(request=OrderRequest(
                channel=channel, email=f"probe{n}@example.com",
                lines=[LineRequest(sku, q) for sku, q in plan],
                shipping_address=address(BUYERS + n)),
                actor="bench", screening=Screening(defaults=RiskSettings()))
            capture.recording = False
            assert order.id == marker, (order.id, marker)
            captured.append((order.id, list(capture.sent)))
    finally:
        capture.recording = False
        await database.close()
    statements = statistics.fmean(len(sent) for _, sent in captured)
    return captured, statements


def _rebind(value: Any, old: int, new: int) -> Any:
    """A parameter of a captured order's statement, for another order: its id replaced."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value == old:
        return new
    if isinstance(value, str) and str(old) in value:
        return re.sub(rf"(?<!\d){old}(?!\d)", str(new), value)
    return value


async def replay_phase(pool: Connections, captured: list[tuple[int, list[Statement]]],
                       plans: list[Plan], count: int, clients: int,
                       ordered: Counter[str]) -> dict[str, Any]:
    """Each order the statements of a captured one, in turn; the order's new id put in."""
    async def place(n: int) -> str:
        old, sent = captured[n % len(captured)]
        new: int | None = None
        async with pool.acquire() as conn:
            for query, args in sent:
                if not args:
                    await conn.execute(query)
                    continue
                rows = await conn.fetch(query, *(args if new is None else
                                                 [_rebind(a, old, new) for a in args]))
                if new is None and 'INSERT INTO "orders"' in query:  # with its number
                    new = int(rows[0]["id"])
        for sku, quantity in plans[n % len(plans)]:
            ordered[sku] += quantity
        return "placed"

    result = await closed(clients, list(range(count)), place)
    return result


CEILING = """
WITH n AS (UPDATE counter SET value = value + 1 WHERE name = 'order_number' RETURNING value),
c AS (INSERT INTO customer (email, name, created_at) VALUES ($1, $2, now())
      ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id),
w AS (SELECT * FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::numeric[],
                           $8::int[], $9::int[], $10::int[])
      AS w(position, sku, name, quantity, price, variant_id, level_id, location_id)),
lk AS (SELECT id FROM stock_level WHERE id = ANY($9::int[]) ORDER BY id FOR UPDATE),
r AS (UPDATE stock_level s SET reserved = s.reserved + w.quantity, updated_at = now()
      FROM w JOIN lk ON lk.id = w.level_id WHERE s.id = w.level_id
      AND s.on_hand - s.reserved - s.safety_stock >= w.quantity RETURNING s.id),
o AS (INSERT INTO orders (number, email, status, payment_status, fulfillment_status, currency,
                          subtotal, shipping_total, total, shipping_address, event_seq,
                          created_at, updated_at, channel_id, customer_id, via_account)
      SELECT n.value::text, $1, 'PENDING', 'UNPAID', 'UNFULFILLED', $11, $12, 0, $12,
             $13::jsonb, 2, now(), now(), $14, c.id, false
      FROM n, c
      -- every line reserved, or the statement fails and nothing is written
      WHERE 1 / (CASE WHEN (SELECT count(*) FROM r) = cardinality($3::int[]) THEN 1 ELSE 0
                 END) = 1
      RETURNING id, number),
l AS (INSERT INTO order_line (sku, name, quantity, unit_price, total, quantity_backordered,
                              quantity_shipped, quantity_returned, position, order_id,
                              variant_id)
      SELECT w.sku, w.name, w.quantity, w.price, w.price * w.quantity, 0, 0, 0, w.position,
             o.id, w.variant_id FROM o, w RETURNING id, position),
a AS (INSERT INTO allocation (quantity, released, location_id, order_line_id, stock_level_id)
      SELECT w.quantity, false, w.location_id, l.id, w.level_id FROM l JOIN w USING (position)),
m AS (INSERT INTO stock_movement (kind, on_hand_delta, reserved_delta, reference, actor,
                                  created_at, stock_level_id)
      SELECT 'RESERVATION', 0, w.quantity, 'order:' || o.id, 'bench', now(), w.level_id
      FROM o, w),
k AS (SELECT * FROM (VALUES (1, 'ORDER_PLACED'), (2, 'STOCK_RESERVED')) AS k(seq, type)),
e AS (INSERT INTO order_event (sequence, type, message, actor, created_at, order_id)
      SELECT k.seq, k.type, 'Order ' || o.number || ': ' || k.type, 'bench', now(), o.id
      FROM o, k),
x AS (INSERT INTO outbox_message (topic, payload, created_at, published_at)
      SELECT 'order.' || o.id, jsonb_build_object('kind', 'order_event', 'order_id', o.id,
             'sequence', k.seq, 'type', k.type), now(), now() FROM o, k
      UNION ALL
      SELECT 'stock.' || w.sku, jsonb_build_object('kind', 'stock_changed', 'sku', w.sku),
             now(), now() FROM o, w)
SELECT o.id, o.number FROM o
"""


async def ceiling_phase(pool: Connections, channel: str, plans: list[Plan],
                        clients: int, ordered: Counter[str]) -> dict[str, Any]:
    """Each order one statement, its lines reserved at the first warehouse (outbox rows are
    written as published: the server's relay has no payload classes for them to publish)."""
    async with pool.acquire() as conn:
        channel_row = await conn.fetchrow("SELECT id, currency FROM channel WHERE code = $1",
                                          channel)
        rows = await conn.fetch(
            "SELECT v.sku, v.name, v.price, v.id AS variant_id, s.id AS level_id, "
            "s.location_id FROM variant v JOIN stock_level s ON s.variant_id = v.id "
            "JOIN location l ON l.id = s.location_id WHERE l.code = $1", f"{channel}-wh1")
    catalogue = {row["sku"]: row for row in rows}

    async def place(plan: Plan) -> str:
        buyer = random.randrange(BUYERS)
        plan = sorted(plan, key=lambda line: catalogue[line[0]]["level_id"])
        lines = [catalogue[sku] for sku, _ in plan]
        quantities = [q for _, q in plan]
        total = sum((Decimal(line["price"]) * q for line, q in zip(lines, quantities,
                                                                    strict=True)), Decimal(0))
        async with pool.acquire() as conn:
            await conn.fetch(
                CEILING, f"c{buyer}@example.com", "Bench",
                list(range(len(plan))), [line["sku"] for line in lines],
                [line["name"] for line in lines], quantities,
                [line["price"] for line in lines], [line["variant_id"] for line in lines],
                [line["level_id"] for line in lines], [line["location_id"] for line in lines],
                channel_row["currency"], total, json.dumps(address(buyer)), channel_row["id"])
        for sku, quantity in plan:
            ordered[sku] += quantity
        return "placed"

    result = await closed(clients, plans, place)
    return result


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
    parser.add_argument("--orders", type=int, default=3000, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--units", type=int, default=100_000, help="stock per SKU")
    parser.add_argument("--hot", action="store_true",
                        help="every buyer wants the same SKU, stocked for half of them")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="the server's pid (its workers are counted with it)")
    parser.add_argument("--probes", type=int, default=20, help="orders captured for the replay")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    run = f"b{uuid.uuid4().hex[:6]}"
    rounds = 1 if args.hot else args.rounds
    tps = [pgbench_tps(args.database_url, min(args.clients, 32), args.pgbench_seconds)]
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    ordered: Counter[str] = Counter()
    monitor = await asyncpg.connect(args.database_url)
    postgres = Postgres(monitor, urlsplit(args.database_url).path.lstrip("/"))
    phases: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=args.url, timeout=60, limits=limits) as client:
        api = Api(client, args.token)
        # hot: stock for half the buyers, after the probes took theirs (two halves: even)
        units = 2 * ((args.orders // 2 + args.probes + 1) // 2) if args.hot else args.units
        skus = await setup_catalogue(api, run, 1 if args.hot else args.skus, units)
        probes = order_plans(skus, args.probes, hot=args.hot, rng=rng)
        captured, statements = await capture_orders(args.database_url, run, probes)
        for plan in probes:
            for sku, quantity in plan:
                ordered[sku] += quantity
        server_cpu = (lambda: cpu_seconds(args.pid)) if args.pid else None
        pool = await Connections.open(args.database_url, args.clients)
        try:
            for number in range(rounds):
                plans = order_plans(skus, args.orders, hot=args.hot, rng=rng)
                phase = await measured(postgres, server_cpu, lambda plans=plans: api_phase(
                    api, run, plans, args.clients, ordered))
                phases.append({"round": number + 1, "phase": "api", **phase})
                if args.hot:
                    continue
                phase = await measured(postgres, time.process_time, lambda: replay_phase(
                    pool, captured, probes, args.orders, args.clients, ordered))
                phases.append({"round": number + 1, "phase": "replay", **phase})
                plans = order_plans(skus, args.orders, hot=False, rng=rng)
                phase = await measured(postgres, time.process_time,
                                       lambda plans=plans: ceiling_phase(
                                           pool, run, plans, args.clients, ordered))
                phases.append({"round": number + 1, "phase": "ceiling", **phase})
        finally:
            await pool.close()
        lost = await oversold(api, skus, ordered)
    await monitor.close()
    tps.append(pgbench_tps(args.database_url, min(args.clients, 32), args.pgbench_seconds))

    def median(phase: str, key: str) -> float | None:
        values = [p[key] for p in phases if p["phase"] == phase and p[key] is not None]
        return round(statistics.median(values), 2) if values else None

    def cpu_ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
        """(application + PostgreSQL) CPU per order of one phase over another's."""
        keys = ("app_cpu_ms_per_order", "postgres_cpu_ms_per_order")
        if any(a[k] is None or b[k] is None for k in keys) or not sum(b[k] for k in keys):
            return None
        return round(sum(a[k] for k in keys) / sum(b[k] for k in keys), 2)

    summary = {name: {key: median(name, key) for key in (
        "orders_per_second", "app_cpu_ms_per_order",
        "postgres_cpu_ms_per_order")} for name in ("api", "replay", "ceiling")}
    api_rate, ceiling_rate = summary["api"]["orders_per_second"], \
        summary["ceiling"]["orders_per_second"]
    replay_rate = summary["replay"]["orders_per_second"]
    print(json.dumps({
        "mode": "hot-sku" if args.hot else "catalogue",
        "clients": args.clients,
        "orders_per_phase": args.orders,
        "phases": phases,
        "median": summary,
        "sql_statements_per_order": {"api": round(statements, 1),
                                     "replay": round(statements, 1), "ceiling": 1},
        "oversold": lost,
        "baseline": {"pgbench_tpcb_like_tps": {"before": tps[0], "after": tps[1]}},
        "ratio_api_to_ceiling_orders_per_second": round(api_rate / ceiling_rate, 3)
        if api_rate and ceiling_rate else None,
        "ratio_api_to_replay_orders_per_second": round(api_rate / replay_rate, 3)
        if api_rate and replay_rate else None,
        "ratio_api_to_pgbench_tps": round(api_rate / statistics.fmean(tps), 4)
        if api_rate else None,
        "ratio_replay_to_ceiling_orders_per_second": round(replay_rate / ceiling_rate, 3)
        if replay_rate and ceiling_rate else None,
        "ratio_api_to_ceiling_cpu_ms_per_order": cpu_ratio(summary["api"], summary["ceiling"]),
        "ratio_api_to_replay_cpu_ms_per_order": cpu_ratio(summary["api"], summary["replay"]),
    }, indent=2, default=str))
    if lost:
        raise SystemExit("oversold: reservations do not match stock and placed orders")


if __name__ == "__main__":
    asyncio.run(main())
