"""Availability reads under load, with and without the Redis cache, interleaved.

Starts nothing itself: give it a server with the Redis cache (OMS_REDIS_URL
set) and, optionally, one on the same database without any cache
(OMS_AVAILABILITY_CACHE_TTL=0). Runs ``--rounds`` rounds, each a cached then an
uncached run, so both see the same machine. Prints one JSON object: per round
reads per second, p50/p99 and (given the servers' pids) server CPU ms per read,
then the median of each ratio of cached to uncached, beside redis-benchmark's GET
throughput and a plain Starlette endpoint (/healthz) measured in the same run.
Each run reads from a loopback address of its own (127.0.2.N), so the public
budget of one run is not spent by the one before; give both servers a budget a run
does not spend (OMS_PUBLIC_RATE_LIMIT_POINTS), or refusals are what is measured.
Reads go through a bare keep-alive client (bench.common.KeepAlive), whose own CPU
per read is printed beside the servers'.

    python bench/availability.py --url http://127.0.0.1:8000 --url-uncached http://127.0.0.1:8001 \
        --token $OMS_ADMIN_TOKEN --redis-url redis://127.0.0.1:6379/0 --clients 50 --seconds 10 \
        --pid <cached server pid> --pid-uncached <uncached server pid>
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Api, KeepAlive, closed_loop, cpu_seconds, setup_catalogue

QUERY = "query($s: [String!]!, $c: String) { availability(skus: $s, channel: $c) { sku available } }"
_addresses = (f"127.0.2.{n}" for n in itertools.count(1))


async def reads(url: str, run: str, skus: list[str], *, clients: int, seconds: float,
                per_request: int, pids: list[int]) -> dict[str, Any]:
    rng = random.Random(1)
    # Storefronts read anonymously; each run from an address of its own.
    http = KeepAlive(url, connections=clients, local_address=next(_addresses))

    async def one() -> None:
        await http.post_json("/graphql", {"query": QUERY, "variables": {
            "s": rng.sample(skus, per_request), "c": run}})

    try:
        await one()  # warm
        before = cpu_seconds(pids) if pids else None
        own = time.process_time()
        result = await closed_loop(one, clients=clients, seconds=seconds)
        served = result["answered"] + result["errors"]
        if before is not None:
            result["server_cpu_ms_per_read"] = round(
                (cpu_seconds(pids) - before) * 1000 / served, 3) if served else None
        result["load_generator_cpu_ms_per_read"] = round(
            (time.process_time() - own) * 1000 / served, 3) if served else None
        return result
    finally:
        await http.close()


async def healthz(url: str, *, clients: int, seconds: float) -> dict[str, Any]:
    """The plain Starlette endpoint, from the same kind of client."""
    http = KeepAlive(url, connections=clients)

    async def one() -> None:
        status, _ = await http.request("GET", "/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")

    try:
        return await closed_loop(one, clients=clients, seconds=seconds)
    finally:
        await http.close()


def redis_benchmark_get(redis_url: str, clients: int) -> float:
    parts = urlsplit(redis_url)
    done = subprocess.run(["redis-benchmark", "-h", parts.hostname or "127.0.0.1",
                           "-p", str(parts.port or 6379), "-t", "get", "-n", "100000",
                           "-c", str(clients), "-q"],
                          check=True, capture_output=True, text=True)
    match = re.search(r"GET: ([\d.]+) requests per second", done.stdout)
    if match is None:
        raise RuntimeError(f"redis-benchmark printed no GET figure: {done.stdout}")
    return float(match.group(1))


def _median_ratio(rounds: list[dict[str, Any]], key: str, *, inverse: bool = False
                  ) -> float | None:
    ratios = []
    for r in rounds:
        a, b = r["with_redis_cache"].get(key), (r.get("without_cache") or {}).get(key)
        if a and b:
            ratios.append(b / a if inverse else a / b)
    return round(statistics.median(ratios), 2) if ratios else None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a server with the Redis cache")
    parser.add_argument("--url-uncached", help="a server on the same database without a cache")
    parser.add_argument("--token", required=True, help="admin token, to set up the catalogue")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--per-request", type=int, default=5, help="SKUs asked per read")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10, help="per run")
    parser.add_argument("--rounds", type=int, default=3, help="cached and uncached runs, in turn")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="the cached server's pid (its workers are counted with it)")
    parser.add_argument("--pid-uncached", type=int, action="append", default=[])
    args = parser.parse_args()

    run = f"a{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=args.url, timeout=60) as client:
        skus = await setup_catalogue(Api(client, args.token), run, args.skus, 1000)
    load = {"clients": args.clients, "seconds": args.seconds, "per_request": args.per_request}
    rounds = []
    for _ in range(args.rounds):
        cached = await reads(args.url, run, skus, pids=args.pid, **load)
        uncached = (await reads(args.url_uncached, run, skus, pids=args.pid_uncached, **load)
                    if args.url_uncached else None)
        rounds.append({"with_redis_cache": cached, "without_cache": uncached})
    plain = await healthz(args.url, clients=args.clients, seconds=min(args.seconds, 5))
    redis_get = redis_benchmark_get(args.redis_url, args.clients)
    cached_rate = statistics.median(r["with_redis_cache"]["requests_per_second"] for r in rounds)
    print(json.dumps({
        "skus_per_read": args.per_request,
        "rounds": rounds,
        "baseline": {"redis_benchmark_get_per_second": redis_get,
                     "plain_starlette_healthz": plain},
        "ratio_cached_reads_to_redis_get": round(cached_rate / redis_get, 4),
        "ratio_cached_reads_to_healthz": round(cached_rate / plain["requests_per_second"], 3)
        if plain["requests_per_second"] else None,
        "ratio_cached_to_uncached": _median_ratio(rounds, "requests_per_second"),
        "ratio_uncached_to_cached_server_cpu_per_read": _median_ratio(
            rounds, "server_cpu_ms_per_read", inverse=True),
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
