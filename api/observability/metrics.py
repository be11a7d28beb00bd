"""``/metrics`` in Prometheus' text format (prometheus-client).

Series: HTTP requests and their latency by route; GraphQL operations and their latency by
root field (names from the schema, so a client cannot invent series); the domain's counters
(orders placed and refused by code, reservation conflicts, webhook deliveries by outcome,
background loop failures); websocket connections and subscriptions open; the outbox backlog
and the age of its oldest row, read at each scrape.

With several workers (``oms serve --workers N``) every worker writes its series to
``PROMETHEUS_MULTIPROC_DIR`` (``oms serve`` sets it under the var directory), and any worker
answers a scrape with the sum of all of them.
"""

from __future__ import annotations

import hmac
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import InvalidCredentials, bearer_token
from domain import metrics as domain_metrics
from domain.events.relay import backlog

LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter("oms_http_requests_total", "HTTP requests answered",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("oms_http_request_duration_seconds", "Time to answer, by route",
                         ["route"], buckets=LATENCY)
OPERATIONS = Counter("oms_graphql_operations_total", "GraphQL root fields run, by outcome",
                     ["field", "outcome"])
OPERATION_LATENCY = Histogram("oms_graphql_operation_duration_seconds",
                              "Time to run a GraphQL document, by its first root field",
                              ["field"], buckets=LATENCY)
REMEMBERED = Counter("oms_graphql_remembered_answers_total",
                     "Availability documents answered from the answers kept for them, "
                     "without running them")
WEBSOCKETS = Gauge("oms_websocket_connections", "Websocket connections open",
                   multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge("oms_subscriptions", "GraphQL subscriptions streaming",
                      multiprocess_mode="livesum")
OUTBOX_BACKLOG = Gauge("oms_outbox_backlog", "Outbox rows not yet published",
                       multiprocess_mode="mostrecent")
OUTBOX_AGE = Gauge("oms_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row",
                   multiprocess_mode="mostrecent")
DOMAIN = {name: Counter(f"oms_{name}_total", help_text, list(labels))
          for name, (help_text, labels) in domain_metrics.COUNTERS.items()}


def _count(name: str, labels: dict[str, str], amount: float) -> None:
    counter = DOMAIN[name]
    (counter.labels(**labels) if labels else counter).inc(amount)


def install() -> None:
    """Let the domain's counts reach the exported counters."""
    domain_metrics.install(_count)


def allowed(request: Request) -> bool:
    """Metrics tell order rates: only the metrics token (or the admin token) reads them."""
    settings = request.app.state.settings
    expected = settings.metrics_token or settings.admin_token
    try:
        token = bearer_token(request.headers.get("authorization"))
    except InvalidCredentials:
        return False
    return bool(expected and token) and hmac.compare_digest(
        str(token).encode(), str(expected).encode())


async def endpoint(request: Request) -> Response:
    if not allowed(request):
        return JSONResponse({"error": "Authentication required"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    await _read_outbox()
    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    body = generate_latest(registry) if registry is not None else generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def _read_outbox() -> None:
    count, age = await backlog()
    OUTBOX_BACKLOG.set(count)
    OUTBOX_AGE.set(age)
