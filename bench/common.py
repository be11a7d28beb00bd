"""Shared pieces of the benchmarks: an API client, catalogue set-up, percentiles, load loops."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


class Api:
    def __init__(self, client: httpx.AsyncClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post("/graphql", headers=self.headers,
                                          json={"query": query, "variables": variables or {}})
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]


class KeepAlive:
    """HTTP/1.1 keep-alive connections to one server, doing the least a client can: write
    the request, read the status, the headers and a Content-Length body. Its own CPU per
    request is a fraction of httpx's, so that a load generator on the server's machine
    measures the server rather than itself. No TLS, redirects or chunked answers."""

    def __init__(self, url: str, *, connections: int, local_address: str | None = None
                 ) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size = connections
        self.local_address = local_address
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue())
        self._open = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._idle.empty() and self._open < self.size:
            self._open += 1
            try:
                return await asyncio.open_connection(
                    self.host, self.port,
                    local_addr=(self.local_address, 0) if self.local_address else None)
            except OSError:
                self._open -= 1
                raise
        return await self._idle.get()

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        reader, writer = await self._connection()
        try:
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                    f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            status_line = await reader.readline()
            length = None
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length is None:
                raise RuntimeError(f"an answer without Content-Length: {status_line!r}")
            answer = await reader.readexactly(length)
        except BaseException:
            writer.close()
            self._open -= 1
            raise
        self._idle.put_nowait((reader, writer))
        return int(status_line.split()[1]), answer

    async def post_json(self, path: str, data: Any,
                        headers: dict[str, str] | None = None) -> Any:
        """POST ``data`` as JSON; the answer's JSON (a GraphQL answer with errors raises)."""
        status, body = await self.request(
            "POST", path, json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})})
        answer = json.loads(body)
        if status != 200 or (isinstance(answer, dict) and answer.get("errors")):
            raise RuntimeError(f"{status}: {answer}")
        return answer

    async def close(self) -> None:
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()
        self._open = 0


async def setup_catalogue(api: Api, run: str, skus: int, units: int) -> list[str]:
    """A channel (code = run) served by two warehouses, and ``skus`` SKUs stocked at both."""
    locations = [f"{run}-wh{i}" for i in (1, 2)]
    for i, code in enumerate(locations):
        await api("mutation($i: LocationCreateInput!) { locationCreate(input: $i) "
                  "{ userErrors { message } } }",
                  {"i": {"code": code, "name": code, "kind": "WAREHOUSE", "priority": i}})
    await api("mutation($i: ChannelCreateInput!) { channelCreate(input: $i) "
              "{ userErrors { message } } }",
              {"i": {"code": run, "name": run, "kind": "WEB", "currency": "EUR",
                     "locations": locations}})
    names = [f"{run}-SKU{i}" for i in range(skus)]
    for start in range(0, skus, 100):
        chunk = names[start:start + 100]
        await api("mutation($i: ProductCreateInput!) { productCreate(input: $i) "
                  "{ userErrors { message } } }",
                  {"i": {"name": f"{run} product {start}", "variants": [
                      {"sku": sku, "price": "9.90", "currency": "EUR"} for sku in chunk]}})
    for sku in names:
        for code in locations:
            await api("mutation($i: InventorySetInput!) { inventorySet(input: $i) "
                      "{ userErrors { message } } }",
                      {"i": {"sku": sku, "location": code, "onHand": units // 2}})
    return names


def percentile_ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def closed_loop(
    call: Callable[[], Awaitable[None]], *, clients: int, seconds: float
) -> dict[str, Any]:
    """``clients`` loops calling as fast as answers come, for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await call()
            except Exception:  # counted, and the loop goes on
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"requests_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": percentile_ms(latencies, 0.5), "p99_ms": percentile_ms(latencies, 0.99),
            "errors": errors, "answered": len(latencies), "elapsed_s": round(elapsed, 3)}


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn workers), in KiB."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def cpu_seconds(pids: list[int]) -> float:
    """CPU time so far (user + system) of these processes and their children."""
    total = 0
    for pid in pids:
        for candidate in [pid, *_children(pid)]:
            try:
                values = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            total += int(values[11]) + int(values[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # ended meanwhile
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        for child in children:
            found += [int(child), *_children(int(child))]
    return found


# Where the benchmarks' orders go: every delivered order needs an address.
ADDRESS = {"name": "Bench", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115",
           "country": "DE"}


def address(buyer: int) -> dict[str, str]:
    """Buyer ``buyer``'s own shipping address (different buyers live at different ones, as
    the risk rules' per-address counts expect of real traffic)."""
    return {**ADDRESS, "line1": f"{buyer + 1} Main St"}
