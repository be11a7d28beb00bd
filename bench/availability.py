"""Availability reads under load, with and without the Redis cache.

Starts nothing itself: give it a server with the Redis cache (OMS_REDIS_URL
set) and, optionally, one on the same database without any cache
(OMS_AVAILABILITY_CACHE_TTL=0). Prints one JSON object: reads per second and
p99 for each, beside redis-benchmark's GET throughput and a plain Starlette
endpoint (/healthz) measured in the same run, with the ratios.

    python bench/availability.py --url http://127.0.0.1:8000 --url-uncached http://127.0.0.1:8001 \
        --token $OMS_ADMIN_TOKEN --redis-url redis://127.0.0.1:6379/0 --clients 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Api, closed_loop, setup_catalogue

QUERY = "query($s: [String!]!, $c: String) { availability(skus: $s, channel: $c) { sku available } }"


async def reads(url: str, run: str, skus: list[str], *, clients: int, seconds: float,
                per_request: int) -> dict[str, Any]:
    rng = random.Random(1)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        api = Api(client, None)  # storefronts read anonymously

        async def one() -> None:
            await api(QUERY, {"s": rng.sample(skus, per_request), "c": run})

        await one()  # warm
        return await closed_loop(one, clients=clients, seconds=seconds)


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a server with the Redis cache")
    parser.add_argument("--url-uncached", help="a server on the same database without a cache")
    parser.add_argument("--token", required=True, help="admin token, to set up the catalogue")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--per-request", type=int, default=5, help="SKUs asked per read")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()

    run = f"a{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=args.url, timeout=60) as client:
        skus = await setup_catalogue(Api(client, args.token), run, args.skus, 1000)
    load = {"clients": args.clients, "seconds": args.seconds, "per_request": args.per_request}
    cached = await reads(args.url, run, skus, **load)
    uncached = await reads(args.url_uncached, run, skus, **load) if args.url_uncached else None
    async with httpx.AsyncClient(base_url=args.url) as plain:
        healthz = await closed_loop(lambda: plain.get("/healthz"), clients=args.clients,
                                    seconds=min(args.seconds, 5))
    redis_get = redis_benchmark_get(args.redis_url, args.clients)
    print(json.dumps({
        "skus_per_read": args.per_request,
        "with_redis_cache": cached,
        "without_cache": uncached,
        "baseline": {"redis_benchmark_get_per_second": redis_get,
                     "plain_starlette_healthz": healthz},
        "ratio_cached_reads_to_redis_get": round(cached["requests_per_second"] / redis_get, 4),
        "ratio_cached_reads_to_healthz": round(
            cached["requests_per_second"] / healthz["requests_per_second"], 3),
        "ratio_cached_to_uncached": round(
            cached["requests_per_second"] / uncached["requests_per_second"], 2)
        if uncached else None,
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
