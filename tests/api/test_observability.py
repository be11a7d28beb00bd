"""What an operator sees: request ids, structured logs, metrics, quiet client errors, and
background loops that back off while a dependency is down."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import tempfile
from pathlib import Path

import httpx
import pytest

from domain.background import MAX_BACKOFF, Periodic
from tests import factories
from tests.servers import migrated_sqlite, oms_server
from tests.support import ADMIN, GraphQLClient

PLACE = """mutation($q: Int!) { orderCreate(input: {channel: "web", email: "m@example.com",
  lines: [{sku: "SHOE", quantity: $q}], shippingAddress: {name: "M", line1: "1 St",
  city: "Berlin", postalCode: "10115", country: "DE"}}) { order { id } userErrors { code } } }"""


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample's value in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        head, _, rest = metric.partition("{")
        if head == name and ",".join(sorted(rest.rstrip("}").split(","))) == wanted:
            return float(value)
    return 0.0


async def test_each_answer_carries_a_request_id(api: GraphQLClient) -> None:
    mine = await api.http.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert mine.headers["x-request-id"] == "trace-42.a"
    made = await api.http.get("/healthz", headers={"X-Request-ID": "has spaces; not allowed"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert (await api.http.get("/healthz")).headers["x-request-id"] != made.headers["x-request-id"]


async def test_metrics_count_orders_operations_and_requests(api: GraphQLClient) -> None:
    assert (await api.http.get("/metrics")).status_code == 401
    assert (await api.http.get("/metrics", headers={"Authorization": "Bearer nope"})
            ).status_code == 401
    await factories.shop({"SHOE": {"a": 1}})
    before = (await api.http.get("/metrics", headers=ADMIN)).text
    assert (await api(PLACE, {"q": 1}))["orderCreate"]["userErrors"] == []
    assert (await api(PLACE, {"q": 5}))["orderCreate"]["userErrors"] == [
        {"code": "INSUFFICIENT_STOCK"}]
    after = await api.http.get("/metrics", headers=ADMIN)
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")

    def delta(name: str, **labels: str) -> float:
        return _sample(after.text, name, **labels) - _sample(before, name, **labels)

    assert delta("oms_orders_placed_total", channel="web") == 1
    assert delta("oms_orders_refused_total", code="INSUFFICIENT_STOCK") == 1
    assert delta("oms_reservation_conflicts_total") == 0  # the plan saw the shortfall first
    assert delta("oms_graphql_operations_total", field="orderCreate", outcome="ok") == 2
    assert delta("oms_http_requests_total", route="/graphql", method="POST", status="200") == 2
    assert "oms_outbox_backlog" in after.text and "oms_outbox_oldest_age_seconds" in after.text
    assert "oms_websocket_connections" in after.text and "oms_subscriptions" in after.text


async def test_a_client_error_is_one_line_without_a_traceback(
        api: GraphQLClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        errors = await api.errors("{ orders { edges { node { id } } } }", admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    ours = [r for r in caplog.records if r.name == "oms.graphql"]
    assert [r.levelname for r in ours] == ["INFO"]
    assert all(r.exc_info is None for r in caplog.records)


def test_json_logs_name_the_request_operation_caller_and_duration() -> None:
    var = Path(tempfile.mkdtemp(prefix="oms-var-"))
    with oms_server(database_url=migrated_sqlite(var / "oms.sqlite3"), redis_url=None,
                    env={"OMS_LOG_FORMAT": "json"}) as server:
        httpx.post(f"{server.url}/graphql", headers={**ADMIN, "X-Request-ID": "req-1"},
                   json={"query": "{ channels { code } }"}, timeout=10)
        server.proc.terminate()
        server.proc.wait(timeout=20)
        assert server.log is not None
        output = server.log.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request = next(line for line in lines if line.get("request_id") == "req-1"
                   and line.get("logger") == "oms.request")
    assert request["path"] == "/graphql" and request["status"] == 200
    assert request["operation"] == "channels" and request["caller"] == "admin"
    assert request["duration_ms"] >= 0 and request["level"] == "INFO"
    assert not any("Traceback" in line for line in output.splitlines())


async def test_a_failing_loop_backs_off_and_says_so_once(
        caplog: pytest.LogCaptureFixture) -> None:
    passes: list[float] = []
    working = asyncio.Event()

    async def step() -> None:
        passes.append(asyncio.get_running_loop().time())
        if len(passes) <= 3:
            raise ConnectionError("database is away")
        working.set()

    loop = Periodic("test-loop", step, interval=0.05)
    with caplog.at_level(logging.WARNING, logger="domain.background"):
        loop.start()
        await asyncio.wait_for(working.wait(), timeout=10)
        await loop.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "domain.background"]
    assert said == ["test-loop: failing, backing off: ConnectionError: database is away",
                    "test-loop: working again after 3 failed passes"]
    gaps = [b - a for a, b in itertools.pairwise(passes)]
    assert gaps[0] >= 0.2 and gaps[2] > gaps[0]  # longer than the interval, and growing
    loop.failures = 20
    assert all(loop.delay() <= MAX_BACKOFF for _ in range(100))


async def test_a_loop_woken_often_takes_what_came_meanwhile_in_one_pass() -> None:
    """Wake-ups sooner than ``min_gap`` after a pass began wait out the rest of it, so a
    burst of commits is one pass; one after a quiet spell runs at once."""
    passes: list[float] = []
    ran = asyncio.Event()
    clock = asyncio.get_running_loop().time

    async def step() -> None:
        passes.append(clock())
        ran.set()

    loop = Periodic("test-gap", step, interval=60, min_gap=0.3)
    loop.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=5)  # the first pass, at start
        for _ in range(20):  # a burst of wake-ups over 0.2 s
            loop.wake()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        assert len(passes) == 2 and passes[1] - passes[0] >= 0.3  # one more, after the gap
        ran.clear()
        woken = clock()
        loop.wake()  # after a quiet spell: at once
        await asyncio.wait_for(ran.wait(), timeout=5)
        assert len(passes) == 3 and passes[2] - woken < 0.1
    finally:
        await loop.stop()
