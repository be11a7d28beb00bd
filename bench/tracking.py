"""Live tracking under load: N websocket subscribers follow one parcel while events are added.

Starts nothing itself: give it one or more running servers (on PostgreSQL and
Redis to spread subscribers over processes). Subscribers connect round-robin
to the servers, in waves of ``WAVE``, from ``--client-processes`` load generator
processes, each a bare websocket client on uvloop (a library client cost twice the
server's CPU per delivery, on the same cores); events are added through the first
server's API. Prints one JSON object: delivery latency p50/p99 from sending the mutation
that commits the event to the kernel receiving it at each subscriber's socket (its
receive timestamp: an upper bound on commit-to-client, whatever the load generator's own
scheduling) and to the load generator reading it; per event, the time to its first
subscriber and from its first subscriber to its last; memory per subscriber (server RSS
before and after connecting, with --pid); events lost (must be 0); the CPU the servers
and the load generator spent over the events; and, as the baseline measured in the same
run, the latency of the plain Starlette endpoint /healthz.

    python bench/tracking.py --url http://127.0.0.1:8000 --url http://127.0.0.1:8001 \
        --token $OMS_ADMIN_TOKEN --subscribers 1000 --events 20 --pid <server pid> ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import resource
import socket
import struct
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvloop

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


# Linux: each segment read carries the time the kernel received it (struct timespec)
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
TIMESTAMP = struct.Struct("qq")


class Follower:
    """One subscriber on a bare non-blocking socket: the websocket handshake, then one frame
    parsed per event. A websocket library costs the load generator about twice the server's
    CPU per delivery, and it shares the machine with the server; this costs a fraction.

    Each event is timed twice: when its bytes reached this machine's socket (the kernel's
    receive timestamp: commit-to-client, whatever this process's own scheduling) and when
    this process read it (which includes the wait for a CPU the server is using too)."""

    def __init__(self, url: str, token: str, tracking: str, expected: int) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token, self.tracking, self.expected = token, tracking, expected
        self.received: dict[int, tuple[int, int]] = {}  # sequence: (arrived, read) in ns
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()  # the first event came
        self.done: asyncio.Future[None] = loop.create_future()  # every event came
        self.sock: socket.socket | None = None
        self.arrived = 0
        self.buffer = bytearray()
        self.upgraded = False

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        await loop.sock_connect(sock, (self.host, self.port))
        self.sock = sock
        loop.add_reader(sock.fileno(), self._readable)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.send((f"GET /graphql HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())

    def close(self) -> None:
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(TIMESTAMP.size))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._fail(error)
            return
        if not data:
            self._fail(ConnectionError(f"closed after {len(self.received)} events"))
            return
        self.arrived = time.time_ns()
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                seconds, nanoseconds = TIMESTAMP.unpack(raw)
                self.arrived = seconds * 1_000_000_000 + nanoseconds
        self._received(data)

    def _received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self._fail(ConnectionError(bytes(buffer[:end]).decode(errors="replace")))
                return
            del buffer[:end + 4]
            self.upgraded = True
            self._send_json({"type": "connection_init",
                             "payload": {"Authorization": f"Bearer {self.token}"}})
        while len(buffer) >= 2:  # server frames: unmasked, small messages unfragmented
            opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                return
            payload = bytes(buffer[offset:offset + length])
            del buffer[:offset + length]
            if opcode == 0x1:
                self._message(payload)
            elif opcode == 0x9:  # the server's keepalive ping
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self._fail(ConnectionError(f"closed by the server: {payload!r}"))
                return

    def _message(self, text: bytes) -> None:
        message = json.loads(text)
        kind = message["type"]
        if kind == "next":
            event = message["payload"]["data"]["shipmentTracking"]
            self.received[event["sequence"]] = (self.arrived, time.time_ns())  # one clock
            if not self.ready.done():
                self.ready.set_result(None)
            if len(self.received) >= self.expected and not self.done.done():
                self.done.set_result(None)  # stays connected until the servers' CPU is read
        elif kind == "connection_ack":
            self._send_json({"id": "1", "type": "subscribe", "payload": {
                "query": TRACKING, "variables": {"n": self.tracking}}})
        elif kind == "ping":
            self._send_json({"type": "pong"})
        else:
            self._fail(RuntimeError(message))

    def _send_json(self, message: Any) -> None:
        self._send_frame(0x1, json.dumps(message).encode())

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        """A client frame: final, masked (RFC 6455 5.3)."""
        length = len(payload)
        header = bytes([0x80 | opcode])
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + length.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + length.to_bytes(8, "big")
        mask = os.urandom(4)
        masked = (int.from_bytes(payload, "big")
                  ^ int.from_bytes((mask * (length // 4 + 1))[:length], "big"))
        assert self.sock is not None
        self.sock.send(header + mask + masked.to_bytes(length, "big"))  # small: never blocks

    def _fail(self, error: Exception) -> None:
        for future in (self.ready, self.done):
            if not future.done():
                future.set_exception(error)
        self.close()


WAVE = 200  # connections opened together: a listen backlog's worth, not thousands at once


async def _follow(urls: list[str], token: str, tracking: str, first: int, count: int,
                  expected: int, seconds: float, pipe: Any) -> None:
    followers = [Follower(urls[(first + i) % len(urls)], token, tracking, expected)
                 for i in range(count)]
    for start in range(0, len(followers), WAVE):
        wave = followers[start:start + WAVE]
        await asyncio.wait_for(asyncio.gather(*(f.connect() for f in wave)), seconds)
        await asyncio.wait_for(asyncio.gather(*(f.ready for f in wave)), seconds)
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # the events start
    cpu_before = time.process_time()
    done, pending = await asyncio.wait([f.done for f in followers], timeout=seconds)
    for future in pending:
        future.cancel()
    failed = sum(1 for f in done if f.exception() is not None) + len(pending)
    pipe.send({"received": [f.received for f in followers], "failed": failed,
               "cpu_seconds": time.process_time() - cpu_before})
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # the CPU was read
    for follower in followers:
        follower.close()


def follow_in_process(*args: Any) -> None:
    """A load generator process: its share of the subscribers, on an event loop of its own,
    at the lowest CPU priority: it takes the CPU the servers leave, and what it receives is
    timed by the kernel on arrival, so reading it a little later changes no figure but
    ``read_latency_ms``."""
    os.nice(19)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    uvloop.run(_follow(*args))  # the server's loop too


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
        sent: dict[int, int] = {}
        own_before = time.process_time()
        server_before = cpu_seconds(args.pid) if args.pid else None
        for pipe in pipes:
            pipe.send("go")
        statuses = ["OUT_FOR_DELIVERY", "IN_TRANSIT"]
        for i in range(args.events):
            sent[i + 2] = time.time_ns()
            await api(TRACK, {"s": sid, "status": statuses[i % 2], "d": f"scan {i}"})
            await asyncio.sleep(args.interval)
        results = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
        own_cpu = time.process_time() - own_before
        server_cpu = cpu_seconds(args.pid) - server_before if server_before is not None else None
        for pipe in pipes:
            pipe.send("close")
        for process in processes:
            process.join()
        async with httpx.AsyncClient(base_url=args.url[0]) as plain:
            baseline = await closed_loop(lambda: plain.get("/healthz"), clients=10, seconds=2)

    received = [r for result in results for r in result["received"]]
    latencies = [(got[seq][0] - at) / 1e9 for got in received for seq, at in sent.items()
                 if seq in got]
    read = [(got[seq][1] - at) / 1e9 for got in received for seq, at in sent.items()
            if seq in got]
    lost = sum(1 for got in received for seq in range(1, expected + 1) if seq not in got)
    # per event: commit to its first subscriber, and from its first subscriber to its last
    arrivals = [([got[seq][0] for got in received if seq in got], at) for seq, at in sent.items()]
    first_ms = [(min(a) - at) / 1e6 for a, at in arrivals if a]
    spread_ms = [(max(a) - min(a)) / 1e6 for a, _ in arrivals if a]
    generators_cpu = sum(result["cpu_seconds"] for result in results) + own_cpu
    p50 = percentile_ms(latencies, 0.5)
    print(json.dumps({
        "subscribers": args.subscribers, "servers": len(args.url), "events": args.events,
        "client_processes": n, "deliveries": len(latencies), "events_lost": lost,
        "subscriber_failures": sum(result["failed"] for result in results),
        # commit to the subscriber's socket (the kernel's receive time)
        "latency_ms": {"p50": p50, "p99": percentile_ms(latencies, 0.99)},
        # to the load generator reading it: adds its wait for a CPU it shares with the server
        "read_latency_ms": {"p50": percentile_ms(read, 0.5), "p99": percentile_ms(read, 0.99)},
        "per_event_ms": {"to_first_subscriber": [round(ms, 1) for ms in first_ms],
                         "first_to_last_subscriber": [round(ms, 1) for ms in spread_ms]},
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
