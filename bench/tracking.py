"""Live tracking under load: N websocket subscribers follow one parcel while events are added.

Starts nothing itself: give it one or more running servers (on PostgreSQL and
Redis to spread subscribers over processes). Subscribers connect round-robin
to the servers, from ``--client-processes`` load generator processes (one
event loop holds a few thousand websockets at most); events are added through
the first server's API. Prints one
JSON object: delivery latency p50/p99 (from sending the mutation that commits
the event to each subscriber receiving it: an upper bound on commit-to-client),
memory per subscriber (server RSS before and after connecting, with --pid),
events lost (must be 0), the CPU the servers and the load generator spent over
the events, and, as the baseline measured in the same run, the
latency of the plain Starlette endpoint /healthz.

    python bench/tracking.py --url http://127.0.0.1:8000 --url http://127.0.0.1:8001 \
        --token $OMS_ADMIN_TOKEN --subscribers 1000 --events 20 --pid <server pid> ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    ADDRESS,
    Api,
    closed_loop,
    cpu_seconds,
    percentile_ms,
    rss_kib,
    setup_catalogue,
)

TRACKING = """subscription($n: String) { shipmentTracking(trackingNumber: $n)
  { sequence status description } }"""
TRACK = """mutation($s: ID!, $status: ShipmentStatus!, $d: String) {
  shipmentTrackingEventAdd(input: {shipmentId: $s, status: $status, description: $d}) {
    userErrors { code message } } }"""


async def shipped_parcel(api: Api, run: str) -> str:
    """An order placed, confirmed and shipped; returns the shipment ID (tracking = run)."""
    skus = await setup_catalogue(api, run, 1, 10)
    order = (await api("mutation($i: OrderCreateInput!) { orderCreate(input: $i) { order { id } "
                       "userErrors { message } } }",
                       {"i": {"channel": run, "email": "bench@example.com",
                              "lines": [{"sku": skus[0], "quantity": 1}],
                              "shippingAddress": ADDRESS}}))["orderCreate"]
    gid = order["order"]["id"]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }", {"id": gid})
    sid = (await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                     "{ shipment { id } } }", {"o": gid}))["shipmentCreate"]["shipment"]["id"]
    await api("mutation($s: ID!, $t: String) { shipmentShip(input: {shipmentId: $s, "
              "trackingNumber: $t}) { userErrors { code } } }", {"s": sid, "t": run})
    return sid


class Follower:
    def __init__(self, url: str, token: str, tracking: str) -> None:
        self.url = url.replace("http", "ws", 1) + "/graphql"
        self.token = token
        self.tracking = tracking
        self.received: dict[int, float] = {}
        self.ready = asyncio.Event()

    async def run(self, expected: int) -> None:
        # No permessage-deflate: the events are small, and compressing costs both sides.
        async with websockets.connect(self.url, subprotocols=["graphql-transport-ws"],
                                      compression=None, max_queue=None, ping_interval=None,
                                      open_timeout=120) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {self.token}"}}))
            json.loads(await ws.recv())
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": TRACKING, "variables": {"n": self.tracking}}}))
            while len(self.received) < expected:
                message = json.loads(await ws.recv())
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if message["type"] != "next":
                    raise RuntimeError(message)
                event = message["payload"]["data"]["shipmentTracking"]
                self.received[event["sequence"]] = time.monotonic()  # one clock for all
                if event["sequence"] == 1:
                    self.ready.set()


async def _follow(urls: list[str], token: str, tracking: str, first: int, count: int,
                  expected: int, seconds: float, pipe: Any) -> None:
    followers = [Follower(urls[(first + i) % len(urls)], token, tracking)
                 for i in range(count)]
    tasks = [asyncio.create_task(f.run(expected)) for f in followers]
    for start in range(0, len(followers), 100):  # connect in waves
        await asyncio.wait_for(asyncio.gather(*(f.ready.wait()
                                                for f in followers[start:start + 100])),
                               seconds)
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # the events start
    cpu_before = time.process_time()
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    failed = sum(1 for t in done if t.exception() is not None) + len(pending)
    pipe.send({"received": [f.received for f in followers], "failed": failed,
               "cpu_seconds": time.process_time() - cpu_before})


def follow_in_process(*args: Any) -> None:
    """A load generator process: its share of the subscribers, on an event loop of its own."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    asyncio.run(_follow(*args))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", required=True, help="a server; repeatable")
    parser.add_argument("--token", required=True)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between events")
    parser.add_argument("--client-processes", type=int, default=1,
                        help="load generator processes the subscribers are spread over")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="server process ids, for memory and CPU per subscriber")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    run = f"t{uuid.uuid4().hex[:8]}"
    spawn = multiprocessing.get_context("spawn")
    async with httpx.AsyncClient(base_url=args.url[0], timeout=60) as client:
        api = Api(client, args.token)
        sid = await shipped_parcel(api, run)
        memory_before = sum(rss_kib(pid) for pid in args.pid)
        expected = args.events + 1  # the dispatch event, then the ones added here
        n = max(1, args.client_processes)
        shares = [args.subscribers // n + (1 if i < args.subscribers % n else 0)
                  for i in range(n)]
        pipes, processes = [], []
        first = 0
        for share in shares:
            ours, theirs = spawn.Pipe()
            process = spawn.Process(target=follow_in_process, args=(
                args.url, args.token, run, first, share, expected, args.timeout, theirs))
            process.start()
            pipes.append(ours)
            processes.append(process)
            first += share
        loop = asyncio.get_running_loop()
        for pipe in pipes:
            if await loop.run_in_executor(None, pipe.recv) != "ready":
                raise SystemExit("a load generator process failed to connect")
        memory_after = sum(rss_kib(pid) for pid in args.pid)
        sent: dict[int, float] = {}
        own_before = time.process_time()
        server_before = cpu_seconds(args.pid) if args.pid else None
        for pipe in pipes:
            pipe.send("go")
        statuses = ["OUT_FOR_DELIVERY", "IN_TRANSIT"]
        for i in range(args.events):
            sent[i + 2] = time.monotonic()
            await api(TRACK, {"s": sid, "status": statuses[i % 2], "d": f"scan {i}"})
            await asyncio.sleep(args.interval)
        results = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
        for process in processes:
            process.join()
        own_cpu = time.process_time() - own_before
        server_cpu = cpu_seconds(args.pid) - server_before if server_before is not None else None
        async with httpx.AsyncClient(base_url=args.url[0]) as plain:
            baseline = await closed_loop(lambda: plain.get("/healthz"), clients=10, seconds=2)

    received = [r for result in results for r in result["received"]]
    latencies = [got[seq] - at for got in received for seq, at in sent.items() if seq in got]
    lost = sum(1 for got in received for seq in range(1, expected + 1) if seq not in got)
    generators_cpu = sum(result["cpu_seconds"] for result in results) + own_cpu
    p50 = percentile_ms(latencies, 0.5)
    print(json.dumps({
        "subscribers": args.subscribers, "servers": len(args.url), "events": args.events,
        "client_processes": n, "deliveries": len(latencies), "events_lost": lost,
        "subscriber_failures": sum(result["failed"] for result in results),
        "latency_ms": {"p50": p50, "p99": percentile_ms(latencies, 0.99)},
        "memory_per_subscriber_kib": round((memory_after - memory_before) / args.subscribers, 1)
        if args.pid else None,
        # CPU over the events' fan-out: the servers', and the load generator's own (its
        # processes share the machine with the servers, so its share is visible beside theirs)
        "server_cpu_seconds": round(server_cpu, 2) if server_cpu is not None else None,
        "load_generator_cpu_seconds": round(generators_cpu, 2),
        "server_cpu_us_per_delivery": round(server_cpu * 1e6 / len(latencies), 1)
        if server_cpu is not None and latencies else None,
        "load_generator_cpu_us_per_delivery": round(generators_cpu * 1e6 / len(latencies), 1)
        if latencies else None,
        "baseline": {"plain_starlette_healthz": baseline},
        "ratio_p50_delivery_to_p50_healthz": round(p50 / baseline["p50_ms"], 2)
        if p50 and baseline["p50_ms"] else None,
    }, indent=2))
    if lost:
        raise SystemExit("events were lost")


if __name__ == "__main__":
    asyncio.run(main())
